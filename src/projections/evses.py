"""EVSE registry read model: each connector, its limits and its group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor

from domain.evses import Evse
from projections.tables import Tables

Handler = Callable[[Cursor[Any], Tables, Any], None]


def _registered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"INSERT INTO {t.evses} (id, charge_point_id, connector_id, max_current_a, phases,"
        " max_power_w, registered_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            e.originator_id,
            e.charge_point_id,
            e.connector_id,
            e.max_current_a,
            e.phases,
            e.max_power_w,
            e.timestamp,
        ),
    )


def _limits(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"UPDATE {t.evses} SET max_current_a = %s, phases = %s, max_power_w = %s WHERE id = %s",
        (e.max_current_a, e.phases, e.max_power_w, e.originator_id),
    )


def _group(curs: Cursor[Any], t: Tables, e: Any) -> None:
    group_id = e.group_id if isinstance(e, Evse.Assigned) else None
    curs.execute(f"UPDATE {t.evses} SET group_id = %s WHERE id = %s", (group_id, e.originator_id))


def _deregistered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(f"DELETE FROM {t.evses} WHERE id = %s", (e.originator_id,))


HANDLERS: dict[type, Handler] = {
    Evse.Registered: _registered,
    Evse.Reregistered: _registered,
    Evse.LimitsChanged: _limits,
    Evse.Assigned: _group,
    Evse.Released: _group,
    Evse.Deregistered: _deregistered,
}
