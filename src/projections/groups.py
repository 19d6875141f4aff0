"""Group read model: the operator's list and detail, and the consumer's "my groups"."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.groups import SmartChargingGroup as G
from projections.handlers import Handler, Handlers
from projections.tables import Tables

HANDLERS: Handlers[Handler] = Handlers("groups")


def windows_json(windows: Any) -> list[dict[str, Any]]:
    return [window.to_dict() for window in windows]


def _set(curs: Cursor[Any], t: Tables, event: Any, assignments: str, *values: Any) -> None:
    curs.execute(
        f"UPDATE {t.groups} SET {assignments}, updated_at = %s, version = %s WHERE id = %s",
        (*values, event.timestamp, event.originator_version, event.originator_id),
    )


@HANDLERS.on(G.Created)
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


@HANDLERS.on(G.Renamed)
def _renamed(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(curs, t, e, "name = %s", e.name)


@HANDLERS.on(G.Described)
def _described(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(curs, t, e, "description = %s", e.description)


@HANDLERS.on(G.TimeZoneChanged)
def _time_zone_changed(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(curs, t, e, "time_zone = %s", e.time_zone)


@HANDLERS.on(G.ExclusionTimesSet)
def _exclusion_times_set(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(curs, t, e, "exclusion_windows = %s", Jsonb(windows_json(e.windows)))


@HANDLERS.on(G.RandomDelaySet)
def _random_delay_set(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(curs, t, e, "random_delay = %s", e.enabled)


@HANDLERS.on(G.HomeUserAdded)
def _home_user_added(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(curs, t, e, "home_user_id = %s", e.user_id)


@HANDLERS.on(G.HomeUserRemoved)
def _home_user_removed(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(curs, t, e, "home_user_id = NULL")


@HANDLERS.on(G.EvseAdded)
def _evse_added(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(
        curs, t, e, "evse_ids = array_append(array_remove(evse_ids, %s), %s)", e.evse_id, e.evse_id
    )


@HANDLERS.on(G.EvseRemoved)
def _evse_removed(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(curs, t, e, "evse_ids = array_remove(evse_ids, %s)", e.evse_id)


@HANDLERS.on(G.PriorityChargeStarted)
def _priority_started(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(
        curs,
        t,
        e,
        "priority_started_at = %s, priority_ends_at = %s, priority_started_by_role = %s",
        e.started_at,
        e.ends_at,
        e.actor.role.value,
    )


@HANDLERS.on(G.PriorityChargeEnded)
def _priority_ended(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set(
        curs,
        t,
        e,
        "priority_started_at = NULL, priority_ends_at = NULL, priority_started_by_role = NULL",
    )


@HANDLERS.on(G.Deleted)
def _deleted(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(f"DELETE FROM {t.groups} WHERE id = %s", (e.originator_id,))
