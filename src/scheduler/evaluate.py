"""What a charger does with the profiles of one connector: the limit at an instant.

All profiles are taken to be TxDefaultProfiles of one connector, the only
purpose the scheduler sends, so only stacking applies (OCPP 1.6 §3.13.2), not
the combination of purposes (§3.13.3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from domain.charging_profiles import ChargingProfile

_RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}


def _is_valid(profile: ChargingProfile, at: datetime) -> bool:
    """OCPP 1.6 §7.8: valid from validFrom (if any) until validTo (if any)."""
    if profile.valid_from is not None and at < profile.valid_from:
        return False
    return profile.valid_to is None or at < profile.valid_to


def _schedule_start(
    profile: ChargingProfile, at: datetime, charging_started_at: datetime | None
) -> datetime | None:
    """The start of the schedule (or of its recurrence) that `at` falls in."""
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
    profile: ChargingProfile, at: datetime, charging_started_at: datetime | None
) -> float | None:
    """Seconds into the running schedule, or None when no schedule of it covers `at`."""
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
        if _offset_in_schedule(profile, at, charging_started_at) is None:
            continue
        if best is None or profile.stack_level >= best.stack_level:
            best = profile
    return best


def limit_at(
    profiles: Sequence[ChargingProfile],
    at: datetime,
    *,
    charging_started_at: datetime | None = None,
) -> float | None:
    """The limit the charger applies at `at`, in the prevailing profile's unit; None if none."""
    profile = prevailing_profile(profiles, at, charging_started_at=charging_started_at)
    if profile is None:
        return None
    offset = _offset_in_schedule(profile, at, charging_started_at)
    assert offset is not None
    limit = profile.periods[0].limit
    for period in profile.periods:
        if period.start_period > offset:
            break
        limit = period.limit
    return limit


def change_instants(
    profiles: Iterable[ChargingProfile], start: datetime, end: datetime
) -> list[datetime]:
    """Every instant in [start, end) at which the limit may change, `start` first."""
    instants = {start}
    for profile in profiles:
        instants.update(t for t in _profile_edges(profile, start, end) if start <= t < end)
    return sorted(instants)


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
