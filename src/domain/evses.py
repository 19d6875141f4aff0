"""Evse: one connector of a charger, registered by the operator, in at most one group."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.errors import Conflict, EvseInAnotherGroup, InvalidInput
from domain.evse_limits import EvseLimits, recorded_limits
from domain.immutable import CopiedCheaply
from domain.values import checked_int, checked_text

# OCPP 1.6 §7.x: chargeBoxIdentity is CiString20/36 in practice; we allow URL-safe ids up to 48.
MAX_CHARGE_POINT_ID_LENGTH = 48
_CHARGE_POINT_ID = re.compile(r"[A-Za-z0-9._~:@!$&'()*+,;=-]{1,48}")
MAX_CONNECTOR_ID = 1000  # far above any charger's connector count, well inside `integer`


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


def _limits_from_fields(state: dict[str, Any]) -> None:
    """Upcast: events recorded before EvseLimits kept its three fields side by side."""
    fields = ("max_current_a", "phases", "max_power_w")
    state["limits"] = recorded_limits({name: state.pop(name, None) for name in fields})


class Evse(CopiedCheaply, Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Assigned: ClassVar[type[Any]]
        Released: ClassVar[type[Any]]
        Deregistered: ClassVar[type[Any]]

    class Registered(Aggregate.Created):
        charge_point_id: str
        connector_id: int
        limits: EvseLimits | None  # None: lost, recorded past the checks
        actor: Actor

        class_version = 2
        upcast_v1_v2 = staticmethod(_limits_from_fields)

    class Reregistered(Aggregate.Event):
        charge_point_id: str
        connector_id: int
        limits: EvseLimits | None  # None: lost, recorded past the checks
        actor: Actor

        class_version = 2
        upcast_v1_v2 = staticmethod(_limits_from_fields)

    class LimitsChanged(Aggregate.Event):
        limits: EvseLimits | None  # None: lost, recorded past the checks
        actor: Actor

        class_version = 2
        upcast_v1_v2 = staticmethod(_limits_from_fields)

    @event(Registered)
    def __init__(self, charge_point_id: str, connector_id: int, limits: EvseLimits, actor: Actor):
        self.charge_point_id = charge_point_id
        self.connector_id = connector_id
        self.limits: EvseLimits | None = limits
        self.group_id: UUID | None = None
        self.deregistered = False

    @staticmethod
    def create_id(charge_point_id: str, connector_id: int) -> UUID:
        return evse_id_for(charge_point_id, connector_id)

    @classmethod
    def register(
        cls, charge_point_id: str, connector_id: int, limits: EvseLimits, actor: Actor
    ) -> Evse:
        validate_charge_point_id(charge_point_id)
        validate_connector_id(connector_id)
        return cls(
            charge_point_id=charge_point_id, connector_id=connector_id, limits=limits, actor=actor
        )

    def reregister(self, limits: EvseLimits, actor: Actor) -> None:
        """Register a deregistered connector again (its id is its charger and number)."""
        if not self.deregistered:
            raise Conflict(
                f"connector {self.connector_id} of charger {self.charge_point_id}"
                " is already registered"
            )
        self._reregistered(
            charge_point_id=self.charge_point_id,
            connector_id=self.connector_id,
            limits=limits,
            actor=actor,
        )

    @event(Reregistered)
    def _reregistered(
        self, charge_point_id: str, connector_id: int, limits: EvseLimits, actor: Actor
    ) -> None:
        self.limits = limits
        self.deregistered = False

    def change_limits(self, limits: EvseLimits, actor: Actor) -> None:
        self._check_registered()
        self._limits_changed(limits=limits, actor=actor)

    @event(LimitsChanged)
    def _limits_changed(self, limits: EvseLimits, actor: Actor) -> None:
        self.limits = limits

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
