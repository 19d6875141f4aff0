"""User (operator or home user) and Invitation (how a home user gets a password)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor, Role
from domain.emails import MAX_EMAIL_LENGTH as MAX_EMAIL_LENGTH
from domain.emails import normalize_email
from domain.errors import Conflict, InvalidInput, InvitationInvalid
from domain.immutable import CopiedCheaply

# The password rules live with the hashing; named here too for the modules that read them here.
from domain.passwords import MAX_PASSWORD_LENGTH as MAX_PASSWORD_LENGTH
from domain.passwords import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH
from domain.passwords import check_password_strength as check_password_strength
from domain.passwords import could_be_password as could_be_password

RESETS_PER_HOUR = 3
RESET_WINDOW = timedelta(hours=1)


def user_id_for(email: str) -> UUID:
    """One id per e-mail, case-insensitively: the event store itself refuses a second account."""
    return uuid5(NAMESPACE_URL, f"/users/{normalize_email(email)}")


class User(CopiedCheaply, Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Registered: ClassVar[type[Any]]
        PasswordSet: ClassVar[type[Any]]
        Invited: ClassVar[type[Any]]
        Revoked: ClassVar[type[Any]]
        Disabled: ClassVar[type[Any]]
        Enabled: ClassVar[type[Any]]
        PasswordResetAsked: ClassVar[type[Any]]

    @event("Registered")
    def __init__(self, email: str, role: Role, actor: Actor):
        self.email = email
        self.role = Role(role)
        self.password_hash: str | None = None
        self.invitation_id: UUID | None = None
        self.active = False
        self.revoked = False
        self.disabled = False
        self.latest_reset_id: UUID | None = None  # the one reset link that works
        self.reset_times: list[datetime] = []  # resets asked within the last hour

    @staticmethod
    def create_id(email: str) -> UUID:
        return user_id_for(email)

    @classmethod
    def register(cls, email: str, role: Role, actor: Actor) -> User:
        if not isinstance(role, Role):
            raise InvalidInput(f"role: {role!r} must be operator or home_user")
        return cls(email=normalize_email(email), role=role, actor=actor)

    @property
    def may_log_in(self) -> bool:
        """Whether the account's password opens a session (not while invited, revoked or
        disabled)."""
        return (
            self.active
            and not self.revoked
            and not self.disabled
            and self.password_hash is not None
        )

    @property
    def status(self) -> str:
        if self.revoked:
            return "revoked"
        if self.disabled:
            return "disabled"
        return "active" if self.active else "invited"

    def set_password(self, password_hash: str, actor: Actor) -> None:
        if self.revoked:
            raise Conflict(f"the account {self.email} was revoked")
        self._password_set(password_hash=password_hash, actor=actor)

    @event("PasswordSet")
    def _password_set(self, password_hash: str, actor: Actor) -> None:
        self.password_hash = password_hash
        self.active = True
        self.latest_reset_id = None  # a link asked before this password no longer works

    def invite(self, invitation_id: UUID, actor: Actor) -> None:
        if self.role is not Role.HOME_USER:
            raise Conflict("only home users are invited; operators are added on the command line")
        self._invited(invitation_id=invitation_id, actor=actor)

    @event("Invited")
    def _invited(self, invitation_id: UUID, actor: Actor) -> None:
        self.invitation_id = invitation_id
        self.revoked = False

    def revoke(self, actor: Actor) -> None:
        if not self.revoked:
            self._revoked(actor=actor)

    @event("Revoked")
    def _revoked(self, actor: Actor) -> None:
        self.revoked = True
        self.active = False
        self.password_hash = None

    # --- an operator's account: disabled and enabled again (never removed: the audit log
    # --- keeps naming who did what) --------------------------------------------------------

    def disable(self, actor: Actor) -> None:
        """The account no longer logs in; the rules about who may be disabled are the
        operator roster's (`domain.operator_roster`), which the command saves with it."""
        if self.role is not Role.OPERATOR:
            raise InvalidInput("only operators are disabled; home users are revoked")
        if actor.user_id == self.id:
            raise Conflict("you cannot disable your own account; ask another operator")
        if not self.disabled:
            self._disabled_by(actor=actor)

    @event("Disabled")
    def _disabled_by(self, actor: Actor) -> None:
        self.disabled = True

    def enable(self, actor: Actor) -> None:
        if self.role is not Role.OPERATOR:
            raise InvalidInput("only operators are enabled; home users are invited again")
        if self.disabled:
            self._enabled_by(actor=actor)

    @event("Enabled")
    def _enabled_by(self, actor: Actor) -> None:
        self.disabled = False

    # --- a forgotten password ----------------------------------------------------------

    def ask_password_reset(self, reset_id: UUID, now: datetime, actor: Actor) -> bool:
        """Whether a reset link may be mailed now: only to an account that may log in, and
        at most RESETS_PER_HOUR an hour, so the form cannot flood someone's inbox."""
        if not self.may_log_in:
            return False
        if len(self.resets_asked_since(now - RESET_WINDOW)) >= RESETS_PER_HOUR:
            return False
        self._password_reset_asked(reset_id=reset_id, asked_at=now, actor=actor)
        return True

    def resets_asked_since(self, since: datetime) -> list[datetime]:
        return [at for at in self.reset_times if at > since]

    @event("PasswordResetAsked")
    def _password_reset_asked(self, reset_id: UUID, asked_at: datetime, actor: Actor) -> None:
        self.latest_reset_id = reset_id  # asking again voids the links asked before
        self.reset_times = [*self.resets_asked_since(asked_at - RESET_WINDOW), asked_at]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(CopiedCheaply, Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Issued: ClassVar[type[Any]]
        Accepted: ClassVar[type[Any]]
        Withdrawn: ClassVar[type[Any]]

    @event("Issued")
    def __init__(
        self,
        token_hash: str,
        user_id: UUID,
        email: str,
        expires_at: datetime,
        actor: Actor,
        group_name: str | None = None,
    ):
        # group_name: the group the invitation brings the home user into, for its mail
        # (events recorded before it was kept have none).
        self.token_hash = token_hash
        self.user_id = user_id
        self.email = email
        self.expires_at = expires_at
        self.accepted_at: datetime | None = None
        self.withdrawn = False

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        """Found again from the token alone, yet only the token's hash is ever stored."""
        return uuid5(NAMESPACE_URL, f"/invitations/{token_hash}")

    @classmethod
    def issue(
        cls,
        token: str,
        user_id: UUID,
        email: str,
        expires_at: datetime,
        actor: Actor,
        group_name: str | None = None,
    ) -> Invitation:
        return cls(
            token_hash=hash_token(token),
            user_id=user_id,
            email=email,
            expires_at=expires_at,
            actor=actor,
            group_name=group_name,
        )

    def check_usable(self, now: datetime) -> None:
        if self.accepted_at is not None:
            raise InvitationInvalid("this invitation was already used; log in instead")
        if self.withdrawn:
            raise InvitationInvalid(
                "this invitation was withdrawn; ask your operator for a new one"
            )
        if now >= self.expires_at:
            raise InvitationInvalid("this invitation has expired; ask your operator to resend it")

    def accept(self, now: datetime, actor: Actor) -> None:
        self.check_usable(now)
        self._accepted(accepted_at=now, actor=actor)

    @event("Accepted")
    def _accepted(self, accepted_at: datetime, actor: Actor) -> None:
        self.accepted_at = accepted_at

    def withdraw(self, actor: Actor) -> None:
        if self.accepted_at is None and not self.withdrawn:
            self._withdrawn(actor=actor)

    @event("Withdrawn")
    def _withdrawn(self, actor: Actor) -> None:
        self.withdrawn = True
