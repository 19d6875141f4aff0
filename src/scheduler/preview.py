"""What an EVSE will be allowed to do over the coming days, for the portals.

Computed the way it will happen (`allowance.allowances`): the profiles desired
now, evaluated as the charger would until their `next_change`, then the profiles
the scheduler will send at that moment, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.allowance import Allowance, Reason, allowances, merged
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput

__all__ = ["PreviewInterval", "Reason", "schedule_preview"]


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
    start = now.astimezone(UTC)
    end = start + timedelta(days=days)
    return [
        _interval(item, end, group.zone)
        for item in merged(allowances(group, evse, charger, start, end))
    ]


def _interval(item: Allowance, end: datetime, zone: ZoneInfo) -> PreviewInterval:
    finish = item.until or end
    return PreviewInterval(
        start_utc=item.start,
        end_utc=finish,
        start_local=item.start.astimezone(zone),
        end_local=finish.astimezone(zone),
        limit=item.limit,
        unit=item.unit,
        reason=item.reason,
    )
