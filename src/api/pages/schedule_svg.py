"""The 7-day schedule chart, drawn by the server from the scheduler's preview.

One row per local day (the group's time zone), the hours of the day across:
exclusion times, priority charge and free charging as coloured bars, the past
greyed out, and a "now" marker. The template turns this model into SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.exclusion_times import WEEKDAYS

from .formatting import DASH, DAY_NAMES, local

# Across, positions are percentages of the plot's width: the SVG has no viewBox, so it takes
# its box's width on any screen while its text keeps its size in CSS pixels (a scaled chart's
# labels shrank to 7 px on a phone). The days' names are HTML beside it. Down, CSS pixels.
LEFT = 0
PLOT = 100
TOP = 24
ROW = 26
GAP = 6
DAYS = 7

REASONS = {
    "exclusion": "no charging (exclusion time)",
    "priority": "priority charge at full power",
    "free": "charging allowed",
    "past": "past",
}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    reason: str
    title: str


@dataclass(frozen=True)
class Chart:
    title: str
    height: float
    bars: list[Bar]
    days: list[tuple[float, str]]
    hours: list[tuple[float, str, bool, bool]]  # x, label, major line, label shown
    now_x: float
    items: list[str]


def x_of(hours: float) -> float:
    return round(LEFT + hours / 24 * PLOT, 2)


def y_of(row: int) -> float:
    return TOP + row * (ROW + GAP)


def hours_of(moment: datetime) -> float:
    return moment.hour + moment.minute / 60 + moment.second / 3600


def day_label(day: date, today: date) -> str:
    if day == today:
        return "Today"
    return f"{DAY_NAMES[WEEKDAYS[day.weekday()]]} {day.day}"


def limit_words(interval: dict[str, Any]) -> str:
    if interval["reason"] == "exclusion":
        return REASONS["exclusion"]
    amount = f"{interval['limit']:g} {interval['unit']}"
    if interval["reason"] == "priority":
        return f"priority charge at full power ({amount})"
    return f"charging allowed, up to {amount}"


def day_bars(interval: dict[str, Any], days: list[date], zone: ZoneInfo) -> list[Bar]:
    """The interval cut at local midnights: one bar per day it touches."""
    bars = []
    start, end = interval["start_utc"], interval["end_utc"]
    for row, day in enumerate(days):
        day_start = datetime.combine(day, time(), zone)
        day_end = datetime.combine(day + timedelta(days=1), time(), zone)
        begin, finish = max(start, day_start), min(end, day_end)
        if begin >= finish:
            continue
        x1 = hours_of(begin.astimezone(zone))
        x2 = 24.0 if finish >= day_end else hours_of(finish.astimezone(zone))
        if x2 <= x1:
            continue  # the repeated hour of a DST change: already drawn once
        title = (
            f"{day_label(day, days[0])} {begin.astimezone(zone):%H:%M}{DASH}"
            f"{finish.astimezone(zone):%H:%M}: {limit_words(interval)}"
        )
        width = round(x_of(x2) - x_of(x1), 2)
        bars.append(Bar(x_of(x1), y_of(row), width, interval["reason"], title))
    return bars


def chart_for(evse: dict[str, Any], zone: ZoneInfo, now: datetime) -> Chart:
    local_now = now.astimezone(zone)
    days = [local_now.date() + timedelta(days=i) for i in range(DAYS)]
    now_x = x_of(hours_of(local_now))
    bars = [Bar(LEFT, y_of(0), round(now_x - LEFT, 2), "past", "already past")]
    items = []
    for interval in evse["intervals"]:
        bars.extend(day_bars(interval, days, zone))
        if interval["reason"] != "free":
            items.append(
                f"{local(interval['start_utc'], zone)} to {local(interval['end_utc'], zone)}: "
                f"{limit_words(interval)}"
            )
    return Chart(
        title=f"{evse['charge_point_id']} / connector {evse['connector_id']}",
        height=y_of(DAYS) + 4,
        bars=bars,
        days=[(y_of(row) + ROW / 2, day_label(day, days[0])) for row, day in enumerate(days)],
        hours=hour_lines(now_x),
        now_x=now_x,
        items=items,
    )


def hour_lines(now_x: float) -> list[tuple[float, str, bool, bool]]:
    """A line every 3 hours, labelled every 6 unless the "now" label stands there."""
    lines = []
    for hour in range(0, 25, 3):
        x = x_of(hour)
        major = hour % 6 == 0
        lines.append((x, f"{hour:02d}:00", major, major and not now_x - 9 < x < now_x + 10))
    return lines


def schedule_charts(schedule: dict[str, Any], now: datetime) -> list[Chart]:
    zone = ZoneInfo(schedule["time_zone"])
    return [chart_for(evse, zone, now) for evse in schedule["evses"]]
