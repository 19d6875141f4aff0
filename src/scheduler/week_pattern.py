"""The excluded seconds of a local week, and where they fall in UTC.

Exclusion windows are whole minutes of the local week; the random start delay
is in seconds (OCPP schedule periods are seconds), so the scheduler works in
seconds of the week, Monday 00:00 local = 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.exclusion_times import ExclusionWindow, excluded_week_intervals
from scheduler.utc_offsets import offset_segments

DAY = 24 * 3600
WEEK = 7 * DAY
# 1970-01-01 was a Thursday: the Monday 00:00 before it is 3 days earlier.
_EPOCH_WEEKDAY_SHIFT = 3 * DAY

Interval = tuple[int, int]
# (seconds after the start of the week or day, excluded?) for each change.
Step = tuple[int, bool]


def wrap_and_merge(intervals: Iterable[Interval], length: int) -> tuple[Interval, ...]:
    """Seconds version of domain.exclusion_times.merge_week_intervals, for any period.

    Sorted, disjoint, never touching; an interval across the period's end is
    split at 0.
    """
    pieces: list[Interval] = []
    for begin, end in intervals:
        if end - begin >= length:
            return ((0, length),)
        shifted, end = begin % length, begin % length + (end - begin)
        pieces.append((shifted, min(end, length)))
        if end > length:
            pieces.append((0, end - length))
    merged: list[Interval] = []
    for begin, end in sorted(pieces):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return tuple(merged)


def _steps(excluded: Iterable[Interval], length: int) -> list[Step]:
    """Where the pattern changes within [0, length): starts at 0, alternating."""
    steps: list[Step] = []
    for begin, end in excluded:
        steps.append((begin, True))
        if end < length:
            steps.append((end, False))
    if not steps or steps[0][0] != 0:
        steps.insert(0, (0, False))
    return steps


@dataclass(frozen=True)
class WeekPattern:
    """Excluded [begin, end) seconds of the local week, merged (see wrap_and_merge)."""

    excluded: tuple[Interval, ...]

    @classmethod
    def from_windows(cls, windows: Iterable[ExclusionWindow], delay: int = 0) -> WeekPattern:
        """The windows' seconds, each window's end moved `delay` seconds later.

        Moving the ends of the merged intervals is the same as moving each
        window's end and then merging: the union only grows at those ends.
        """
        minutes = excluded_week_intervals(windows)
        return cls(wrap_and_merge(((b * 60, e * 60 + delay) for b, e in minutes), WEEK))

    def is_excluded(self, second_of_week: float) -> bool:
        second = second_of_week % WEEK
        return any(begin <= second < end for begin, end in self.excluded)

    def week_steps(self) -> list[Step]:
        return _steps(self.excluded, WEEK)

    def repeats_daily(self) -> bool:
        """Whether every day of the week is excluded at the same times."""
        shifted = wrap_and_merge(((b + DAY, e + DAY) for b, e in self.excluded), WEEK)
        return shifted == self.excluded

    def day_steps(self) -> list[Step]:
        """Monday's steps: the day's pattern, when `repeats_daily`."""
        monday = [(begin, min(end, DAY)) for begin, end in self.excluded if begin < DAY]
        return _steps(monday, DAY)

    def steps_in_utc(self, zone: ZoneInfo, start: datetime, end: datetime) -> list[Step]:
        """The pattern in real time from `start` (whole seconds) to `end`.

        Each instant is judged by its local time in `zone`, as zoneinfo converts
        it, so this stays right across DST changes. Returns (seconds after
        start, excluded?) with the first at 0 and equal neighbours merged.
        """
        origin = int(start.timestamp())
        steps: list[Step] = []
        for begin, stop, offset in offset_segments(zone, start, end):
            first, last = int(begin.timestamp()), math.ceil(stop.timestamp())
            for second, excluded in self._segment_steps(first, last, int(offset.total_seconds())):
                if not steps or steps[-1][1] != excluded:
                    steps.append((second - origin, excluded))
        return steps

    def _segment_steps(self, first: int, last: int, offset: int) -> list[Step]:
        """POSIX seconds in [first, last) where the pattern changes, at a fixed offset."""
        week_start = first - (first + offset + _EPOCH_WEEKDAY_SHIFT) % WEEK
        steps = [(first, self.is_excluded(first - week_start))]
        week_steps = self.week_steps()
        while week_start < last:
            steps.extend(
                (week_start + second, excluded)
                for second, excluded in week_steps
                if first < week_start + second < last
            )
            week_start += WEEK
        return steps
