"""Charger and EVSE status: connection, connector status, session, profiles sent and answered.

The domain cleans what chargers send before it is recorded; events recorded
before it did may hold a NUL or an integer no column holds, so the handlers
pass charger values through the same cleaning (a no-op for newer events).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.capabilities import ChargerCapabilities
from domain.charge_points import MAX_CHARGER_TEXT, MAX_STATUS_WORD
from domain.charge_points import ChargePoint as CP
from domain.delivery import MAX_TRANSACTION_ID
from domain.delivery import ProfileDelivery as D
from domain.values import clean_text
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
        # Added later: databases made before it get the column too.
        f"ALTER TABLE {t.chargers} ADD COLUMN IF NOT EXISTS"
        " capability_notes text[] NOT NULL DEFAULT '{}'",
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


def _charger_text(value: object) -> str:
    return clean_text(value, MAX_CHARGER_TEXT)


def _capabilities(curs: Cursor[Any], t: Tables, e: Any) -> None:
    found = ChargerCapabilities.recorded(
        e.max_periods, e.rate_units, getattr(e, "max_stack_level", None)
    )
    curs.execute(
        f"UPDATE {t.chargers} SET max_periods = %s, rate_units = %s, max_stack_level = %s,"
        " capability_notes = %s WHERE id = %s",
        (
            found.max_periods,
            list(found.rate_units),
            found.max_stack_level,
            [clean_text(note, 200) for note in getattr(e, "notes", None) or ()],
            e.originator_id,
        ),
    )


def _connector_status(e: Any) -> Jsonb:
    return Jsonb(
        {
            str(e.connector_id): {
                "status": clean_text(e.status, MAX_STATUS_WORD),
                "error_code": clean_text(e.error_code, MAX_CHARGER_TEXT) or None,
                "at": e.at.isoformat(),
            }
        }
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
        lambda e: _charger_text(e.vendor),
        lambda e: _charger_text(e.model),
        lambda e: _charger_text(e.firmware),
    ),
    CP.CapabilitiesReported: _capabilities,
    CP.StatusReported: _charger("connector_status = connector_status || %s", _connector_status),
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
        lambda e: clean_text(str(e.transaction_id), MAX_TRANSACTION_ID),
        lambda e: e.at,
    ),
    D.SessionStopped: _evse("transaction_id = NULL, session_started_at = NULL"),
}
