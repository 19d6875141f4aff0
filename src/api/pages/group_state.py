"""What a group is doing now, and its EVSEs' status, in words for both portals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.exclusion_times import (
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    excluded_week_intervals,
    parse_windows,
)

from .formatting import clock

# How long a priority charge may be asked to last, in minutes (the service allows up to 24 h).
PRIORITY_MINUTES = {30: "30 minutes", 60: "1 hour", 120: "2 hours", 240: "4 hours", 480: "8 hours"}


@dataclass(frozen=True)
class ChargingState:
    kind: str  # "priority", "excluded", "free"
    text: str
    until: datetime | None = None


def priority_ends_at(row: dict[str, Any], now: datetime) -> datetime | None:
    ends_at = row["priority_ends_at"]
    return ends_at if ends_at is not None and ends_at > now else None


def charging_state(row: dict[str, Any], now: datetime) -> ChargingState:
    ends_at = priority_ends_at(row, now)
    if ends_at is not None:
        return ChargingState("priority", "Priority charge: charging at full power", ends_at)
    local = now.astimezone(ZoneInfo(row["time_zone"]))
    minute = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
    intervals = excluded_week_intervals(parse_windows(row["exclusion_windows"]))
    if not intervals:
        return ChargingState("free", "Charging allowed at any time: no exclusion times")
    if intervals == [(0, MINUTES_PER_WEEK)]:
        return ChargingState("excluded", "No charging: the whole week is excluded")
    inside, boundary = next_boundary(intervals, minute)
    until = (local + timedelta(minutes=boundary - minute)).replace(second=0, microsecond=0)
    if inside:
        return ChargingState("excluded", "No charging now (exclusion time)", until)
    return ChargingState("free", "Charging allowed now", until)


def next_boundary(intervals: list[tuple[int, int]], minute: int) -> tuple[bool, int]:
    """Whether `minute` lies in an excluded interval, and the minute (of a week that may run
    past its end) at which that changes. The week is a circle: Sunday runs into Monday."""
    first_begin, first_end = intervals[0]
    for begin, end in intervals:
        if begin <= minute < end:
            wraps = end == MINUTES_PER_WEEK and first_begin == 0
            return True, MINUTES_PER_WEEK + first_end if wraps else end
        if minute < begin:
            return False, begin
    return False, MINUTES_PER_WEEK + first_begin


ANSWER_WORDS = {
    "Accepted": "accepted by the charger",
    "Rejected": "rejected by the charger",
    "NotSupported": "not supported by the charger",
    "Timeout": "no answer from the charger (timeout)",
    "Error": "the charger answered with an error",
    "Offline": "waiting: the charger is offline",
}


def profile_words(status: dict[str, Any]) -> tuple[str, str]:
    """(kind, words) of the last charging profiles sent: ok, waiting, failed or none."""
    desired = status.get("desired_profiles") or []
    if not desired:
        return "none", "no charging profile to send yet"
    answers = status.get("answers") or {}
    got = [(answers.get(str(p.get("profile_id"))) or {}).get("status") for p in desired]
    count = f"{len(desired)} profile{'s' if len(desired) != 1 else ''}"
    if all(answer == "Accepted" for answer in got):
        return "ok", f"{count} sent, accepted by the charger"
    failed = next((a for a in got if a not in (None, "Accepted", "Offline")), None)
    if failed:
        return "failed", f"{count} sent, {ANSWER_WORDS.get(failed, failed)}"
    if not status.get("connected"):
        return "waiting", f"{count} waiting: the charger is offline"
    return "waiting", f"{count} sent, waiting for the charger's answer"


@dataclass(frozen=True)
class EvseStatus:
    id: Any
    name: str
    limits: str
    online: bool
    connection: str
    session: str
    profile_kind: str
    profile: str
    group_id: Any
    group_name: str | None


def limits_text(row: dict[str, Any]) -> str:
    parts = []
    if row.get("max_current_a"):
        parts.append(f"{row['max_current_a']:g} A")
    if row.get("phases"):
        parts.append(f"{row['phases']} phase{'s' if row['phases'] != 1 else ''}")
    if row.get("max_power_w"):
        parts.append(f"{row['max_power_w'] / 1000:g} kW")
    return ", ".join(parts) or "no limits given"


def evse_status(row: dict[str, Any], zone: ZoneInfo, now: datetime) -> EvseStatus:
    status = row["status"]
    connector = (status.get("connector") or {}).get("status")
    version = (status.get("protocol") or "").removeprefix("ocpp")
    protocol = f" (OCPP {version})" if version else ""
    connection = f"online{protocol}" if status["connected"] else "offline"
    if connector:
        connection += f", connector {connector.lower()}"
    session = "no charging session"
    if status.get("transaction_id"):
        session = f"charging session since {clock(status['session_started_at'], zone, now)}"
    kind, words = profile_words(status)
    return EvseStatus(
        id=row["id"],
        name=f"{row['charge_point_id']} / connector {row['connector_id']}",
        limits=limits_text(row),
        online=bool(status["connected"]),
        connection=connection,
        session=session,
        profile_kind=kind,
        profile=words,
        group_id=row.get("group_id"),
        group_name=row.get("group_name"),
    )
