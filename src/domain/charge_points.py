"""ChargePoint: a charger as the OCPP gateway meets it: its password, connection and connectors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.capabilities import ChargerCapabilities, ChargerFeatures
from domain.errors import InvalidInput
from domain.evses import MAX_CONNECTOR_ID, validate_charge_point_id
from domain.immutable import CopiedCheaply
from domain.values import IDS_REMEMBERED, checked_int, clean_text

MIN_CHARGER_PASSWORD = 16  # OCPP 1.6 security whitepaper: AuthorizationKey is 16-40 characters
MAX_CHARGER_PASSWORD = 40

# What we keep of a charger's free text. OCPP 1.6 §6.3 allows 20 characters for the
# vendor and model and 50 for the firmware, 2.0.1's ChargingStationType 50 for
# vendorName and firmwareVersion: 50 holds every one. Status words and error codes
# are the specs' enumerations, all shorter than these bounds; they are cleaned all
# the same, since the domain does not rely on the schemas having been checked.
MAX_CHARGER_TEXT = 50
MAX_STATUS_WORD = 30

# Connector numbers a charger reports: 0 is the charger itself (OCPP 1.6 §4.9, §6.47:
# connectorId >= 0), our EVSEs are connectors 1 to MAX_CONNECTOR_ID (1000).


def reported_connector(value: object, *, whole_charger: bool = True) -> int:
    """A connector (2.0.1: EVSE) number from a charger; InvalidInput when out of range.

    `whole_charger=False` where the spec wants a real connector (OCPP 1.6 §6.45
    StartTransaction: connectorId > 0)."""
    return checked_int("connectorId", value, 0 if whole_charger else 1, MAX_CONNECTOR_ID)


@lru_cache(maxsize=IDS_REMEMBERED)
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


def told_boot(vendor: object, model: object, firmware: object) -> tuple[str, str, str]:
    """What a BootNotification tells, as recorded: free text cleaned, never refused."""
    return (
        clean_text(vendor, MAX_CHARGER_TEXT),
        clean_text(model, MAX_CHARGER_TEXT),
        clean_text(firmware, MAX_CHARGER_TEXT),
    )


def told_status(connector_id: object, status: object) -> tuple[int, str]:
    """The connector and status word a StatusNotification tells, as recorded;
    InvalidInput for a connector number out of range."""
    return reported_connector(connector_id), clean_text(status, MAX_STATUS_WORD)


@dataclass(frozen=True)
class ChargerFacts:
    """What a charger's aggregate keeps of what the charger told: its boot, its connectors'
    status and its capabilities. The gateway takes them when the charger connects, keeps
    them up to date as it records, and sends no command for a report that would record
    nothing: a charger reconnecting tells the same boot, status and capabilities again,
    and a fleet reconnecting at once made three loads each that changed nothing. What a
    report tells is read as the aggregate reads it (`told_boot`, `told_status`), so both
    ask the same question."""

    booted_as: tuple[str, str, str] | None = None
    connector_status: dict[int, str] = field(default_factory=dict)
    capabilities: ChargerCapabilities | None = None

    def boot_is_new(self, vendor: object, model: object, firmware: object) -> bool:
        return told_boot(vendor, model, firmware) != self.booted_as

    def status_is_new(self, connector_id: object, status: object) -> bool:
        connector, word = told_status(connector_id, status)
        return self.connector_status.get(connector) != word

    def capabilities_are_new(self, found: ChargerCapabilities) -> bool:
        return found != self.capabilities


class ChargePoint(CopiedCheaply, Aggregate):
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
        self.capability_notes: tuple[str, ...] = ()
        self.features = ChargerFeatures()  # what an OCPP 2.1 station told of 2.1's fields
        self.max_profiles: int | None = None  # MaxChargingProfilesInstalled, if it said
        self.booted_as: tuple[str, str, str] | None = None  # vendor, model, firmware

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

    def boot(self, vendor: object, model: object, firmware: object, actor: Actor) -> None:
        """Firmware's free text is cleaned, never refused: the charger keeps working.
        Recorded only when it tells something new: a charger rebooting (or flooding
        BootNotifications) with the same vendor, model and firmware adds no event."""
        told = told_boot(vendor, model, firmware)
        if told != self.booted_as:
            self._booted(vendor=told[0], model=told[1], firmware=told[2], actor=actor)

    @event("Booted")
    def _booted(self, vendor: str, model: str, firmware: str, actor: Actor) -> None:
        self.booted_as = (vendor, model, firmware)

    def report_capabilities(self, found: ChargerCapabilities, actor: Actor) -> None:
        """Recorded only when something changed, with the notes on what was replaced."""
        if found != self.capabilities():
            self._capabilities_reported(
                max_periods=found.max_periods,
                rate_units=list(found.rate_units),
                actor=actor,
                max_stack_level=found.max_stack_level,
                notes=list(found.notes),
                local_time=found.local_time,
                randomized_delay=found.randomized_delay,
                priority_charging=found.priority_charging,
                clock_zone=found.clock_zone,
                max_profiles=found.max_profiles,
            )

    def facts(self) -> ChargerFacts:
        return ChargerFacts(self.booted_as, self.connector_status, self.capabilities())

    def capabilities(self) -> ChargerCapabilities | None:
        if self.max_periods is None or self.max_stack_level is None:
            return None
        found = ChargerCapabilities.recorded(
            self.max_periods,
            self.rate_units,
            self.max_stack_level,
            self.features,
            self.max_profiles,
        )
        return found.with_notes(self.capability_notes)

    @event("CapabilitiesReported")
    def _capabilities_reported(
        self,
        max_periods: int | None,
        rate_units: list[str],
        actor: Actor,
        max_stack_level: int | None = None,
        notes: list[str] | None = None,  # absent from events recorded before notes were kept
        # Absent from events recorded before OCPP 2.1 stations were served: the defaults.
        local_time: bool = False,
        randomized_delay: bool = False,
        priority_charging: bool = False,
        clock_zone: str | None = None,
        # Absent from events recorded before MaxChargingProfilesInstalled was read: no limit.
        max_profiles: int | None = None,
    ) -> None:
        purposes = "PriorityCharging" if priority_charging else ""
        features = ChargerFeatures.from_station(local_time, randomized_delay, purposes, clock_zone)
        usable = ChargerCapabilities.recorded(
            max_periods, rate_units, max_stack_level, features, max_profiles
        )
        self.max_periods = usable.max_periods
        self.max_profiles = usable.max_profiles
        self.rate_units = usable.rate_units
        self.max_stack_level = usable.max_stack_level
        self.capability_notes = tuple(notes or ())
        self.features = features

    def report_status(
        self, connector_id: object, status: object, error_code: object, at: datetime, actor: Actor
    ) -> None:
        """A connector's status; a connector number out of range is refused (InvalidInput)."""
        connector, word = told_status(connector_id, status)
        error = clean_text(error_code, MAX_CHARGER_TEXT) or None
        if self.connector_status.get(connector) != word:
            self._status_reported(
                connector_id=connector, status=word, error_code=error, at=at, actor=actor
            )

    @event("StatusReported")
    def _status_reported(
        self, connector_id: int, status: str, error_code: str | None, at: datetime, actor: Actor
    ) -> None:
        self.connector_status = {**self.connector_status, connector_id: status}
