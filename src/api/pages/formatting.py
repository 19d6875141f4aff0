"""How times, weekdays, exclusion windows and durations read on a page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from domain.exclusion_times import WEEKDAYS

DASH = "\N{EN DASH}"  # between the ends of a range of days or times
DAY_NAMES = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


def local(moment: datetime | None, zone: str | ZoneInfo = "UTC") -> str:
    """'Mon 3 Mar, 17:05 CET' in the given time zone."""
    if moment is None:
        return ""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    at = moment.astimezone(tz)
    return f"{DAY_NAMES[WEEKDAYS[at.weekday()]]} {at.day} {at:%b}, {at:%H:%M} {at.tzname()}"


def clock(moment: datetime | None, zone: str | ZoneInfo, now: datetime) -> str:
    """'17:05', or 'Tue 17:05' when not on the same day as `now` in that zone."""
    if moment is None:
        return ""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    at = moment.astimezone(tz)
    today = now.astimezone(tz).date()
    day = "" if at.date() == today else f"{DAY_NAMES[WEEKDAYS[at.weekday()]]} "
    return f"{day}{at:%H:%M}"


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


def window_text(window: Mapping[str, Any]) -> str:
    """'Mon to Fri 17:00 to 21:00' with dashes; a window past midnight says so."""
    start, end = window["start"], window["end"]
    overnight = " (until the next day)" if end <= start else ""
    return f"{weekdays_text(window['weekdays'])} {start}{DASH}{end}{overnight}"


def windows_text(windows: Iterable[Mapping[str, Any]] | None) -> str:
    texts = [window_text(window) for window in windows or []]
    return "; ".join(texts) if texts else "none (charging allowed at any time)"


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
