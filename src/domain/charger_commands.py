"""Commands about chargers: their passwords, what the gateway sees, and profile delivery.

A mixin of the SmartCharging application service, kept apart so each file stays readable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.actors import SYSTEM, Actor
from domain.capabilities import ChargerCapabilities
from domain.charge_points import (
    ChargePoint,
    charge_point_aggregate_id,
    check_charger_password,
    reported_connector,
)
from domain.delivery import ProfileDelivery, delivery_id_for, transaction_key
from domain.errors import NotFound
from domain.evses import evse_id_for, validate_charge_point_id
from domain.groups import PriorityEndReason, SmartChargingGroup
from domain.passwords import hash_machine_key, verify_password

if TYPE_CHECKING:
    from domain.evses import Evse

T = TypeVar("T")


class ChargerCommands:
    """Needs the host application's `repository`, `_retrying`, `_commit`, `evse`, `group`."""

    repository: Any
    clock: Callable[[], datetime]

    if TYPE_CHECKING:

        def _retrying(self, command: Callable[[], T]) -> T: ...
        def _commit(self, *aggregates: Aggregate) -> int | None: ...
        def _require_operator(self, actor: Actor) -> None: ...
        def evse(self, evse_id: UUID) -> Evse: ...
        def group(self, group_id: UUID) -> SmartChargingGroup: ...

    # --- the charger's identity -----------------------------------------------------------

    def charge_point(self, charge_point_id: str) -> ChargePoint:
        try:
            return self.repository.get(charge_point_aggregate_id(charge_point_id))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            raise NotFound(f"charger {charge_point_id} has no password set") from None

    def set_charger_password(self, charge_point_id: str, password: str, actor: Actor) -> int | None:
        """The password the charger sends with HTTP Basic auth (OCPP-J 1.6 §6, profile 1)."""
        self._require_operator(actor)
        validate_charge_point_id(charge_point_id)
        password_hash = hash_machine_key(check_charger_password(password))

        def command() -> int | None:
            try:
                charger = self.charge_point(charge_point_id)
            except NotFound:
                return self._commit(ChargePoint.register(charge_point_id, password_hash, actor))
            charger.set_password(password_hash, actor)
            return self._commit(charger)

        return self._retrying(command)

    def verify_charger(self, charge_point_id: str, password: str) -> bool:
        try:
            charger = self.charge_point(charge_point_id)
        except NotFound:
            verify_password(None, password, machine=True)
            return False
        return verify_password(charger.password_hash, password)

    def _on_charger(
        self, charge_point_id: str, change: Callable[[ChargePoint], object]
    ) -> int | None:
        def command() -> int | None:
            charger = self.charge_point(charge_point_id)
            change(charger)
            return self._commit(charger)

        return self._retrying(command)

    def charger_connected(self, charge_point_id: str, gateway_id: str, protocol: str) -> int | None:
        now = self.clock()
        return self._on_charger(
            charge_point_id, lambda c: c.connect(gateway_id, protocol, now, SYSTEM)
        )

    def charger_disconnected(self, charge_point_id: str, gateway_id: str) -> int | None:
        now = self.clock()
        return self._on_charger(charge_point_id, lambda c: c.disconnect(gateway_id, now, SYSTEM))

    def charger_booted(
        self, charge_point_id: str, vendor: object, model: object, firmware: object
    ) -> int | None:
        """What BootNotification told, its free text cleaned (see ChargePoint.boot)."""
        return self._on_charger(charge_point_id, lambda c: c.boot(vendor, model, firmware, SYSTEM))

    def charger_capabilities(self, charge_point_id: str, found: ChargerCapabilities) -> int | None:
        """What GetConfiguration told (OCPP 1.6 §9.4 ChargingScheduleMaxPeriods, ...),
        nonsense already replaced by defaults (ChargerCapabilities.from_charger)."""
        return self._on_charger(charge_point_id, lambda c: c.report_capabilities(found, SYSTEM))

    def connector_status(
        self, charge_point_id: str, connector_id: object, status: object, error_code: object
    ) -> int | None:
        """InvalidInput, before anything is read or recorded, for a connector out of range."""
        reported_connector(connector_id)
        now = self.clock()
        return self._on_charger(
            charge_point_id,
            lambda c: c.report_status(connector_id, status, error_code, now, SYSTEM),
        )

    # --- profile delivery -------------------------------------------------------------------

    def delivery(self, evse_id: UUID) -> ProfileDelivery:
        try:
            return self.repository.get(delivery_id_for(evse_id))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            evse = self.evse(evse_id)
            return ProfileDelivery(
                evse_id=evse.id,
                charge_point_id=evse.charge_point_id,
                connector_id=evse.connector_id,
            )

    def desire_profiles(
        self, evse_id: UUID, profiles: list[dict[str, Any]], reason: str
    ) -> int | None:
        """Record the profiles the EVSE should hold; nothing is recorded when unchanged."""

        def command() -> int | None:
            delivery = self.delivery(evse_id)
            if not delivery.desire(profiles, reason, SYSTEM):
                return None
            return self._commit(delivery)

        return self._retrying(command)

    def record_answer(
        self, evse_id: UUID, profile_id: int, desired_version: int, status: str
    ) -> int | None:
        now = self.clock()

        def command() -> int | None:
            delivery = self.delivery(evse_id)
            if not delivery.answer(profile_id, desired_version, status, now, SYSTEM):
                return None
            return self._commit(delivery)

        return self._retrying(command)

    def request_retry(self, evse_id: UUID, attempt: int) -> int | None:
        def command() -> int | None:
            delivery = self.delivery(evse_id)
            delivery.request_retry(attempt, SYSTEM)
            return self._commit(delivery) if delivery.pending_events else None

        return self._retrying(command)

    # --- charging sessions --------------------------------------------------------------------

    def session_started(
        self, charge_point_id: str, connector_id: object, transaction_id: object
    ) -> int | None:
        """InvalidInput for a connector (OCPP 1.6 §6.45: > 0) or a 1.6 id out of range."""
        connector = reported_connector(connector_id, whole_charger=False)
        transaction_id = transaction_key(transaction_id)
        now = self.clock()
        evse_id = evse_id_for(charge_point_id, connector)

        def command() -> int | None:
            delivery = self.delivery(evse_id)
            delivery.start_session(transaction_id, now, SYSTEM)
            return self._commit(delivery)

        return self._retrying(command)

    def session_stopped(
        self, charge_point_id: str, connector_id: object, transaction_id: object
    ) -> int | None:
        """The car was unplugged: the session ends, and with it the group's priority charge.

        OCPP 1.6 StopTransaction names only the transaction; the gateway finds its
        connector (from its connection's memory or the EVSE status read model).
        """
        connector = reported_connector(connector_id, whole_charger=False)
        transaction_id = transaction_key(transaction_id)
        now = self.clock()
        evse_id = evse_id_for(charge_point_id, connector)

        def command() -> int | None:
            delivery = self.delivery(evse_id)
            if not delivery.stop_session(transaction_id, now, SYSTEM):
                return None
            changed: list[Aggregate] = [delivery]
            evse = self.evse(evse_id)
            if evse.group_id is not None:
                group = self.group(evse.group_id)
                if group.stop_priority_charge(now, PriorityEndReason.SESSION_ENDED, SYSTEM):
                    changed.append(group)
            return self._commit(*changed)

        return self._retrying(command)
