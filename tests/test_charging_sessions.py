"""Charging sessions at an EVSE: which transaction starts one, which stop ends it, and the
priority charge that ends with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.actors import Actor
from domain.charging_sessions import ChargingSession, starts_a_session
from domain.delivery import delivery_id_for
from domain.errors import InvalidInput
from domain.evse_limits import EvseLimits
from domain.priority_charge import PriorityEndReason
from domain.service import SmartCharging
from domain_strategies import ManualClock

NOW = datetime(2030, 1, 7, 18, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def evse_id(app: SmartCharging) -> UUID:
    evse_id, _ = app.evses.register_evse(
        "CP-1", 1, Actor.system(), EvseLimits(max_current_a=16, phases=3)
    )
    return evse_id


def session_events(app: SmartCharging, evse_id: UUID) -> list[tuple[str, object]]:
    return [
        (type(e).__name__, e.transaction_id)
        for e in app.events.get(delivery_id_for(evse_id))
        if type(e).__name__.startswith("Session")
    ]


def test_a_session_is_ended_by_its_own_transaction_or_by_a_stop_naming_none() -> None:
    session = ChargingSession(transaction_id=42, started_at=NOW)
    assert session.is_ended_by(42)
    assert session.is_ended_by(None)
    assert not session.is_ended_by(43)
    assert not session.is_ended_by("42")  # a 2.0.1 text id is another transaction


def test_only_another_transaction_starts_a_new_session() -> None:
    assert starts_a_session(None, 42)
    assert starts_a_session(ChargingSession(42, NOW), 43)
    assert not starts_a_session(ChargingSession(42, NOW), 42)


def test_a_start_repeated_after_a_reconnect_is_one_session(
    app: SmartCharging, evse_id: UUID, clock: ManualClock
) -> None:
    app.deliveries.session_started("CP-1", 1, "TX-7")
    clock.advance(timedelta(minutes=5))
    app.deliveries.session_started("CP-1", 1, "TX-7")

    session = app.delivery(evse_id).session
    assert session == ChargingSession(transaction_id="TX-7", started_at=NOW)
    assert session_events(app, evse_id) == [("SessionStarted", "TX-7")]


def test_a_stop_of_another_transaction_leaves_the_session_running(
    app: SmartCharging, evse_id: UUID
) -> None:
    app.deliveries.session_started("CP-1", 1, 42)

    assert app.deliveries.session_stopped("CP-1", 1, 41) is None

    assert app.delivery(evse_id).session == ChargingSession(42, NOW)
    assert session_events(app, evse_id) == [("SessionStarted", 42)]
    assert app.deliveries.session_stopped("CP-1", 1, 42) is not None
    assert app.delivery(evse_id).session is None
    assert session_events(app, evse_id) == [("SessionStarted", 42), ("SessionStopped", 42)]


def test_a_transaction_id_no_charger_can_have_is_refused_and_nothing_recorded(
    app: SmartCharging, evse_id: UUID
) -> None:
    app.deliveries.session_started("CP-1", 1, 42)

    for nonsense in (2**31, -(2**31) - 1, 4.2, None, True):
        with pytest.raises(InvalidInput, match="transactionId"):
            app.deliveries.session_started("CP-1", 1, nonsense)
        with pytest.raises(InvalidInput, match="transactionId"):
            app.deliveries.session_stopped("CP-1", 1, nonsense)

    assert app.delivery(evse_id).session == ChargingSession(42, NOW)
    assert session_events(app, evse_id) == [("SessionStarted", 42)]


def test_the_end_of_the_session_ends_the_groups_priority_charge(
    app: SmartCharging, evse_id: UUID, clock: ManualClock
) -> None:
    operator = Actor.operator(UUID(int=1))
    group_id, _ = app.groups.create_group(
        name="Home", time_zone="Europe/Amsterdam", actor=operator, evse_ids=[evse_id]
    )
    app.groups.start_priority_charge(group_id, operator)
    app.deliveries.session_started("CP-1", 1, 42)
    clock.advance(timedelta(minutes=30))

    app.deliveries.session_stopped("CP-1", 1, 42)

    ended = [e for e in app.events.get(group_id) if type(e).__name__ == "PriorityChargeEnded"]
    unplugged = NOW + timedelta(minutes=30)
    assert [(e.reason, e.ended_at) for e in ended] == [(PriorityEndReason.SESSION_ENDED, unplugged)]
    assert app.group(group_id).priority is None
