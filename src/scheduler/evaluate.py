"""What a charger does with the profiles of one connector: the limit at an instant.

The profiles are TxDefaultProfiles of one connector, so only stacking applies (OCPP 1.6
§3.13.2), not the combination of purposes (§3.13.3); and, for an OCPP 2.1 station, a
PriorityCharging profile, which while valid is used instead of them (the gateway puts it
to use for the session, UsePriorityCharging).

OCPP 2.1 schedules may use the station's local time (`useLocalTime`: the schedule's
instants are read on the wall clock of `zone`, the station's ClockCtrlr.TimeZone) and
delay each period's start by up to `randomizedDelay` seconds: `delayed` evaluates every
period started that full delay late, the latest the station may start it (without, at
once: the other bound).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.charging_profiles import ChargingProfile
from scheduler.utc_offsets import offset_segments

_RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}


def _is_valid(profile: ChargingProfile, at: datetime) -> bool:
    """OCPP 1.6 §7.8: valid from validFrom (if any) until validTo (if any)."""
    if profile.valid_from is not None and at < profile.valid_from:
        return False
    return profile.valid_to is None or at < profile.valid_to


def _clock(profile: ChargingProfile, at: datetime, zone: ZoneInfo | None) -> datetime:
    """`at` as the station's schedule reads it: an instant, or under useLocalTime the wall
    clock of `zone` (kept as UTC digits, as the schedule's start is, LOCAL_MONDAY)."""
    if not profile.use_local_time:
        return at
    if zone is None:
        raise ValueError(f"profile {profile.profile_id} uses local time: give the zone")
    return at.astimezone(zone).replace(tzinfo=UTC)


def _schedule_start(
    profile: ChargingProfile, at: datetime, charging_started_at: datetime | None
) -> datetime | None:
    """The start of the schedule (or of its recurrence) that `at` falls in (`at` on the
    schedule's clock, `_clock`)."""
    if profile.kind == "Relative":
        # §7.9: relative to a start the charger determines; here, the session's start.
        return charging_started_at
    assert profile.start_schedule is not None
    if profile.kind == "Absolute" or at < profile.start_schedule:
        return profile.start_schedule
    # §7.37: the schedule restarts every day or week at startSchedule's time.
    period = _RECURRENCE[profile.recurrency_kind or "Weekly"]
    cycles = math.floor((at - profile.start_schedule) / period)
    return profile.start_schedule + cycles * period


def _offset_in_schedule(
    profile: ChargingProfile,
    at: datetime,
    charging_started_at: datetime | None,
    zone: ZoneInfo | None = None,
) -> float | None:
    """Seconds into the running schedule, or None when no schedule of it covers `at`."""
    at = _clock(profile, at, zone)
    start = _schedule_start(profile, at, charging_started_at)
    if start is None or at < start:
        return None
    elapsed = (at - start).total_seconds()
    # §7.13: the last period lasts until the duration ends, or forever without one.
    if profile.duration is not None and elapsed >= profile.duration:
        return None
    return elapsed


def prevailing_profile(
    profiles: Sequence[ChargingProfile],
    at: datetime,
    *,
    charging_started_at: datetime | None = None,
    zone: ZoneInfo | None = None,
) -> ChargingProfile | None:
    """The profile in force at `at`: the highest stack level among those valid then.

    A profile whose schedule has run out (its duration) gives way to lower
    levels (§3.13.2). Of two at the same level, the later in `profiles` wins:
    the charger replaces a profile with another of the same level and purpose.
    """
    best: ChargingProfile | None = None
    for profile in profiles:
        if not _is_valid(profile, at):
            continue
        if _offset_in_schedule(profile, at, charging_started_at, zone) is None:
            continue
        if best is None or _precedes(profile, best):
            best = profile
    return best


def _precedes(profile: ChargingProfile, best: ChargingProfile) -> bool:
    """OCPP 2.1: a PriorityCharging profile in use replaces the TxDefaultProfiles."""
    if (profile.purpose == "PriorityCharging") != (best.purpose == "PriorityCharging"):
        return profile.purpose == "PriorityCharging"
    return profile.stack_level >= best.stack_level


def limit_at(
    profiles: Sequence[ChargingProfile],
    at: datetime,
    *,
    charging_started_at: datetime | None = None,
    zone: ZoneInfo | None = None,
    delayed: bool = False,
) -> float | None:
    """The limit the charger applies at `at`, in the prevailing profile's unit; None if none.

    `zone`: the station's clock, for useLocalTime schedules. `delayed`: each period of a
    randomizedDelay schedule started its full delay late (until then, the one before it
    goes on; before the first, the last of the cycle before, if it recurs)."""
    profile = prevailing_profile(profiles, at, charging_started_at=charging_started_at, zone=zone)
    if profile is None:
        return None
    offset = _offset_in_schedule(profile, at, charging_started_at, zone)
    assert offset is not None
    late = profile.randomized_delay if delayed else 0
    periods = profile.periods
    before = periods[-1].limit if profile.kind == "Recurring" else periods[0].limit
    limit = before
    for period in periods:
        if period.start_period + late > offset:
            break
        limit = period.limit
    return limit


def change_instants(
    profiles: Iterable[ChargingProfile],
    start: datetime,
    end: datetime,
    zone: ZoneInfo | None = None,
) -> list[datetime]:
    """Every instant in [start, end) at which the limit may change, `start` first."""
    instants = {start}
    for profile in profiles:
        edges = (
            _local_edges(profile, start, end, zone)
            if profile.use_local_time
            else _profile_edges(profile, start, end)
        )
        if profile.randomized_delay:  # where a period started its full delay late
            edges += [t + timedelta(seconds=profile.randomized_delay) for t in edges]
        instants.update(t for t in edges if start <= t < end)
    return sorted(instants)


def _local_edges(
    profile: ChargingProfile, start: datetime, end: datetime, zone: ZoneInfo | None
) -> list[datetime]:
    """A useLocalTime schedule's edges on the wall clock, as instants: a wall-clock time
    the fall back repeats is two instants, one the spring forward skips is none (the change
    then comes at the skip, which every offset change is counted as)."""
    if zone is None:
        raise ValueError(f"profile {profile.profile_id} uses local time: give the zone")
    wall_start = _clock(profile, start, zone) - timedelta(days=1)
    wall_end = _clock(profile, end, zone) + timedelta(days=1)
    local = _profile_edges(profile, wall_start, wall_end)
    instants = [t for t in (profile.valid_from, profile.valid_to) if t is not None]
    for wall in local:
        naive = wall.replace(tzinfo=None)
        for fold in (0, 1):
            instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            if instant.astimezone(zone).replace(tzinfo=None) == naive:
                instants.append(instant)
    return instants + _offset_changes(zone, start, end)


def _offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    return [begin for begin, _, _ in offset_segments(zone, start, end)]


def _profile_edges(profile: ChargingProfile, start: datetime, end: datetime) -> list[datetime]:
    edges = [t for t in (profile.valid_from, profile.valid_to) if t is not None]
    if profile.start_schedule is None:  # Relative: no fixed instants
        return edges
    offsets = [period.start_period for period in profile.periods]
    if profile.duration is not None:
        offsets.append(profile.duration)
    cycle = _schedule_start(profile, start, None) or profile.start_schedule
    period = _RECURRENCE.get(profile.recurrency_kind or "")
    while cycle < end:
        edges.extend(cycle + timedelta(seconds=offset) for offset in offsets)
        if profile.kind != "Recurring" or period is None:
            break
        cycle += period
    return edges
