"""A time zone's UTC offset over time: when it changes, and local midnights in UTC.

zoneinfo does not list a zone's transitions, so we look for them: offsets
are compared a day apart (no zone's offset has changed twice within a day
since 2019; the closest pair, Pacific/Fiji 2021, was four weeks apart) and the
change is then pinned to the second by bisection (tzdata transitions fall on
whole seconds).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_STEP = 24 * 3600
# How far ahead a change counts. A zone with no change within two years (no
# DST) gets no timer; the scheduler re-runs on every change to the group anyway.
OFFSET_CHANGE_HORIZON = timedelta(days=731)
# Offset periods are numbered by the changes since this instant, whenever they are worked
# out, so a period keeps its number (tou.py names a period's profile by it).
PERIODS_NUMBERED_FROM = 2000  # 1 January, 00:00 UTC
# How far back the start of the period in force is looked for: no change since (zones
# without DST), no start.
EARLIEST_YEAR = 1970


def offset_at(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _offset_at_second(zone: ZoneInfo, posix_second: int) -> timedelta:
    offset = datetime.fromtimestamp(posix_second, zone).utcoffset()
    assert offset is not None
    return offset


def next_offset_change(
    zone: ZoneInfo, after: datetime, within: timedelta = OFFSET_CHANGE_HORIZON
) -> datetime | None:
    """The first instant after `after` whose UTC offset differs from the one at `after`.

    The search from the start of `after`'s UTC day (a day further) is remembered: the
    pages ask this for every group they show, and a zone without DST takes 731 steps.
    """
    second = math.floor(after.timestamp())
    horizon = math.ceil(within.total_seconds())
    day_start = second - second % _STEP
    change = _change_from(zone, day_start, horizon + _STEP)
    if change is None or change.timestamp() > second + horizon:
        return None  # none in (day_start, day_start + horizon + a day], which holds ours
    if change.timestamp() > second:
        return change  # the first after day_start, so the first after `after`
    return _change_from(zone, second, horizon)  # a change on this very day, before `after`


@functools.lru_cache(maxsize=4096)
def _change_from(zone: ZoneInfo, low: int, horizon: int) -> datetime | None:
    """The first instant after the POSIX second `low` with another offset, within `horizon` s."""
    # A transition is a whole second: none lies between floor(after) and after.
    current = _offset_at_second(zone, low)
    limit = low + horizon
    while low < limit:
        high = min(low + _STEP, limit)
        if _offset_at_second(zone, high) != current:
            return _bisect(zone, low, high, current)
        low = high
    return None


def _bisect(zone: ZoneInfo, low: int, high: int, current: timedelta) -> datetime:
    """The first second in (low, high] with another offset than `current` (which `low` has)."""
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at_second(zone, middle) == current:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def offset_segments(
    zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, timedelta]]:
    """[start, end) cut where the UTC offset changes: (from, to, offset) in order."""
    segments = []
    while start < end:
        change = next_offset_change(zone, start, within=end - start)
        stop = end if change is None or change > end else change
        segments.append((start, stop, offset_at(zone, start)))
        start = stop
    return segments


def local_midnight(zone: ZoneInfo, now: datetime, days_back: int = 0) -> datetime:
    """UTC instant of local 00:00, `days_back` days before today, *at the offset in force now*.

    Recurring schedules run on a fixed UTC period (OCPP 1.6 §7.37), so the
    start we give them is only right while this offset holds.
    """
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=days_back)
    wall_clock = datetime.combine(day, time(0), tzinfo=UTC)
    return wall_clock - offset_at(zone, now)


def local_week_start(zone: ZoneInfo, now: datetime) -> datetime:
    """UTC instant of this week's local Monday 00:00, at the offset in force now."""
    return local_midnight(zone, now, days_back=now.astimezone(zone).weekday())


@dataclass(frozen=True)
class OffsetPeriod:
    """[start, end) at one UTC offset. `number`: the zone's changes from 1 January
    PERIODS_NUMBERED_FROM (UTC) up to `start`, negative before it, so consecutive periods
    have consecutive numbers. `start` None: no change since EARLIEST_YEAR; `end` None:
    none within OFFSET_CHANGE_HORIZON."""

    number: int
    start: datetime | None
    end: datetime | None


def offset_periods(zone: ZoneInfo, now: datetime, count: int) -> tuple[OffsetPeriod, ...]:
    """The offset period in force at `now` and up to `count - 1` after it (fewer when one
    never ends)."""
    year = now.astimezone(UTC).year
    passed = [change for change in _year_changes(zone, year) if change <= now]
    number = _changes_before_year(zone, year) + len(passed)
    start = passed[-1] if passed else _last_change_before(zone, year)
    periods = [OffsetPeriod(number, start, next_offset_change(zone, now))]
    while len(periods) < count and (end := periods[-1].end) is not None:
        periods.append(OffsetPeriod(periods[-1].number + 1, end, next_offset_change(zone, end)))
    return tuple(periods)


def _year_start(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


@functools.lru_cache(maxsize=65_536)
def _year_changes(zone: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """The zone's changes in (1 January of `year`, 1 January of the next], UTC."""
    changes: list[datetime] = []
    low, end = _year_start(year), _year_start(year + 1)
    while low < end and (change := _change_from(zone, low, end - low)) is not None:
        changes.append(change)
        low = int(change.timestamp())
    return tuple(changes)


@functools.lru_cache(maxsize=65_536)
def _changes_before_year(zone: ZoneInfo, year: int) -> int:
    """The changes from 1 January PERIODS_NUMBERED_FROM to 1 January of `year` (negative:
    those from `year` to PERIODS_NUMBERED_FROM)."""
    if year == PERIODS_NUMBERED_FROM:
        return 0
    if year > PERIODS_NUMBERED_FROM:
        return _changes_before_year(zone, year - 1) + len(_year_changes(zone, year - 1))
    return _changes_before_year(zone, year + 1) - len(_year_changes(zone, year))


def _last_change_before(zone: ZoneInfo, year: int) -> datetime | None:
    for earlier in range(year - 1, EARLIEST_YEAR - 1, -1):
        if changes := _year_changes(zone, earlier):
            return changes[-1]
    return None
