"""The cover: what keeps an offline charger out of the exclusions once its exact profile
has run out.

The exact exclusion profile can run out while the charger is offline: an Absolute one
(the fallback for a charger that holds few periods) at the end of its duration, a Weekly
or Daily one at the zone's next UTC offset change, where it stops (validTo) because a
recurring schedule repeats in UTC (OCPP 1.6 §7.37) and would be an hour off after it.
Beneath it, one stack level lower, the cover is a Recurring profile that never runs out
(OCPP 1.6 §3.13.2: the charger falls back to the highest profile still valid):

- it forbids charging wherever *any* UTC offset the zone takes in the coming year puts
  an exclusion, so it stays right across DST changes without being sent again;
- where the charger holds too few periods (ChargingScheduleMaxPeriods), the shortest
  gaps between exclusions are forbidden too, until it fits.

It is a superset of the exclusions: it may charge less than the rule allows, never more.
It depends only on the windows, the zone's offsets and the charger's limits, and starts
on a fixed instant of the UTC week (or day), so recomputing it later gives the same
schedule and nothing is sent again (ChargingProfile.same_recurring_schedule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.charging_profiles import RecurrencyKind
from scheduler.utc_offsets import offset_segments
from scheduler.week_pattern import DAY, WEEK, Interval, Step, WeekPattern, wrap_and_merge

# The offsets the cover allows for: those in force from now for a year (a zone's DST
# rule repeats yearly). The scheduler computes it again at every offset change.
OFFSETS_AHEAD = timedelta(days=366)
# 1970-01-05 00:00 UTC was a Monday: the UTC week starts there.
_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)


@dataclass(frozen=True)
class CoverSchedule:
    """A recurring schedule: `steps` from `anchor` seconds into the UTC week (or day)."""

    kind: RecurrencyKind
    anchor: int
    steps: tuple[Step, ...]

    @property
    def length(self) -> int:
        return WEEK if self.kind == "Weekly" else DAY

    def start_before(self, now: datetime) -> datetime:
        """The last start of this schedule at or before `now` (whole seconds)."""
        since = int((now - _MONDAY).total_seconds()) - self.anchor
        cycles = since // self.length
        return _MONDAY + timedelta(seconds=self.anchor + cycles * self.length)


def zone_offsets(zone: ZoneInfo, now: datetime) -> tuple[int, ...]:
    """The UTC offsets (seconds) `zone` takes from `now`'s UTC day for OFFSETS_AHEAD and a
    day, in order; remembered per zone and day (the pages ask it for every EVSE)."""
    return _zone_offsets(zone, now.astimezone(UTC).date().toordinal())


@lru_cache(maxsize=4096)
def _zone_offsets(zone: ZoneInfo, day: int) -> tuple[int, ...]:
    start = datetime.combine(date.fromordinal(day), time(0), tzinfo=UTC)
    segments = offset_segments(zone, start, start + OFFSETS_AHEAD + timedelta(days=1))
    return tuple(sorted({int(offset.total_seconds()) for _, _, offset in segments}))


def cover_schedule(pattern: WeekPattern, offsets: Iterable[int], max_periods: int) -> CoverSchedule:
    return _cover_schedule(pattern, tuple(sorted(set(offsets))), max_periods)


@lru_cache(maxsize=8192)
def _cover_schedule(
    pattern: WeekPattern, offsets: tuple[int, ...], max_periods: int
) -> CoverSchedule:
    """The union of the pattern at each offset, in UTC; Daily when it repeats every day."""
    # A local second s of the week at offset o is the UTC second s - o of the week.
    utc = wrap_and_merge(((b - o, e - o) for b, e in pattern.excluded for o in offsets), WEEK)
    kind: RecurrencyKind = "Weekly"
    length = WEEK
    if WeekPattern(utc).repeats_daily():
        kind, length = "Daily", DAY
        utc = wrap_and_merge(utc, DAY)
    anchor, steps = anchored_steps(fill_shortest_gaps(utc, length, max_periods), length)
    return CoverSchedule(kind, anchor, steps)


def _cyclic(intervals: tuple[Interval, ...], length: int) -> list[Interval]:
    """Intervals on a circle of `length`: one split at 0 by wrap_and_merge is joined again
    (its end then lies past `length`)."""
    joined = list(intervals)
    if len(joined) > 1 and joined[0][0] == 0 and joined[-1][1] == length:
        first, last = joined.pop(0), joined.pop()
        joined.append((last[0], first[1] + length))
    return joined


def fill_shortest_gaps(
    intervals: tuple[Interval, ...], length: int, max_periods: int
) -> list[Interval]:
    """Excluded intervals on the circle that fit `max_periods` periods, each gap between two
    exclusions that must go (the shortest first: the least charging time lost) excluded.

    Started at an exclusion, n intervals take 2n periods; all excluded, or none, one.
    """
    cyclic = _cyclic(intervals, length)
    while cyclic and 2 * len(cyclic) > max_periods:
        if len(cyclic) == 1 or sum(e - b for b, e in cyclic) >= length:
            return [(0, length)]
        gaps = [
            ((cyclic[(i + 1) % len(cyclic)][0] - end) % length, i)
            for i, (_, end) in enumerate(cyclic)
        ]
        _, i = min(gaps)
        following = (i + 1) % len(cyclic)
        begin, end = cyclic[i][0], cyclic[following][1]
        if following == 0:  # the gap across the circle's start
            end += length
        cyclic[i] = (begin, end)
        del cyclic[following]
        cyclic.sort()
    return cyclic


def anchored_steps(intervals: list[Interval], length: int) -> tuple[int, tuple[Step, ...]]:
    """(anchor, steps): the schedule starts at the first exclusion's start, which saves the
    period a schedule starting inside a gap would spend on that gap's first part."""
    if not intervals:
        return 0, ((0, False),)
    if intervals == [(0, length)] or sum(e - b for b, e in intervals) >= length:
        return 0, ((0, True),)
    anchor = intervals[0][0]
    steps: list[Step] = []
    for begin, end in intervals:
        steps.append(((begin - anchor) % length, True))
        steps.append(((end - anchor) % length, False))
    return anchor % length, tuple(sorted(steps))
