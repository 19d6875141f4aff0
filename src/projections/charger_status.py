"""Charger and EVSE status: connection, connector status, session, profiles sent and answered.

The domain cleans what chargers send before it is recorded; events recorded
before it did may hold a NUL or an integer no column holds, so the handlers
pass charger values through the same cleaning (a no-op for newer events).
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.capabilities import ChargerCapabilities, ChargerFeatures
from domain.charge_points import MAX_CHARGER_TEXT, MAX_STATUS_WORD
from domain.charge_points import ChargePoint as CP
from domain.charging_sessions import MAX_TRANSACTION_ID
from domain.delivery import ProfileDelivery as D
from domain.values import clean_text
from projections.handlers import Handler, Handlers
from projections.tables import Tables

HANDLERS: Handlers[Handler] = Handlers("charger status")


def _set_charger(curs: Cursor[Any], t: Tables, e: Any, assignments: str, *values: Any) -> None:
    curs.execute(f"UPDATE {t.chargers} SET {assignments} WHERE id = %s", (*values, e.originator_id))


def _set_evse(curs: Cursor[Any], t: Tables, e: Any, assignments: str, *values: Any) -> None:
    curs.execute(
        f"UPDATE {t.evse_status} SET {assignments} WHERE id = %s", (*values, e.originator_id)
    )


@HANDLERS.on(CP.Registered)
def _charger_registered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"INSERT INTO {t.chargers} (id, charge_point_id) VALUES (%s, %s)",
        (e.originator_id, e.charge_point_id),
    )


@HANDLERS.on(CP.Connected)
def _connected(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set_charger(
        curs,
        t,
        e,
        "connected = true, gateway_id = %s, protocol = %s, connected_at = %s",
        e.gateway_id,
        e.protocol,
        e.at,
    )


@HANDLERS.on(CP.Disconnected)
def _disconnected(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set_charger(curs, t, e, "connected = false, disconnected_at = %s", e.at)


@HANDLERS.on(CP.Booted)
def _booted(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set_charger(
        curs,
        t,
        e,
        "vendor = %s, model = %s, firmware = %s",
        _charger_text(e.vendor),
        _charger_text(e.model),
        _charger_text(e.firmware),
    )


@HANDLERS.on(CP.StatusReported)
def _status_reported(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set_charger(curs, t, e, "connector_status = connector_status || %s", _connector_status(e))


@HANDLERS.on(D.Started)
def _delivery_started(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"INSERT INTO {t.evse_status} (id, evse_id, charge_point_id, connector_id)"
        " VALUES (%s, %s, %s, %s)",
        (e.originator_id, e.evse_id, e.charge_point_id, e.connector_id),
    )


@HANDLERS.on(D.ProfilesDesired)
def _profiles_desired(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set_evse(
        curs,
        t,
        e,
        "desired_profiles = %s, desired_version = desired_version + 1, desired_at = %s,"
        " answers = '{}'",
        Jsonb([profile.to_dict() for profile in e.profiles]),
        e.timestamp,
    )


@HANDLERS.on(D.ProfileAnswered)
def _profile_answered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set_evse(curs, t, e, "answers = answers || %s", _answer(e))


@HANDLERS.on(D.SessionStarted)
def _session_started(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set_evse(
        curs,
        t,
        e,
        "transaction_id = %s, session_started_at = %s",
        clean_text(str(e.transaction_id), MAX_TRANSACTION_ID),
        e.at,
    )


@HANDLERS.on(D.SessionStopped)
def _session_stopped(curs: Cursor[Any], t: Tables, e: Any) -> None:
    _set_evse(curs, t, e, "transaction_id = NULL, session_started_at = NULL")


def _charger_text(value: object) -> str:
    return clean_text(value, MAX_CHARGER_TEXT)


@HANDLERS.on(CP.CapabilitiesReported)
def _capabilities(curs: Cursor[Any], t: Tables, e: Any) -> None:
    # Events recorded before notes, or before OCPP 2.1's fields, were kept lack them.
    features = ChargerFeatures.from_station(
        getattr(e, "local_time", False),
        getattr(e, "randomized_delay", False),
        "PriorityCharging" if getattr(e, "priority_charging", False) else "",
        getattr(e, "clock_zone", None),
    )
    found = ChargerCapabilities.recorded(
        e.max_periods,
        e.rate_units,
        getattr(e, "max_stack_level", None),
        features,
        getattr(e, "max_profiles", None),
    )
    curs.execute(
        f"UPDATE {t.chargers} SET max_periods = %s, rate_units = %s, max_stack_level = %s,"
        " capability_notes = %s, supports_local_time = %s, supports_randomized_delay = %s,"
        " supports_priority_charging = %s, clock_zone = %s, max_profiles = %s WHERE id = %s",
        (
            found.max_periods,
            list(found.rate_units),
            found.max_stack_level,
            [clean_text(note, 200) for note in getattr(e, "notes", None) or ()],
            found.local_time,
            found.randomized_delay,
            found.priority_charging,
            found.clock_zone,
            found.max_profiles,
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
