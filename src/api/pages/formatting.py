"""How times, weekdays, exclusion windows and durations read on a page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from domain.exclusion_times import (
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    WEEKDAYS,
    ExclusionWindow,
    excluded_week_intervals,
    format_minute_of_day,
    merge_week_intervals,
    parse_windows,
)

DASH = "\N{EN DASH}"  # between the ends of a range of days or times
DAY_NAMES = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


def local(
    moment: datetime | None, zone: str | ZoneInfo = "UTC", *, now: datetime | None = None
) -> str:
    """'Mon 3 Mar, 17:05 CET' in the given time zone; 'Sun 29 Mar 2026, 03:00 CEST' when
    `now` is given and the moment is 300 days or more from it."""
    if moment is None:
        return ""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    at = moment.astimezone(tz)
    year = "" if now is None or abs(moment - now) < timedelta(days=300) else f" {at.year}"
    return f"{DAY_NAMES[WEEKDAYS[at.weekday()]]} {at.day} {at:%b}{year}, {at:%H:%M} {at.tzname()}"


def clock(
    moment: datetime | None, zone: str | ZoneInfo, now: datetime, *, with_zone: bool = True
) -> str:
    """'17:05 CET', or 'Tue 17:05 CET' when not on the same day as `now` in that zone: local
    time always says its zone (`with_zone=False` for the first end of a range)."""
    if moment is None:
        return ""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    at = moment.astimezone(tz)
    today = now.astimezone(tz).date()
    day = "" if at.date() == today else f"{DAY_NAMES[WEEKDAYS[at.weekday()]]} "
    return f"{day}{at:%H:%M}" + (f" {at.tzname()}" if with_zone else "")


def duration(span: timedelta) -> str:
    """'1 h 05 min', '12 min', 'less than a minute'."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def weekdays_text(days: Iterable[str]) -> str:
    """['mon'..'fri'] -> 'Mon to Fri' with a dash; ['sat', 'sun'] -> 'Sat, Sun'; all seven ->
    'Every day'."""
    chosen = [WEEKDAYS.index(day) for day in days if day in WEEKDAYS]
    if len(set(chosen)) == 7:
        return "Every day"
    runs: list[list[int]] = []
    for index in sorted(set(chosen)):
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    parts = []
    for run in runs:
        names = [DAY_NAMES[WEEKDAYS[i]] for i in run]
        parts.append(f"{names[0]}{DASH}{names[-1]}" if len(run) >= 3 else ", ".join(names))
    return ", ".join(parts)


def times_text(start: str, end: str) -> str:
    """'17:00-21:00'; past midnight says so; the same time is 24 hours ('all day' from 00:00)."""
    if start == end:
        return "all day" if start == "00:00" else f"{start} for 24 hours (until {start} next day)"
    overnight = " (until the next day)" if end < start else ""
    return f"{start}{DASH}{end}{overnight}"


def window_text(window: Mapping[str, Any]) -> str:
    """'Mon to Fri 17:00 to 21:00' with dashes; a window past midnight says so."""
    return f"{weekdays_text(window['weekdays'])} {times_text(window['start'], window['end'])}"


def windows_text(windows: Iterable[Mapping[str, Any]] | None) -> str:
    texts = [window_text(window) for window in windows or []]
    return "; ".join(texts) if texts else "none (charging allowed at any time)"


def window_change_text(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """'Mon 17:00-21:00 changed to 17:30-21:00' (the days again only when they changed)."""
    same_days = list(before["weekdays"]) == list(after["weekdays"])
    changed = times_text(after["start"], after["end"]) if same_days else window_text(after)
    return f"{window_text(before)} changed to {changed}"


def _stored(windows: Iterable[Mapping[str, Any]] | None) -> tuple[ExclusionWindow, ...]:
    return parse_windows(list(windows or []), stored=True)


def merged_windows_text(windows: Iterable[Mapping[str, Any]] | None) -> str | None:
    """The times the windows exclude together, when some of them overlap (else None: the
    list says it already), e.g. 'Mon 17:00-22:00; Tue-Fri 17:00-21:00'."""
    parsed = _stored(windows)
    merged = excluded_week_intervals(parsed)
    alone = [piece for w in parsed for i in w.week_intervals() for piece in _wrapped(i)]
    overlap = sum(end - begin for begin, end in alone) > sum(end - begin for begin, end in merged)
    return _spans_text(merged) if overlap else None


def effective_windows_text(windows: Iterable[Mapping[str, Any]] | None) -> str:
    """What the windows exclude, overlapping ones shown merged, for a summary line."""
    parsed = _stored(windows)
    if not parsed:
        return windows_text([])
    return merged_windows_text(windows) or windows_text(windows)


def _wrapped(interval: tuple[int, int]) -> list[tuple[int, int]]:
    return merge_week_intervals([interval])


def _spans_text(merged: list[tuple[int, int]]) -> str:
    """Merged minute-of-week intervals in words; equal times on several days are one part."""
    spans = [(begin, end - begin) for begin, end in merged]
    if len(spans) > 1 and spans[0][0] == 0 and sum(spans[-1]) == MINUTES_PER_WEEK:
        spans = [(spans[-1][0], spans[-1][1] + spans[0][1]), *spans[1:-1]]  # across Sunday night
    if len(spans) == 1 and spans[0][1] >= MINUTES_PER_WEEK:
        return "the whole week"
    days: dict[tuple[int, int], list[str]] = {}
    parts: list[tuple[int, str]] = []
    for begin, length in spans:
        day, start = divmod(begin, MINUTES_PER_DAY)
        if length <= MINUTES_PER_DAY:
            days.setdefault((start, length), []).append(WEEKDAYS[day % 7])
            continue
        end_day, end = divmod(begin + length, MINUTES_PER_DAY)
        text = (
            f"{DAY_NAMES[WEEKDAYS[day % 7]]} {format_minute_of_day(start)} to "
            f"{DAY_NAMES[WEEKDAYS[end_day % 7]]} {format_minute_of_day(end)}"
        )
        parts.append((begin, text))
    for (start, length), names in days.items():
        first = min(WEEKDAYS.index(name) for name in names) * MINUTES_PER_DAY + start
        until = format_minute_of_day((start + length) % MINUTES_PER_DAY)
        times = times_text(format_minute_of_day(start), until)
        parts.append((first, f"{weekdays_text(names)} {times}"))
    return "; ".join(text for _, text in sorted(parts))


def role_words(role: str | None) -> str:
    return {"home_user": "home user", "operator": "operator", "system": "system"}.get(
        role or "", role or "unknown"
    )


def sentence(text: str) -> str:
    """Capitalised, ending with a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@cache
def time_zone_names() -> list[str]:
    return sorted(name for name in available_timezones() if "/" in name or name == "UTC")
