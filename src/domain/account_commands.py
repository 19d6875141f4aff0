"""Commands about accounts: operators, home users' invitations, passwords and logins."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor, Role, require_operator
from domain.application import CommandApplication
from domain.errors import (
    Conflict,
    EmailAlreadyRegistered,
    InvalidInput,
    InvitationInvalid,
    NotFound,
    WrongPassword,
)
from domain.operator_commands import load_roster
from domain.passwords import hash_password, verify_password
from domain.users import (
    Invitation,
    User,
    check_password_strength,
    hash_token,
    new_invitation_token,
    normalize_email,
    user_id_for,
)

MAX_TOKEN_LENGTH = 200  # new_invitation_token's are 43 characters


@dataclass
class HomeUserToAdd:
    """The home user a group is about to get, by e-mail: an account that exists, or a new
    one with its invitation. `new` and `tokens` are saved with the group, in its commit."""

    user: User
    new: list[Aggregate] = field(default_factory=list)
    tokens: dict[UUID, str] = field(default_factory=dict)

    @property
    def invited_now(self) -> bool:
        return bool(self.new)


class AccountCommands:
    def __init__(self, app: CommandApplication):
        self.app = app

    def add_operator(self, email: str, password: str, actor: Actor) -> UUID:
        require_operator(actor)
        check_password_strength(password, user_inputs=[email] if isinstance(email, str) else [])
        password_hash = hash_password(password)

        def command() -> UUID:
            user = self._new_user(email, Role.OPERATOR, actor)
            user.set_password(password_hash, actor)
            roster = load_roster(self.app, actor)  # "never the last operator" counts this one
            roster.enable(user.id, actor)
            self.app.commit(user, roster)  # a lost race runs again and meets the e-mail taken
            return user.id

        return self.app.retrying(command)

    def _new_user(self, email: str, role: Role, actor: Actor) -> User:
        user = User.register(email, role, actor)
        if self.app.exists(user.id):
            raise EmailAlreadyRegistered(f"email: {user.email} already has an account")
        return user

    def invite_home_user(self, email: str, actor: Actor) -> tuple[UUID, str]:
        """Create a home user's account and an invitation; returns (user id, one-time token).

        Inviting an e-mail that is already invited (not yet active) issues a new
        invitation and withdraws the old one, like `resend_invitation`.
        """
        require_operator(actor)
        user_id = user_id_for(email)

        def command() -> tuple[UUID, str]:
            if self.app.exists(user_id):
                user = self.app.user(user_id)
                if user.role is not Role.HOME_USER or (user.active and not user.revoked):
                    raise EmailAlreadyRegistered(f"email: {user.email} already has an account")
                return user_id, self._reissue(user, actor)
            # A racing invitation of the same e-mail wins on the account's id: run again,
            # and this one is issued anew in its place.
            user = User.register(email, Role.HOME_USER, actor)
            token, invitation = self._issue(user, actor)
            self.app.commit(user, invitation, invitation_tokens={invitation.id: token})
            return user.id, token

        return self.app.retrying(command)

    def home_user_to_add(self, email: str, actor: Actor, group_name: str) -> HomeUserToAdd:
        """The home user with this e-mail, for a group being made or changed; an e-mail
        without an account gets one and an invitation whose mail names the group, to be
        saved with the group (a race with another invitation loses on the account's id and
        runs again). Operators' and revoked accounts are refused."""
        require_operator(actor)
        user_id = user_id_for(email)
        if self.app.exists(user_id):
            return HomeUserToAdd(self.app.user(user_id))
        # Not checked again: an account made since then wins on its id when saved.
        user = User.register(email, Role.HOME_USER, actor)
        token, invitation = self._issue(user, actor, group_name)
        return HomeUserToAdd(user, [user, invitation], {invitation.id: token})

    def _issue(
        self, user: User, actor: Actor, group_name: str | None = None
    ) -> tuple[str, Invitation]:
        """A new invitation and its one-time token. The event keeps only the token's hash;
        the token is saved beside the events (`invitation_tokens`) for the invitation mail,
        which names the group the invitation is for, if any."""
        token = new_invitation_token()
        expires_at = self.app.clock() + self.app.invitation_validity
        invitation = Invitation.issue(token, user.id, user.email, expires_at, actor, group_name)
        user.invite(invitation.id, actor)
        return token, invitation

    def _reissue(self, user: User, actor: Actor, group_name: str | None = None) -> str:
        changed: list[Aggregate] = [user]
        if user.invitation_id is not None:
            previous = self.app.load(Invitation, user.invitation_id, "invitation")
            previous.withdraw(actor)
            changed.append(previous)
        token, invitation = self._issue(user, actor, group_name)
        self.app.commit(*changed, invitation, invitation_tokens={invitation.id: token})
        return token

    def resend_invitation(self, user_id: UUID, actor: Actor, group_id: UUID | None = None) -> str:
        """A new token for a home user who has not accepted yet; the old one stops working.
        From a group's page (`group_id`, whose home user this must be) the mail names it."""
        require_operator(actor)
        user = self.app.user(user_id)
        if user.role is not Role.HOME_USER:
            raise InvalidInput("only home users are invited")
        if user.active:
            raise EmailAlreadyRegistered(
                f"{user.email} has already accepted the invitation and logs in with their "
                "password; if it is forgotten, the login page mails a new one"
            )
        group_name = self._group_name_of(group_id, user_id)
        return self.app.retrying(lambda: self._reissue(self.app.user(user_id), actor, group_name))

    def _group_name_of(self, group_id: UUID | None, user_id: UUID) -> str | None:
        if group_id is None:
            return None
        group = self.app.group(group_id)
        if group.home_user_id != user_id:
            raise Conflict("this user is no longer the group's home user")
        return str(group.name)

    def revoke_user(self, user_id: UUID, actor: Actor) -> int | None:
        """The account can no longer log in and its open invitation stops working."""
        require_operator(actor)

        def command() -> int | None:
            user = self.app.user(user_id)
            if user.role is not Role.HOME_USER:
                raise InvalidInput("operators are not revoked here")
            user.revoke(actor)
            changed: list[Aggregate] = [user]
            if user.invitation_id is not None:
                invitation = self.app.load(Invitation, user.invitation_id, "invitation")
                invitation.withdraw(actor)
                changed.append(invitation)
            return self.app.commit(*changed)

        return self.app.retrying(command)

    def invitation(self, token: str) -> Invitation:
        """The usable invitation for a token, or InvitationInvalid."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvitationInvalid("this invitation link is not valid")
        if not token.isascii():  # new_invitation_token makes URL-safe ASCII only
            raise InvitationInvalid("this invitation link is not valid")
        try:
            invitation = self.app.load(
                Invitation, Invitation.create_id(hash_token(token)), "invitation"
            )
        except NotFound:
            raise InvitationInvalid("this invitation link is not valid") from None
        invitation.check_usable(self.app.clock())
        return invitation

    def accept_invitation(self, token: str, password: str) -> UUID:
        """Set the home user's password; the invitation is used up in the same save.

        The token is looked up before the password is hashed: a made-up, used or expired
        token is refused without the hash's 64 MiB and 0.1 s, which a storm of them would
        otherwise cost the server over and over."""
        email = self.invitation(token).email
        check_password_strength(password, user_inputs=[email])
        password_hash = hash_password(password)

        def command() -> UUID:
            invitation = self.invitation(token)
            user = self.app.user(invitation.user_id)
            actor = Actor.home_user(user.id)
            invitation.accept(self.app.clock(), actor)
            user.set_password(password_hash, actor)
            self.app.commit(invitation, user)
            return user.id

        return self.app.retrying(command)

    def change_password(self, user_id: UUID, current: str, new: str) -> int | None:
        """A logged-in user's new password, given the current one."""
        user = self.app.user(user_id)
        check_password_strength(new, user_inputs=[user.email])
        known = verify_password(user.password_hash if user.may_log_in else None, current)
        if not known:
            raise WrongPassword("current_password: that is not your current password")
        new_hash = hash_password(new)

        return self.app.change(
            lambda: self.app.user(user_id),
            lambda fresh: fresh.set_password(new_hash, Actor(user_id, fresh.role)),
        )

    def authenticate(self, email: str, password: str) -> User | None:
        """The user who may log in with this e-mail and password, else None (no hint which
        was wrong). Every attempt verifies one password hash, whatever the account (none,
        invited, revoked, active): the answer's timing does not tell them apart."""
        user = self._login_candidate(email)
        stored = user.password_hash if user is not None and user.may_log_in else None
        matches = verify_password(stored, password)
        return user if matches and user is not None else None

    def _login_candidate(self, email: str) -> User | None:
        try:
            return self.app.user(user_id_for(normalize_email(email)))
        except (NotFound, InvalidInput):
            return None
