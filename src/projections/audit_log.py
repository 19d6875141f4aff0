"""Audit log: who (user and role) changed what, when, with the old and the new value.

It is a projection of the events themselves, never a log written by hand. It
runs before the other read models in the same transaction, so the "old" value
is read from the group row as it was before this event: by the entry's INSERT itself
(`OldGroupValue`), so that the read models' statements go out together (a pipeline) with
no read to wait for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
from projections.handlers import Handlers
from projections.tables import Tables


@dataclass
class Entry:
    old: Any = None
    new: Any = None
    group_id: UUID | None = None
    user_id: UUID | None = None
    evse_id: UUID | None = None


@dataclass(frozen=True)
class OldGroupValue:
    """An entry's old value: the group row's `column` as the entry is recorded."""

    column: str


EntryOf = Callable[[Cursor[Any], Tables, Any], Entry]
# One function per event kind: the entry it makes, recorded by `record` at its position.
ENTRIES: Handlers[EntryOf] = Handlers("audit log")


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


def _user_ref(curs: Cursor[Any], t: Tables, user_id: UUID) -> dict[str, Any]:
    return {"user_id": str(user_id), "email": _email(curs, t, user_id)}


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


def _entry(e: Any, **values: Any) -> Entry:
    return Entry(group_id=e.originator_id, **values)


def _changed(curs: Cursor[Any], t: Tables, e: Any, column: str, new: Any) -> Entry:
    return _entry(e, old=OldGroupValue(column), new=new)


@ENTRIES.on(G.Renamed)
def _renamed(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _changed(curs, t, e, "name", e.name)


@ENTRIES.on(G.Described)
def _described(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _changed(curs, t, e, "description", e.description)


@ENTRIES.on(G.TimeZoneChanged)
def _time_zone_changed(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _changed(curs, t, e, "time_zone", e.time_zone)


@ENTRIES.on(G.RandomDelaySet)
def _random_delay_set(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _changed(curs, t, e, "random_delay", e.enabled)


@ENTRIES.on(G.ExclusionTimesSet)
def _exclusion_times_set(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _changed(curs, t, e, "exclusion_windows", windows_json(e.windows))


@ENTRIES.on(G.Created)
def _group_created(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    new = {
        "name": e.name,
        "description": e.description,
        "time_zone": e.time_zone,
        "algorithm": str(getattr(e.algorithm, "value", e.algorithm)),
    }
    return _entry(e, new=new)


@ENTRIES.on(G.HomeUserAdded)
def _home_user_added(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _entry(e, new=_user_ref(curs, t, e.user_id), user_id=e.user_id)


@ENTRIES.on(G.HomeUserRemoved)
def _home_user_removed(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _entry(e, old=_user_ref(curs, t, e.user_id), user_id=e.user_id)


def _moved(
    curs: Cursor[Any], t: Tables, ref: dict[str, Any], key: str, group_id: UUID | None
) -> dict[str, Any]:
    """An EVSE moved between groups in one save: the other group, with its name then."""
    if group_id is not None:
        name = _group_value(curs, t, group_id, "name")
        ref[key] = {"group_id": str(group_id), "name": name}
    return ref


@ENTRIES.on(G.EvseAdded)
def _evse_added(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    # getattr: events recorded before moves were said have no moved_from.
    ref = _moved(
        curs, t, _evse_ref(curs, t, e.evse_id), "moved_from", getattr(e, "moved_from", None)
    )
    return _entry(e, new=ref, evse_id=e.evse_id)


@ENTRIES.on(G.EvseRemoved)
def _evse_removed(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    ref = _moved(curs, t, _evse_ref(curs, t, e.evse_id), "moved_to", getattr(e, "moved_to", None))
    return _entry(e, old=ref, evse_id=e.evse_id)


@ENTRIES.on(G.PriorityChargeStarted)
def _priority_started(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _entry(e, new={"started_at": e.started_at.isoformat(), "ends_at": e.ends_at.isoformat()})


@ENTRIES.on(G.PriorityChargeEnded)
def _priority_ended(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    old = {"ends_at": _iso(_group_value(curs, t, e.originator_id, "priority_ends_at"))}
    reason = str(getattr(e.reason, "value", e.reason))
    return _entry(e, old=old, new={"ended_at": e.ended_at.isoformat(), "reason": reason})


@ENTRIES.on(G.Deleted)
def _group_deleted(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return _entry(e, old={"name": _group_value(curs, t, e.originator_id, "name")})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@ENTRIES.on(User.Registered)
def _user_registered(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    role = str(getattr(e.role, "value", e.role))
    return Entry(new={"email": e.email, "role": role}, user_id=e.originator_id)


# Never the hash or the token; the reset's link is in no event.
@ENTRIES.on(
    User.PasswordSet,
    User.Invited,
    User.Revoked,
    User.Disabled,
    User.Enabled,
    User.PasswordResetAsked,
)
def _user_changed(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return Entry(user_id=e.originator_id)


@ENTRIES.on(Evse.Registered, Evse.Reregistered)
def _evse_registered(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    new = limit_fields(e.limits)
    new.update(charge_point_id=e.charge_point_id, connector_id=e.connector_id)
    return Entry(new=new, evse_id=e.originator_id)


@ENTRIES.on(Evse.LimitsChanged)
def _evse_limits_changed(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return Entry(new=limit_fields(e.limits), evse_id=e.originator_id)


@ENTRIES.on(Evse.Deregistered)
def _evse_deregistered(curs: Cursor[Any], t: Tables, e: Any) -> Entry:
    return Entry(evse_id=e.originator_id)


def record(curs: Cursor[Any], t: Tables, event: Any, position: int) -> None:
    entry_of = ENTRIES.get(type(event))
    if entry_of is None:
        return
    entry = entry_of(curs, t, event)
    actor = event.actor
    old: list[Any]
    if isinstance(entry.old, OldGroupValue):  # NULL where the group has no row (yet)
        old_sql, old = (
            f"(SELECT to_jsonb({entry.old.column}) FROM {t.groups} WHERE id = %s)",
            [entry.group_id],
        )
    else:
        old_sql, old = "%s", [Jsonb(entry.old) if entry.old is not None else None]
    curs.execute(
        f"INSERT INTO {t.audit} (position, seq, group_id, user_id, evse_id, actor_id, actor_role,"
        f" at, action, old_value, new_value) VALUES (%s, 0, %s, %s, %s, %s, %s, %s, %s, {old_sql},"
        " %s)",
        (
            position,
            entry.group_id,
            entry.user_id,
            entry.evse_id,
            actor.user_id,
            actor.role.value,
            event.timestamp,
            action_name(event),
            *old,
            Jsonb(entry.new) if entry.new is not None else None,
        ),
    )
