"""Membership: a home user joining and leaving a smart charging group.

Who may join is decided here, once: a home user's account that is not revoked
(`check_may_join`; the API asks it too when it finds a home user by e-mail). How many may
join is the group's invariant: a consumer_tou group holds at most one home user and
`SmartChargingGroup.add_home_user` refuses a second; `join` names the current one in
that refusal. The commands are reached through the group's, as `service.groups.
add_home_user(...)`; `create_group` makes a group with its home user through `join` too.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.account_commands import AccountCommands, HomeUserToAdd
from domain.actors import Actor, Role, require_operator
from domain.application import CommandApplication
from domain.errors import GroupAlreadyHasHomeUser, InvalidInput
from domain.groups import SmartChargingGroup
from domain.users import User

# One turn at a time on a group in this process (see group_commands.py).
Turn = Callable[[UUID], AbstractContextManager[object]]


class NotAHomeUser(InvalidInput):
    """An operator's account named as a group's home user."""

    def __init__(self, email: str):
        super().__init__(f"user {email} is an operator, not a home user")
        self.email = email


class RevokedHomeUser(InvalidInput):
    """A revoked account named as a group's home user (a new invitation opens it again)."""

    def __init__(self, email: str):
        super().__init__(f"user {email} was revoked")
        self.email = email


def check_may_join(email: str, role: Role, *, revoked: bool) -> None:
    """Only a home user's account that is not revoked may be a group's home user."""
    if role is not Role.HOME_USER:
        raise NotAHomeUser(email)
    if revoked:
        raise RevokedHomeUser(email)


class MembershipCommands:
    def __init__(self, app: CommandApplication, accounts: AccountCommands, turn: Turn):
        self.app = app
        self.accounts = accounts  # a home user invited with the group is saved with it
        self._turn = turn

    def add_home_user(self, group_id: UUID, user_id: UUID, actor: Actor) -> int | None:
        require_operator(actor)
        return self.app.change(
            lambda: self.app.group(group_id),
            lambda group: self.join(group, self.app.user(user_id), actor),
        )

    def invite_home_user(self, group_id: UUID, email: str, actor: Actor) -> int | None:
        """The home user by e-mail: an e-mail without an account is invited and added in
        one save (its one mail, the invitation, names the group); an invited or active home
        user is added."""
        require_operator(actor)

        def command() -> int | None:
            group = self.app.group(group_id)
            joining = self.accounts.home_user_to_add(email, actor, group.name)
            self.join(group, joining.user, actor)
            return self.commit(joining, group)

        return self.app.retrying(command)

    def remove_home_user(self, group_id: UUID, user_id: UUID, actor: Actor) -> int | None:
        require_operator(actor)
        with self._turn(group_id):
            return self.app.change(
                lambda: self.app.group(group_id), lambda g: g.remove_home_user(user_id, actor)
            )

    # --- for a group being made with its home user --------------------------------------

    def joining(
        self, user_id: UUID | None, invite_email: str | None, actor: Actor, group_name: str
    ) -> HomeUserToAdd | None:
        """The home user named by id, or by e-mail (invited if it has no account yet)."""
        if user_id is not None:
            return HomeUserToAdd(self.app.user(user_id))
        if invite_email is not None:
            return self.accounts.home_user_to_add(invite_email, actor, group_name)
        return None

    def join(self, group: SmartChargingGroup, user: User, actor: Actor) -> None:
        """Put the user in the group, if he may join it; a second home user is refused
        naming the current one."""
        check_may_join(user.email, user.role, revoked=user.revoked)
        try:
            group.add_home_user(user.id, actor, invited=not user.active)
        except GroupAlreadyHasHomeUser as refusal:
            current = self.app.user(refusal.current_user_id)
            raise GroupAlreadyHasHomeUser(group.id, current.id, current.email) from None

    def commit(self, joining: HomeUserToAdd | None, *aggregates: Aggregate) -> int | None:
        """Save the aggregates with the home user's new account and invitation, if any, and
        the invitation's token beside them (for its mail)."""
        if joining is None:
            return self.app.commit(*aggregates)
        if joining.tokens:
            return self.app.commit(*aggregates, *joining.new, invitation_tokens=joining.tokens)
        return self.app.commit(*aggregates, *joining.new)
