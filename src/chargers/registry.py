"""The chargers connected to this gateway, and the events that concern them.

Lives on the gateway's event loop: only that loop changes it; the follower's thread only
asks `concerns` (dict look-ups) to pass over, undecoded, the deliveries and connections
of chargers elsewhere. Several gateways may share one database; each acts only for the
chargers in its own registry.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from chargers.connection import ChargerConnection
from chargers.delivery import DeliveryQueue, Reason
from chargers.follower import (
    CHARGER_CONNECTED,
    EVSE_DEREGISTERED,
    EVSE_REGISTERED,
    EVSE_REREGISTERED,
    PROFILES_DESIRED,
    RETRY_REQUESTED,
)
from domain.charge_points import charge_point_aggregate_id
from domain.delivery import delivery_id_for

log = logging.getLogger(__name__)

REASONS = {PROFILES_DESIRED: Reason.DESIRED, RETRY_REQUESTED: Reason.RETRY}
DELIVERY_TOPICS = frozenset(get_topic(kind) for kind in REASONS)
CONNECTED_TOPIC = get_topic(CHARGER_CONNECTED)


@dataclass
class Entry:
    connection: ChargerConnection
    deliveries: DeliveryQueue


class Registry:
    def __init__(self, gateway_id: str):
        self.gateway_id = gateway_id
        self._chargers: dict[str, Entry] = {}
        self._by_aggregate: dict[UUID, str] = {}  # ChargePoint aggregate id -> charger id
        self._by_delivery: dict[UUID, tuple[str, UUID]] = {}  # delivery id -> charger, EVSE
        self._closing: set[asyncio.Task[None]] = set()

    def __contains__(self, charge_point_id: str) -> bool:
        return charge_point_id in self._chargers

    def get(self, charge_point_id: str) -> ChargerConnection | None:
        entry = self._chargers.get(charge_point_id)
        return entry.connection if entry else None

    def connections(self) -> dict[str, str]:
        """Charger id -> OCPP subprotocol, of every charger connected here."""
        return {cp: entry.connection.protocol for cp, entry in self._chargers.items()}

    # --- connections come and go -----------------------------------------------------------

    def add(self, connection: ChargerConnection) -> ChargerConnection | None:
        """Make `connection` the charger's; returns the one it replaces (still open)."""
        previous = self.get(connection.id)
        self._chargers[connection.id] = Entry(connection, DeliveryQueue(connection))
        self._by_aggregate[charge_point_aggregate_id(connection.id)] = connection.id
        for evse_id in connection.evses.values():
            self._by_delivery[delivery_id_for(evse_id)] = (connection.id, evse_id)
        return previous

    def remove(self, connection: ChargerConnection) -> bool:
        """Forget `connection`; False when a newer connection of the charger replaced it."""
        if self.get(connection.id) is not connection:
            return False
        del self._chargers[connection.id]
        self._by_aggregate.pop(charge_point_aggregate_id(connection.id), None)
        for evse_id in connection.evses.values():
            self._by_delivery.pop(delivery_id_for(evse_id), None)
        return True

    def send_everything(self, connection: ChargerConnection) -> None:
        """On every new connection: chargers often reconnect without a BootNotification
        (OCPP-J 1.6 §5.4), and may have lost or never got their profiles."""
        entry = self._chargers.get(connection.id)
        if entry is None or entry.connection is not connection:
            return
        for evse_id in connection.evses.values():
            entry.deliveries.request(evse_id, Reason.CONNECTED)

    def close_soon(self, connection: ChargerConnection, code: int, reason: str) -> None:
        """Close without waiting for the peer's closing handshake (a dead peer takes long)."""
        task = asyncio.get_running_loop().create_task(connection.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # --- events from the store ------------------------------------------------------------

    def concerns(self, topic: str, originator_id: UUID) -> bool:
        """Whether an event, still undecoded, may concern a charger here. At fleet scale most
        deliveries' events are for chargers on other gateways or offline (a DST night
        records 100,000 groups' profiles at once), and decoding each cost more than
        the rest of following. One passed over while its charger connects here is not
        missed: the connection sends everything it reads after being added, and an EVSE
        added to a charger here asks for its delivery (`_evse_registered`)."""
        if topic in DELIVERY_TOPICS:
            return originator_id in self._by_delivery
        if topic == CONNECTED_TOPIC:
            return originator_id in self._by_aggregate
        return True

    def on_event(self, event: Any, position: int) -> None:
        """One event from the store (the follower isolates one that fails here)."""
        kind = type(event)
        if kind in REASONS:
            self._delivery_event(event.originator_id, REASONS[kind])
        elif kind is CHARGER_CONNECTED:
            self._connected_elsewhere(event, position)
        elif kind is EVSE_REGISTERED or kind is EVSE_REREGISTERED:
            self._evse_registered(event.originator_id, event.charge_point_id, event.connector_id)
        elif kind is EVSE_DEREGISTERED:
            self._evse_deregistered(event.originator_id)

    def _delivery_event(self, delivery_id: UUID, reason: Reason) -> None:
        found = self._by_delivery.get(delivery_id)
        if found is None:
            return  # the charger is not connected to this gateway
        charge_point_id, evse_id = found
        self._chargers[charge_point_id].deliveries.request(evse_id, reason)

    def _connected_elsewhere(self, event: Any, position: int) -> None:
        """The charger connected to another gateway after it connected here: ours is stale."""
        charge_point_id = self._by_aggregate.get(event.originator_id)
        if charge_point_id is None or event.gateway_id == self.gateway_id:
            return
        connection = self._chargers[charge_point_id].connection
        if connection.connected_position is not None and position > connection.connected_position:
            log.info("%s moved to gateway %s; closing here", charge_point_id, event.gateway_id)
            self.close_soon(connection, 1000, "connected to another gateway")

    def _evse_registered(self, evse_id: UUID, charge_point_id: str, connector_id: int) -> None:
        entry = self._chargers.get(charge_point_id)
        if entry is None:
            return
        entry.connection.evses[connector_id] = evse_id
        self._by_delivery[delivery_id_for(evse_id)] = (charge_point_id, evse_id)
        # Its desired profiles may have been recorded, and passed over, before this.
        entry.deliveries.request(evse_id, Reason.DESIRED)

    def _evse_deregistered(self, evse_id: UUID) -> None:
        found = self._by_delivery.pop(delivery_id_for(evse_id), None)
        if found is None:
            return
        evses = self._chargers[found[0]].connection.evses
        for connector_id in [c for c, e in evses.items() if e == evse_id]:
            del evses[connector_id]
