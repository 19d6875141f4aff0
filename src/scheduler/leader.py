"""One scheduler leader at a time: whoever holds a PostgreSQL advisory lock.

The lock belongs to a session, so it is released the moment the holder's
connection ends, also when its process is killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

import psycopg

log = logging.getLogger(__name__)

SCHEDULER_LOCK_KEY = 0x5C4ED01E  # any fixed number, the same in every process


def lock_key_for(schema: str | None) -> int:
    """One leader per deployment: deployments in other schemas of the database get their own."""
    if not schema or schema == "public":
        return SCHEDULER_LOCK_KEY
    digest = hashlib.sha256(schema.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock:
    def __init__(self, conninfo: str, key: int = SCHEDULER_LOCK_KEY):
        self.conninfo = conninfo
        self.key = key
        self._conn: psycopg.Connection | None = None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits."""
        if self.held():
            return True
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
        except psycopg.Error as error:
            log.warning("cannot reach the database for the leader lock: %s", error)
            return False
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if row and row[0]:
            self._conn = conn
            return True
        conn.close()
        return False

    def held(self) -> bool:
        """Whether we still hold it: a lost connection means a lost lock."""
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            self._conn.close()
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):  # a lost connection has released it already
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._conn.close()
            self._conn = None
