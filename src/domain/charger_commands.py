"""Commands about chargers: their passwords and what the gateway sees of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from domain.actors import SYSTEM, Actor, require_operator
from domain.application import CommandApplication
from domain.capabilities import ChargerCapabilities
from domain.charge_points import (
    ChargePoint,
    ChargerFacts,
    check_charger_password,
    reported_connector,
)
from domain.errors import NotFound
from domain.evses import validate_charge_point_id
from domain.passwords import hash_machine_key
from domain.verified_keys import VerifiedKeys


class Reported(NamedTuple):
    """A charger's report recorded: its position (None: nothing new) and the charger's
    facts after it, which the gateway keeps to skip reports that would change nothing."""

    position: int | None
    facts: ChargerFacts


class ChargerCommands:
    def __init__(self, app: CommandApplication):
        self.app = app
        self.verified_keys = VerifiedKeys()

    def set_charger_password(self, charge_point_id: str, password: str, actor: Actor) -> int | None:
        """The password the charger sends with HTTP Basic auth (OCPP-J 1.6 §6, profile 1)."""
        require_operator(actor)
        validate_charge_point_id(charge_point_id)
        password_hash = hash_machine_key(check_charger_password(password))

        def command() -> int | None:
            try:
                charger = self.app.charge_point(charge_point_id)
            except NotFound:
                return self.app.commit(ChargePoint.register(charge_point_id, password_hash, actor))
            charger.set_password(password_hash, actor)
            return self.app.commit(charger)

        return self.app.retrying(command)

    def verify_charger(self, charge_point_id: str, password: str) -> bool:
        """Whether the charger's key is `password`: hashed once per key and process, then
        remembered (domain/verified_keys.py) until the key is set again."""
        try:
            password_hash: str | None = self.app.charge_point(charge_point_id).password_hash
        except NotFound:
            password_hash = None
        return self.verified_keys.verify(charge_point_id, password_hash, password)

    def _on_charger(
        self, charge_point_id: str, change: Callable[[ChargePoint], object]
    ) -> Reported:
        def command() -> Reported:
            charger = self.app.charge_point(charge_point_id)
            change(charger)
            return Reported(self.app.commit(charger), charger.facts())

        return self.app.retrying(command)

    def charger_connected(self, charge_point_id: str, gateway_id: str, protocol: str) -> Reported:
        now = self.app.clock()
        return self._on_charger(
            charge_point_id, lambda c: c.connect(gateway_id, protocol, now, SYSTEM)
        )

    def charger_disconnected(self, charge_point_id: str, gateway_id: str) -> int | None:
        now = self.app.clock()
        return self.app.change(
            lambda: self.app.charge_point(charge_point_id),
            lambda c: c.disconnect(gateway_id, now, SYSTEM),
        )

    def charger_booted(
        self, charge_point_id: str, vendor: object, model: object, firmware: object
    ) -> Reported:
        """What BootNotification told, its free text cleaned (see ChargePoint.boot)."""
        return self._on_charger(charge_point_id, lambda c: c.boot(vendor, model, firmware, SYSTEM))

    def charger_capabilities(self, charge_point_id: str, found: ChargerCapabilities) -> Reported:
        """What GetConfiguration told (OCPP 1.6 §9.4 ChargingScheduleMaxPeriods, ...),
        nonsense already replaced by defaults (ChargerCapabilities.from_charger)."""
        return self._on_charger(charge_point_id, lambda c: c.report_capabilities(found, SYSTEM))

    def connector_status(
        self, charge_point_id: str, connector_id: object, status: object, error_code: object
    ) -> Reported:
        """InvalidInput, before anything is read or recorded, for a connector out of range."""
        reported_connector(connector_id)
        now = self.app.clock()
        return self._on_charger(
            charge_point_id,
            lambda c: c.report_status(connector_id, status, error_code, now, SYSTEM),
        )
