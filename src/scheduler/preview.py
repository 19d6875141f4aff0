"""What an EVSE will be allowed to do over the coming days, for the portals.

Computed the way it will happen: the profiles desired now, evaluated as the
charger would until their `next_change`, then the profiles the scheduler will
send at that moment, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from scheduler.evaluate import change_instants, limit_at, prevailing_profile
from scheduler.profiles import (
    PRIORITY_ROLE,
    ChargerLimits,
    ChargingProfile,
    EvseSpec,
    Rate,
    profile_id,
)
from scheduler.tou import GroupInput, desired_profiles

Reason = Literal["exclusion", "priority", "free"]


@dataclass(frozen=True)
class PreviewInterval:
    start_utc: datetime
    end_utc: datetime
    start_local: datetime
    end_local: datetime
    limit: float
    unit: str
    reason: Reason


def schedule_preview(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, now: datetime, days: int = 7
) -> list[PreviewInterval]:
    """The EVSE's limits from `now` for `days` days, equal neighbours merged."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now: {now!r} has no UTC offset")
    cursor = now.astimezone(UTC)
    end = cursor + timedelta(days=days)
    intervals: list[PreviewInterval] = []
    while cursor < end:
        desired = desired_profiles(group, [evse], charger, cursor)
        stop = min(desired.next_change or end, end)
        if stop <= cursor:
            raise RuntimeError(f"the schedule does not advance at {cursor.isoformat()}")
        profiles = desired.profiles_for(evse.evse_id)
        intervals.extend(_evaluate(profiles, cursor, stop, evse, charger, group.zone))
        cursor = stop
    return _merge(intervals)


def _evaluate(
    profiles: tuple[ChargingProfile, ...],
    start: datetime,
    stop: datetime,
    evse: EvseSpec,
    charger: ChargerLimits,
    zone: ZoneInfo,
) -> list[PreviewInterval]:
    rate = evse.rate(charger)
    instants = change_instants(profiles, start, stop)
    return [
        _interval(profiles, begin, finish, rate, evse, zone)
        for begin, finish in zip(instants, [*instants[1:], stop], strict=True)
    ]


def _interval(
    profiles: tuple[ChargingProfile, ...],
    begin: datetime,
    finish: datetime,
    rate: Rate,
    evse: EvseSpec,
    zone: ZoneInfo,
) -> PreviewInterval:
    prevailing = prevailing_profile(profiles, begin)
    limit = limit_at(profiles, begin)
    reason: Reason = "free"
    if prevailing is not None and prevailing.profile_id == profile_id(
        evse.connector_id, PRIORITY_ROLE
    ):
        reason = "priority"
    elif limit == 0:
        reason = "exclusion"
    return PreviewInterval(
        start_utc=begin,
        end_utc=finish,
        start_local=begin.astimezone(zone),
        end_local=finish.astimezone(zone),
        # Without a profile in force the charger is not limited.
        limit=rate.limit if limit is None else limit,
        unit=prevailing.rate_unit if prevailing is not None else rate.unit,
        reason=reason,
    )


def _merge(intervals: list[PreviewInterval]) -> list[PreviewInterval]:
    merged: list[PreviewInterval] = []
    for interval in intervals:
        key = (interval.limit, interval.unit, interval.reason)
        if merged and (merged[-1].limit, merged[-1].unit, merged[-1].reason) == key:
            merged[-1] = replace(merged[-1], end_utc=interval.end_utc, end_local=interval.end_local)
        else:
            merged.append(interval)
    return merged
