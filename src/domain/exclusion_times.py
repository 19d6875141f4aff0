"""Exclusion times: weekly windows, in a group's local time, in which its EVSEs must not charge."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidExclusionTimes
from domain.immutable import Immutable
from domain.values import shown

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
MAX_WINDOWS = 20

# ASCII digits only: \d alone also matches full-width and other scripts' digits.
_TIME = re.compile(r"(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)", re.ASCII)


def parse_minute_of_day(text: object, *, field: str) -> int:
    """'HH:MM' (24-hour clock, minute resolution) -> minutes after midnight."""
    match = _TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidExclusionTimes(
            f"{field}: {shown(text)} is not a time of day as HH:MM (00:00-23:59)"
        )
    return int(match["hour"]) * 60 + int(match["minute"])


def format_minute_of_day(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class ExclusionWindow(Immutable):
    """One weekly window: on each of `weekdays`, from `start` to `end` local time.

    `end < start` means the window runs past midnight into the next day; `end == start`
    is a full 24 hours from the start (`all_day`), which a person or client must say
    so (`parse`): "10:00 to 10:00" is more often a slip than a day. Times are minutes
    after midnight.
    """

    weekdays: tuple[str, ...]
    start: int
    end: int

    def __post_init__(self) -> None:
        if not self.weekdays:
            raise InvalidExclusionTimes("weekdays: name at least one day (mon..sun)")
        if len(self.weekdays) > len(WEEKDAYS):
            raise InvalidExclusionTimes(f"weekdays: at most {len(WEEKDAYS)} day names")
        unknown = [day for day in self.weekdays if day not in WEEKDAYS]
        if unknown:
            raise InvalidExclusionTimes(
                f"weekdays: unknown day {shown(unknown[0])}; use {', '.join(WEEKDAYS)}"
            )
        for name in ("start", "end"):
            value = getattr(self, name)
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not (0 <= value < MINUTES_PER_DAY)
            ):
                raise InvalidExclusionTimes(f"{name}: {shown(value)} is not a minute of the day")
        ordered = tuple(day for day in WEEKDAYS if day in self.weekdays)
        object.__setattr__(self, "weekdays", ordered)

    @classmethod
    def parse(
        cls,
        data: Mapping[str, Any],
        *,
        index: int = 0,
        stored: bool = False,
        field: str | None = None,
    ) -> ExclusionWindow:
        """From the wire form `{"weekdays": ["mon"], "start": "HH:MM", "end": "HH:MM"}`, or
        `{"weekdays": ["sat"], "all_day": true}` (24 hours from `start`, 00:00 unless given).

        A window whose end is its start is refused unless `all_day` says so; `stored`
        windows (read-model rows written before the flag) take it as 24 hours, as always.
        Refusals name `field`, else `windows[index]`."""
        prefix = field or f"windows[{index}]"
        if not isinstance(data, Mapping):
            raise InvalidExclusionTimes(f"{prefix}: expected an object with weekdays, start, end")
        weekdays = data.get("weekdays")
        if not isinstance(weekdays, list | tuple) or not all(isinstance(d, str) for d in weekdays):
            raise InvalidExclusionTimes(f"{prefix}.weekdays: expected a list of day names")
        try:
            start, end = _start_and_end(data, stored)
            return cls(weekdays=tuple(day.lower() for day in weekdays), start=start, end=end)
        except InvalidExclusionTimes as error:
            message = str(error)
            if not message.startswith(prefix):
                message = f"{prefix}.{message}"
            raise InvalidExclusionTimes(message) from None

    @property
    def all_day(self) -> bool:
        """24 hours from the start (the whole day when it starts at 00:00)."""
        return self.start == self.end

    def to_dict(self) -> dict[str, Any]:
        """The wire form; `all_day` only where it holds, so other windows read as before."""
        wire: dict[str, Any] = {
            "weekdays": list(self.weekdays),
            "start": format_minute_of_day(self.start),
            "end": format_minute_of_day(self.end),
        }
        if self.all_day:
            wire["all_day"] = True
        return wire

    @property
    def duration(self) -> int:
        """Length in minutes: up to 24 hours, wrapping past midnight."""
        return (self.end - self.start) % MINUTES_PER_DAY or MINUTES_PER_DAY

    def week_intervals(self) -> list[tuple[int, int]]:
        """Half-open [start, end) minute-of-week intervals, Monday 00:00 = 0.

        An interval may end past the week's end (> MINUTES_PER_WEEK) when a
        Sunday window runs into Monday; `merge_week_intervals` wraps it.
        """
        intervals = []
        for day in self.weekdays:
            begin = WEEKDAYS.index(day) * MINUTES_PER_DAY + self.start
            intervals.append((begin, begin + self.duration))
        return intervals


def _start_and_end(data: Mapping[str, Any], stored: bool) -> tuple[int, int]:
    all_day = data.get("all_day", False)
    if not isinstance(all_day, bool):
        raise InvalidExclusionTimes(f"all_day: {shown(all_day)} is not true or false")
    if all_day:
        given = data.get("start")
        start = 0 if given is None else parse_minute_of_day(given, field="start")
        if data.get("end") is not None and parse_minute_of_day(data["end"], field="end") != start:
            raise InvalidExclusionTimes(
                "end: an all-day window lasts 24 hours from its start; leave the end out"
            )
        return start, start
    for name in ("start", "end"):
        if data.get(name) is None:
            raise InvalidExclusionTimes(f"{name}: required as HH:MM, unless all_day is true")
    start = parse_minute_of_day(data.get("start"), field="start")
    end = parse_minute_of_day(data.get("end"), field="end")
    if end == start and not stored:
        raise InvalidExclusionTimes(
            f"end: {format_minute_of_day(end)} is the start time too; for 24 hours from the"
            " start give all_day: true, else a different end"
        )
    return start, end


def validate_windows(windows: Sequence[Any]) -> tuple[ExclusionWindow, ...]:
    """Refuse more than MAX_WINDOWS windows or anything that is not a window."""
    if len(windows) > MAX_WINDOWS:
        raise InvalidExclusionTimes(
            f"windows: {len(windows)} windows given, at most {MAX_WINDOWS} are allowed"
        )
    for index, window in enumerate(windows):
        if not isinstance(window, ExclusionWindow):
            raise InvalidExclusionTimes(f"windows[{index}]: not an exclusion window")
    return tuple(windows)


def parse_windows(data: Any, *, stored: bool = False) -> tuple[ExclusionWindow, ...]:
    """From the wire form: a list of window objects (`stored`: as a read model keeps them)."""
    if not isinstance(data, list | tuple):
        raise InvalidExclusionTimes("windows: expected a list of windows")
    if len(data) > MAX_WINDOWS:
        validate_windows(data)
    return validate_windows(
        [ExclusionWindow.parse(item, index=i, stored=stored) for i, item in enumerate(data)]
    )


def merge_week_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Wrap intervals into one week [0, MINUTES_PER_WEEK) and merge overlapping or touching ones.

    The result is sorted and disjoint, with gaps of at least one minute between
    intervals; a window crossing the week's end is split at Monday 00:00.
    """
    pieces: list[tuple[int, int]] = []
    for begin, end in intervals:
        if end - begin >= MINUTES_PER_WEEK:
            return [(0, MINUTES_PER_WEEK)]
        length = end - begin
        begin %= MINUTES_PER_WEEK
        end = begin + length
        if end > MINUTES_PER_WEEK:
            pieces.append((begin, MINUTES_PER_WEEK))
            pieces.append((0, end - MINUTES_PER_WEEK))
        else:
            pieces.append((begin, end))
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(pieces):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def excluded_week_intervals(windows: Iterable[ExclusionWindow]) -> list[tuple[int, int]]:
    """The merged minute-of-week intervals covered by `windows`."""
    return merge_week_intervals(i for window in windows for i in window.week_intervals())


def is_excluded(windows: Iterable[ExclusionWindow], minute_of_week: int) -> bool:
    """Whether a local minute of the week (Monday 00:00 = 0) lies in any window."""
    minute_of_week %= MINUTES_PER_WEEK
    for window in windows:
        for begin, end in window.week_intervals():
            if begin <= minute_of_week < end or begin <= minute_of_week + MINUTES_PER_WEEK < end:
                return True
    return False


@dataclass(frozen=True)
class WindowChanges:
    """What changed between two lists of windows, as the history tells it."""

    added: tuple[ExclusionWindow, ...] = ()
    removed: tuple[ExclusionWindow, ...] = ()
    changed: tuple[tuple[ExclusionWindow, ExclusionWindow], ...] = ()  # (before, after)


def window_changes(old: Sequence[ExclusionWindow], new: Sequence[ExclusionWindow]) -> WindowChanges:
    """A window that took another's place (the same position, nothing else different) is
    *changed*; otherwise windows are *added* or *removed*. Order alone changes nothing."""
    if len(old) == len(new):
        differing = [i for i, (was, now) in enumerate(zip(old, new, strict=True)) if was != now]
        if len(differing) == 1:
            was, now = old[differing[0]], new[differing[0]]
            if was not in new and now not in old:
                return WindowChanges(changed=((was, now),))
    return WindowChanges(
        added=tuple(window for window in new if window not in old),
        removed=tuple(window for window in old if window not in new),
    )
