"""Evse: one connector of a charger, registered by the operator, in at most one group."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.errors import Conflict, EvseInAnotherGroup, InvalidInput
from domain.values import checked_int, checked_number, checked_text

# OCPP 1.6 §7.x: chargeBoxIdentity is CiString20/36 in practice; we allow URL-safe ids up to 48.
MAX_CHARGE_POINT_ID_LENGTH = 48
_CHARGE_POINT_ID = re.compile(r"[A-Za-z0-9._~:@!$&'()*+,;=-]{1,48}")
MAX_CONNECTOR_ID = 1000  # far above any charger's connector count, well inside `integer`
MAX_CURRENT_A = 1000.0
MAX_POWER_W = 1_000_000.0
NOMINAL_VOLTAGE_V = 230.0


def evse_id_for(charge_point_id: str, connector_id: int) -> UUID:
    """Deterministic id from the natural key, so registering twice is a conflict, not a copy."""
    return uuid5(NAMESPACE_URL, f"/evses/{charge_point_id}/{connector_id}")


def validate_charge_point_id(charge_point_id: object) -> str:
    text = checked_text("charge_point_id", charge_point_id, MAX_CHARGE_POINT_ID_LENGTH)
    if not _CHARGE_POINT_ID.fullmatch(text):
        raise InvalidInput(
            f"charge_point_id: {text!r} must be 1-48 characters, "
            "letters, digits and URL-safe punctuation (no spaces or slashes)"
        )
    return text


def validate_connector_id(connector_id: object) -> int:
    """OCPP numbers a charger's connectors from 1; the read models keep them as integers."""
    return checked_int("connector_id", connector_id, 1, MAX_CONNECTOR_ID)


def validate_limits(
    connector_id: object,
    max_current_a: object,
    phases: object,
    max_power_w: object,
) -> None:
    validate_connector_id(connector_id)
    if (max_current_a is None) == (max_power_w is None):
        raise InvalidInput("give either max_current_a (with phases) or max_power_w, not both")
    if max_current_a is not None:
        checked_number("max_current_a", max_current_a, 0, MAX_CURRENT_A)
        validate_phases(phases)
    if max_power_w is not None:
        checked_number("max_power_w", max_power_w, 0, MAX_POWER_W)


def validate_phases(phases: object) -> int:
    """A current limit means nothing without the phases it is drawn on: 1 or 3."""
    if phases is None:
        raise InvalidInput("phases: choose 1 or 3 with a maximum current")
    if isinstance(phases, bool) or not isinstance(phases, int) or phases not in (1, 3):
        raise InvalidInput("phases: choose 1 or 3")
    return phases


def checked_limits(
    connector_id: object,
    max_current_a: float | None,
    phases: int | None,
    max_power_w: float | None,
) -> dict[str, Any]:
    """The limits as events keep them, once `validate_limits` has accepted them."""
    validate_limits(connector_id, max_current_a, phases, max_power_w)
    return {
        "max_current_a": float(max_current_a) if max_current_a is not None else None,
        "phases": phases if max_current_a is not None else None,
        "max_power_w": float(max_power_w) if max_power_w is not None else None,
    }


class Evse(Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Registered: ClassVar[type[Any]]
        Reregistered: ClassVar[type[Any]]
        LimitsChanged: ClassVar[type[Any]]
        Assigned: ClassVar[type[Any]]
        Released: ClassVar[type[Any]]
        Deregistered: ClassVar[type[Any]]

    @event("Registered")
    def __init__(
        self,
        charge_point_id: str,
        connector_id: int,
        max_current_a: float | None,
        phases: int | None,
        max_power_w: float | None,
        actor: Actor,
    ):
        self.charge_point_id = charge_point_id
        self.connector_id = connector_id
        self.max_current_a = max_current_a
        self.phases = phases
        self.max_power_w = max_power_w
        self.group_id: UUID | None = None
        self.deregistered = False

    @staticmethod
    def create_id(charge_point_id: str, connector_id: int) -> UUID:
        return evse_id_for(charge_point_id, connector_id)

    @classmethod
    def register(
        cls,
        charge_point_id: str,
        connector_id: int,
        actor: Actor,
        *,
        max_current_a: float | None = None,
        phases: int | None = None,
        max_power_w: float | None = None,
    ) -> Evse:
        validate_charge_point_id(charge_point_id)
        limits = checked_limits(connector_id, max_current_a, phases, max_power_w)
        return cls(
            charge_point_id=charge_point_id, connector_id=connector_id, actor=actor, **limits
        )

    def reregister(
        self,
        actor: Actor,
        *,
        max_current_a: float | None = None,
        phases: int | None = None,
        max_power_w: float | None = None,
    ) -> None:
        """Register a deregistered connector again (its id is its charger and number)."""
        if not self.deregistered:
            raise Conflict(
                f"connector {self.connector_id} of charger {self.charge_point_id}"
                " is already registered"
            )
        limits = checked_limits(self.connector_id, max_current_a, phases, max_power_w)
        self._reregistered(
            charge_point_id=self.charge_point_id,
            connector_id=self.connector_id,
            actor=actor,
            **limits,
        )

    @event("Reregistered")
    def _reregistered(
        self,
        charge_point_id: str,
        connector_id: int,
        max_current_a: float | None,
        phases: int | None,
        max_power_w: float | None,
        actor: Actor,
    ) -> None:
        self.max_current_a = max_current_a
        self.phases = phases
        self.max_power_w = max_power_w
        self.deregistered = False

    def change_limits(
        self,
        actor: Actor,
        *,
        max_current_a: float | None = None,
        phases: int | None = None,
        max_power_w: float | None = None,
    ) -> None:
        self._check_registered()
        limits = checked_limits(self.connector_id, max_current_a, phases, max_power_w)
        self._limits_changed(actor=actor, **limits)

    @event("LimitsChanged")
    def _limits_changed(
        self,
        max_current_a: float | None,
        phases: int | None,
        max_power_w: float | None,
        actor: Actor,
    ) -> None:
        self.max_current_a = max_current_a
        self.phases = phases
        self.max_power_w = max_power_w

    @property
    def max_power(self) -> float:
        """The maximum in watts, at the nominal 230 V when given as a current."""
        if self.max_power_w is not None:
            return self.max_power_w
        assert self.max_current_a is not None and self.phases is not None
        return self.max_current_a * self.phases * NOMINAL_VOLTAGE_V

    # --- group membership ----------------------------------------------------------

    def assign_to(self, group_id: UUID, actor: Actor) -> None:
        self._check_registered()
        if self.group_id == group_id:
            return
        if self.group_id is not None:
            raise EvseInAnotherGroup(self.id, self.group_id)
        self._assigned(group_id=group_id, actor=actor)

    @event("Assigned")
    def _assigned(self, group_id: UUID, actor: Actor) -> None:
        self.group_id = group_id

    def release(self, group_id: UUID, actor: Actor) -> None:
        if self.group_id != group_id:
            raise Conflict(f"EVSE {self.id} is not in group {group_id}")
        self._released(group_id=group_id, actor=actor)

    @event("Released")
    def _released(self, group_id: UUID, actor: Actor) -> None:
        self.group_id = None

    def deregister(self, actor: Actor) -> None:
        self._check_registered()
        if self.group_id is not None:
            raise Conflict(
                f"EVSE {self.id} is in group {self.group_id}; remove it from there first"
            )
        self._deregistered(actor=actor)

    @event("Deregistered")
    def _deregistered(self, actor: Actor) -> None:
        self.deregistered = True

    def _check_registered(self) -> None:
        if self.deregistered:
            raise Conflict(f"EVSE {self.id} was deregistered")
