"""A storage for the `limits` library in PostgreSQL, our only store.

`limits` keeps its counters in memory, Redis, Memcached or MongoDB. In memory they are
one process's and gone after a restart: an attacker then guesses again at full speed, or
spreads his guesses over the API processes. This storage keeps them in two tables
(projections/tables.py, `rate_limit_ddl`) that every API process on the database shares.
It implements the library's `Storage` and `MovingWindowSupport` as its documentation
describes for a custom storage, registered with the scheme `smartcharge+postgresql`:

    storage_from_string("smartcharge+postgresql://user@/db?host=/run/pg", schema="public")

Hits on one key are serialised with a transaction-scoped advisory lock, so two processes
cannot both take the last entry of a window. Beyond the library's interface it can take a
hit back (`release_entry`) and keep a queue of turns (`take_turn`): the login throttle
counts an attempt before checking it, and spaces the attempts on a guessed account.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlencode

import psycopg
from limits.storage import MovingWindowSupport, Storage
from psycopg_pool import ConnectionPool

from projections.tables import Tables
from smartcharge.database import Database

SCHEME = "smartcharge+postgresql"
# The first half of the two-number advisory lock of a key ("RL"): the scheduler's leader
# lock uses the one-number form, which PostgreSQL keeps apart from this one.
_LOCK_CLASS = 0x524C
# Expired rows of keys that are never hit again are swept now and then, not on every hit.
_SWEEP_EVERY = 200
# Seconds since the epoch as doubles are exact to about 0.2 µs: a turn exactly `horizon`
# away must not be refused for the rounding of `now + spacing - now`.
_ROUNDING = 1e-3


def limits_uri(database: Database) -> str:
    """The storage's URI for a database (its host may be a socket folder)."""
    query = {"host": database.host, "port": str(database.port), "connect_timeout": "5"}
    user = quote(database.user, safe="")
    password = f":{quote(database.password, safe='')}" if database.password else ""
    return f"{SCHEME}://{user}{password}@/{quote(database.dbname)}?{urlencode(query)}"


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)


class PostgresLimitsStorage(Storage, MovingWindowSupport):
    """Moving-window hits and fixed-window counters of `limits`, in PostgreSQL."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (the library's own declaration)

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        *,
        schema: str = "public",
        pool_size: int = 4,
        clock: Callable[[], float] = time.time,
        **options: float | str | bool,
    ):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.tables = Tables(schema)
        self.clock = clock
        # A connection is checked before use (a database restart leaves broken ones), and a
        # request waits at most 2 s for one: during an outage a login answers 503 quickly.
        self._pool = ConnectionPool(
            uri.removeprefix("smartcharge+"),
            min_size=1,
            max_size=pool_size,
            open=True,
            timeout=2.0,
            check=ConnectionPool.check_connection,
        )
        self._hits_since_sweep = 0
        self._sweep_lock = threading.Lock()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return psycopg.Error

    def create_tables(self) -> None:
        with self._transaction() as curs:
            for statement in self.tables.rate_limit_ddl():
                curs.execute(statement)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[tuple[object, ...]]]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as curs:
            yield curs

    # --- the moving window: one row per hit ----------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        hits = self.tables.rate_limit_hits
        with self._transaction() as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _lock_id(key)))
            curs.execute(f"DELETE FROM {hits} WHERE key = %s AND at <= %s", (key, now - expiry))
            curs.execute(f"SELECT count(*) FROM {hits} WHERE key = %s", (key,))
            taken = _first(curs.fetchone())
            if taken + amount > limit:
                return False
            curs.executemany(
                f"INSERT INTO {hits} (key, at, expires_at) VALUES (%s, %s, %s)",
                [(key, now, now + expiry)] * amount,
            )
        self._sweep_now_and_then()
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest hit in the window, the hits in it); (now, 0) when there are none."""
        now = self.clock()
        with self._transaction() as curs:
            curs.execute(
                f"SELECT min(at), count(*) FROM {self.tables.rate_limit_hits}"
                " WHERE key = %s AND at > %s",
                (key, now - expiry),
            )
            row = curs.fetchone()
        if row is None or row[0] is None:
            return now, 0
        return float(row[0]), int(row[1])  # type: ignore[arg-type, call-overload]

    def release_entry(self, key: str, amount: int = 1) -> None:
        """Take back the latest `amount` hits of a key: what `acquire_entry` counted for an
        attempt that turned out not to count (the library has no way to take a hit back)."""
        hits = self.tables.rate_limit_hits
        with self._transaction() as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _lock_id(key)))
            curs.execute(
                f"DELETE FROM {hits} WHERE ctid IN"
                f" (SELECT ctid FROM {hits} WHERE key = %s ORDER BY at DESC LIMIT %s)",
                (key, amount),
            )

    def take_turn(self, key: str, spacing: float, horizon: float) -> float | None:
        """A turn in a queue: `spacing` seconds after the queue's latest turn, or after now
        if that has passed. The seconds from now until it, or None when that is more than
        `horizon` (then no turn is taken). The queue is one row of the counters' table whose
        `expires_at` is its latest turn: a queue left alone expires, and is swept, as any
        counter is."""
        now = self.clock()
        counters = self.tables.rate_limit_counters
        with self._transaction() as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _lock_id(key)))
            curs.execute(f"SELECT expires_at FROM {counters} WHERE key = %s", (key,))
            row = curs.fetchone()
            latest = float(row[0]) if row else now  # type: ignore[arg-type]
            turn = max(now, latest) + spacing
            if turn - now > horizon + _ROUNDING:
                return None
            curs.execute(
                f"INSERT INTO {counters} AS c (key, count, expires_at) VALUES (%s, 1, %s)"
                " ON CONFLICT (key) DO UPDATE SET count = c.count + 1,"
                " expires_at = excluded.expires_at",
                (key, turn),
            )
        return turn - now

    def keys_hit_since(self, prefix: str, since: float) -> set[str]:
        """The keys starting with `prefix` that have a hit after `since`: the OCPP gateways
        ask this once a second, instead of asking about every handshake."""
        with self._transaction() as curs:
            curs.execute(
                f"SELECT DISTINCT key FROM {self.tables.rate_limit_hits}"
                " WHERE at > %s AND starts_with(key, %s)",
                (since, prefix),
            )
            return {str(row[0]) for row in curs.fetchall()}

    def _sweep_now_and_then(self) -> None:
        with self._sweep_lock:
            self._hits_since_sweep += 1
            if self._hits_since_sweep < _SWEEP_EVERY:
                return
            self._hits_since_sweep = 0
        with self._transaction() as curs:
            now = self.clock()
            curs.execute(
                f"DELETE FROM {self.tables.rate_limit_hits} WHERE expires_at <= %s", (now,)
            )
            curs.execute(
                f"DELETE FROM {self.tables.rate_limit_counters} WHERE expires_at <= %s", (now,)
            )

    # --- fixed windows: one counter per key -----------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        counters = self.tables.rate_limit_counters
        with self._transaction() as curs:
            curs.execute(
                f"INSERT INTO {counters} AS c (key, count, expires_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (key) DO UPDATE SET"
                " count = CASE WHEN c.expires_at <= %s THEN excluded.count"
                " ELSE c.count + excluded.count END,"
                " expires_at = CASE WHEN c.expires_at <= %s THEN excluded.expires_at"
                " ELSE c.expires_at END"
                " RETURNING count",
                (key, amount, now + expiry, now, now),
            )
            return _first(curs.fetchone())

    def get(self, key: str) -> int:
        with self._transaction() as curs:
            curs.execute(
                f"SELECT count FROM {self.tables.rate_limit_counters}"
                " WHERE key = %s AND expires_at > %s",
                (key, self.clock()),
            )
            return _first(curs.fetchone())

    def get_expiry(self, key: str) -> float:
        now = self.clock()
        with self._transaction() as curs:
            curs.execute(
                f"SELECT expires_at FROM {self.tables.rate_limit_counters}"
                " WHERE key = %s AND expires_at > %s",
                (key, now),
            )
            row = curs.fetchone()
        return float(row[0]) if row else now  # type: ignore[arg-type]

    # --- housekeeping ---------------------------------------------------------------------

    def clear(self, key: str) -> None:
        with self._transaction() as curs:
            curs.execute(f"DELETE FROM {self.tables.rate_limit_hits} WHERE key = %s", (key,))
            curs.execute(f"DELETE FROM {self.tables.rate_limit_counters} WHERE key = %s", (key,))

    def reset(self) -> int | None:
        with self._transaction() as curs:
            curs.execute(f"DELETE FROM {self.tables.rate_limit_hits}")
            hits = curs.rowcount
            curs.execute(f"DELETE FROM {self.tables.rate_limit_counters}")
            return hits + curs.rowcount

    def check(self) -> bool:
        try:
            with self._transaction() as curs:
                curs.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True


def _first(row: tuple[object, ...] | None) -> int:
    return int(row[0]) if row and row[0] is not None else 0  # type: ignore[call-overload]
