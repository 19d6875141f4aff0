"""ChargePoint: a charger as the OCPP gateway meets it: its password, connection and connectors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.errors import InvalidInput
from domain.evses import validate_charge_point_id

MIN_CHARGER_PASSWORD = 16  # OCPP 1.6 security whitepaper: AuthorizationKey is 16-40 characters
MAX_CHARGER_PASSWORD = 40


def charge_point_aggregate_id(charge_point_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/charge-points/{charge_point_id}")


def check_charger_password(password: object) -> str:
    if not isinstance(password, str) or not (
        MIN_CHARGER_PASSWORD <= len(password) <= MAX_CHARGER_PASSWORD
    ):
        raise InvalidInput(
            f"password: {MIN_CHARGER_PASSWORD} to {MAX_CHARGER_PASSWORD} characters "
            "(OCPP AuthorizationKey)"
        )
    if not password.isascii() or not password.isprintable():
        raise InvalidInput("password: printable ASCII characters only")
    return password


class ChargePoint(Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Registered: ClassVar[type[Any]]
        PasswordSet: ClassVar[type[Any]]
        Connected: ClassVar[type[Any]]
        Disconnected: ClassVar[type[Any]]
        Booted: ClassVar[type[Any]]
        CapabilitiesReported: ClassVar[type[Any]]
        StatusReported: ClassVar[type[Any]]

    @event("Registered")
    def __init__(self, charge_point_id: str, password_hash: str, actor: Actor):
        self.charge_point_id = charge_point_id
        self.password_hash = password_hash
        self.connected = False
        self.gateway_id: str | None = None
        self.protocol: str | None = None
        self.connector_status: dict[int, str] = {}
        self.max_periods: int | None = None
        self.rate_units: tuple[str, ...] = ()
        self.max_stack_level: int | None = None

    @staticmethod
    def create_id(charge_point_id: str) -> UUID:
        return charge_point_aggregate_id(charge_point_id)

    @classmethod
    def register(cls, charge_point_id: str, password_hash: str, actor: Actor) -> ChargePoint:
        return cls(
            charge_point_id=validate_charge_point_id(charge_point_id),
            password_hash=password_hash,
            actor=actor,
        )

    def set_password(self, password_hash: str, actor: Actor) -> None:
        self._password_set(password_hash=password_hash, actor=actor)

    @event("PasswordSet")
    def _password_set(self, password_hash: str, actor: Actor) -> None:
        self.password_hash = password_hash

    def connect(self, gateway_id: str, protocol: str, at: datetime, actor: Actor) -> None:
        self._connected(gateway_id=gateway_id, protocol=protocol, at=at, actor=actor)

    @event("Connected")
    def _connected(self, gateway_id: str, protocol: str, at: datetime, actor: Actor) -> None:
        self.connected = True
        self.gateway_id = gateway_id
        self.protocol = protocol

    def disconnect(self, gateway_id: str, at: datetime, actor: Actor) -> None:
        """Only the gateway that holds the connection may record its end."""
        if self.connected and self.gateway_id == gateway_id:
            self._disconnected(gateway_id=gateway_id, at=at, actor=actor)

    @event("Disconnected")
    def _disconnected(self, gateway_id: str, at: datetime, actor: Actor) -> None:
        self.connected = False

    def boot(self, vendor: str, model: str, firmware: str | None, actor: Actor) -> None:
        self._booted(
            vendor=vendor[:50], model=model[:50], firmware=(firmware or "")[:50], actor=actor
        )

    @event("Booted")
    def _booted(self, vendor: str, model: str, firmware: str, actor: Actor) -> None:
        pass

    def report_capabilities(
        self,
        max_periods: int | None,
        rate_units: tuple[str, ...],
        actor: Actor,
        max_stack_level: int | None = None,
    ) -> None:
        known = (self.max_periods, self.rate_units, self.max_stack_level)
        if (max_periods, tuple(rate_units), max_stack_level) != known:
            self._capabilities_reported(
                max_periods=max_periods,
                rate_units=list(rate_units),
                actor=actor,
                max_stack_level=max_stack_level,
            )

    @event("CapabilitiesReported")
    def _capabilities_reported(
        self,
        max_periods: int | None,
        rate_units: list[str],
        actor: Actor,
        max_stack_level: int | None = None,
    ) -> None:
        self.max_periods = max_periods
        self.rate_units = tuple(rate_units)
        self.max_stack_level = max_stack_level

    def report_status(
        self, connector_id: int, status: str, error_code: str | None, at: datetime, actor: Actor
    ) -> None:
        if self.connector_status.get(connector_id) != status:
            self._status_reported(
                connector_id=connector_id, status=status, error_code=error_code, at=at, actor=actor
            )

    @event("StatusReported")
    def _status_reported(
        self, connector_id: int, status: str, error_code: str | None, at: datetime, actor: Actor
    ) -> None:
        self.connector_status = {**self.connector_status, connector_id: status}
