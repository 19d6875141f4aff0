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
`ApplicationRecorder` tries an operation again only while that can help: a pooled
connection the server closed is replaced by the next one at once, but once the pool
has found the database unreachable the error is raised, so that a command in flight
answers 503 instead of sleeping through the library's ten attempts (4-9 s of them).
Its subscriptions (`ListeningSubscription`) listen before they first read, so a
follower that starts while events are being recorded misses none of them. Each commit's
notification names the kinds (topics) of events it recorded, and a subscription to a few
kinds reads only after a commit that recorded one of them (`notified_topics`).
`PostgresFactory` is the library's factory with that pool and recorder; the
environment names it in PERSISTENCE_MODULE (see `Database.eventsourcing_env`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing import postgres
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    StoredEvent,
    Subscription,
)
from eventsourcing.utils import Environment, EnvType
from psycopg.sql import SQL, Identifier
from psycopg_pool import PoolTimeout

from projections.mail_outbox import InvitationTokenRecorder

# PostgreSQL refuses a notification payload of 8,000 bytes or more ("NOTIFY"); a commit
# of more kinds than fit says nothing of them, and every subscription reads after it.
MAX_TOPICS_PAYLOAD = 7_000
TOPIC_SEPARATOR = " "  # a topic is a module path and a class name: no spaces

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
        """A connection within `timeout`, waited for in short turns: a caller that began
        waiting while the database was up stops as soon as an attempt finds it down,
        instead of waiting out the whole timeout for a connection that cannot come."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            turn = min(deadline - time.monotonic(), UNREACHABLE_WAIT_SECONDS)
            try:
                return super().getconn(max(turn, 0.0))
            except PoolTimeout:
                if self.database_unreachable or time.monotonic() >= deadline:
                    raise


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


def _tried_while_it_helps(name: str) -> Callable[..., Any]:
    """The library's recorder method `name` without its fixed retries (ten, 0.2 s apart):
    tried again at once after a broken connection, for at most as many connections as
    the pool holds, and not at all once the pool found the database unreachable."""
    once = getattr(postgres.PostgresApplicationRecorder, name).__wrapped__

    def method(self: postgres.PostgresApplicationRecorder, *args: Any, **kwargs: Any) -> Any:
        pool = self.datastore.pool
        failed = 0
        while True:
            try:
                return once(self, *args, **kwargs)
            except (InterfaceError, OperationalError):
                failed += 1
                if getattr(pool, "database_unreachable", False) or failed > pool.max_size:
                    raise

    method.__name__ = name
    return method


def topics_payload(stored_events: Sequence[StoredEvent]) -> str:
    """What a commit's notification says: the kinds of events it recorded, each once, or
    nothing (any kind) when they do not fit."""
    payload = TOPIC_SEPARATOR.join(dict.fromkeys(event.topic for event in stored_events))
    return payload if len(payload.encode()) <= MAX_TOPICS_PAYLOAD else ""


def notified_topics(payload: str) -> frozenset[str] | None:
    """The kinds a commit's notification names; None when it names none (another writer,
    or too many to name), which may mean any."""
    return frozenset(payload.split(TOPIC_SEPARATOR)) if payload else None


class ListeningSubscription(postgres.PostgresSubscription):
    """The library's subscription, reading only once it listens, and only when a commit
    recorded events of its kinds.

    The library starts its first read (the pull thread) and its LISTEN (the listen
    thread) at the same time. An event committed after that read had looked but before
    LISTEN took effect was missed by both: too new for the read, and notified while
    nobody listened. The subscription then waited for the next commit, however long
    that took: read models started just before a command did not show it. PostgreSQL's
    rule (its documentation, "LISTEN") is to listen first, then read what is there,
    then rely on the notifications; here the first read waits for the LISTEN.

    The library reads after every commit, whatever it recorded: each of the followers of
    a few kinds (mail, gateway, scheduler) asked PostgreSQL, at every command, for events
    that were not there. A commit's notification names its kinds (`topics_payload`), and
    a subscription to some kinds reads only when one of them is named, or none is. Missing
    nothing still rests on the read itself, which takes everything after the position.
    """

    def __init__(
        self,
        recorder: postgres.PostgresApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        # Before the library's constructor, which starts the pull thread that waits on it.
        self._listening = threading.Event()
        self._wanted_topics = frozenset(topics)
        super().__init__(recorder, gt=gt, topics=topics)

    def concerns(self, payload: str) -> bool:
        """Whether the commit so notified may have recorded events of this subscription's
        kinds."""
        named = notified_topics(payload)
        return not self._wanted_topics or named is None or not named.isdisjoint(self._wanted_topics)

    def stop(self) -> None:
        super().stop()
        self._listening.set()  # a first read still waiting for LISTEN has no reason to

    def _loop_on_pull(self) -> None:
        self._listening.wait()
        super()._loop_on_pull()

    def _listen(self) -> None:
        """The library's `_listen` (eventsourcing 9.5), telling the first read once LISTEN
        is in effect: at once, the pool's connections being in autocommit mode."""
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name)))
                self._listening.set()
                while not self._has_been_stopped and not self._thread_error:
                    # At most 0.1 s per turn, so that a stopped subscription ends soon.
                    for notify in conn.notifies(timeout=0.1, stop_after=1):
                        if self.concerns(notify.payload):
                            self._has_been_notified.set()
        except BaseException as error:
            if self._thread_error is None:
                self._thread_error = error
            self.stop()
        finally:
            self._listening.set()


class ApplicationRecorder(InvitationTokenRecorder):
    insert_events = _tried_while_it_helps("insert_events")
    select_events = _tried_while_it_helps("select_events")
    select_notifications = _tried_while_it_helps("select_notifications")
    max_notification_id = _tried_while_it_helps("max_notification_id")

    def __init__(self, datastore: postgres.PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self._notified = threading.local()  # the payload of the NOTIFY being written
        self._select_events_after = (
            SQL(
                "SELECT e.originator_id, e.originator_version, e.topic, e.state"
                " FROM unnest(%s::uuid[], %s::bigint[]) AS known(id, version)"
                " JOIN {schema}.{table} e"
                " ON e.originator_id = known.id AND e.originator_version > known.version"
                " ORDER BY e.originator_id, e.originator_version"
            )
            .format(
                schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)
            )
            .as_string(None)
        )  # once: composing it cost as much as sending it
        # A follower of a few kinds (mail, gateway, scheduler) reads "the next events of
        # these topics after my position" at every commit. On the notification index alone
        # PostgreSQL walks every event after that position to find them, and the position
        # of a follower of rare kinds stays far back: while a fleet reconnected, each pull
        # walked all the storm's events so far, and the storm slowed as it went (from 45
        # chargers a second to 5). By topic, then position, it finds them directly.
        self.sql_create_statements.append(
            SQL(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (topic, notification_id)"
            ).format(
                index=Identifier(f"{self.events_table_name}_topic_position"),
                schema=Identifier(self.datastore.schema),
                table=Identifier(self.events_table_name),
            )
        )

    def _insert_stored_events(
        self, curs: psycopg.Cursor[Any], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        self._notified.payload = topics_payload(stored_events)
        super()._insert_stored_events(curs, stored_events, **kwargs)

    def _notify_channel(self, curs: psycopg.Cursor[Any]) -> None:
        """The library's NOTIFY, naming the kinds of events this transaction records."""
        curs.execute(
            "SELECT pg_notify(%s, %s)",
            (self.channel_name, getattr(self._notified, "payload", "")),
            prepare=True,
        )

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[postgres.ApplicationRecorder]:
        """New events after `gt`, none missed while the subscription starts."""
        return ListeningSubscription(self, gt=gt, topics=topics)

    def select_events_after(
        self, versions: Sequence[tuple[UUID, int]]
    ) -> dict[UUID, list[StoredEvent]]:
        """The events of many aggregates in one query: of each (id, version), its events
        after that version (0: all), in order; an aggregate with none is left out. The
        scheduler loads a few hundred groups' aggregates at once this way; one aggregate
        takes the library's query, which costs half as much (no arrays to send)."""
        found: dict[UUID, list[StoredEvent]] = {}
        if len(versions) == 1:
            ((aggregate_id, version),) = versions
            events = self.select_events(aggregate_id, gt=version or None)
            return {aggregate_id: events} if events else found
        if not versions:
            return found
        ids, after = [v[0] for v in versions], [v[1] for v in versions]
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(self._select_events_after, (ids, after), prepare=True)
            for row in cursor.fetchall():
                found.setdefault(row["originator_id"], []).append(
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                )
        return found


class PostgresFactory(postgres.PostgresFactory):
    # Keeps an invitation's one-time token beside its events, for the invitation mail.
    application_recorder_class = ApplicationRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        self.datastore.pool = resilient_pool(self.datastore)
