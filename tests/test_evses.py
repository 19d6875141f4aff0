"""EVSEs: registering a charger's connector, its limits, and leaving the system again."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import Actor
from domain.errors import (
    Conflict,
    EvseAlreadyRegistered,
    EvseInAnotherGroup,
    Forbidden,
    InvalidInput,
    NotFound,
)
from domain.evse_limits import EvseLimits
from domain.evses import Evse, evse_id_for
from domain.service import SmartCharging
from old_evse_events import record_old_evse


def event_names(app: SmartCharging, aggregate_id: UUID) -> list[str]:
    return [type(e).__name__ for e in app.events.get(aggregate_id)]


# --- register ------------------------------------------------------------------------------


def test_an_evse_is_registered_by_current_and_phases(app: SmartCharging, operator: Actor) -> None:
    evse_id, position = app.evses.register_evse(
        "ACME-0042", 1, operator, EvseLimits(max_current_a=16, phases=3)
    )

    evse = app.evse(evse_id)
    assert evse_id == evse_id_for("ACME-0042", 1)
    assert (evse.charge_point_id, evse.connector_id, evse.group_id) == ("ACME-0042", 1, None)
    assert (evse.limits.max_current_a, evse.limits.phases, evse.limits.max_power_w) == (
        16.0,
        3,
        None,
    )
    assert evse.limits.max_power == 16 * 3 * 230
    assert position == 1
    (registered,) = app.events.get(evse_id)
    assert registered.actor == operator


def test_an_evse_is_registered_by_power_keeping_its_phases(
    app: SmartCharging, operator: Actor
) -> None:
    evse_id, _ = app.evses.register_evse(
        "CP-1", 2, operator, EvseLimits(max_power_w=7400, phases=1)
    )

    evse = app.evse(evse_id)
    assert (evse.limits.max_current_a, evse.limits.phases, evse.limits.max_power_w) == (
        None,
        1,
        7400.0,
    )
    assert evse.limits.max_power == 7400.0


@pytest.mark.parametrize("charge_point_id", ["", "has space", "a/b", "x" * 49, None, 42, "CP\n1"])
def test_a_bad_charge_point_id_is_refused(
    app: SmartCharging, operator: Actor, charge_point_id: Any
) -> None:
    with pytest.raises(InvalidInput, match="charge_point_id"):
        app.evses.register_evse(
            charge_point_id, 1, operator, EvseLimits(max_current_a=16, phases=1)
        )
    assert app.recorder.max_notification_id() is None


def test_a_charge_point_id_of_48_url_safe_characters_is_accepted(
    app: SmartCharging, operator: Actor
) -> None:
    charge_point_id = "A-b_c.d~e:f@g!h$i&j'k(l)m*n+o,p;q=r" + "0" * 13
    assert len(charge_point_id) == 48

    app.evses.register_evse(charge_point_id, 1, operator, EvseLimits(max_power_w=11000))


@pytest.mark.parametrize("connector_id", [0, -1, True, "1", 1.0, None])
def test_a_connector_id_must_be_a_whole_number_from_one(
    app: SmartCharging, operator: Actor, connector_id: Any
) -> None:
    with pytest.raises(InvalidInput, match="connector_id"):
        app.evses.register_evse(
            "CP-1", connector_id, operator, EvseLimits(max_current_a=16, phases=1)
        )


def test_connector_ids_run_from_1_to_1000(app: SmartCharging, operator: Actor) -> None:
    app.evses.register_evse("CP-1", 1000, operator, EvseLimits(max_power_w=11000))

    for connector_id in (1001, 2**31, 1_000_000_000_000, 10**5000):
        with pytest.raises(InvalidInput, match=r"connector_id: .* must be between 1 and 1000"):
            app.evses.register_evse("CP-1", connector_id, operator, EvseLimits(max_power_w=11000))
    assert app.recorder.max_notification_id() == 1


@pytest.mark.parametrize(
    "charge_point_id",
    ["CP-1\x00", "CP-1\n", "CP-\ud800", "CP-\x85", "C" * 16_000],
    ids=["NUL", "line break", "UTF-16 half", "NEL", "16 KB"],
)
def test_a_charge_point_id_with_controls_or_16_kb_is_refused_in_few_words(
    app: SmartCharging, operator: Actor, charge_point_id: str
) -> None:
    with pytest.raises(InvalidInput, match="charge_point_id") as refusal:
        app.evses.register_evse(charge_point_id, 1, operator, EvseLimits(max_power_w=11000))

    assert len(str(refusal.value)) < 200
    assert app.recorder.max_notification_id() is None


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"max_current_a": float("nan"), "phases": 3}, "max_current_a"),
        ({"max_current_a": float("inf"), "phases": 3}, "max_current_a"),
        ({"max_current_a": "16", "phases": 3}, "max_current_a"),
        ({"max_current_a": True, "phases": 3}, "max_current_a"),
        ({"max_current_a": 16, "phases": 3.0}, "phases"),
        ({"max_current_a": 16, "phases": 1_000_000_000_000}, "phases"),
        ({"max_power_w": float("nan")}, "max_power_w"),
        ({"max_power_w": float("-inf")}, "max_power_w"),
        ({"max_power_w": 10**400}, "max_power_w"),
    ],
)
def test_limits_that_are_not_finite_numbers_in_range_are_refused(
    app: SmartCharging, operator: Actor, limits: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput, match=field):
        app.evses.register_evse("CP-1", 1, operator, EvseLimits(**limits))
    assert app.recorder.max_notification_id() is None


def test_a_current_without_phases_asks_for_them_in_words(
    app: SmartCharging, operator: Actor
) -> None:
    with pytest.raises(InvalidInput) as refusal:
        app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_current_a=16))

    assert str(refusal.value) == "phases: choose 1 or 3 with a maximum current"


def test_both_current_and_power_are_refused(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(InvalidInput, match=r"either max_current_a .* or max_power_w, not both"):
        app.evses.register_evse(
            "CP-1", 1, operator, EvseLimits(max_current_a=16, phases=3, max_power_w=11000)
        )


def test_neither_current_nor_power_is_refused(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(InvalidInput, match="either max_current_a"):
        app.evses.register_evse("CP-1", 1, operator, EvseLimits())


@pytest.mark.parametrize("phases", [2, 0, None, 4])
def test_phases_must_be_one_or_three(app: SmartCharging, operator: Actor, phases: Any) -> None:
    with pytest.raises(InvalidInput, match="phases"):
        app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_current_a=16, phases=phases))


@pytest.mark.parametrize(
    "limits",
    [
        {"max_current_a": 0, "phases": 1},
        {"max_current_a": -6, "phases": 1},
        {"max_current_a": 1000.5, "phases": 3},
        {"max_power_w": 0},
        {"max_power_w": 1_000_001},
    ],
)
def test_limits_out_of_range_are_refused(
    app: SmartCharging, operator: Actor, limits: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput, match="must be above 0"):
        app.evses.register_evse("CP-1", 1, operator, EvseLimits(**limits))


def test_registering_the_same_connector_twice_is_refused_and_keeps_the_first(
    app: SmartCharging, operator: Actor
) -> None:
    evse_id, _ = app.evses.register_evse(
        "CP-1", 1, operator, EvseLimits(max_current_a=16, phases=3)
    )

    with pytest.raises(EvseAlreadyRegistered, match="connector 1 of charger CP-1"):
        app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=3700))

    assert app.evse(evse_id).limits.max_current_a == 16.0
    assert event_names(app, evse_id) == ["Registered"]


def test_other_connectors_of_the_same_charger_are_separate_evses(
    app: SmartCharging, operator: Actor
) -> None:
    first, _ = app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=7400))
    second, _ = app.evses.register_evse("CP-1", 2, operator, EvseLimits(max_power_w=7400))

    assert first != second


def test_a_home_user_cannot_register_an_evse(app: SmartCharging) -> None:
    with pytest.raises(Forbidden):
        app.evses.register_evse("CP-1", 1, Actor.home_user(uuid4()), EvseLimits(max_power_w=7400))


# --- deregister ---------------------------------------------------------------------------


def test_a_deregistered_evse_is_gone(app: SmartCharging, operator: Actor) -> None:
    evse_id, _ = app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=7400))

    app.evses.deregister_evse(evse_id, operator)

    with pytest.raises(NotFound):
        app.evse(evse_id)
    with pytest.raises(NotFound):
        app.evses.deregister_evse(evse_id, operator)
    assert event_names(app, evse_id) == ["Registered", "Deregistered"]


def test_an_evse_in_a_group_cannot_be_deregistered(app: SmartCharging, operator: Actor) -> None:
    evse_id, _ = app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=7400))
    group_id, _ = app.groups.create_group(
        name="Home", time_zone="UTC", actor=operator, evse_ids=[evse_id]
    )

    with pytest.raises(Conflict, match="remove it from there first"):
        app.evses.deregister_evse(evse_id, operator)

    app.evses.remove_evse(group_id, evse_id, operator)
    app.evses.deregister_evse(evse_id, operator)


def test_a_deregistered_evse_cannot_join_a_group(app: SmartCharging, operator: Actor) -> None:
    evse_id, _ = app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=7400))
    group_id, _ = app.groups.create_group(name="Home", time_zone="UTC", actor=operator)
    app.evses.deregister_evse(evse_id, operator)

    with pytest.raises(NotFound):
        app.evses.add_evse(group_id, evse_id, operator)
    assert app.group(group_id).evse_ids == []


def test_deregistering_an_unknown_evse_is_not_found(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(NotFound):
        app.evses.deregister_evse(uuid4(), operator)


# --- limits ---------------------------------------------------------------------------------


def test_the_operator_changes_an_evses_limits(app: SmartCharging, operator: Actor) -> None:
    evse_id, _ = app.evses.register_evse(
        "CP-1", 1, operator, EvseLimits(max_current_a=32, phases=1)
    )

    app.evses.change_evse_limits(evse_id, operator, EvseLimits(max_current_a=16, phases=3))

    evse = app.evse(evse_id)
    assert (evse.limits.max_current_a, evse.limits.phases, evse.limits.max_power_w) == (
        16.0,
        3,
        None,
    )
    assert event_names(app, evse_id) == ["Registered", "LimitsChanged"]


def test_bad_new_limits_are_refused_and_the_old_ones_kept(
    app: SmartCharging, operator: Actor
) -> None:
    evse_id, _ = app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=7400))

    with pytest.raises(InvalidInput):
        app.evses.change_evse_limits(
            evse_id, operator, EvseLimits(max_current_a=16, max_power_w=3700)
        )
    with pytest.raises(InvalidInput, match="phases"):
        app.evses.change_evse_limits(evse_id, operator, EvseLimits(max_current_a=16, phases=2))
    with pytest.raises(InvalidInput, match="max_power_w"):
        app.evses.change_evse_limits(evse_id, operator, EvseLimits(max_power_w=float("nan")))

    assert app.evse(evse_id).limits.max_power_w == 7400.0
    assert event_names(app, evse_id) == ["Registered"]


def test_limits_of_a_deregistered_or_unknown_evse_are_not_found(
    app: SmartCharging, operator: Actor
) -> None:
    evse_id, _ = app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=7400))
    app.evses.deregister_evse(evse_id, operator)

    with pytest.raises(NotFound):
        app.evses.change_evse_limits(evse_id, operator, EvseLimits(max_power_w=3700))
    with pytest.raises(NotFound):
        app.evses.change_evse_limits(uuid4(), operator, EvseLimits(max_power_w=3700))


# --- the aggregate on its own ---------------------------------------------------------------


def test_changing_limits_switches_between_current_and_power(operator: Actor) -> None:
    evse = Evse.register("CP-1", 1, EvseLimits(max_current_a=32, phases=1), operator)

    evse.change_limits(EvseLimits(max_power_w=11000, phases=3), operator)

    assert (evse.limits.max_current_a, evse.limits.phases, evse.limits.max_power_w) == (
        None,
        3,
        11000.0,
    )
    assert type(evse.collect_events()[-1]).__name__ == "LimitsChanged"


def test_bad_limits_are_refused_without_an_event(operator: Actor) -> None:
    evse = Evse.register("CP-1", 1, EvseLimits(max_current_a=32, phases=1), operator)
    evse.collect_events()

    with pytest.raises(InvalidInput):
        evse.change_limits(EvseLimits(max_current_a=32, phases=2), operator)
    assert evse.collect_events() == []


def test_a_deregistered_evse_refuses_new_limits_and_groups(operator: Actor) -> None:
    evse = Evse.register("CP-1", 1, EvseLimits(max_power_w=7400), operator)
    evse.deregister(operator)

    with pytest.raises(Conflict, match="deregistered"):
        evse.change_limits(EvseLimits(max_power_w=3700), operator)
    with pytest.raises(Conflict, match="deregistered"):
        evse.assign_to(uuid4(), operator)


def test_an_assigned_evse_refuses_a_second_group_and_a_wrong_release(operator: Actor) -> None:
    evse = Evse.register("CP-1", 1, EvseLimits(max_power_w=7400), operator)
    first, second = uuid4(), uuid4()
    evse.assign_to(first, operator)

    with pytest.raises(EvseInAnotherGroup) as refusal:
        evse.assign_to(second, operator)
    assert refusal.value.group_id == first
    with pytest.raises(Conflict, match=f"not in group {second}"):
        evse.release(second, operator)
    assert evse.group_id == first


def test_a_deregistered_connector_can_be_registered_again_with_new_limits(
    app: SmartCharging, operator: Actor
) -> None:
    evse_id, _ = app.evses.register_evse(
        "CP-BACK", 1, operator, EvseLimits(max_current_a=16, phases=3)
    )
    app.evses.deregister_evse(evse_id, operator)

    again, _ = app.evses.register_evse("CP-BACK", 1, operator, EvseLimits(max_power_w=11000))

    evse = app.evse(again)
    assert again == evse_id
    assert (evse.limits.max_current_a, evse.limits.phases, evse.limits.max_power_w) == (
        None,
        None,
        11000.0,
    )
    assert event_names(app, evse_id)[-2:] == ["Deregistered", "Reregistered"]
    with pytest.raises(EvseAlreadyRegistered, match="connector 1 of charger CP-BACK"):
        app.evses.register_evse("CP-BACK", 1, operator, EvseLimits(max_current_a=32, phases=1))
    assert app.evse(evse_id).limits.max_power_w == 11000.0


# --- events recorded before EvseLimits ---------------------------------------------------------


def test_limits_recorded_as_three_loose_fields_still_replay(
    app: SmartCharging, operator: Actor
) -> None:
    evse_id = record_old_evse(
        app,
        "CP-OLD",
        operator,
        {"max_current_a": 16.0, "phases": 3, "max_power_w": None},
        {"max_current_a": None, "phases": None, "max_power_w": 7400.0},
    )

    evse = app.evse(evse_id)
    assert evse.limits == EvseLimits(max_power_w=7400.0)
    assert [e.limits for e in app.events.get(evse_id)] == [
        EvseLimits(max_current_a=16.0, phases=3),
        EvseLimits(max_power_w=7400.0),
    ]
    app.evses.change_evse_limits(evse_id, operator, EvseLimits(max_current_a=32, phases=1))
    assert app.evse(evse_id).limits.max_power == 32 * 230


def test_a_one_phase_evse_rated_by_power_keeps_its_phase(
    app: SmartCharging, operator: Actor
) -> None:
    evse_id, _ = app.evses.register_evse(
        "CP-1", 1, operator, EvseLimits(max_power_w=7400, phases=1)
    )

    limits = app.evse(evse_id).limits
    assert (limits.phases, limits.max_power) == (1, 7400.0)
    assert round(limits.max_current, 1) == 32.2  # 7400 W on one phase at 230 V


def test_a_power_rating_on_two_phases_is_refused(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(InvalidInput, match="phases: choose 1 or 3"):
        app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=7400, phases=2))


def test_old_limits_that_do_not_hold_replay_as_lost_and_can_be_set_again(
    app: SmartCharging, operator: Actor
) -> None:
    evse_id = record_old_evse(
        app,
        "CP-LOST",
        operator,
        {"max_current_a": 16.0, "phases": 3, "max_power_w": None},
        {"max_current_a": None, "phases": None, "max_power_w": None},
    )
    assert app.evse(evse_id).limits is None

    app.evses.change_evse_limits(evse_id, operator, EvseLimits(max_power_w=11000))

    assert app.evse(evse_id).limits == EvseLimits(max_power_w=11000)
