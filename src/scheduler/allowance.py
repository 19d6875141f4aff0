"""What an EVSE may do at an instant, why (exclusion, priority or free), and until when.

The one answer to "may this EVSE charge now?", for the group pages' state and the
schedule preview alike. It comes from the profiles the charger is meant to hold,
evaluated as the charger evaluates them (`evaluate.py`), never from the exclusion
windows themselves: the random delay and the Daily/Absolute fallbacks change what a
charger applies, and only the profiles know it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from domain.charging_profiles import (
    PRIORITY_ROLE,
    ChargingProfile,
    RateUnit,
    cover_prevails_from,
    role_of,
)
from scheduler.evaluate import change_instants, limit_at, prevailing_profile
from scheduler.profiles import ChargerLimits, EvseSpec, Rate
from scheduler.tou import GroupInput, desired_profiles

Reason = Literal["exclusion", "priority", "free"]

# A weekly pattern repeats after 7 days: what has not changed within 8 never changes.
LOOK_AHEAD = timedelta(days=8)


@dataclass(frozen=True)
class OfflineCover:
    """What the charger does if it goes offline now and stays so, with the profiles it
    holds: exactly what the rule says until `exact_until`, then the cover beneath, which
    keeps out of every exclusion time but may charge less than the rule allows
    (`domain.charging_profiles.cover_prevails_from`).
    `exact_until` None: exactly right however long it stays offline (no cover needed).
    `good_until`: when the scheduler sends other profiles, and the answer may change."""

    exact_until: datetime | None
    good_until: datetime | None


@dataclass(frozen=True)
class Allowance:
    """From `start` until `until` the EVSE may charge at most `limit` (`unit`), because of
    `reason`; `until` None: no change within LOOK_AHEAD (no exclusions, or all excluded).
    `offline`: what it does if its charger goes offline at `start` (allowance_at only)."""

    reason: Reason
    limit: float
    unit: RateUnit
    start: datetime
    until: datetime | None
    offline: OfflineCover | None = None

    def same_as(self, other: Allowance) -> bool:
        return (self.reason, self.limit, self.unit) == (other.reason, other.limit, other.unit)


def allowance_of(
    profiles: Sequence[ChargingProfile], at: datetime, rate: Rate, zone: ZoneInfo | None = None
) -> tuple[Reason, float, RateUnit]:
    """What `profiles` allow at `at`: the limit the charger applies (`limit_at`), and why.

    The priority profile prevailing means priority; a limit of 0 an exclusion; anything
    else, or no profile in force (the charger is then not limited), free.
    """
    prevailing = prevailing_profile(profiles, at, zone=zone)
    if prevailing is None:
        return "free", rate.limit, rate.unit
    limit = limit_at(profiles, at, zone=zone)
    assert limit is not None  # a profile prevails
    if role_of(prevailing.profile_id) == PRIORITY_ROLE:
        return "priority", limit, prevailing.rate_unit
    return ("exclusion" if limit == 0 else "free"), limit, prevailing.rate_unit


def allowances(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, start: datetime, end: datetime
) -> Iterator[Allowance]:
    """[start, end) as the charger will live it: the profiles desired at `start`, evaluated
    until the scheduler replaces them (`next_change`), then the next ones, and so on.
    Lazy, and equal neighbours are not merged (see `merged`)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start: {start!r} has no UTC offset")
    cursor, end = start.astimezone(UTC), end.astimezone(UTC)
    rate = evse.rate(charger)
    while cursor < end:
        desired = desired_profiles(group, [evse], charger, cursor)
        stop = min(desired.next_change or end, end)
        if stop <= cursor:
            raise RuntimeError(f"the schedule does not advance at {cursor.isoformat()}")
        profiles = desired.profiles_for(evse.evse_id)
        # An OCPP 2.1 station reads useLocalTime schedules in the group's zone (local_time.py).
        instants = change_instants(profiles, cursor, stop, group.zone)
        for begin, finish in zip(instants, [*instants[1:], stop], strict=True):
            reason, limit, unit = allowance_of(profiles, begin, rate, group.zone)
            yield Allowance(reason, limit, unit, begin, finish)
        cursor = stop


def merged(items: Iterable[Allowance]) -> Iterator[Allowance]:
    """Neighbours that allow the same for the same reason as one; lazy."""
    current: Allowance | None = None
    for item in items:
        if current is not None and current.same_as(item):
            current = replace(current, until=item.until)
            continue
        if current is not None:
            yield current
        current = item
    if current is not None:
        yield current


def allowance_at(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, at: datetime
) -> Allowance:
    """What the EVSE may do at `at`, why, until when it stays so, and what its charger does
    if it goes offline then."""
    end = at.astimezone(UTC) + LOOK_AHEAD
    first = next(merged(allowances(group, evse, charger, at, end)))
    desired = desired_profiles(group, [evse], charger, at)
    exact_until = cover_prevails_from(desired.profiles_for(evse.evse_id))
    offline = OfflineCover(exact_until, desired.next_change)
    until = first.until if first.until is None or first.until < end else None
    return replace(first, until=until, offline=offline)
