"""Which connection an event from the store concerns: the registry, with real domain events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.utils import get_topic

from chargers.outbox import Outbox
from chargers.registry import Registry
from domain.actors import SYSTEM
from domain.charge_points import ChargePoint
from domain.charging_profiles import ChargingProfile, ChargingSchedulePeriod
from domain.delivery import ProfileDelivery
from domain.evse_limits import EvseLimits
from domain.evses import Evse, evse_id_for

NOW = datetime(2030, 1, 7, tzinfo=UTC)


class FakeConnection:
    protocol = "ocpp1.6"

    def __init__(self, charge_point_id: str, connected_position: int | None = 10):
        self.id = charge_point_id
        self.evses: dict[int, UUID] = {1: evse_id_for(charge_point_id, 1)}
        self.outbox = Outbox(charge_point_id)
        self.connected_position = connected_position
        self.closed_with: tuple[int, str] | None = None

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)


def desired(evse_id: UUID) -> Any:
    delivery = ProfileDelivery(evse_id=evse_id, charge_point_id="CP", connector_id=1)
    always = ChargingProfile(
        profile_id=1011,
        stack_level=1,
        purpose="TxDefaultProfile",
        kind="Absolute",
        recurrency_kind=None,
        valid_from=None,
        valid_to=None,
        rate_unit="A",
        start_schedule=NOW,
        duration=None,
        periods=(ChargingSchedulePeriod(0, 16.0),),
    )
    delivery.desire([always], "test", SYSTEM)
    return delivery.collect_events()[-1]


def connected(charge_point_id: str, gateway_id: str) -> Any:
    charger = ChargePoint.register(charge_point_id, "hash", SYSTEM)
    charger.connect(gateway_id, "ocpp1.6", NOW, SYSTEM)
    return charger.collect_events()[-1]


def test_desired_profiles_reach_the_connection_once_however_often_they_change():
    registry = Registry("here")
    connection = FakeConnection("CP-1")
    registry.add(connection)  # type: ignore[arg-type]
    registry.on_event(desired(connection.evses[1]), 20)
    registry.on_event(desired(connection.evses[1]), 21)
    registry.on_event(desired(evse_id_for("CP-ELSEWHERE", 1)), 22)
    assert len(connection.outbox) == 1  # one delivery, which reads the latest profiles


def test_an_evse_registered_while_connected_is_followed():
    registry = Registry("here")
    connection = FakeConnection("CP-2")
    registry.add(connection)  # type: ignore[arg-type]
    evse = Evse.register("CP-2", 2, EvseLimits(max_current_a=16, phases=3), SYSTEM)
    registry.on_event(evse.collect_events()[-1], 30)
    assert connection.evses[2] == evse.id
    registry.on_event(desired(evse.id), 31)
    assert len(connection.outbox) == 1


def test_a_charger_connecting_to_another_gateway_later_is_closed_here():
    async def scenario() -> tuple[FakeConnection, FakeConnection]:
        registry = Registry("here")
        moved, stays = FakeConnection("CP-M", 10), FakeConnection("CP-S", 50)
        registry.add(moved)  # type: ignore[arg-type]
        registry.add(stays)  # type: ignore[arg-type]
        registry.on_event(connected("CP-M", "there"), 40)
        registry.on_event(connected("CP-S", "there"), 40)  # older than its connection here
        registry.on_event(connected("CP-S", "here"), 60)  # our own
        closing = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*closing)
        return moved, stays

    moved, stays = asyncio.run(scenario())
    assert moved.closed_with == (1000, "connected to another gateway")
    assert stays.closed_with is None


def test_a_replaced_connection_is_not_removed_in_its_successors_place():
    registry = Registry("here")
    first, second = FakeConnection("CP-R"), FakeConnection("CP-R")
    registry.add(first)  # type: ignore[arg-type]
    assert registry.add(second) is first  # type: ignore[arg-type]
    assert not registry.remove(first)  # type: ignore[arg-type]
    assert registry.get("CP-R") is second
    registry.on_event(desired(second.evses[1]), 5)
    assert len(second.outbox) == 1 and len(first.outbox) == 0
    assert registry.remove(second)  # type: ignore[arg-type]
    assert registry.connections() == {}


def test_events_that_concern_no_connection_change_nothing():
    registry = Registry("here")
    connection = FakeConnection("CP-Q")
    registry.add(connection)  # type: ignore[arg-type]
    registry.on_event(object(), 1)
    registry.on_event(ChargePoint.register(f"CP-{uuid4().hex[:6]}", "h", SYSTEM), 2)
    registry.on_event(connected("CP-Q", "here"), 3)  # its own connection, from this gateway
    assert registry.connections() == {"CP-Q": "ocpp1.6"}
    assert len(connection.outbox) == 0 and connection.closed_with is None


def concerns(registry: Registry, event: Any) -> bool:
    """What the follower asks before decoding `event`'s notification."""
    return registry.concerns(get_topic(type(event)), event.originator_id)


def test_only_deliveries_and_connections_of_chargers_here_are_decoded():
    registry = Registry("here")
    connection = FakeConnection("CP-H")
    registry.add(connection)  # type: ignore[arg-type]
    assert concerns(registry, desired(connection.evses[1]))
    assert not concerns(registry, desired(evse_id_for("CP-ELSEWHERE", 1)))
    assert concerns(registry, connected("CP-H", "there"))
    assert not concerns(registry, connected("CP-ELSEWHERE", "there"))
    evse = Evse.register("CP-NEW", 1, EvseLimits(max_current_a=16, phases=3), SYSTEM)
    assert concerns(registry, evse.collect_events()[-1])  # which charger: only once decoded
    registry.remove(connection)  # type: ignore[arg-type]
    assert not concerns(registry, desired(connection.evses[1]))


def test_an_evse_registered_after_its_profiles_were_passed_over_gets_them():
    registry = Registry("here")
    connection = FakeConnection("CP-3")
    registry.add(connection)  # type: ignore[arg-type]
    evse = Evse.register("CP-3", 2, EvseLimits(max_current_a=16, phases=3), SYSTEM)
    registered = evse.collect_events()[-1]
    # Its profiles were recorded right after it, and asked about before it was handled.
    assert not concerns(registry, desired(evse.id))
    registry.on_event(registered, 30)
    assert len(connection.outbox) == 1  # the delivery, which reads the profiles recorded
