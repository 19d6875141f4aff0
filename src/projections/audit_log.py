"""Audit log: who (user and role) changed what, when, with the old and the new value.

It is a projection of the events themselves, never a log written by hand. It
runs before the other read models in the same transaction, so the "old" value
is read from the group row as it was before this event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.evse_limits import limit_fields
from domain.evses import Evse
from domain.groups import SmartChargingGroup as G
from domain.users import User
from projections.groups import windows_json
from projections.tables import Tables


@dataclass
class Entry:
    old: Any = None
    new: Any = None
    group_id: UUID | None = None
    user_id: UUID | None = None
    evse_id: UUID | None = None


def action_name(event: Any) -> str:
    """'ExclusionTimesSet' -> 'exclusion_times_set'."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


def _group_value(curs: Cursor[Any], t: Tables, group_id: UUID, column: str) -> Any:
    row = curs.execute(f"SELECT {column} AS value FROM {t.groups} WHERE id = %s", (group_id,))
    found = row.fetchone()
    if found is None:
        return None
    return found["value"] if isinstance(found, dict) else found[0]


def _email(curs: Cursor[Any], t: Tables, user_id: UUID) -> str | None:
    found = curs.execute(f"SELECT email FROM {t.users} WHERE id = %s", (user_id,)).fetchone()
    if found is None:
        return None
    return found["email"] if isinstance(found, dict) else found[0]


def _evse_ref(curs: Cursor[Any], t: Tables, evse_id: UUID) -> dict[str, Any]:
    found = curs.execute(
        f"SELECT charge_point_id, connector_id FROM {t.evses} WHERE id = %s", (evse_id,)
    ).fetchone()
    ref: dict[str, Any] = {"evse_id": str(evse_id)}
    if found is not None:
        cp, connector = (
            (found["charge_point_id"], found["connector_id"]) if isinstance(found, dict) else found
        )
        ref.update(charge_point_id=cp, connector_id=connector)
    return ref


def _group_entry(curs: Cursor[Any], t: Tables, e: Any) -> Entry | None:
    gid = e.originator_id
    simple = {
        G.Renamed: ("name", lambda: e.name),
        G.Described: ("description", lambda: e.description),
        G.TimeZoneChanged: ("time_zone", lambda: e.time_zone),
        G.RandomDelaySet: ("random_delay", lambda: e.enabled),
        G.ExclusionTimesSet: ("exclusion_windows", lambda: windows_json(e.windows)),
    }
    if type(e) in simple:
        column, new_value = simple[type(e)]
        return Entry(old=_group_value(curs, t, gid, column), new=new_value(), group_id=gid)
    if isinstance(e, G.Created):
        new = {
            "name": e.name,
            "description": e.description,
            "time_zone": e.time_zone,
            "algorithm": str(getattr(e.algorithm, "value", e.algorithm)),
        }
        return Entry(new=new, group_id=gid)
    if isinstance(e, G.HomeUserAdded | G.HomeUserRemoved):
        ref = {"user_id": str(e.user_id), "email": _email(curs, t, e.user_id)}
        added = isinstance(e, G.HomeUserAdded)
        return Entry(
            old=None if added else ref, new=ref if added else None, group_id=gid, user_id=e.user_id
        )
    if isinstance(e, G.EvseAdded | G.EvseRemoved):
        ref = _evse_ref(curs, t, e.evse_id)
        added = isinstance(e, G.EvseAdded)
        return Entry(
            old=None if added else ref, new=ref if added else None, group_id=gid, evse_id=e.evse_id
        )
    if isinstance(e, G.PriorityChargeStarted):
        return Entry(
            new={"started_at": e.started_at.isoformat(), "ends_at": e.ends_at.isoformat()},
            group_id=gid,
        )
    if isinstance(e, G.PriorityChargeEnded):
        old = {"ends_at": _iso(_group_value(curs, t, gid, "priority_ends_at"))}
        reason = str(getattr(e.reason, "value", e.reason))
        return Entry(
            old=old, new={"ended_at": e.ended_at.isoformat(), "reason": reason}, group_id=gid
        )
    if isinstance(e, G.Deleted):
        return Entry(old={"name": _group_value(curs, t, gid, "name")}, group_id=gid)
    return None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _other_entry(curs: Cursor[Any], t: Tables, e: Any) -> Entry | None:
    if isinstance(e, User.Registered):
        role = str(getattr(e.role, "value", e.role))
        return Entry(new={"email": e.email, "role": role}, user_id=e.originator_id)
    if isinstance(e, User.PasswordSet | User.Invited | User.Revoked):
        return Entry(user_id=e.originator_id)  # never the hash or the token
    if isinstance(e, User.Disabled | User.Enabled | User.PasswordResetAsked):
        return Entry(user_id=e.originator_id)  # the reset's link is in no event
    if isinstance(e, Evse.Registered | Evse.Reregistered | Evse.LimitsChanged):
        new = limit_fields(e.limits)
        if isinstance(e, Evse.Registered | Evse.Reregistered):
            new.update(charge_point_id=e.charge_point_id, connector_id=e.connector_id)
        return Entry(new=new, evse_id=e.originator_id)
    if isinstance(e, Evse.Deregistered):
        return Entry(evse_id=e.originator_id)
    return None


def record(curs: Cursor[Any], t: Tables, event: Any, position: int) -> None:
    entry = _group_entry(curs, t, event) or _other_entry(curs, t, event)
    if entry is None:
        return
    actor = event.actor
    curs.execute(
        f"INSERT INTO {t.audit} (position, seq, group_id, user_id, evse_id, actor_id, actor_role,"
        " at, action, old_value, new_value) VALUES (%s, 0, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            position,
            entry.group_id,
            entry.user_id,
            entry.evse_id,
            actor.user_id,
            actor.role.value,
            event.timestamp,
            action_name(event),
            Jsonb(entry.old) if entry.old is not None else None,
            Jsonb(entry.new) if entry.new is not None else None,
        ),
    )
