"""User directory: operators and consumer-portal users with their status (invited, active,
revoked, disabled), and e-mail prefix search."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.users import Invitation, User
from projections.handlers import Handler, Handlers
from projections.tables import Tables

HANDLERS: Handlers[Handler] = Handlers("users")


@HANDLERS.on(User.Registered)
def _registered(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"INSERT INTO {t.users} (id, email, role, status, created_at)"
        " VALUES (%s, %s, %s, 'invited', %s)",
        (e.originator_id, e.email, str(getattr(e.role, "value", e.role)), e.timestamp),
    )


@HANDLERS.on(User.PasswordSet)
def _activated(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"UPDATE {t.users} SET status = 'active', activated_at = %s WHERE id = %s",
        (e.timestamp, e.originator_id),
    )


@HANDLERS.on(User.Invited)
def _invited(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(f"UPDATE {t.users} SET status = 'invited' WHERE id = %s", (e.originator_id,))


@HANDLERS.on(User.Revoked)
def _revoked(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(f"UPDATE {t.users} SET status = 'revoked' WHERE id = %s", (e.originator_id,))


@HANDLERS.on(User.Disabled)
def _disabled(curs: Cursor[Any], t: Tables, e: Any) -> None:
    # A session is found only for an 'active' account (api/sessions.py): this ends them too.
    curs.execute(f"UPDATE {t.users} SET status = 'disabled' WHERE id = %s", (e.originator_id,))


@HANDLERS.on(User.Enabled)
def _enabled(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(f"UPDATE {t.users} SET status = 'active' WHERE id = %s", (e.originator_id,))


@HANDLERS.on(Invitation.Issued)
def _issued(curs: Cursor[Any], t: Tables, e: Any) -> None:
    curs.execute(
        f"UPDATE {t.users} SET invited_at = %s, invitation_expires_at = %s WHERE id = %s",
        (e.timestamp, e.expires_at, e.user_id),
    )
