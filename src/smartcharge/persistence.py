"""The eventsourcing library's PostgreSQL persistence, with pools that ride out an outage.

psycopg_pool, as the library configures it, behaves badly when the database goes
away for a while:

- every caller waits the pool's whole timeout for a connection that cannot come,
  and the library retries most operations ten times, so a command in flight took
  some 50 s to fail instead of answering 503 at once;
- failed connection attempts are retried with exponential backoff for five minutes,
  so after an outage of a minute the service stayed down for another minute.

`ResilientPool` waits only briefly while the last connection attempt failed, and
gives up a failing attempt soon, so that the next caller tries again at once.
`PostgresFactory` is the library's factory with that pool; the environment names it
in PERSISTENCE_MODULE (see `Database.eventsourcing_env`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from eventsourcing import postgres
from eventsourcing.utils import Environment, EnvType

from projections.mail_outbox import InvitationTokenRecorder

UNREACHABLE_WAIT_SECONDS = 0.25  # how long a caller waits for a database that is down
RECONNECT_SECONDS = 1.0  # how long the pool keeps retrying one failed connection attempt


class ResilientPool(postgres.ConnectionPool[Any]):
    database_unreachable = False  # set by a failed connection attempt, cleared by a success

    def _connect(self, timeout: float | None = None) -> Any:
        try:
            conn = super()._connect(timeout=timeout)
        except psycopg.OperationalError:
            self.database_unreachable = True
            raise
        self.database_unreachable = False
        return conn

    def getconn(self, timeout: float | None = None) -> Any:
        if self.database_unreachable:
            timeout = min(self.timeout if timeout is None else timeout, UNREACHABLE_WAIT_SECONDS)
        return super().getconn(timeout)


def resilient_pool(datastore: postgres.PostgresDatastore) -> ResilientPool:
    """A pool like the datastore's own (not yet opened), made resilient."""
    pool = datastore.pool
    return ResilientPool(
        get_password_func=pool.get_password_func,
        connection_class=pool.connection_class,
        kwargs=pool.kwargs,
        min_size=pool.min_size,
        max_size=pool.max_size,
        open=False,
        configure=datastore.after_connect_func(),
        timeout=pool.timeout,
        max_waiting=pool.max_waiting,
        max_lifetime=pool.max_lifetime,
        check=ResilientPool.check_connection if datastore.pre_ping else None,
        reconnect_timeout=RECONNECT_SECONDS,
    )


class PostgresFactory(postgres.PostgresFactory):
    # Keeps an invitation's one-time token beside its events, for the invitation mail.
    application_recorder_class = InvitationTokenRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        self.datastore.pool = resilient_pool(self.datastore)
