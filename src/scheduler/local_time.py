"""OCPP 2.1: the profiles of an EVSE whose station keeps its group's local time.

OCPP 2.1 gives a charging schedule `useLocalTime` ("disregard time zone offset in
dateTime fields of ChargingScheduleType and use unqualified local time at Charging
Station instead. This allows the same Absolute or Recurring charging profile to be used
in both summer and winter time"). For a station that supports it and whose clock
(ClockCtrlr.TimeZone) keeps the group's zone, the exclusion profile is then

- one Recurring TxDefaultProfile (Weekly, Daily where every day is alike and a week does
  not fit the station's periods) from a fixed local Monday 00:00, with no validTo: right
  in summer and in winter, so it is sent again only when the windows change, needs no
  DST timer and no cover beneath;
- with the group's random start delay, `randomizedDelay` (600 s) instead of a fixed offset
  per EVSE, where the station supports it. The station delays the start of *every* period
  by 0 to 600 s, the start of an exclusion too, so each exclusion is written to start 600
  s early: it then starts within the 600 s before the window, never inside it, and ends
  within the 600 s after it, as the fixed offsets did.

A priority charge is a `PriorityCharging` profile where the station supports that purpose
(SupportedAdditionalPurposes): it ends by itself at its validTo, and the gateway puts it
to use for the session (UsePriorityCharging); else a TxDefaultProfile above the
exclusion profile, as for 2.0.1. Everything else (no local time, a zone other than the
group's, a week and a day too long for the station) gets the 2.0.1 profiles (`tou.py`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.capabilities import ChargerFeatures
from domain.charging_profiles import (
    EXCLUSION_ROLE,
    ChargingProfile,
    RecurrencyKind,
    profile_id,
)
from domain.exclusion_times import ExclusionWindow
from scheduler.profiles import (
    ChargerLimits,
    EvseSpec,
    Rate,
    full_power_profile,
    schedule_periods,
)
from scheduler.week_pattern import DAY, WEEK, Step, WeekPattern, wrap_and_merge

if TYPE_CHECKING:
    from scheduler.tou import GroupInput

# 2001-01-01 was a Monday: every local-time schedule starts there, so computing it again
# gives the same profile. Under useLocalTime only its digits count (00:00 local).
LOCAL_MONDAY = datetime(2001, 1, 1, tzinfo=UTC)
RANDOMIZED_DELAY_SECONDS = 600  # the UK's limit; tou.RANDOM_DELAY_MAX_SECONDS for 2.0.1
# With the exclusion profile alone at level 0, a TxDefault priority profile fits above it
# on every station (ProfileStackLevel >= 1); a PriorityCharging one has a purpose of its own.
EXCLUSION_STACK_LEVEL = 0
PRIORITY_STACK_LEVEL = 1


def limits_with(limits: ChargerLimits, features: ChargerFeatures | None) -> ChargerLimits:
    """The limits with what an OCPP 2.1 station told: its zone counts only if it reads
    useLocalTime schedules."""
    if features is None:
        return limits
    return replace(
        limits,
        local_time_zone=features.clock_zone if features.local_time else None,
        randomized_delay=features.randomized_delay,
        priority_charging=features.priority_charging,
    )


def uses_local_time(group: GroupInput, charger: ChargerLimits) -> bool:
    return charger.local_time_zone is not None and charger.local_time_zone == group.time_zone


def local_time_profiles(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, now: datetime
) -> tuple[tuple[ChargingProfile, ...], None] | None:
    """The EVSE's profiles in its station's local time, or None where the 2.0.1 profiles
    serve (see the module's note). Nothing here is due to change: no next change."""
    if not uses_local_time(group, charger):
        return None
    delay = RANDOMIZED_DELAY_SECONDS if group.random_delay and charger.randomized_delay else 0
    pattern = _pattern(group, evse, delay)
    recurring = _recurring(pattern, charger.max_periods)
    if recurring is None:
        return None
    kind, steps = recurring
    rate = evse.rate(charger)
    exclusion = ChargingProfile(
        profile_id=profile_id(evse.connector_id, EXCLUSION_ROLE),
        stack_level=EXCLUSION_STACK_LEVEL,
        purpose="TxDefaultProfile",
        kind="Recurring",
        recurrency_kind=kind,
        valid_from=None,
        valid_to=None,
        rate_unit=rate.unit,
        start_schedule=LOCAL_MONDAY,
        duration=WEEK if kind == "Weekly" else DAY,
        periods=schedule_periods(steps, rate),
        use_local_time=True,
        randomized_delay=delay,
    )
    priority = _priority(group, evse, charger, rate, now)
    return ((exclusion,) if priority is None else (exclusion, priority)), None


def _pattern(group: GroupInput, evse: EvseSpec, delay: int) -> WeekPattern:
    """The local week's exclusions; with a randomized delay each starts `delay` early, and
    gaps the delays could overtake (under twice the delay) are excluded too, so every
    period outlasts the delay and the station keeps the periods' order."""
    if not delay:
        return group.pattern_for(evse.evse_id)  # the fixed offset per EVSE, if any
    return randomized_pattern(group.exclusion_windows, delay)


def randomized_pattern(windows: tuple[ExclusionWindow, ...], delay: int) -> WeekPattern:
    exact = WeekPattern.from_windows(windows)
    widened = wrap_and_merge(((b - delay, e + delay) for b, e in exact.excluded), WEEK)
    if widened == ((0, WEEK),):
        return WeekPattern(widened)
    return WeekPattern(wrap_and_merge(((b, e - delay) for b, e in _joined(widened)), WEEK))


def _joined(intervals: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """An interval split at the week's start by wrap_and_merge, joined again."""
    joined = list(intervals)
    if len(joined) > 1 and joined[0][0] == 0 and joined[-1][1] == WEEK:
        first, last = joined.pop(0), joined.pop()
        joined.append((last[0], first[1] + WEEK))
    return joined


def _recurring(
    pattern: WeekPattern, max_periods: int
) -> tuple[RecurrencyKind, tuple[Step, ...]] | None:
    week = pattern.week_steps()
    if len(week) <= max_periods:
        return "Weekly", tuple(week)
    if pattern.repeats_daily() and len(day := pattern.day_steps()) <= max_periods:
        return "Daily", tuple(day)
    return None


def _priority(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, rate: Rate, now: datetime
) -> ChargingProfile | None:
    """Full power from the charge's start (rounded down to its second) until its end (also
    down: never past it), ending by itself there (validTo); None when none runs."""
    if not group.priority_active(now) or group.priority_ends_at is None:
        return None
    window = (group.priority_started_at or now, group.priority_ends_at, now)
    if charger.priority_charging:
        return full_power_profile(evse.connector_id, rate, window, 0, "PriorityCharging")
    return full_power_profile(evse.connector_id, rate, window, PRIORITY_STACK_LEVEL)
