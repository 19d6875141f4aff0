"""Commands about EVSEs: registering a charger's connector, its limits, its group.

An EVSE belongs to at most one group: putting it in, taking it out and moving it save
the EVSE and the group(s) together, so two racing assignments cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable
from types import EllipsisType
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.actors import Actor, require_operator
from domain.application import CommandApplication
from domain.errors import Conflict, EvseAlreadyRegistered, EvseMovedMeanwhile
from domain.evse_limits import EvseLimits
from domain.evses import Evse
from domain.groups import SmartChargingGroup


class EvseCommands:
    def __init__(self, app: CommandApplication):
        self.app = app

    def register_evse(
        self, charge_point_id: str, connector_id: int, actor: Actor, limits: EvseLimits
    ) -> tuple[UUID, int | None]:
        """The id comes from charger and connector, so the store refuses a second copy."""
        require_operator(actor)
        evse = Evse.register(charge_point_id, connector_id, limits, actor)
        try:
            return evse.id, self.app.commit(evse)
        except IntegrityError:
            pass  # registered before: again, if it was deregistered since
        try:
            earlier = self.app.load(Evse, evse.id, "EVSE")
            earlier.reregister(limits, actor)
            return earlier.id, self.app.commit(earlier)
        except (Conflict, IntegrityError):
            raise EvseAlreadyRegistered(
                f"connector {connector_id} of charger {charge_point_id} is already registered"
            ) from None

    def change_evse_limits(self, evse_id: UUID, actor: Actor, limits: EvseLimits) -> int | None:
        require_operator(actor)
        return self.app.change(
            lambda: self.app.evse(evse_id), lambda e: e.change_limits(limits, actor)
        )

    def deregister_evse(self, evse_id: UUID, actor: Actor) -> int | None:
        require_operator(actor)
        return self.app.change(lambda: self.app.evse(evse_id), lambda e: e.deregister(actor))

    # --- membership of a group ------------------------------------------------------------

    def add_evse(self, group_id: UUID, evse_id: UUID, actor: Actor) -> int | None:
        """Put an EVSE in a group: the EVSE and the group are saved together."""
        require_operator(actor)

        def change(group: SmartChargingGroup, evse: Evse) -> None:
            evse.assign_to(group.id, actor)
            group.add_evse(evse.id, actor)

        return self.app.change_together(self._group_and_evse(group_id, evse_id), change)

    def remove_evse(self, group_id: UUID, evse_id: UUID, actor: Actor) -> int | None:
        require_operator(actor)

        def change(group: SmartChargingGroup, evse: Evse) -> None:
            group.remove_evse(evse.id, actor)
            evse.release(group.id, actor)

        return self.app.change_together(self._group_and_evse(group_id, evse_id), change)

    def _group_and_evse(
        self, group_id: UUID, evse_id: UUID
    ) -> Callable[[], tuple[SmartChargingGroup, Evse]]:
        return lambda: (self.app.group(group_id), self.app.evse(evse_id))

    def move_evse(
        self,
        evse_id: UUID,
        to_group_id: UUID,
        actor: Actor,
        from_group_id: UUID | EllipsisType | None = ...,
    ) -> int | None:
        """Move an EVSE to another group: the EVSE and both groups in one atomic save.

        `from_group_id`, when given, is the group (None: no group) the mover saw it in:
        if it has moved since, nothing is saved and EvseMovedMeanwhile says where it is.
        """
        require_operator(actor)

        def command() -> int | None:
            evse = self.app.evse(evse_id)
            target = self.app.group(to_group_id)
            if from_group_id is not ... and evse.group_id != from_group_id:
                raise EvseMovedMeanwhile(evse.id, evse.group_id)
            changed: list[Aggregate] = [evse, target]
            source_id: UUID | None = None
            if evse.group_id is not None and evse.group_id != target.id:
                source = self.app.group(evse.group_id)
                source_id = source.id
                source.remove_evse(evse.id, actor, moved_to=target.id)
                evse.release(source.id, actor)
                changed.append(source)
            evse.assign_to(target.id, actor)
            target.add_evse(evse.id, actor, moved_from=source_id)
            return self.app.commit(*changed)

        return self.app.retrying(command)
