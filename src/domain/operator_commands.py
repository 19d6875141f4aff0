"""Commands about operators' accounts: disable one, enable one again.

An operator is never removed: the audit log keeps naming who did what. A disabled
operator cannot log in (the same answer as a wrong password) and the API ends their
sessions. Nobody disables themselves, and the last operator who can log in stays
(`OperatorRoster`, saved in the same write as the account).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from domain.actors import Actor, Role, require_operator
from domain.application import CommandApplication
from domain.errors import NotFound
from domain.operator_roster import ROSTER_ID, OperatorRoster
from domain.users import User

PAGE = 1000  # notifications read at a time while the roster is first made


class OperatorCommands:
    def __init__(self, app: CommandApplication):
        self.app = app

    def disable_operator(self, user_id: UUID, actor: Actor) -> int | None:
        """The operator can no longer log in; refused for oneself and for the last one."""
        require_operator(actor)

        def change(user: User, roster: OperatorRoster) -> None:
            user.disable(actor)
            roster.disable(user.id, actor)

        return self.app.change_together(self._with_roster(user_id, actor), change)

    def enable_operator(self, user_id: UUID, actor: Actor) -> int | None:
        require_operator(actor)

        def change(user: User, roster: OperatorRoster) -> None:
            user.enable(actor)
            roster.enable(user.id, actor)

        return self.app.change_together(self._with_roster(user_id, actor), change)

    def _with_roster(
        self, user_id: UUID, actor: Actor
    ) -> Callable[[], tuple[User, OperatorRoster]]:
        """The operator's account and the roster, saved together."""
        return lambda: (self._operator(user_id), self.roster(actor))

    def _operator(self, user_id: UUID) -> User:
        user = self.app.user(user_id)
        if user.role is not Role.OPERATOR:
            raise NotFound(f"operator {user_id} not found")
        return user

    def roster(self, actor: Actor) -> OperatorRoster:
        return load_roster(self.app, actor)


def load_roster(app: CommandApplication, actor: Actor) -> OperatorRoster:
    """The roster; made (not yet saved) from the recorded operators the first time."""
    try:
        roster: OperatorRoster = app.get(ROSTER_ID)
    except AggregateNotFoundError:
        enabled = [user.id for user in _recorded_operators(app) if user.may_log_in]
        return OperatorRoster.start(enabled, actor)
    return roster


def _recorded_operators(app: CommandApplication) -> Iterator[User]:
    """Every operator account in the event store, read once when the roster is first made."""
    topic = get_topic(User.Registered)
    start: int | None = None
    while True:
        page = app.recorder.select_notifications(
            start, PAGE, topics=[topic], inclusive_of_start=start is None
        )
        for notification in page:
            registered: Any = app.mapper.to_domain_event(notification)
            if Role(registered.role) is Role.OPERATOR:
                yield app.user(registered.originator_id)
        if len(page) < PAGE:
            return
        start = page[-1].id
