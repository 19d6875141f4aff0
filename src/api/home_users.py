"""Finding a home user by e-mail: the one answer for every body and form that names him so."""

from __future__ import annotations

from uuid import UUID

from domain.errors import InvalidInput
from domain.users import user_id_for
from projections.queries import ReadModelQueries


class NoSuchHomeUser(InvalidInput):
    """No invited or active home user has this e-mail."""

    def __init__(self, email: str):
        super().__init__(f"home_user_email: no home user {email!r}; invite the user first")
        self.in_words = f"No home user has the e-mail {email}: invite the user first."


class RevokedHomeUser(InvalidInput):
    def __init__(self, email: str):
        super().__init__(f"home_user_email: {email} was revoked and cannot join a group")
        self.in_words = f"{email} was revoked and cannot join a group."


def home_user_by_email(queries: ReadModelQueries, email: str) -> UUID:
    """The id of the invited or active home user with this e-mail (any case, from the user
    directory); a malformed e-mail, an unknown one, an operator's or a revoked account's
    is refused (InvalidInput)."""
    row = queries.user(user_id_for(email))
    if row is None or row["role"] != "home_user":
        raise NoSuchHomeUser(email.strip())
    if row["status"] == "revoked":
        raise RevokedHomeUser(row["email"])
    return UUID(str(row["id"]))
