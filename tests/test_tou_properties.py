"""Properties of the ToU algorithm over random windows, zones, clocks and chargers.

The reference is the plain rule in `tou_strategies.is_excluded`: an instant
is excluded when its local time (zoneinfo's conversion of the UTC instant)
falls in a window, the window's end moved by the EVSE's delay when random
delay is on. The profiles issued at `now` must follow it until `next_change`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.charging_profiles import ChargingProfile
from scheduler.evaluate import limit_at
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import ABSOLUTE_HORIZON, GroupInput, desired_profiles
from tou_strategies import (
    charger_limits,
    every_day_windows,
    evse_specs,
    groups,
    is_excluded,
    nows,
    offset_at,
    priority_runs,
    time_zones,
    window_edges,
    window_lists,
)

EXAMPLES = int(os.environ.get("TOU_EXAMPLES", 500))
# Without any change due, look this far ahead.
OPEN_END = timedelta(days=400)
LENGTHS = {"Weekly": 7 * 86400, "Daily": 86400}

small_chargers = st.builds(
    ChargerLimits,
    rate_units=st.sampled_from([("A", "W"), ("W",)]),
    max_periods=st.integers(min_value=1, max_value=10),
)


def expected_limit(group: GroupInput, evse: EvseSpec, maximum: float, t: datetime) -> float:
    if priority_runs(group, t) or not is_excluded(group, evse.evse_id, t):
        return maximum
    return 0.0


def instants_to_check(
    data: st.DataObject, group: GroupInput, evse: EvseSpec, now: datetime, end: datetime
) -> list[datetime]:
    """Random instants in [now, end), and some just around window edges and the priority end."""
    span = (end - now).total_seconds()
    offsets = data.draw(st.lists(st.floats(min_value=0, max_value=span), min_size=1, max_size=8))
    chosen = [now + timedelta(seconds=offset) for offset in offsets]
    edges = window_edges(group, evse.evse_id, now, min(end, now + ABSOLUTE_HORIZON))
    if group.priority_ends_at is not None:
        edges += [group.priority_ends_at + timedelta(seconds=d) for d in (-1, 0, 1)]
    if edges:
        chosen += data.draw(st.lists(st.sampled_from(edges), max_size=30))
    return [t for t in [now, *chosen] if now <= t < end]


def check_follows_the_rule(
    data: st.DataObject,
    group: GroupInput,
    evse: EvseSpec,
    charger: ChargerLimits,
    now: datetime,
) -> tuple[ChargingProfile, ...]:
    schedule = desired_profiles(group, [evse], charger, now)
    profiles = schedule.profiles_for(evse.evse_id)
    assert schedule.next_change is None or schedule.next_change > now
    end = schedule.next_change or now + OPEN_END
    maximum = evse.rate(charger).limit
    for t in instants_to_check(data, group, evse, now, end):
        expected = expected_limit(group, evse, maximum, t)
        assert limit_at(profiles, t) == expected, (t, t.astimezone(group.zone))
    return profiles


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), time_zone=time_zones, evse=evse_specs(), charger=charger_limits)
def test_limit_follows_the_local_exclusions_until_the_next_change(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone))
    check_follows_the_rule(data, group, evse, charger, now)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), time_zone=time_zones, evse=evse_specs(), charger=small_chargers)
def test_fallbacks_follow_the_local_exclusions_until_the_next_change(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    windows = st.one_of(every_day_windows, window_lists)
    group = data.draw(groups(now, time_zone, windows))
    (exclusion, *_) = check_follows_the_rule(data, group, evse, charger, now)
    assert len(exclusion.periods) <= charger.max_periods
    event(f"{exclusion.kind} {exclusion.recurrency_kind or ''}".strip())


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), time_zone=time_zones, evse=evse_specs(), charger=charger_limits)
def test_periods_are_sorted_start_at_zero_and_fit_the_charger(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone, st.one_of(every_day_windows, window_lists)))
    schedule = desired_profiles(group, [evse], charger, now)
    for profile in schedule.profiles_for(evse.evse_id):
        starts = [period.start_period for period in profile.periods]
        assert starts[0] == 0
        assert starts == sorted(set(starts))
        assert len(starts) <= charger.max_periods
        assert profile.duration is not None
        assert starts[-1] < profile.duration
        if profile.recurrency_kind is not None:
            assert profile.duration == LENGTHS[profile.recurrency_kind]
        assert all(round(period.limit * 10) == period.limit * 10 for period in profile.periods)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), time_zone=time_zones, evse=evse_specs(), charger=charger_limits)
def test_a_recurring_profile_is_replaced_when_the_offset_changes(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone))
    schedule = desired_profiles(group, [evse], charger, now)
    (exclusion, *_) = schedule.profiles_for(evse.evse_id)
    if exclusion.kind != "Recurring":
        return
    if len(exclusion.periods) == 1:  # the same at every offset: it holds for good
        assert exclusion.valid_to is None
        return
    end = schedule.next_change or now + OPEN_END
    moments = data.draw(st.lists(st.floats(0, (end - now).total_seconds()), max_size=10))
    for moment in moments:
        t = min(now + timedelta(seconds=moment), end - timedelta(microseconds=1))
        assert offset_at(time_zone, t) == offset_at(time_zone, now)
    if schedule.next_change is not None and schedule.next_change not in (
        group.priority_ends_at,
        group.priority_started_at,
    ):
        assert offset_at(time_zone, schedule.next_change) != offset_at(time_zone, now)
