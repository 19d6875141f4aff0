"""User directory: consumer-portal users with their status, and e-mail prefix search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor

from domain.users import Invitation, User
from projections.tables import Tables

Handler = Callable[[Cursor[Any], Tables, Any], None]


def _registered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"INSERT INTO {t.users} (id, email, role, status, created_at)"
        " VALUES (%s, %s, %s, 'invited', %s)",
        (e.originator_id, e.email, str(getattr(e.role, "value", e.role)), e.timestamp),
    )


def _status(status: str, stamp_column: str | None = None) -> Handler:
    def handle(curs: Cursor[Any], t: Tables, e: Any) -> None:
        stamp = f", {stamp_column} = %s" if stamp_column else ""
        params = (
            (status, e.timestamp, e.originator_id) if stamp_column else (status, e.originator_id)
        )
        curs.execute(f"UPDATE {t.users} SET status = %s{stamp} WHERE id = %s", params)

    return handle


def _issued(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"UPDATE {t.users} SET invited_at = %s, invitation_expires_at = %s WHERE id = %s",
        (e.timestamp, e.expires_at, e.user_id),
    )


HANDLERS: dict[type, Handler] = {
    User.Registered: _registered,
    User.PasswordSet: _status("active", "activated_at"),
    User.Invited: _status("invited"),
    User.Revoked: _status("revoked"),
    Invitation.Issued: _issued,
}
