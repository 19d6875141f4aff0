"""Group read model: the operator's list and detail, and the consumer's "my groups"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.groups import SmartChargingGroup as G
from projections.tables import Tables

Handler = Callable[[Cursor[Any], Tables, Any], None]


def windows_json(windows: Any) -> list[dict[str, Any]]:
    return [window.to_dict() for window in windows]


def _set(curs: Cursor[Any], t: Tables, event: Any, assignments: str, *values: Any) -> None:
    curs.execute(
        f"UPDATE {t.groups} SET {assignments}, updated_at = %s, version = %s WHERE id = %s",
        (*values, event.timestamp, event.originator_version, event.originator_id),
    )


def _created(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"INSERT INTO {t.groups} (id, name, description, algorithm, time_zone, created_at,"
        " updated_at, version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            e.originator_id,
            e.name,
            e.description,
            str(getattr(e.algorithm, "value", e.algorithm)),
            e.time_zone,
            e.timestamp,
            e.timestamp,
            e.originator_version,
        ),
    )


def _deleted(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(f"DELETE FROM {t.groups} WHERE id = %s", (e.originator_id,))


HANDLERS: dict[type, Handler] = {
    G.Created: _created,
    G.Renamed: lambda c, t, e: _set(c, t, e, "name = %s", e.name),
    G.Described: lambda c, t, e: _set(c, t, e, "description = %s", e.description),
    G.TimeZoneChanged: lambda c, t, e: _set(c, t, e, "time_zone = %s", e.time_zone),
    G.ExclusionTimesSet: lambda c, t, e: _set(
        c, t, e, "exclusion_windows = %s", Jsonb(windows_json(e.windows))
    ),
    G.RandomDelaySet: lambda c, t, e: _set(c, t, e, "random_delay = %s", e.enabled),
    G.HomeUserAdded: lambda c, t, e: _set(c, t, e, "home_user_id = %s", e.user_id),
    G.HomeUserRemoved: lambda c, t, e: _set(c, t, e, "home_user_id = NULL"),
    G.EvseAdded: lambda c, t, e: _set(
        c, t, e, "evse_ids = array_append(array_remove(evse_ids, %s), %s)", e.evse_id, e.evse_id
    ),
    G.EvseRemoved: lambda c, t, e: _set(
        c, t, e, "evse_ids = array_remove(evse_ids, %s)", e.evse_id
    ),
    G.PriorityChargeStarted: lambda c, t, e: _set(
        c,
        t,
        e,
        "priority_started_at = %s, priority_ends_at = %s, priority_started_by_role = %s",
        e.started_at,
        e.ends_at,
        e.actor.role.value,
    ),
    G.PriorityChargeEnded: lambda c, t, e: _set(
        c,
        t,
        e,
        "priority_started_at = NULL, priority_ends_at = NULL, priority_started_by_role = NULL",
    ),
    G.Deleted: _deleted,
}
