"""The audit log as sentences: what changed, from what to what, by whom and when."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput
from domain.exclusion_times import ExclusionWindow, parse_windows, window_changes

from .formatting import local, role_words, window_change_text, window_text, windows_text

ACTIONS = {
    "created": "Group created",
    "renamed": "Renamed",
    "described": "Description changed",
    "time_zone_changed": "Time zone changed",
    "random_delay_set": "Random delay changed",
    "exclusion_times_set": "Exclusion times changed",
    "home_user_added": "Home user added",
    "home_user_removed": "Home user removed",
    "evse_added": "EVSE added",
    "evse_removed": "EVSE removed",
    "priority_charge_started": "Priority charge started",
    "priority_charge_ended": "Priority charge ended",
    "deleted": "Group deleted",
}

END_REASONS = {
    "stopped": "stopped",
    "expired": "its time was up",
    "session_ended": "the car was unplugged",
}


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    when: str
    what: str
    detail: str
    who: str
    role: str


def _quoted(value: Any) -> str:
    return f"“{value}”" if value not in (None, "") else "(empty)"


def _evse(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    return f"{value.get('charge_point_id', '?')} / connector {value.get('connector_id', '?')}"


def _change(old: Any, new: Any) -> str:
    return f"{_quoted(old)} → {_quoted(new)}"


def _priority_end(old: Any, new: Any) -> str:
    reason = str((new or {}).get("reason") or "")
    return f"because {END_REASONS.get(reason, 'it ended')}"


def _detail_makers(zone: ZoneInfo) -> dict[str, Callable[[Any, Any], str]]:
    def at(text: str | None) -> str:
        return local(datetime.fromisoformat(text), zone) if text else ""

    return {
        "created": lambda old, new: f"{_quoted(new.get('name'))}, time zone {new.get('time_zone')}",
        "renamed": _change,
        "described": _change,
        "time_zone_changed": _change,
        "random_delay_set": lambda old, new: "on" if new else "off",
        "exclusion_times_set": lambda old, new: windows_text(new),
        "home_user_added": lambda old, new: (new or {}).get("email") or "",
        "home_user_removed": lambda old, new: (old or {}).get("email") or "",
        "evse_added": lambda old, new: _evse(new),
        "evse_removed": lambda old, new: _evse(old),
        "priority_charge_started": lambda old, new: f"until {at((new or {}).get('ends_at'))}",
        "priority_charge_ended": _priority_end,
        "deleted": lambda old, new: "",
    }


def exclusion_change(old: Any, new: Any) -> tuple[str, str]:
    """(what, detail) of a change of exclusion times: the window added, removed or changed,
    not the whole list; entries recorded before single-window edits read the same way."""
    try:
        changes = window_changes(_windows(old), _windows(new))
    except InvalidInput:  # a value no longer read as windows: the list as it was recorded
        return ACTIONS["exclusion_times_set"], windows_text(new)
    if changes.changed and not (changes.added or changes.removed):
        return "Exclusion time changed", "; ".join(
            window_change_text(before.to_dict(), after.to_dict())
            for before, after in changes.changed
        )
    added = [window_text(w.to_dict()) for w in changes.added]
    removed = [window_text(w.to_dict()) for w in changes.removed]
    if added and not removed:
        return _counted("added", added), "; ".join(added)
    if removed and not added:
        return _counted("removed", removed), "; ".join(removed)
    if not added:
        return ACTIONS["exclusion_times_set"], "the same times, in another order"
    return ACTIONS["exclusion_times_set"], f"added {'; '.join(added)}; removed {'; '.join(removed)}"


def evse_move(action: str, old: Any, new: Any) -> tuple[str, str] | None:
    """(what, detail) of an EVSE that came from or went to another group in one move."""
    if action == "evse_added" and (new or {}).get("moved_from"):
        return "EVSE moved here", f"{_evse(new)}, from {_quoted(new['moved_from'].get('name'))}"
    if action == "evse_removed" and (old or {}).get("moved_to"):
        return "EVSE moved away", f"{_evse(old)}, to {_quoted(old['moved_to'].get('name'))}"
    return None


def _windows(value: Any) -> tuple[ExclusionWindow, ...]:
    return parse_windows(value or [], stored=True)


def _counted(verb: str, texts: list[str]) -> str:
    return f"Exclusion time{'s' if len(texts) > 1 else ''} {verb}"


def audit_lines(rows: list[dict[str, Any]], zone: ZoneInfo) -> list[AuditLine]:
    makers = _detail_makers(zone)
    lines = []
    for row in rows:
        action = row["action"]
        maker = makers.get(action)
        what = ACTIONS.get(action, action.replace("_", " ").capitalize())
        detail = maker(row["old_value"], row["new_value"]) if maker else ""
        if action == "exclusion_times_set":
            what, detail = exclusion_change(row["old_value"], row["new_value"])
        moved = evse_move(action, row["old_value"], row["new_value"])
        if moved:
            what, detail = moved
        lines.append(
            AuditLine(
                at=row["at"],
                when=local(row["at"], zone),
                what=what,
                detail=detail,
                who=row["actor_email"] or ("the system" if row["actor_role"] == "system" else "?"),
                role=role_words(row["actor_role"]),
            )
        )
    return lines
