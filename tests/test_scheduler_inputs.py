"""The algorithm's inputs come from what the charger told us: max periods, units, stack levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.actors import SYSTEM, Actor
from domain.capabilities import ChargerCapabilities
from domain.charging_profiles import COVER_ROLE, PRIORITY_ROLE, role_of
from domain.evse_limits import EvseLimits
from domain.exclusion_times import ExclusionWindow
from domain.service import SmartCharging
from scheduler.inputs import group_inputs
from scheduler.tou import desired_profiles


def test_a_charger_with_two_stack_levels_gets_the_cover_at_0_and_the_priority_at_1() -> None:
    app = SmartCharging()
    operator = Actor.operator(
        app.accounts.add_operator("ops@example.com", "operator-pass-7", SYSTEM)
    )
    evse_id, _ = app.evses.register_evse("CP-SMALL", 1, operator, EvseLimits(max_power_w=7400))
    app.chargers.set_charger_password("CP-SMALL", "0123456789abcdef", operator)
    app.chargers.charger_capabilities("CP-SMALL", ChargerCapabilities(5, ("W",), max_stack_level=1))
    group_id, _ = app.groups.create_group(
        name="Small", time_zone="Europe/Amsterdam", actor=operator, evse_ids=[evse_id]
    )
    evenings = ExclusionWindow.parse({"weekdays": ["mon"], "start": "17:00", "end": "21:00"})
    app.groups.set_exclusion_times(group_id, [evenings], operator)
    app.groups.start_priority_charge(group_id, operator, duration=timedelta(hours=1))

    inputs = group_inputs(app, app.group(group_id))
    limits = inputs.limits[evse_id]
    now = datetime.now(UTC)
    # The priority takes the exclusion profile's level (and place) while it runs.
    priority, cover = desired_profiles(inputs.group, inputs.specs, inputs.limits, now).profiles_for(
        evse_id
    )

    assert (limits.max_periods, limits.rate_units, limits.max_stack_level) == (5, ("W",), 1)
    assert (priority.stack_level, cover.stack_level) == (1, 0)
    assert (role_of(priority.profile_id), role_of(cover.profile_id)) == (PRIORITY_ROLE, COVER_ROLE)
    assert priority.rate_unit == cover.rate_unit == "W"


def test_an_unknown_charger_gets_the_common_defaults() -> None:
    app = SmartCharging()
    operator = Actor.operator(
        app.accounts.add_operator("ops@example.com", "operator-pass-7", SYSTEM)
    )
    evse_id, _ = app.evses.register_evse(
        "CP-NEW", 1, operator, EvseLimits(max_current_a=16, phases=3)
    )
    group_id, _ = app.groups.create_group(
        name="New", time_zone="UTC", actor=operator, evse_ids=[evse_id]
    )

    limits = group_inputs(app, app.group(group_id)).limits[evse_id]

    assert (limits.max_periods, limits.rate_units, limits.max_stack_level) == (24, ("A", "W"), 10)
