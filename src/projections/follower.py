"""Following the event store: PostgreSQL LISTEN/NOTIFY, handed on in batches, one bad event never
stopping the rest.

One thread reads the application's notification log (the library's recorder
subscription, pushed by NOTIFY) and queues what arrives; another turns each
notification into its domain event and gives everything queued to
`handle_batch`. Under load a batch holds many events, so a read model commits
once for all of them; when idle, a batch is one event and arrives as soon as it
is committed.

Two kinds of failure are told apart:
- the database going away (an operational error): the follower starts again
  from `resume_position()` after a pause, so the service recovers by itself;
- an event its handler cannot process, or that cannot even be read: that event
  is *stuck*. The batch is tried again event by event, the one that fails on
  its own is handed to `on_stuck` (which records it and moves the position past
  it), it is logged once, and the follower goes on with the next event.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import InterfaceError, Notification, OperationalError, Tracking
from psycopg.sql import SQL, Identifier

log = logging.getLogger(__name__)

Batch = list[tuple[Any, Tracking]]
MAX_BATCH = 500
RESTART_PAUSE_SECONDS = 1.0
LAG_COUNT_LIMIT = 100_000  # beyond this a follower is "far behind"; counting further costs

# Failures that say "the database is not there now", never "this event is bad".
OUTAGES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class StuckEvent:
    """An event a follower could not process, as it is recorded and shown."""

    follower: str
    position: int
    topic: str
    originator_id: UUID | None
    error: BaseException


OnStuck = Callable[[StuckEvent], None]


@dataclass(frozen=True)
class FollowerStatus:
    name: str
    state: str  # starting, following, failing, stopped
    position: int | None
    last_error: str | None


class EventFollower:
    def __init__(
        self,
        app: Application[Any],
        handle_batch: Callable[[Batch], None],
        resume_position: Callable[[], int | None],
        *,
        on_stuck: OnStuck,
        topics: Sequence[str] = (),
        name: str = "follower",
        wanted: Callable[[Notification], bool] | None = None,
    ):
        """`wanted` says from a notification's topic and originator, before it is decoded,
        whether `handle_batch` gets it (None: all): decoding is most of what following
        costs, and a follower may care for a few aggregates' events of a common kind."""
        self.app = app
        self.wanted = wanted
        self.handle_batch = handle_batch
        self.resume_position = resume_position
        self.on_stuck = on_stuck
        self.topics = list(topics)
        self.name = name
        self.position: int | None = None
        self.state = "starting"
        self.last_error: str | None = None
        self._stopping = threading.Event()
        self._subscription: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._supervise, name=name, daemon=True)

    def start(self) -> EventFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        if self._thread.ident is not None:
            self._thread.join(timeout=10)
        self.state = "stopped"

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stopping.is_set()

    def status(self) -> FollowerStatus:
        state = self.state if self.running or self.state == "starting" else "stopped"
        return FollowerStatus(self.name, state, self.position, self.last_error)

    def lag(self) -> int:
        """How many events of the kinds it follows are recorded after its position."""
        recorder: Any = self.app.recorder
        query = SQL("SELECT count(*) FROM (SELECT 1 FROM {}.{} WHERE notification_id > %s").format(
            Identifier(recorder.datastore.schema),
            Identifier(recorder.events_table_name),
        )
        params: list[Any] = [self.position or 0]
        if self.topics:
            query += SQL(" AND topic = ANY(%s)")
            params.append(self.topics)
        query += SQL(" LIMIT %s) AS behind")
        params.append(LAG_COUNT_LIMIT)
        with recorder.datastore.get_connection() as conn:
            row = conn.execute(query, params).fetchone()
        return int(row["count"] if isinstance(row, dict) else row[0])

    # --- supervision: start again after an outage ------------------------------------------

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._follow()
                failures = 0
            except Exception as error:
                if self._stopping.is_set():
                    return
                self.state = "failing"
                self.last_error = f"{type(error).__name__}: {error}"[:500]
                if failures == 0:
                    log.exception("%s lost the event store; starting again", self.name)
                else:  # one traceback per outage is enough
                    log.warning("%s still cannot follow the event store: %s", self.name, error)
                failures += 1
                self._stopping.wait(RESTART_PAUSE_SECONDS)

    def _follow(self) -> None:
        arrived: queue.Queue[Notification | None] = queue.Queue()
        self.position = self.resume_position()
        subscription = self.app.recorder.subscribe(gt=self.position, topics=self.topics)
        with subscription:
            self._subscription = subscription
            if self._stopping.is_set():
                return
            self.state = "following"
            reader = threading.Thread(
                target=self._read, args=(subscription, arrived), name=f"{self.name}-reader"
            )
            reader.start()
            try:
                self._process(arrived)
            finally:
                subscription.stop()
                reader.join(timeout=10)
        if self._error is not None:
            raise self._error

    def _read(self, subscription: Any, arrived: queue.Queue[Notification | None]) -> None:
        self._error = None
        try:
            for notification in subscription:
                arrived.put(notification)
        except BaseException as error:
            self._error = error
        finally:
            arrived.put(None)  # tells the processor this subscription ended

    def _process(self, arrived: queue.Queue[Notification | None]) -> None:
        while True:
            first = arrived.get()
            if first is None:
                return
            notifications = [first]
            ended = False
            while len(notifications) < MAX_BATCH:
                try:
                    item = arrived.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    ended = True
                    break
                notifications.append(item)
            self._handle(notifications)
            if ended:
                return

    # --- one batch, isolating what cannot be processed -------------------------------------

    def _handle(self, notifications: list[Notification]) -> None:
        """Decode and deliver in order; an event that cannot be read is stuck where it stands,
        one not wanted is passed over."""
        batch: Batch = []
        for notification in notifications:
            if self.wanted is not None and not self._wanted(notification):
                continue
            try:
                event = self.app.mapper.to_domain_event(notification)
            except Exception as error:
                self._deliver(batch)
                batch = []
                self._stuck(notification, error)
                continue
            batch.append((event, Tracking(self.app.name, notification.id)))
        self._deliver(batch)
        self.position = max(self.position or 0, notifications[-1].id)  # past those passed over

    def _wanted(self, notification: Notification) -> bool:
        assert self.wanted is not None
        try:
            return self.wanted(notification)
        except Exception:  # a question that fails must not lose the event: it is decoded
            log.exception(
                "%s: could not tell whether event %d is wanted", self.name, notification.id
            )
            return True

    def _deliver(self, batch: Batch) -> None:
        if not batch:
            return
        try:
            self.handle_batch(batch)
        except OUTAGES:
            raise
        except Exception as error:
            if len(batch) > 1:
                for item in batch:  # find the one that fails on its own
                    self._deliver([item])
                return
            self._database_answers()
            event, tracking = batch[0]
            self._stuck(event, error, tracking.notification_id)
            return
        self.position = batch[-1][1].notification_id

    def _stuck(self, event: Any, error: BaseException, position: int | None = None) -> None:
        if isinstance(event, Notification):
            position, topic = event.id, event.topic
        else:
            topic = f"{type(event).__module__}:{type(event).__qualname__}"
        assert position is not None
        originator = getattr(event, "originator_id", None)
        stuck = StuckEvent(
            self.name, position, topic, originator if isinstance(originator, UUID) else None, error
        )
        log.error(
            "%s could not process event %d (%s); recorded as stuck, going on",
            self.name,
            position,
            topic,
            exc_info=error,
        )
        self.on_stuck(stuck)
        self.position = position

    def _database_answers(self) -> None:
        """A failure while the database is going away is an outage, not a bad event:
        raise it as one, so the follower starts again instead of skipping the event."""
        try:
            with self.app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
                conn.execute("SELECT 1")
        except Exception as error:
            raise OperationalError(f"the database does not answer: {error}") from error
