"""A forgotten password: a one-time link, mailed to the account, that sets a new password.

Like an invitation, the link's token is never stored: the aggregate's id and its event
hold only the token's hash, and the plain token goes beside the event to the mail
(`reset_tokens`, see `projections/mail_outbox.py`). A link works once, for
RESET_VALIDITY, and only while it is the account's latest (`User.latest_reset_id`):
asking again, or setting any new password, voids it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.errors import ResetLinkInvalid
from domain.immutable import CopiedCheaply
from domain.users import User, hash_token

RESET_VALIDITY = timedelta(minutes=30)


class PasswordReset(CopiedCheaply, Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Asked: ClassVar[type[Any]]
        Used: ClassVar[type[Any]]

    @event("Asked")
    def __init__(
        self, token_hash: str, user_id: UUID, email: str, expires_at: datetime, actor: Actor
    ):
        self.token_hash = token_hash
        self.user_id = user_id
        self.email = email
        self.expires_at = expires_at
        self.used_at: datetime | None = None

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        """Found again from the token alone, yet only the token's hash is ever stored."""
        return uuid5(NAMESPACE_URL, f"/password-resets/{token_hash}")

    @classmethod
    def ask(cls, token: str, user: User, now: datetime, actor: Actor) -> PasswordReset:
        return cls(
            token_hash=hash_token(token),
            user_id=user.id,
            email=user.email,
            expires_at=now + RESET_VALIDITY,
            actor=actor,
        )

    def check_usable(self, user: User, now: datetime) -> None:
        if self.used_at is not None:
            raise ResetLinkInvalid("this link was already used; ask for a new one if need be")
        if user.latest_reset_id != self.id:
            raise ResetLinkInvalid(
                "this link no longer works: a newer one was asked for, or the password changed"
            )
        if now >= self.expires_at:
            raise ResetLinkInvalid("this link has expired; ask for a new one")
        if not user.may_log_in:
            raise ResetLinkInvalid("this link is not valid")

    def use(self, user: User, now: datetime, actor: Actor) -> None:
        self.check_usable(user, now)
        self._used(used_at=now, actor=actor)

    @event("Used")
    def _used(self, used_at: datetime, actor: Actor) -> None:
        self.used_at = used_at
