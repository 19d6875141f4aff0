"""ChargingProfile as a domain value: the same schedule a week later, how EVSE deliveries
record profiles, and events recorded before the value existed (plain dicts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor
from domain.charging_profiles import (
    PRIORITY_ROLE,
    ChargingProfile,
    ChargingSchedulePeriod,
    profile_id,
)
from domain.delivery import delivery_id_for
from domain.evse_limits import EvseLimits
from domain.service import SmartCharging
from domain.transcodings import ChargingProfileAsDict
from old_delivery_events import record_old_desired
from peer.scenario import exclusion
from smartcharge.runtime import Runtime

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
WAIT = 10


def weekly(start: datetime = MONDAY, limit: float = 16.0) -> ChargingProfile:
    """No charging 16:00-20:00 on the first day of the week, `limit` A otherwise."""
    return exclusion(1, limit, start)


def priority(start: datetime = MONDAY) -> ChargingProfile:
    return ChargingProfile(
        profile_id=profile_id(1, PRIORITY_ROLE),
        stack_level=2,
        purpose="TxDefaultProfile",
        kind="Absolute",
        recurrency_kind=None,
        valid_from=start,
        valid_to=start + timedelta(hours=2),
        rate_unit="W",
        start_schedule=start,
        duration=7200,
        periods=(ChargingSchedulePeriod(0, 11040.0),),
    )


@pytest.fixture
def app() -> Iterator[SmartCharging]:
    application = SmartCharging()
    yield application
    application.close()


def registered(service: SmartCharging, charge_point_id: str = "CP-1") -> UUID:
    evse_id, _ = service.evses.register_evse(
        charge_point_id, 1, Actor.system(), EvseLimits(max_current_a=16, phases=3)
    )
    return evse_id


def event_names(app: SmartCharging, evse_id: UUID) -> list[str]:
    return [type(e).__name__ for e in app.events.get(delivery_id_for(evse_id))]


def desired_in_events(app: SmartCharging, evse_id: UUID) -> list[tuple[ChargingProfile, ...]]:
    """The profiles of each ProfilesDesired event, as the store gives them back."""
    events = app.events.get(delivery_id_for(evse_id))
    return [tuple(e.profiles) for e in events if type(e).__name__ == "ProfilesDesired"]


# --- the same schedule -------------------------------------------------------------------------


def test_a_weekly_profile_whole_weeks_later_is_the_same_schedule() -> None:
    assert weekly().same_recurring_schedule(weekly(MONDAY + timedelta(days=7)))
    assert weekly().same_recurring_schedule(weekly(MONDAY + timedelta(days=21)))
    assert not weekly().same_recurring_schedule(weekly(MONDAY + timedelta(days=1)))
    assert not weekly().same_recurring_schedule(weekly(MONDAY + timedelta(hours=1)))
    assert not weekly().same_recurring_schedule(weekly(MONDAY + timedelta(days=7), limit=8.0))


def test_a_daily_profile_whole_days_later_is_the_same_schedule() -> None:
    daily = replace(weekly(), recurrency_kind="Daily", duration=86_400)
    assert daily.same_recurring_schedule(replace(daily, start_schedule=MONDAY + timedelta(days=1)))
    assert not daily.same_recurring_schedule(replace(weekly(), duration=86_400))


def test_an_absolute_profile_is_never_the_same_schedule_as_another() -> None:
    later = priority(MONDAY + timedelta(days=7))
    assert not priority().same_recurring_schedule(later)
    assert not priority().same_recurring_schedule(priority())


def test_the_stored_shape_gives_back_the_same_value() -> None:
    for profile in (weekly(), priority()):
        assert ChargingProfile.from_dict(profile.to_dict()) == profile


# --- recorded by an EVSE's delivery ----------------------------------------------------------


def test_decoding_the_same_recorded_profile_again_gives_the_same_value_and_no_other() -> None:
    """Events are decoded by every follower and load: a recorded profile seen before is
    given back as the value made the first time, and one differing in any field (or a
    period) is its own."""
    recorded = json.loads(json.dumps(weekly().to_dict()))
    decode = ChargingProfileAsDict().decode
    first = decode(recorded)
    assert decode(json.loads(json.dumps(recorded))) is first
    other_level = {**recorded, "stack_level": recorded["stack_level"] + 1}
    assert decode(other_level).stack_level == first.stack_level + 1
    fewer_periods = {**recorded, "periods": recorded["periods"][:1]}
    assert decode(fewer_periods).periods == first.periods[:1]
    with pytest.raises(ValueError):
        decode({**recorded, "periods": []})  # what does not hold is refused as before


def test_next_weeks_copy_of_the_desired_schedule_records_nothing(app: SmartCharging) -> None:
    evse_id = registered(app)
    assert app.deliveries.desire_profiles(evse_id, [weekly()], "test") is not None

    next_week = weekly(MONDAY + timedelta(days=7))
    assert app.deliveries.desire_profiles(evse_id, [next_week], "test") is None

    delivery = app.delivery(evse_id)
    assert delivery.desired == (weekly(),)  # kept, with its start: the charger holds it
    assert delivery.desired_version == 1
    assert event_names(app, evse_id) == ["Started", "ProfilesDesired"]


def test_a_changed_schedule_is_recorded_and_its_answers_start_again(app: SmartCharging) -> None:
    evse_id = registered(app)
    app.deliveries.desire_profiles(evse_id, [weekly()], "test")
    app.deliveries.record_answer(evse_id, weekly().profile_id, 1, "Accepted")
    assert app.delivery(evse_id).unaccepted() == ()

    lower = weekly(MONDAY + timedelta(days=7), limit=8.0)
    app.deliveries.desire_profiles(evse_id, [lower, priority()], "test")

    delivery = app.delivery(evse_id)
    assert (delivery.desired, delivery.desired_version) == ((lower, priority()), 2)
    assert delivery.unaccepted() == (lower, priority())


def test_one_deliverys_answers_are_one_save_in_the_order_they_came(app: SmartCharging) -> None:
    evse_id = registered(app)
    app.deliveries.desire_profiles(evse_id, [weekly(), priority()], "test")
    before = app.recorder.max_notification_id()

    answers = [(priority().profile_id, "Rejected"), (weekly().profile_id, "Accepted")]
    position = app.deliveries.record_answers(evse_id, 1, answers)

    assert position == before + 2  # both events, one transaction, nothing between them
    delivery = app.delivery(evse_id)
    assert delivery.unaccepted() == (priority(),)
    assert event_names(app, evse_id)[-2:] == ["ProfileAnswered", "ProfileAnswered"]


def test_answers_to_an_older_version_record_nothing(app: SmartCharging) -> None:
    evse_id = registered(app)
    app.deliveries.desire_profiles(evse_id, [weekly()], "test")
    app.deliveries.desire_profiles(evse_id, [weekly(limit=8.0)], "test")

    assert app.deliveries.record_answers(evse_id, 1, [(weekly().profile_id, "Accepted")]) is None
    assert event_names(app, evse_id)[-1] == "ProfilesDesired"


def test_desired_profiles_are_stored_as_values_and_read_back_as_values(
    app: SmartCharging,
) -> None:
    evse_id = registered(app)
    app.deliveries.desire_profiles(evse_id, [weekly(), priority()], "test")

    (stored,) = [
        record
        for record in app.recorder.select_events(delivery_id_for(evse_id))
        if record.topic.endswith("ProfilesDesired")
    ]
    assert b'"_type_":"charging_profile"' in stored.state
    assert desired_in_events(app, evse_id) == [(weekly(), priority())]


# --- recorded before the value existed -------------------------------------------------------


def test_profiles_recorded_as_plain_dicts_still_replay(app: SmartCharging) -> None:
    evse_id = registered(app)
    record_old_desired(
        app, evse_id, "CP-1", [weekly().to_dict(), priority().to_dict()], [weekly().to_dict()]
    )

    assert desired_in_events(app, evse_id) == [(weekly(), priority()), (weekly(),)]
    delivery = app.delivery(evse_id)
    assert (delivery.desired, delivery.desired_version) == ((weekly(),), 2)

    # recorded on top of the old events, and next week's copy is still the same schedule
    next_week = weekly(MONDAY + timedelta(days=7))
    assert app.deliveries.desire_profiles(evse_id, [next_week], "test") is None
    app.deliveries.desire_profiles(evse_id, [], "removed from its group")
    assert app.delivery(evse_id).desired == ()


def test_an_old_profile_that_no_longer_holds_is_left_out_and_the_rest_replays(
    app: SmartCharging,
) -> None:
    evse_id = registered(app)
    broken: dict[str, Any] = {**weekly().to_dict(), "periods": [[60, 16.0, 3]]}  # not from 0
    record_old_desired(app, evse_id, "CP-1", [broken, priority().to_dict()])

    assert app.delivery(evse_id).desired == (priority(),)


@pytest.mark.postgres
def test_old_and_new_desired_profiles_reach_the_read_model_in_one_shape(
    runtime: Runtime,
) -> None:
    service = runtime.service
    old_evse, new_evse = registered(service, "CP-OLD"), registered(service, "CP-NEW")
    record_old_desired(service, old_evse, "CP-OLD", [weekly().to_dict(), priority().to_dict()])
    position = service.deliveries.desire_profiles(new_evse, [weekly(), priority()], "test")
    assert position is not None and runtime.context.view.wait_for(position, WAIT)

    rows = [runtime.context.queries.evse(evse_id) for evse_id in (old_evse, new_evse)]
    shapes = [row["status"]["desired_profiles"] for row in rows if row is not None]
    assert shapes == [[weekly().to_dict(), priority().to_dict()]] * 2
    assert service.delivery(old_evse).desired == (weekly(), priority())
