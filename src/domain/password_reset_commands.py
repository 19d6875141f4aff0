"""Commands about a forgotten password: ask for a link, set a new password with it.

Asking answers the same whatever the e-mail: a link is made (and then mailed, by the
mail follower reacting to `PasswordReset.Asked`) only for an account that may log in,
and at most `RESETS_PER_HOUR` an hour per account; nothing tells the asker which.
"""

from __future__ import annotations

from uuid import UUID

from domain.actors import Actor
from domain.application import CommandApplication
from domain.errors import InvalidInput, NotFound, ResetLinkInvalid
from domain.password_resets import PasswordReset
from domain.passwords import check_password_strength, hash_password
from domain.users import User, hash_token, new_invitation_token, user_id_for

MAX_TOKEN_LENGTH = 200  # our tokens are 43 characters


class PasswordResetCommands:
    def __init__(self, app: CommandApplication):
        self.app = app

    def ask_password_reset(self, email: str) -> int | None:
        """Record a reset link for the account of `email` if it may have one; the position
        to wait for, or None when nothing was recorded (the caller says the same either way).
        The one-time token goes beside the event, never in it (`reset_tokens`)."""
        try:
            user_id = user_id_for(email)
        except InvalidInput:
            return None
        if not self.app.exists(user_id):
            return None
        token = new_invitation_token()

        def command() -> int | None:
            user = self.app.user(user_id)
            now = self.app.clock()
            # Asked by someone not logged in, for this account: the service acts on it.
            reset = PasswordReset.ask(token, user, now, Actor.system())
            if not user.ask_password_reset(reset.id, now, Actor.system()):
                return None
            return self.app.commit(user, reset, reset_tokens={reset.id: token})

        return self.app.retrying(command)

    def reset_link(self, token: str) -> tuple[PasswordReset, User]:
        """The usable link of this token and its account, or ResetLinkInvalid."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise ResetLinkInvalid("this link is not valid")
        if not token.isascii():  # our tokens are URL-safe ASCII only
            raise ResetLinkInvalid("this link is not valid")
        try:
            reset_id = PasswordReset.create_id(hash_token(token))
            reset = self.app.load(PasswordReset, reset_id, "password reset")
        except NotFound:
            raise ResetLinkInvalid("this link is not valid") from None
        user = self.app.user(reset.user_id)
        reset.check_usable(user, self.app.clock())
        return reset, user

    def reset_password(self, token: str, password: str) -> UUID:
        """The account's new password; the link is used up in the same save. The token is
        checked before the password is hashed, as an invitation's is."""
        _, user = self.reset_link(token)
        check_password_strength(password, user_inputs=[user.email])
        password_hash = hash_password(password)

        def command() -> UUID:
            reset, fresh = self.reset_link(token)
            actor = Actor(fresh.id, fresh.role)
            reset.use(fresh, self.app.clock(), actor)
            fresh.set_password(password_hash, actor)
            self.app.commit(reset, fresh)
            return fresh.id

        return self.app.retrying(command)
