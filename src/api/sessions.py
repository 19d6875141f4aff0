"""Login sessions: one opaque token per login, for the browser's cookie or an API client's
bearer header. Only the token's hash is stored; logging out deletes it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore

from projections.tables import Tables


@dataclass(frozen=True)
class Session:
    user_id: UUID
    email: str
    role: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, datastore: PostgresDatastore, tables: Tables, lifetime: timedelta):
        self.datastore = datastore
        self.tables = tables
        self.table = f'"{tables.schema}".sessions'
        self.lifetime = lifetime

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                " token_hash text PRIMARY KEY, user_id uuid NOT NULL,"
                " created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL)"
            )
            curs.execute(f"CREATE INDEX IF NOT EXISTS sessions_user ON {self.table} (user_id)")

    def open(self, user_id: UUID, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s)",
                (_hash(token), user_id, now, now + self.lifetime),
            )
            curs.execute(f"DELETE FROM {self.table} WHERE expires_at < %s", (now,))
        return token

    def find(self, token: str, now: datetime) -> Session | None:
        """The session's user, if the token is current and the account is active."""
        if not token or len(token) > 200:
            return None
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                f"SELECT u.id, u.email, u.role FROM {self.table} s"
                f" JOIN {self.tables.users} u ON u.id = s.user_id"
                " WHERE s.token_hash = %s AND s.expires_at > %s AND u.status = 'active'",
                (_hash(token), now),
            ).fetchone()
        return Session(row["id"], row["email"], row["role"]) if row else None

    def close(self, token: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"DELETE FROM {self.table} WHERE token_hash = %s", (_hash(token),))

    def close_all(self, user_id: UUID, keep: str = "") -> None:
        """End the user's sessions, except the one whose token is `keep`."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"DELETE FROM {self.table} WHERE user_id = %s AND token_hash <> %s",
                (user_id, _hash(keep) if keep else ""),
            )
