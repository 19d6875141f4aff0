"""The operators who may log in: one aggregate, so that "never the last one" holds.

Disabling an operator saves the operator's account and this roster in one atomic
write, with optimistic concurrency on the roster's version: two operators who disable
each other at the same moment cannot both win, and the portal never loses its last
operator. (A rule over several accounts needs one aggregate that sees them all; a
count from a read model would be late and racy.)

The roster is made the first time it is needed, from the operators the event store
already holds (`OperatorCommands.roster`), so stores recorded before it need nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.errors import Conflict
from domain.immutable import CopiedCheaply

ROSTER_ID = uuid5(NAMESPACE_URL, "/operators/roster")


class LastOperator(Conflict):
    """Disabling this operator would leave nobody who can log in to the operator portal."""


class OperatorRoster(CopiedCheaply, Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Started: ClassVar[type[Any]]
        Enabled: ClassVar[type[Any]]
        Disabled: ClassVar[type[Any]]

    @event("Started")
    def __init__(self, enabled: list[UUID], actor: Actor):
        self.enabled: set[UUID] = set(enabled)

    @staticmethod
    def create_id() -> UUID:
        return ROSTER_ID

    @classmethod
    def start(cls, enabled: Iterable[UUID], actor: Actor) -> OperatorRoster:
        return cls(enabled=sorted(set(enabled)), actor=actor)

    def enable(self, user_id: UUID, actor: Actor) -> None:
        if user_id not in self.enabled:
            self._enabled(user_id=user_id, actor=actor)

    @event("Enabled")
    def _enabled(self, user_id: UUID, actor: Actor) -> None:
        self.enabled.add(user_id)

    def disable(self, user_id: UUID, actor: Actor) -> None:
        if user_id not in self.enabled:
            return
        if self.enabled == {user_id}:
            raise LastOperator(
                "this is the last operator who can log in; enable or add another one first"
            )
        self._disabled(user_id=user_id, actor=actor)

    @event("Disabled")
    def _disabled(self, user_id: UUID, actor: Actor) -> None:
        self.enabled.discard(user_id)
