"""The weekly editor's form: one window from day checkboxes and two times, with plain errors."""

from __future__ import annotations

import re
from typing import Any

from domain.exclusion_times import WEEKDAYS

from .form_input import quoted
from .messages import FormError


class WindowFormError(FormError):
    pass


# <input type="time"> sends HH:MM (or HH:MM:SS with a step); typed text may lack the zero.
# ASCII digits only (re.ASCII): \d alone takes full-width digits, and int() reads them.
TIME = re.compile(r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)(:[0-5]\d)?", re.ASCII)


def time_of_day(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise WindowFormError(f"Give the {what} time, for example 17:00.")
    match = TIME.fullmatch(text)
    if match is None:
        raise WindowFormError(
            f"The {what} time {quoted(text)} is not a time of day: use HH:MM, from 00:00 to 23:59."
        )
    return f"{int(match['hour']):02d}:{match['minute']}"


def window_from_form(
    days: list[str], start: str, end: str, all_day: bool = False
) -> dict[str, Any]:
    """The window in the API's wire form; the domain checks the rest when it is saved.
    "All day" takes no times; the same time twice without it is a slip, said in words."""
    unknown = [day for day in days if day not in WEEKDAYS]
    if unknown:
        raise WindowFormError(f"{quoted(unknown[0])} is not a day of the week.")
    chosen = [day for day in WEEKDAYS if day in days]
    if not chosen:
        raise WindowFormError("Choose at least one day.")
    if all_day:
        return {"weekdays": chosen, "all_day": True}
    window = {
        "weekdays": chosen,
        "start": time_of_day(start, "start"),
        "end": time_of_day(end, "end"),
    }
    if window["start"] == window["end"]:
        raise WindowFormError(
            f"From and until are both {window['start']}. For the whole day tick “All day”;"
            " otherwise choose a different end."
        )
    return window


def window_from_key(weekdays: str, start: str, end: str) -> dict[str, Any]:
    """The window an Edit or Remove button names (as listed on the page, where a 24-hour
    window is one whose end is its start)."""
    window: dict[str, Any] = {
        "weekdays": [d for d in weekdays.split(",") if d],
        "start": start,
        "end": end,
    }
    if start == end:
        window["all_day"] = True
    return window


def window_key(window: dict[str, Any]) -> str:
    """How an Edit link names a listed window: 'mon,tue/17:00/21:00'."""
    return f"{','.join(window['weekdays'])}/{window['start']}/{window['end']}"


def listed_window(windows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The listed window an Edit link names; None when it is no longer there."""
    return next((window for window in windows if window_key(window) == key), None)
