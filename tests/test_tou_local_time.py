"""OCPP 2.1 stations that keep the group's local time (scheduler/local_time.py).

The properties hold the profiles a station received at a random instant, offline from then
on, and evaluate them as the station does (`evaluate.limit_at` reading useLocalTime on its
clock in the group's zone) at every minute: across both offset changes of a year in the
zones where DST is hardest, and through a whole year.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.charging_profiles import ChargingProfile
from domain.evse_limits import EvseLimits
from domain.exclusion_times import ExclusionWindow, excluded_week_intervals
from scheduler.allowance import allowance_at
from scheduler.evaluate import limit_at
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput, desired_profiles
from scheduler.utc_offsets import next_offset_change
from tou_strategies import (
    HARD_DST_ZONES,
    evse_specs,
    is_excluded,
    local_time_charger,
    priority_runs,
    window_lists,
)

EXAMPLES = int(os.environ.get("TOU_EXAMPLES", 500))
YEAR_EXAMPLES = int(os.environ.get("TOU_YEAR_EXAMPLES", 8))
MINUTE = timedelta(minutes=1)
WEEK_MINUTES = 7 * 1440
EVSE = EvseSpec(UUID(int=7), 1, EvseLimits(16.0, 3, None))


def window(days: tuple[str, ...], start: str, end: str) -> ExclusionWindow:
    return ExclusionWindow.parse({"weekdays": list(days), "start": start, "end": end})


EVENING = window(("mon", "tue", "wed", "thu", "fri"), "17:00", "21:00")


def changes_in(zone: ZoneInfo, year: int) -> list[datetime]:
    """The offset changes of `zone` in `year`."""
    found, cursor = [], datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while (change := next_offset_change(zone, cursor, within=end - cursor)) is not None:
        found.append(change)
        cursor = change
    return found


def minutes(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(second=0, microsecond=0) + MINUTE
    return [first + i * MINUTE for i in range(int((end - first) / MINUTE))]


def assert_exact(
    held: tuple[ChargingProfile, ...],
    group: GroupInput,
    evse: EvseSpec,
    charger: ChargerLimits,
    at: list[datetime],
) -> None:
    """At every instant the station applies the rule: full power while the priority charge
    runs, else 0 in an exclusion time and full power outside."""
    zone, full = group.zone, evse.rate(charger).limit
    for instant in at:
        if priority_runs(group, instant):
            wanted = full
        else:
            wanted = 0.0 if is_excluded(group, evse.evse_id, instant) else full
        got = limit_at(held, instant, zone=zone)
        assert got == wanted, (instant.isoformat(), instant.astimezone(zone).isoformat(), got)


@st.composite
def dst_years(draw: st.DrawFn) -> tuple[str, list[datetime], datetime]:
    """A zone, its year's two offset changes (the first two where it has more), and an
    instant before the first, at which the station received its profiles."""
    time_zone = draw(st.sampled_from(HARD_DST_ZONES))
    zone = ZoneInfo(time_zone)
    years = [y for y in range(2020, 2036) if len(changes_in(zone, y)) >= 2]
    year = draw(st.sampled_from(years))
    first, second = changes_in(zone, year)[:2]
    start = datetime(year, 1, 1, tzinfo=UTC)
    received = start + (first - start) * draw(st.floats(0, 0.999))
    return time_zone, [first, second], received.replace(microsecond=0)


@settings(max_examples=EXAMPLES, deadline=None)
@given(dst_years(), window_lists, evse_specs(), st.booleans())
def test_a_21_station_in_local_time_applies_the_rule_across_both_dst_changes(
    year: tuple[str, list[datetime], datetime],
    windows: tuple[ExclusionWindow, ...],
    evse: EvseSpec,
    random_delay: bool,
) -> None:
    """Sent once before the year's first change, never again: exact at every minute of the
    day before and the day after each change (the fixed random delay per EVSE included)."""
    time_zone, changes, received = year
    group = GroupInput(time_zone, windows, random_delay=random_delay)
    charger = local_time_charger(time_zone)
    desired = desired_profiles(group, [evse], charger, received)
    (held,) = (desired.profiles_for(evse.evse_id),)
    assert all(profile.use_local_time and profile.valid_to is None for profile in held)
    assert desired.next_change is None  # no DST timer: nothing to send again
    event(f"{len(windows)} windows")
    for change in changes:
        assert_exact(
            held,
            group,
            evse,
            charger,
            minutes(change - timedelta(days=1), change + timedelta(days=1)),
        )
    # Computed again later, it is the same profile: it is not sent again.
    later = desired_profiles(group, [evse], charger, changes[1] + timedelta(days=3))
    assert later.profiles_for(evse.evse_id) == held


@st.composite
def year_offline(draw: st.DrawFn) -> tuple[GroupInput, datetime, ChargerLimits]:
    time_zone = draw(st.sampled_from(HARD_DST_ZONES))
    received = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(0, 366 * 86_400))
    )
    priority = draw(st.booleans())
    started = received - timedelta(seconds=draw(st.integers(0, 3600)))
    group = GroupInput(
        time_zone,
        draw(window_lists),
        random_delay=draw(st.booleans()),
        priority_started_at=started if priority else None,
        priority_ends_at=started + timedelta(hours=draw(st.integers(1, 24))) if priority else None,
    )
    charger = local_time_charger(time_zone, priority_charging=draw(st.booleans()))
    return group, received, charger


@settings(max_examples=YEAR_EXAMPLES, deadline=None)
@given(year_offline())
def test_a_21_station_offline_for_a_year_applies_the_rule_at_every_minute(
    case: tuple[GroupInput, datetime, ChargerLimits],
) -> None:
    """Offline from a random instant on, a priority charge perhaps running (as a
    PriorityCharging profile or a TxDefaultProfile above the exclusion one): exact at every
    minute of the year that follows; the priority charge ends by itself."""
    group, received, charger = case
    held = desired_profiles(group, [EVSE], charger, received).profiles_for(EVSE.evse_id)
    event("PriorityCharging" if any(p.purpose == "PriorityCharging" for p in held) else "TxDefault")
    assert_exact(held, group, EVSE, charger, minutes(received, received + timedelta(days=365)))


def excluded_minutes(windows: tuple[ExclusionWindow, ...]) -> list[bool]:
    """The rule per minute of the local week (Monday 00:00 = 0)."""
    table = [False] * WEEK_MINUTES
    for begin, end in excluded_week_intervals(windows):
        for minute in range(begin, end):
            table[minute % WEEK_MINUTES] = True
    return table


def near_a_window(table: list[bool], instant: datetime, zone: ZoneInfo, reach: int) -> bool:
    """Whether a window's minute lies within `reach` minutes of `instant`'s local wall clock."""
    local = instant.astimezone(zone)
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    return any(table[(minute + i) % WEEK_MINUTES] for i in range(-reach, reach + 1))


@settings(max_examples=EXAMPLES, deadline=None)
@given(dst_years(), window_lists)
def test_with_randomized_delay_it_never_charges_in_an_exclusion_time(
    year: tuple[str, list[datetime], datetime], windows: tuple[ExclusionWindow, ...]
) -> None:
    """randomizedDelay delays every period's start by 0 to 600 s: whether it delays none or
    all of them, the station never charges in an exclusion time, and charges at full power
    wherever no window is within 20 minutes (the delay either side, and gaps shorter than
    twice the delay are excluded)."""
    time_zone, changes, received = year
    group = GroupInput(time_zone, windows, random_delay=True)
    charger = local_time_charger(time_zone, randomized_delay=True)
    (exclusion,) = desired_profiles(group, [EVSE], charger, received).profiles_for(EVSE.evse_id)
    assert exclusion.randomized_delay == 600
    exact, zone = replace(group, random_delay=False), group.zone
    table = excluded_minutes(windows)
    for change in changes:
        for instant in minutes(change - timedelta(days=1), change + timedelta(days=1)):
            bounds = {limit_at((exclusion,), instant, zone=zone, delayed=d) for d in (False, True)}
            if is_excluded(exact, EVSE.evse_id, instant):
                assert bounds == {0.0}, instant.isoformat()
            elif not near_a_window(table, instant, zone, 20):
                assert bounds == {16.0}, instant.isoformat()


# --- which stations get what -----------------------------------------------------------------

NOW = datetime(2030, 3, 20, 12, tzinfo=UTC)


def test_a_station_keeping_another_zone_gets_the_201_profiles_in_utc():
    group = GroupInput("Europe/Amsterdam", (EVENING,))
    elsewhere = local_time_charger("Europe/London")
    profiles = desired_profiles(group, [EVSE], elsewhere, NOW).profiles_for(EVSE.evse_id)
    assert not any(profile.use_local_time for profile in profiles)
    in_utc = replace(elsewhere, local_time_zone=None)
    assert profiles == desired_profiles(group, [EVSE], in_utc, NOW).profiles_for(EVSE.evse_id)


def test_a_station_holding_too_few_periods_for_a_week_in_local_time_gets_the_201_profiles():
    group = GroupInput("Europe/Amsterdam", (EVENING, window(("sat",), "10:00", "11:00")))
    few = replace(local_time_charger("Europe/Amsterdam"), max_periods=4)
    profiles = desired_profiles(group, [EVSE], few, NOW).profiles_for(EVSE.evse_id)
    assert not any(profile.use_local_time for profile in profiles)


def test_every_day_alike_fits_a_daily_local_time_profile():
    group = GroupInput(
        "Europe/Amsterdam",
        (window(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "17:00", "21:00"),),
    )
    few = replace(local_time_charger("Europe/Amsterdam"), max_periods=3)
    (exclusion,) = desired_profiles(group, [EVSE], few, NOW).profiles_for(EVSE.evse_id)
    assert (exclusion.recurrency_kind, exclusion.use_local_time, exclusion.duration) == (
        "Daily",
        True,
        86_400,
    )


def test_the_pages_say_what_a_station_in_local_time_does():
    """17:00 CET and 17:00 CEST alike: the page's answer is the station's."""
    group = GroupInput("Europe/Amsterdam", (EVENING,))
    charger = local_time_charger("Europe/Amsterdam")
    zone = ZoneInfo("Europe/Amsterdam")
    for day in (datetime(2030, 3, 18, 18, tzinfo=zone), datetime(2030, 4, 1, 18, tzinfo=zone)):
        now = allowance_at(group, EVSE, charger, day)
        assert now.reason == "exclusion"
        assert now.until is not None and now.until.astimezone(zone).hour == 21
        assert now.offline is not None and now.offline.exact_until is None
