"""Charger and EVSE status: connection, connector status, session, profiles sent and answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.charge_points import ChargePoint as CP
from domain.delivery import ProfileDelivery as D
from projections.tables import Tables

Handler = Callable[[Cursor[Any], Tables, Any], None]


def ddl(t: Tables) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {t.chargers} (
            id uuid PRIMARY KEY,
            charge_point_id text NOT NULL UNIQUE,
            connected boolean NOT NULL DEFAULT false,
            gateway_id text,
            protocol text,
            vendor text,
            model text,
            firmware text,
            max_periods integer,
            max_stack_level integer,
            rate_units text[] NOT NULL DEFAULT '{{}}',
            connector_status jsonb NOT NULL DEFAULT '{{}}',
            connected_at timestamptz,
            disconnected_at timestamptz
        )""",
        f"""CREATE TABLE IF NOT EXISTS {t.evse_status} (
            id uuid PRIMARY KEY,
            evse_id uuid NOT NULL UNIQUE,
            charge_point_id text NOT NULL,
            connector_id integer NOT NULL,
            transaction_id text,
            session_started_at timestamptz,
            desired_profiles jsonb NOT NULL DEFAULT '[]',
            desired_version integer NOT NULL DEFAULT 0,
            desired_at timestamptz,
            answers jsonb NOT NULL DEFAULT '{{}}'
        )""",
        f"CREATE INDEX IF NOT EXISTS rm_evse_status_cp ON {t.evse_status} (charge_point_id)",
    ]


def _update(
    table: Callable[[Tables], str], assignments: str, *values: Callable[[Any], Any]
) -> Handler:
    def handle(curs: Cursor[Any], t: Tables, e: Any) -> None:
        curs.execute(
            f"UPDATE {table(t)} SET {assignments} WHERE id = %s",
            (*(value(e) for value in values), e.originator_id),
        )

    return handle


def _charger(assignments: str, *values: Callable[[Any], Any]) -> Handler:
    return _update(lambda t: t.chargers, assignments, *values)


def _evse(assignments: str, *values: Callable[[Any], Any]) -> Handler:
    return _update(lambda t: t.evse_status, assignments, *values)


def _charger_registered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"INSERT INTO {t.chargers} (id, charge_point_id) VALUES (%s, %s)",
        (e.originator_id, e.charge_point_id),
    )


def _delivery_started(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"INSERT INTO {t.evse_status} (id, evse_id, charge_point_id, connector_id)"
        " VALUES (%s, %s, %s, %s)",
        (e.originator_id, e.evse_id, e.charge_point_id, e.connector_id),
    )


def _answer(e: Any) -> Jsonb:
    return Jsonb({str(e.profile_id): {"status": e.status, "at": e.at.isoformat()}})


HANDLERS: dict[type, Handler] = {
    CP.Registered: _charger_registered,
    CP.Connected: _charger(
        "connected = true, gateway_id = %s, protocol = %s, connected_at = %s",
        lambda e: e.gateway_id,
        lambda e: e.protocol,
        lambda e: e.at,
    ),
    CP.Disconnected: _charger("connected = false, disconnected_at = %s", lambda e: e.at),
    CP.Booted: _charger(
        "vendor = %s, model = %s, firmware = %s",
        lambda e: e.vendor,
        lambda e: e.model,
        lambda e: e.firmware,
    ),
    CP.CapabilitiesReported: _charger(
        "max_periods = %s, rate_units = %s, max_stack_level = %s",
        lambda e: e.max_periods,
        lambda e: list(e.rate_units),
        lambda e: getattr(e, "max_stack_level", None),
    ),
    CP.StatusReported: _charger(
        "connector_status = connector_status || %s",
        lambda e: Jsonb(
            {
                str(e.connector_id): {
                    "status": e.status,
                    "error_code": e.error_code,
                    "at": e.at.isoformat(),
                }
            }
        ),
    ),
    D.Started: _delivery_started,
    D.ProfilesDesired: _evse(
        "desired_profiles = %s, desired_version = desired_version + 1, desired_at = %s,"
        " answers = '{}'",
        lambda e: Jsonb(e.profiles),
        lambda e: e.timestamp,
    ),
    D.ProfileAnswered: _evse("answers = answers || %s", _answer),
    D.SessionStarted: _evse(
        "transaction_id = %s, session_started_at = %s",
        lambda e: str(e.transaction_id),
        lambda e: e.at,
    ),
    D.SessionStopped: _evse("transaction_id = NULL, session_started_at = NULL"),
}
