"""What a group is doing now, and its EVSEs' status, in words for both portals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from api.context import ApiContext, EvseAllowance
from domain.charging_profiles import ChargingProfile, cover_prevails_from, recorded_profiles
from domain.errors import ScheduleUnavailable

from .formatting import clock, local

# How long a priority charge may be asked to last, in minutes (the service allows up to 24 h).
PRIORITY_MINUTES = {30: "30 minutes", 60: "1 hour", 120: "2 hours", 240: "4 hours", 480: "8 hours"}


@dataclass(frozen=True)
class ChargingState:
    """What a group (or one EVSE) may do now, in words; `until` the next change, and
    `until_last` the last EVSE's change when the EVSEs change one after another."""

    kind: str  # "priority", "excluded", "free"; "mixed" when the EVSEs differ now
    text: str
    until: datetime | None = None
    until_words: str = " until"
    until_last: datetime | None = None


UNKNOWN = ChargingState("unknown", "Charging state not known")


def charging_state(allowances: Sequence[EvseAllowance]) -> ChargingState:
    """The words for what the EVSEs of a group may do now (the scheduler's answer per EVSE,
    `ApiContext.allowances`), never worked out here from the exclusion windows."""
    if not allowances:
        return UNKNOWN
    reasons = {allowance.reason for allowance in allowances}
    untils = sorted({a.until for a in allowances if a.until is not None})
    until = untils[0] if untils else None
    if len(reasons) > 1:
        free = sum(allowance.reason == "free" for allowance in allowances)
        text = f"{free} of {len(allowances)} EVSEs may charge now"
        return ChargingState("mixed", text, until, "; next change at")
    reason = reasons.pop()
    last = untils[-1] if len(untils) > 1 else None
    if reason == "priority":
        return ChargingState("priority", "Priority charge: charging at full power", until)
    if reason == "exclusion":
        if until is None:
            return ChargingState("excluded", "No charging: the whole week is excluded")
        text = "No charging now (exclusion time)"
        return ChargingState("excluded", text, until, "; charging resumes at", last)
    if until is None:
        return ChargingState("free", "Charging allowed at any time: no exclusion times")
    return ChargingState("free", "Charging allowed now", until, " until", last)


def group_charging_states(
    ctx: ApiContext, rows: Sequence[dict[str, Any]], now: datetime
) -> list[ChargingState]:
    """Each listed group's state: their EVSEs read in one query, no aggregate loaded."""
    if ctx.allowances is None:
        return [UNKNOWN for _ in rows]
    evses = ctx.queries.evse_limits_of_groups([row["id"] for row in rows])
    return [charging_state(evse_allowances(ctx, row, evses[row["id"]], now)) for row in rows]


def evse_allowances(
    ctx: ApiContext, row: dict[str, Any], evses: Sequence[dict[str, Any]], now: datetime
) -> Sequence[EvseAllowance]:
    """What each EVSE of the group's page may do now (one answer without EVSEs); nothing
    for a group whose profiles cannot be worked out (its page says why: its fault)."""
    if ctx.allowances is None:
        return []
    try:
        return ctx.allowances(row, evses, now)
    except ScheduleUnavailable:
        return []


ANSWER_WORDS = {
    "Accepted": "accepted by the charger",
    "Rejected": "rejected by the charger",
    "NotSupported": "not supported by the charger",
    "Timeout": "no answer from the charger (timeout)",
    "Error": "the charger answered with an error",
    "Offline": "waiting: the charger is offline",
}


# What the home user reads for the same states: the schedule his charger holds, not profiles.
SCHEDULE_WORDS = {
    "none": "no schedule to send yet",
    "ok": "your charger has your latest schedule",
    "failed": "your charger did not take your latest schedule; your operator can see why",
    "offline": "your charger gets your latest schedule when it is back online",
    "sent": "sending your latest schedule to your charger",
}

# OCPP 1.6 §7.7 ChargePointStatus (2.0.1's ConnectorStatusEnumType uses a subset), in words.
CONNECTOR_WORDS = {
    "Available": "no car plugged in",
    "Occupied": "car plugged in",
    "Preparing": "car plugged in",
    "Charging": "charging",
    "SuspendedEV": "car plugged in, not taking power",
    "SuspendedEVSE": "car plugged in, held by the charger",
    "Finishing": "charging finished, car still plugged in",
    "Reserved": "reserved",
    "Unavailable": "out of service",
    "Faulted": "the charger reports a fault",
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


def schedule_words(kind: str, status: dict[str, Any]) -> str:
    """The home user's words for `profile_words`' kind."""
    if kind == "waiting":
        return SCHEDULE_WORDS["sent" if status.get("connected") else "offline"]
    return SCHEDULE_WORDS[kind]


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
    schedule: str  # what the home user reads instead of `profile`
    home_connection: str  # what the home user reads instead of `connection`
    group_id: Any
    group_name: str | None
    now: ChargingState | None = None
    offline: str | None = None  # what the charger does offline (offline_words)


def limits_text(row: dict[str, Any]) -> str:
    parts = []
    if row.get("max_current_a"):
        parts.append(f"{row['max_current_a']:g} A")
    if row.get("phases"):
        parts.append(f"{row['phases']} phase{'s' if row['phases'] != 1 else ''}")
    if row.get("max_power_w"):
        parts.append(f"{row['max_power_w'] / 1000:g} kW")
    return ", ".join(parts) or "no limits given"


def evse_status(
    row: dict[str, Any],
    zone: ZoneInfo,
    now: datetime,
    allowance: EvseAllowance | None = None,
) -> EvseStatus:
    status = row["status"]
    connector = (status.get("connector") or {}).get("status")
    version = (status.get("protocol") or "").removeprefix("ocpp")
    protocol = f" (OCPP {version})" if version else ""
    online = "Online" if status["connected"] else "Offline"
    connection, home_connection = f"{online}{protocol}", online
    if connector:
        words = CONNECTOR_WORDS.get(connector)
        connection += f", connector {connector}" + (f" ({words})" if words else "")
        home_connection += f", {words}" if words else ""
    session = "No charging session"
    if status.get("transaction_id"):
        session = f"Charging session since {clock(status['session_started_at'], zone, now)}"
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
        schedule=schedule_words(kind, status).capitalize(),
        home_connection=home_connection,
        group_id=row.get("group_id"),
        group_name=row.get("group_name"),
        now=charging_state([allowance]) if allowance is not None else None,
        offline=offline_words(status, allowance, zone, now),
    )


def held_profiles(status: dict[str, Any]) -> tuple[ChargingProfile, ...] | None:
    """The profiles the charger holds, when it accepted every one desired; else not known."""
    desired = status.get("desired_profiles") or []
    answers = status.get("answers") or {}
    accepted = [(answers.get(str(p.get("profile_id"))) or {}).get("status") for p in desired]
    if not desired or any(answer != "Accepted" for answer in accepted):
        return None
    return recorded_profiles(desired)


def offline_words(
    status: dict[str, Any], allowance: EvseAllowance | None, zone: ZoneInfo, now: datetime
) -> str | None:
    """Until when an offline charger keeps to the schedule exactly, then safe but stricter
    (the cover, scheduler/cover.py): for a charger online, if it went offline now (the
    scheduler's answer); for one offline, from the profiles it accepted."""
    if status.get("connected"):
        if allowance is None or allowance.offline is None:
            return None
        until, lead = allowance.offline.exact_until, "If it goes offline now"
    else:
        held = held_profiles(status)
        if held is None:
            return None
        until, lead = cover_prevails_from(held), "While offline"
    if until is None:
        return f"{lead}, it keeps to this schedule exactly, however long it stays offline."
    stricter = (
        "safe but stricter until it is back online: never in an exclusion time,"
        " but it may charge in fewer hours than allowed"
    )
    when = local(until, zone, now=now)  # a year ahead, as far as profiles are sent ahead
    if until <= now:
        return f"{lead}, it kept to this schedule exactly until {when}; since then {stricter}."
    return f"{lead}, it keeps to this schedule exactly until {when}, then {stricter}."


def allowances_by_evse(
    ctx: ApiContext, rows: Sequence[dict[str, Any]], now: datetime
) -> dict[UUID, EvseAllowance]:
    """What each EVSE of `rows` (the registry's page) in a group may do now, by EVSE id:
    their groups and their EVSEs read in two queries."""
    group_ids = sorted({row["group_id"] for row in rows if row.get("group_id")})
    if ctx.allowances is None or not group_ids:
        return {}
    groups = ctx.queries.groups_by_id(group_ids)
    evses = ctx.queries.evse_limits_of_groups(group_ids)
    found: dict[UUID, EvseAllowance] = {}
    for group_id, group in groups.items():
        answers = evse_allowances(ctx, group, evses[group_id], now)
        if len(answers) == len(evses[group_id]):
            found.update(zip([evse["id"] for evse in evses[group_id]], answers, strict=True))
    return found
