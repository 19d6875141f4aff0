"""EVSE registry read model: each connector, its limits and its group."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.evse_limits import limit_fields
from domain.evses import Evse
from projections.handlers import Handler, Handlers
from projections.tables import Tables

HANDLERS: Handlers[Handler] = Handlers("evses")


@HANDLERS.on(Evse.Registered, Evse.Reregistered)
def _registered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    limits = limit_fields(e.limits)
    curs.execute(
        f"INSERT INTO {t.evses} (id, charge_point_id, connector_id, max_current_a, phases,"
        " max_power_w, registered_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            e.originator_id,
            e.charge_point_id,
            e.connector_id,
            limits["max_current_a"],
            limits["phases"],
            limits["max_power_w"],
            e.timestamp,
        ),
    )


@HANDLERS.on(Evse.LimitsChanged)
def _limits(curs: Cursor[Any], t: Tables, e: Any) -> None:
    limits = limit_fields(e.limits)
    curs.execute(
        f"UPDATE {t.evses} SET max_current_a = %s, phases = %s, max_power_w = %s WHERE id = %s",
        (limits["max_current_a"], limits["phases"], limits["max_power_w"], e.originator_id),
    )


@HANDLERS.on(Evse.Assigned, Evse.Released)
def _group(curs: Cursor[Any], t: Tables, e: Any) -> None:
    group_id = e.group_id if isinstance(e, Evse.Assigned) else None
    curs.execute(f"UPDATE {t.evses} SET group_id = %s WHERE id = %s", (group_id, e.originator_id))


@HANDLERS.on(Evse.Deregistered)
def _deregistered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(f"DELETE FROM {t.evses} WHERE id = %s", (e.originator_id,))
