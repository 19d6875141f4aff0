"""Groups through the command service: every command, every refusal, and who may call it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import Actor, Role
from domain.errors import (
    Conflict,
    EvseInAnotherGroup,
    Forbidden,
    GroupAlreadyHasHomeUser,
    InvalidExclusionTimes,
    InvalidInput,
    NotFound,
    UnknownTimeZone,
)
from domain.evse_limits import EvseLimits
from domain.exclusion_times import ExclusionWindow, parse_windows
from domain.groups import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    Algorithm,
    SmartChargingGroup,
)
from domain.priority_charge import PriorityEndReason
from domain.service import SmartCharging
from domain_strategies import ManualClock

PEAK = parse_windows(
    [{"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}]
)
SYSTEM = Actor.system()
NIGHT = parse_windows([{"weekdays": ["sat", "sun"], "start": "22:00", "end": "06:00"}])


@pytest.fixture
def group_id(app: SmartCharging, operator: Actor) -> UUID:
    return app.groups.create_group(name="Home", time_zone="Europe/Amsterdam", actor=operator)[0]


def invite(app: SmartCharging, email: str) -> UUID:
    return app.accounts.invite_home_user(email, Actor.operator(uuid4()))[0]


def register(app: SmartCharging, charge_point_id: str, connector_id: int = 1) -> UUID:
    return app.evses.register_evse(
        charge_point_id, connector_id, SYSTEM, EvseLimits(max_current_a=16, phases=3)
    )[0]


def event_names(app: SmartCharging, aggregate_id: UUID) -> list[str]:
    return [type(e).__name__ for e in app.events.get(aggregate_id)]


def last_event(app: SmartCharging, aggregate_id: UUID) -> Any:
    return list(app.events.get(aggregate_id))[-1]


def spy_on_saves(app: SmartCharging, monkeypatch: pytest.MonkeyPatch) -> list[set[UUID]]:
    """The originators written by each non-empty insert into the event store."""
    saves: list[set[UUID]] = []
    insert = app.recorder.insert_events

    def recording_insert(stored_events: Any, **kwargs: Any) -> Any:
        if stored_events:
            saves.append({s.originator_id for s in stored_events})
        return insert(stored_events, **kwargs)

    monkeypatch.setattr(app.recorder, "insert_events", recording_insert)
    return saves


# --- create ----------------------------------------------------------------------------


def test_a_group_is_created_with_its_details_and_nobody_in_it(
    app: SmartCharging, operator: Actor
) -> None:
    group_id, position = app.groups.create_group(
        name="  Van Dijk  ", description="Driveway", time_zone="Europe/Amsterdam", actor=operator
    )

    group = app.group(group_id)
    assert (group.name, group.description, group.time_zone) == (
        "Van Dijk",
        "Driveway",
        "Europe/Amsterdam",
    )
    assert group.algorithm is Algorithm.CONSUMER_TOU
    assert (group.home_user_id, group.evse_ids, group.exclusion_windows) == (None, [], ())
    assert group.priority is None and group.random_delay is False
    assert position == app.recorder.max_notification_id()


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_group_without_a_name_is_refused(app: SmartCharging, operator: Actor, name: Any) -> None:
    with pytest.raises(InvalidInput, match="name: must not be empty"):
        app.groups.create_group(name=name, time_zone="UTC", actor=operator)
    assert app.recorder.max_notification_id() is None


def test_a_name_that_is_not_text_is_refused(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(InvalidInput, match="name: must be text"):
        app.groups.create_group(name=42, time_zone="UTC", actor=operator)  # type: ignore[arg-type]
    assert app.recorder.max_notification_id() is None


def test_a_name_of_100_characters_is_accepted_and_101_refused(
    app: SmartCharging, operator: Actor
) -> None:
    app.groups.create_group(name="n" * MAX_NAME_LENGTH, time_zone="UTC", actor=operator)

    with pytest.raises(InvalidInput, match="name: at most 100 characters, got 101"):
        app.groups.create_group(name="n" * (MAX_NAME_LENGTH + 1), time_zone="UTC", actor=operator)


def test_a_too_long_description_is_refused(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(InvalidInput, match="description: at most 2000"):
        app.groups.create_group(
            name="Home",
            description="d" * (MAX_DESCRIPTION_LENGTH + 1),
            time_zone="UTC",
            actor=operator,
        )


def test_an_unknown_algorithm_is_refused_naming_the_known_ones(
    app: SmartCharging, operator: Actor
) -> None:
    with pytest.raises(InvalidInput, match=r"'dynamic_load'.*consumer_tou"):
        app.groups.create_group(
            name="Home", time_zone="UTC", algorithm="dynamic_load", actor=operator
        )


@pytest.mark.parametrize(
    "time_zone", ["Mars/Base", "", " Europe/Amsterdam", "europe/amsterdam!", "../etc/passwd", None]
)
def test_an_unknown_or_blank_time_zone_is_refused(
    app: SmartCharging, operator: Actor, time_zone: Any
) -> None:
    with pytest.raises(UnknownTimeZone, match="time_zone"):
        app.groups.create_group(name="Home", time_zone=time_zone, actor=operator)
    assert app.recorder.max_notification_id() is None


def test_a_group_is_created_with_its_home_user_and_evses_in_one_save(
    app: SmartCharging, operator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = invite(app, "anna@example.com")
    evse_ids = [register(app, "CP-1", 1), register(app, "CP-1", 2)]
    saves = spy_on_saves(app, monkeypatch)

    group_id, _ = app.groups.create_group(
        name="Home",
        time_zone="Europe/Amsterdam",
        actor=operator,
        home_user_id=user_id,
        evse_ids=[*evse_ids, evse_ids[0]],
        exclusion_windows=PEAK,
    )

    assert saves == [{group_id, *evse_ids}]
    group = app.group(group_id)
    assert (group.home_user_id, group.evse_ids, group.exclusion_windows) == (
        user_id,
        evse_ids,
        PEAK,
    )
    assert all(app.evse(e).group_id == group_id for e in evse_ids)


def test_creating_with_an_evse_of_another_group_stores_nothing(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    taken, free = register(app, "CP-1"), register(app, "CP-2")
    app.evses.add_evse(group_id, taken, operator)
    before = app.recorder.max_notification_id()

    with pytest.raises(EvseInAnotherGroup):
        app.groups.create_group(
            name="Other", time_zone="UTC", actor=operator, evse_ids=[free, taken]
        )

    assert app.recorder.max_notification_id() == before
    assert app.evse(free).group_id is None


def test_creating_with_an_operator_as_home_user_is_refused(
    app: SmartCharging, operator: Actor
) -> None:
    other_operator = app.accounts.add_operator("ops@example.com", "operator-pass-7", operator)
    before = app.recorder.max_notification_id()

    with pytest.raises(InvalidInput, match=r"ops@example\.com is an operator"):
        app.groups.create_group(
            name="Home", time_zone="UTC", actor=operator, home_user_id=other_operator
        )
    assert app.recorder.max_notification_id() == before


# --- details ---------------------------------------------------------------------------


def test_renaming_describing_and_changing_time_zone_record_one_event_each(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    app.groups.edit_group(group_id, operator, name="Cottage")
    app.groups.edit_group(group_id, operator, description="Behind the barn")
    app.groups.edit_group(group_id, operator, time_zone="Europe/London")

    group = app.group(group_id)
    assert (group.name, group.description, group.time_zone) == (
        "Cottage",
        "Behind the barn",
        "Europe/London",
    )
    assert event_names(app, group_id) == ["Created", "Renamed", "Described", "TimeZoneChanged"]


def test_unchanged_details_record_no_event(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    assert app.groups.edit_group(group_id, operator, name=" Home ") is None
    assert app.groups.edit_group(group_id, operator, description="") is None
    assert app.groups.edit_group(group_id, operator, time_zone="Europe/Amsterdam") is None

    assert event_names(app, group_id) == ["Created"]


def test_bad_details_are_refused_and_leave_the_group_as_it_was(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    with pytest.raises(InvalidInput):
        app.groups.edit_group(group_id, operator, name=" ")
    with pytest.raises(InvalidInput):
        app.groups.edit_group(group_id, operator, description="d" * (MAX_DESCRIPTION_LENGTH + 1))
    with pytest.raises(UnknownTimeZone):
        app.groups.edit_group(group_id, operator, time_zone="Mars/Base")

    assert event_names(app, group_id) == ["Created"]


def test_commands_on_an_unknown_group_are_not_found(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(NotFound):
        app.groups.edit_group(uuid4(), operator, name="Home")
    with pytest.raises(NotFound):
        app.group(uuid4())


@pytest.mark.parametrize("name", ["Home\x00", "Ho\x1bme", "Ho\x1fme"])
def test_control_characters_in_a_name_are_refused(
    app: SmartCharging, operator: Actor, name: str
) -> None:
    with pytest.raises(InvalidInput, match="name: must not contain control characters"):
        app.groups.create_group(name=name, time_zone="UTC", actor=operator)


def test_control_characters_in_a_description_are_refused_but_line_breaks_are_kept(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    with pytest.raises(InvalidInput, match="description: must not contain control characters"):
        app.groups.edit_group(group_id, operator, description="bell\x07")

    app.groups.edit_group(group_id, operator, description="Gate code:\r\n\t1234")
    assert app.group(group_id).description == "Gate code:\r\n\t1234"


@pytest.mark.parametrize(
    "name",
    ["Home\ud800", "Home\x85", "Ho\u0080me", "Home\nsweet home", "n" * 16_000],
    ids=["lone UTF-16 half", "NEL", "C1 control", "line break", "16 KB"],
)
def test_a_name_with_a_lone_utf16_half_a_control_or_16_kb_is_refused(
    app: SmartCharging, operator: Actor, group_id: UUID, name: str
) -> None:
    with pytest.raises(InvalidInput, match="name: ") as refusal:
        app.groups.edit_group(group_id, operator, name=name)

    assert len(str(refusal.value)) < 100
    assert app.group(group_id).name == "Home"


@pytest.mark.parametrize(
    "description", ["Gate\ud800", "Gate\x9b1234", "d" * 16_000], ids=["UTF-16 half", "C1", "16 KB"]
)
def test_a_description_with_a_lone_utf16_half_a_control_or_16_kb_is_refused(
    app: SmartCharging, operator: Actor, group_id: UUID, description: str
) -> None:
    with pytest.raises(InvalidInput, match="description: "):
        app.groups.edit_group(group_id, operator, description=description)
    assert app.group(group_id).description == ""


@pytest.mark.parametrize(
    "time_zone", ["Europe/Amsterdam\x00", "UTC\ud800", "Z" * 16_000], ids=["NUL", "half", "16 KB"]
)
def test_a_time_zone_with_controls_or_16_kb_is_refused_in_few_words(
    app: SmartCharging, operator: Actor, group_id: UUID, time_zone: str
) -> None:
    with pytest.raises(UnknownTimeZone, match="time_zone: ") as refusal:
        app.groups.edit_group(group_id, operator, time_zone=time_zone)

    assert len(str(refusal.value)) < 150
    assert app.group(group_id).time_zone == "Europe/Amsterdam"


def test_a_16_kb_algorithm_is_refused_in_few_words(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(InvalidInput, match="algorithm: at most") as refusal:
        app.groups.create_group(
            name="Home", time_zone="UTC", algorithm="a" * 16_000, actor=operator
        )

    assert len(str(refusal.value)) < 100
    assert app.recorder.max_notification_id() is None


def test_editing_several_details_records_only_the_changed_ones_in_one_save(
    app: SmartCharging, operator: Actor, group_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    saves = spy_on_saves(app, monkeypatch)

    app.groups.edit_group(
        group_id,
        operator,
        name="Home",
        description="Carport",
        time_zone="Europe/London",
        random_delay=True,
    )

    assert saves == [{group_id}]
    assert event_names(app, group_id) == [
        "Created",
        "Described",
        "TimeZoneChanged",
        "RandomDelaySet",
    ]
    group = app.group(group_id)
    assert (group.description, group.time_zone, group.random_delay) == (
        "Carport",
        "Europe/London",
        True,
    )


def test_an_edit_with_one_bad_detail_changes_nothing(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    with pytest.raises(UnknownTimeZone):
        app.groups.edit_group(group_id, operator, name="Cottage", time_zone="Mars/Base")

    assert app.group(group_id).name == "Home"
    assert event_names(app, group_id) == ["Created"]


def test_a_group_is_created_with_random_delay_on(app: SmartCharging, operator: Actor) -> None:
    group_id, _ = app.groups.create_group(
        name="Home", time_zone="UTC", actor=operator, random_delay=True
    )

    assert app.group(group_id).random_delay is True
    assert event_names(app, group_id) == ["Created", "RandomDelaySet"]


# --- exclusion times and random delay -----------------------------------------------------


def test_exclusion_times_are_set_and_replaced(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    app.groups.set_exclusion_times(group_id, PEAK, operator)
    app.groups.set_exclusion_times(group_id, NIGHT, operator)

    assert app.group(group_id).exclusion_windows == NIGHT
    assert last_event(app, group_id).windows == list(NIGHT)


def test_the_same_exclusion_times_again_record_no_event(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    app.groups.set_exclusion_times(group_id, PEAK, operator)

    assert app.groups.set_exclusion_times(group_id, list(PEAK), operator) is None
    assert event_names(app, group_id).count("ExclusionTimesSet") == 1


def test_an_empty_list_clears_the_exclusion_times(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    app.groups.set_exclusion_times(group_id, PEAK, operator)
    app.groups.set_exclusion_times(group_id, [], operator)

    assert app.group(group_id).exclusion_windows == ()


def test_windows_past_midnight_and_of_24_hours_are_kept_as_given(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    windows = parse_windows(
        [
            {"weekdays": ["fri"], "start": "22:00", "end": "06:00"},
            {"weekdays": ["sun"], "start": "07:00", "all_day": True},
        ]
    )

    app.groups.set_exclusion_times(group_id, windows, operator)

    assert app.group(group_id).exclusion_windows == windows
    assert [w.duration for w in app.group(group_id).exclusion_windows] == [8 * 60, 24 * 60]


def test_more_than_twenty_exclusion_windows_are_refused(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    windows = [ExclusionWindow(("mon",), minute, minute + 1) for minute in range(21)]

    with pytest.raises(InvalidExclusionTimes, match="at most 20"):
        app.groups.set_exclusion_times(group_id, windows, operator)
    assert event_names(app, group_id) == ["Created"]


def test_random_delay_is_switched_on_and_off_once_each(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    app.groups.edit_group(group_id, operator, random_delay=True)
    app.groups.edit_group(group_id, operator, random_delay=True)
    assert app.group(group_id).random_delay is True
    app.groups.edit_group(group_id, operator, random_delay=False)

    assert app.group(group_id).random_delay is False
    assert event_names(app, group_id).count("RandomDelaySet") == 2


@pytest.mark.parametrize("enabled", [1, "yes", None])
def test_random_delay_must_be_true_or_false(
    app: SmartCharging, operator: Actor, group_id: UUID, enabled: Any
) -> None:
    group = app.group(group_id)
    with pytest.raises(InvalidInput, match="random_delay"):
        group.set_random_delay(enabled, operator)
    if enabled is not None:  # to edit_group, None means "leave it as it is"
        with pytest.raises(InvalidInput, match="random_delay"):
            app.groups.edit_group(group_id, operator, random_delay=enabled)


# --- the home user ------------------------------------------------------------------------


def test_a_home_user_is_added(app: SmartCharging, operator: Actor, group_id: UUID) -> None:
    user_id = invite(app, "anna@example.com")

    app.groups.add_home_user(group_id, user_id, operator)

    assert app.group(group_id).home_user_id == user_id
    assert last_event(app, group_id).user_id == user_id


def test_adding_the_same_home_user_again_records_nothing(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    user_id = invite(app, "anna@example.com")
    app.groups.add_home_user(group_id, user_id, operator)

    assert app.groups.add_home_user(group_id, user_id, operator) is None
    assert event_names(app, group_id) == ["Created", "HomeUserAdded"]


def test_second_home_user_is_refused_with_the_current_users_email(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    anna, bert = invite(app, "Anna@Example.com"), invite(app, "bert@example.com")
    app.groups.add_home_user(group_id, anna, operator)

    with pytest.raises(GroupAlreadyHasHomeUser, match=r"anna@example\.com") as refusal:
        app.groups.add_home_user(group_id, bert, operator)

    assert (refusal.value.current_user_id, refusal.value.current_email) == (
        anna,
        "anna@example.com",
    )
    assert refusal.value.group_id == group_id
    assert app.group(group_id).home_user_id == anna
    assert event_names(app, group_id).count("HomeUserAdded") == 1


def test_an_operator_cannot_be_a_home_user(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    operator_id = app.accounts.add_operator("ops@example.com", "operator-pass-7", operator)

    with pytest.raises(InvalidInput, match="is an operator, not a home user"):
        app.groups.add_home_user(group_id, operator_id, operator)
    assert app.group(group_id).home_user_id is None


def test_a_revoked_user_cannot_be_a_home_user(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    user_id = invite(app, "anna@example.com")
    app.accounts.revoke_user(user_id, operator)

    with pytest.raises(InvalidInput, match=r"anna@example\.com was revoked"):
        app.groups.add_home_user(group_id, user_id, operator)


def test_an_unknown_user_cannot_be_a_home_user(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    with pytest.raises(NotFound):
        app.groups.add_home_user(group_id, uuid4(), operator)


def test_removing_the_home_user_makes_room_for_another(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    anna, bert = invite(app, "anna@example.com"), invite(app, "bert@example.com")
    app.groups.add_home_user(group_id, anna, operator)

    app.groups.remove_home_user(group_id, anna, operator)
    app.groups.add_home_user(group_id, bert, operator)

    assert app.group(group_id).home_user_id == bert


def test_removing_someone_who_is_not_the_home_user_is_a_conflict(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    anna, bert = invite(app, "anna@example.com"), invite(app, "bert@example.com")
    with pytest.raises(Conflict, match="not this group's home user"):
        app.groups.remove_home_user(group_id, anna, operator)
    app.groups.add_home_user(group_id, anna, operator)

    with pytest.raises(Conflict):
        app.groups.remove_home_user(group_id, bert, operator)
    assert app.group(group_id).home_user_id == anna


# --- EVSEs ----------------------------------------------------------------------------------


def test_an_evse_is_added_and_removed_with_the_group_and_the_evse_saved_together(
    app: SmartCharging, operator: Actor, group_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    evse_id = register(app, "CP-1")
    saves = spy_on_saves(app, monkeypatch)

    app.evses.add_evse(group_id, evse_id, operator)
    assert (app.group(group_id).evse_ids, app.evse(evse_id).group_id) == ([evse_id], group_id)
    app.evses.remove_evse(group_id, evse_id, operator)

    assert (app.group(group_id).evse_ids, app.evse(evse_id).group_id) == ([], None)
    assert saves == [{group_id, evse_id}, {group_id, evse_id}]


def test_adding_an_evse_twice_to_the_same_group_records_nothing(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    evse_id = register(app, "CP-1")
    app.evses.add_evse(group_id, evse_id, operator)

    assert app.evses.add_evse(group_id, evse_id, operator) is None
    assert app.group(group_id).evse_ids == [evse_id]


def test_an_evse_in_another_group_is_refused_naming_that_group(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    other_id, _ = app.groups.create_group(name="Other", time_zone="UTC", actor=operator)
    evse_id = register(app, "CP-1")
    app.evses.add_evse(group_id, evse_id, operator)

    with pytest.raises(EvseInAnotherGroup, match=str(group_id)) as refusal:
        app.evses.add_evse(other_id, evse_id, operator)

    assert (refusal.value.evse_id, refusal.value.group_id) == (evse_id, group_id)
    assert app.group(other_id).evse_ids == []
    assert app.evse(evse_id).group_id == group_id


def test_removing_an_evse_that_is_not_in_the_group_is_a_conflict(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    evse_id = register(app, "CP-1")

    with pytest.raises(Conflict, match="not in this group"):
        app.evses.remove_evse(group_id, evse_id, operator)


def test_an_unknown_evse_is_not_found(app: SmartCharging, operator: Actor, group_id: UUID) -> None:
    with pytest.raises(NotFound):
        app.evses.add_evse(group_id, uuid4(), operator)


def test_moving_an_evse_saves_it_and_both_groups_at_once(
    app: SmartCharging, operator: Actor, group_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    target_id, _ = app.groups.create_group(name="Target", time_zone="UTC", actor=operator)
    evse_id, staying = register(app, "CP-1", 1), register(app, "CP-1", 2)
    app.evses.add_evse(group_id, evse_id, operator)
    app.evses.add_evse(group_id, staying, operator)
    saves = spy_on_saves(app, monkeypatch)

    position = app.evses.move_evse(evse_id, target_id, operator)

    assert saves == [{evse_id, group_id, target_id}]
    assert position == app.recorder.max_notification_id()
    assert app.group(group_id).evse_ids == [staying]
    assert app.group(target_id).evse_ids == [evse_id]
    assert app.evse(evse_id).group_id == target_id
    assert event_names(app, evse_id)[-2:] == ["Released", "Assigned"]


def test_moving_an_evse_in_no_group_just_adds_it(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    evse_id = register(app, "CP-1")

    app.evses.move_evse(evse_id, group_id, operator)

    assert app.group(group_id).evse_ids == [evse_id]


def test_moving_an_evse_to_its_own_group_records_nothing(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    evse_id = register(app, "CP-1")
    app.evses.add_evse(group_id, evse_id, operator)

    assert app.evses.move_evse(evse_id, group_id, operator) is None
    assert event_names(app, group_id) == ["Created", "EvseAdded"]


# --- priority charge -----------------------------------------------------------------------


def test_priority_charge_runs_for_the_default_two_hours(
    app: SmartCharging, operator: Actor, group_id: UUID, clock: ManualClock
) -> None:
    app.groups.start_priority_charge(group_id, operator)

    priority = app.group(group_id).priority
    assert priority is not None
    assert (priority.started_at, priority.ends_at) == (
        clock.now,
        clock.now + timedelta(minutes=120),
    )
    assert priority.started_by == operator
    assert app.group(group_id).active_priority(clock.now) == priority


def test_the_default_priority_duration_comes_from_the_environment(clock: ManualClock) -> None:
    app = SmartCharging(env={"PRIORITY_CHARGE_DEFAULT_MINUTES": "45"}, clock=clock)
    group_id, _ = app.groups.create_group(name="Home", time_zone="UTC", actor=SYSTEM)

    app.groups.start_priority_charge(group_id, SYSTEM)

    assert app.group(group_id).priority.ends_at == clock.now + timedelta(minutes=45)


def test_priority_charge_runs_for_an_explicit_duration_or_until_an_end_time(
    app: SmartCharging, operator: Actor, group_id: UUID, clock: ManualClock
) -> None:
    app.groups.start_priority_charge(group_id, operator, duration=timedelta(minutes=30))
    assert app.group(group_id).priority.ends_at == clock.now + timedelta(minutes=30)

    ends_at = (clock.now + timedelta(hours=5)).astimezone(timezone(timedelta(hours=2)))
    app.groups.start_priority_charge(group_id, operator, ends_at=ends_at)
    assert app.group(group_id).priority.ends_at == ends_at


def test_priority_charge_may_last_24_hours_but_no_longer(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    app.groups.start_priority_charge(group_id, operator, duration=timedelta(hours=24))

    with pytest.raises(InvalidInput, match="at most 24 hours"):
        app.groups.start_priority_charge(
            group_id, operator, duration=timedelta(hours=24, seconds=1)
        )


@pytest.mark.parametrize(
    "duration", [timedelta(0), timedelta(minutes=-5), timedelta(days=999_999_999), 30]
)
def test_a_priority_charge_of_no_time_or_of_ages_is_refused(
    app: SmartCharging, operator: Actor, group_id: UUID, duration: Any
) -> None:
    with pytest.raises(InvalidInput, match="duration_minutes: "):
        app.groups.start_priority_charge(group_id, operator, duration=duration)
    assert app.group(group_id).priority is None


def test_a_priority_charge_with_an_end_that_is_no_time_is_refused(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    with pytest.raises(InvalidInput, match="ends_at: must be a date and time"):
        app.groups.start_priority_charge(group_id, operator, ends_at="tomorrow")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not both"):
        app.groups.start_priority_charge(
            group_id, operator, duration=timedelta(hours=1), ends_at=datetime.now(UTC)
        )
    assert app.group(group_id).priority is None


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(minutes=-1)])
def test_priority_charge_ending_now_or_in_the_past_is_refused(
    app: SmartCharging, operator: Actor, group_id: UUID, clock: ManualClock, offset: timedelta
) -> None:
    with pytest.raises(InvalidInput, match="must be in the future"):
        app.groups.start_priority_charge(group_id, operator, ends_at=clock.now + offset)
    assert app.group(group_id).priority is None


def test_priority_charge_with_a_naive_end_time_is_refused(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    with pytest.raises(InvalidInput, match="UTC offset"):
        app.groups.start_priority_charge(group_id, operator, ends_at=datetime(2030, 1, 1, 12, 0))


def test_the_group_itself_refuses_a_naive_end_time(clock: ManualClock) -> None:
    group = SmartChargingGroup.create("Home", "", "consumer_tou", "UTC", SYSTEM)

    with pytest.raises(InvalidInput, match="UTC offset"):
        group.start_priority_charge(clock.now, datetime(2030, 1, 1, 12, 0), SYSTEM)
    with pytest.raises(InvalidInput, match="UTC offset"):
        group.start_priority_charge(datetime(2026, 1, 1), clock.now + timedelta(hours=1), SYSTEM)
    assert group.priority is None


def test_stopping_a_running_priority_charge_records_when_and_why(
    app: SmartCharging, operator: Actor, group_id: UUID, clock: ManualClock
) -> None:
    app.groups.start_priority_charge(group_id, operator)
    clock.advance(timedelta(minutes=10))

    app.groups.stop_priority_charge(group_id, operator)

    ended = last_event(app, group_id)
    assert (type(ended).__name__, ended.ended_at, ended.reason) == (
        "PriorityChargeEnded",
        clock.now,
        PriorityEndReason.STOPPED,
    )
    assert app.group(group_id).priority is None


def test_stopping_when_no_priority_charge_runs_records_nothing(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    assert app.groups.stop_priority_charge(group_id, operator) is None
    assert event_names(app, group_id) == ["Created"]


def test_stopping_after_the_end_time_records_expiry_at_the_end_time(
    app: SmartCharging, operator: Actor, group_id: UUID, clock: ManualClock
) -> None:
    app.groups.start_priority_charge(group_id, operator, duration=timedelta(minutes=30))
    ends_at = app.group(group_id).priority.ends_at
    clock.advance(timedelta(hours=3))
    assert app.group(group_id).active_priority(clock.now) is None

    app.groups.stop_priority_charge(group_id, operator)

    ended = last_event(app, group_id)
    assert (ended.ended_at, ended.reason) == (ends_at, PriorityEndReason.EXPIRED)


def test_an_early_expiry_notice_records_nothing(
    app: SmartCharging, operator: Actor, group_id: UUID, clock: ManualClock
) -> None:
    app.groups.start_priority_charge(group_id, operator)

    assert app.groups.stop_priority_charge(group_id, SYSTEM, PriorityEndReason.EXPIRED) is None
    assert app.group(group_id).priority is not None


# --- delete -----------------------------------------------------------------------------------


def test_deleting_a_group_releases_its_evses_and_home_user(
    app: SmartCharging, operator: Actor, group_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id, evse_id = invite(app, "anna@example.com"), register(app, "CP-1")
    app.groups.add_home_user(group_id, user_id, operator)
    app.evses.add_evse(group_id, evse_id, operator)
    saves = spy_on_saves(app, monkeypatch)

    app.groups.delete_group(group_id, operator)

    assert saves == [{group_id, evse_id}]
    assert event_names(app, group_id)[-3:] == ["EvseRemoved", "HomeUserRemoved", "Deleted"]
    assert app.evse(evse_id).group_id is None
    stored = app.repository.get(group_id)
    assert (stored.deleted, stored.evse_ids, stored.home_user_id) == (True, [], None)


@pytest.mark.parametrize(
    "command",
    [
        lambda app, g, a: app.group(g),
        lambda app, g, a: app.groups.edit_group(g, a, name="Again"),
        lambda app, g, a: app.groups.set_exclusion_times(g, PEAK, a),
        lambda app, g, a: app.groups.start_priority_charge(g, a),
        lambda app, g, a: app.evses.add_evse(g, register(app, "CP-9"), a),
        lambda app, g, a: app.groups.add_home_user(g, invite(app, "zoe@example.com"), a),
        lambda app, g, a: app.groups.delete_group(g, a),
    ],
)
def test_a_deleted_group_is_not_found_and_refuses_commands(
    app: SmartCharging, operator: Actor, group_id: UUID, command: Callable[..., Any]
) -> None:
    app.groups.delete_group(group_id, operator)
    deleted_events = len(event_names(app, group_id))

    with pytest.raises(NotFound):
        command(app, group_id, operator)
    assert len(event_names(app, group_id)) == deleted_events


def test_an_evse_of_a_deleted_group_can_join_another_group(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    user_id, evse_id = invite(app, "anna@example.com"), register(app, "CP-1")
    app.evses.add_evse(group_id, evse_id, operator)
    app.groups.add_home_user(group_id, user_id, operator)
    app.groups.delete_group(group_id, operator)
    other_id, _ = app.groups.create_group(name="New home", time_zone="UTC", actor=operator)

    app.evses.add_evse(other_id, evse_id, operator)
    app.groups.add_home_user(other_id, user_id, operator)

    assert app.evse(evse_id).group_id == other_id
    assert app.group(other_id).home_user_id == user_id


# --- who may do what ---------------------------------------------------------------------------


@pytest.fixture
def anna(app: SmartCharging, operator: Actor, group_id: UUID) -> Actor:
    """Anna, the home user of `group_id`, as the consumer portal knows her after login."""
    user_id = invite(app, "anna@example.com")
    app.groups.add_home_user(group_id, user_id, operator)
    return Actor.home_user(user_id)


def test_the_home_user_sets_exclusion_times_and_runs_priority_on_his_own_group(
    app: SmartCharging, group_id: UUID, anna: Actor, clock: ManualClock
) -> None:
    app.groups.set_exclusion_times(group_id, PEAK, anna)
    app.groups.start_priority_charge(group_id, anna)
    assert app.group(group_id).priority.started_by == anna
    clock.advance(timedelta(minutes=5))
    app.groups.stop_priority_charge(group_id, anna)

    events = list(app.events.get(group_id))[-3:]
    assert [type(e).__name__ for e in events] == [
        "ExclusionTimesSet",
        "PriorityChargeStarted",
        "PriorityChargeEnded",
    ]
    assert all(e.actor == anna for e in events)
    assert app.group(group_id).exclusion_windows == PEAK


@pytest.mark.parametrize(
    "command",
    [
        lambda app, g, a: app.groups.set_exclusion_times(g, PEAK, a),
        lambda app, g, a: app.groups.start_priority_charge(g, a),
        lambda app, g, a: app.groups.stop_priority_charge(g, a),
    ],
)
def test_a_home_user_acting_on_another_users_group_finds_nothing(
    app: SmartCharging, operator: Actor, anna: Actor, command: Callable[..., Any]
) -> None:
    bert_id = invite(app, "bert@example.com")
    berts_group, _ = app.groups.create_group(
        name="Bert's", time_zone="UTC", actor=operator, home_user_id=bert_id
    )

    with pytest.raises(NotFound):
        command(app, berts_group, anna)
    with pytest.raises(NotFound):
        command(app, uuid4(), anna)
    assert event_names(app, berts_group) == ["Created", "HomeUserAdded"]


OPERATOR_ONLY: list[Callable[[SmartCharging, UUID, Actor], Any]] = [
    lambda app, g, a: app.groups.create_group(name="Mine", time_zone="UTC", actor=a),
    lambda app, g, a: app.groups.edit_group(g, a, name="Mine"),
    lambda app, g, a: app.groups.edit_group(g, a, description="mine"),
    lambda app, g, a: app.groups.edit_group(g, a, time_zone="UTC"),
    lambda app, g, a: app.groups.edit_group(g, a, random_delay=True),
    lambda app, g, a: app.groups.add_home_user(g, a.user_id, a),
    lambda app, g, a: app.groups.remove_home_user(g, a.user_id, a),
    lambda app, g, a: app.evses.add_evse(g, uuid4(), a),
    lambda app, g, a: app.evses.remove_evse(g, uuid4(), a),
    lambda app, g, a: app.evses.move_evse(uuid4(), g, a),
    lambda app, g, a: app.groups.delete_group(g, a),
    lambda app, g, a: app.evses.register_evse("CP-X", 1, a, EvseLimits(max_power_w=7400)),
    lambda app, g, a: app.evses.deregister_evse(uuid4(), a),
    lambda app, g, a: app.evses.change_evse_limits(uuid4(), a, EvseLimits(max_power_w=3700)),
]


@pytest.mark.parametrize("command", OPERATOR_ONLY)
def test_a_home_user_calling_an_operator_command_is_forbidden_even_on_his_own_group(
    app: SmartCharging, group_id: UUID, anna: Actor, command: Callable[..., Any]
) -> None:
    before = app.recorder.max_notification_id()

    with pytest.raises(Forbidden):
        command(app, group_id, anna)
    assert app.recorder.max_notification_id() == before


# --- the audit trail ---------------------------------------------------------------------------


def test_every_group_and_evse_event_names_its_actor_and_time(
    app: SmartCharging, operator: Actor, group_id: UUID, anna: Actor
) -> None:
    evse_id = register(app, "CP-1")
    app.evses.add_evse(group_id, evse_id, operator)
    app.groups.set_exclusion_times(group_id, NIGHT, anna)
    app.groups.edit_group(group_id, operator, name="Renamed")
    app.groups.delete_group(group_id, operator)

    for aggregate_id in (group_id, evse_id):
        for event in app.events.get(aggregate_id):
            assert isinstance(event.actor, Actor), event
            assert event.actor.role in (Role.OPERATOR, Role.HOME_USER, Role.SYSTEM)
            assert event.timestamp.tzinfo is not None
    group_actors = {e.actor for e in app.events.get(group_id)}
    assert group_actors == {operator, anna}
    assert next(iter(app.events.get(evse_id))).actor == SYSTEM


def test_removing_a_window_that_is_gone_is_refused_and_changes_nothing() -> None:
    app = SmartCharging()
    operator = Actor.operator(
        app.accounts.add_operator("ops@example.com", "operator-pass-7", Actor.system())
    )
    group_id, _ = app.groups.create_group(name="Home", time_zone="UTC", actor=operator)
    kept = ExclusionWindow(("tue",), 17 * 60, 21 * 60)
    app.groups.add_exclusion_window(group_id, kept, operator)

    with pytest.raises(Conflict, match="already removed"):
        app.groups.remove_exclusion_window(group_id, ExclusionWindow(("mon",), 60, 120), operator)

    assert app.group(group_id).exclusion_windows == (kept,)
    app.groups.remove_exclusion_window(group_id, kept, operator)
    assert app.group(group_id).exclusion_windows == ()
