"""Finding a home user by e-mail: the one answer for every body and form that names him so."""

from __future__ import annotations

from uuid import UUID

from domain.actors import Role
from domain.errors import InvalidInput
from domain.membership import check_may_join
from domain.users import user_id_for
from projections.queries import ReadModelQueries


class NoSuchHomeUser(InvalidInput):
    """No invited or active home user has this e-mail (and inviting was not asked for)."""

    def __init__(self, email: str, field: str = "home_user_email", invite: str = "invite"):
        super().__init__(
            f"{field}: no home user {email!r} yet; send {invite}: true to invite them by"
            " e-mail with this change"
        )
        self.in_words = f"No home user has the e-mail {email} yet."


def found_home_user(queries: ReadModelQueries, email: str) -> dict[str, object] | None:
    """The user directory's row of the invited or active home user with this e-mail (any
    case); None when no account has it. A malformed e-mail is refused (InvalidInput), and
    an operator's or a revoked account by the domain's rule (membership.check_may_join)."""
    row = queries.user(user_id_for(email))
    if row is None:
        return None
    check_may_join(row["email"], Role(row["role"]), revoked=row["status"] == "revoked")
    return dict(row)


def home_user_by_email(
    queries: ReadModelQueries, email: str, field: str = "home_user_email", invite: str = "invite"
) -> UUID:
    """The id of the invited or active home user with this e-mail; an unknown one is
    refused too (NoSuchHomeUser), naming the body's field and its flag that invites."""
    row = found_home_user(queries, email)
    if row is None:
        raise NoSuchHomeUser(email.strip(), field, invite)
    return UUID(str(row["id"]))
