"""Following the event store: the library's LISTEN/NOTIFY subscription, handed on in batches.

One thread iterates the application subscription (pushed by PostgreSQL
NOTIFY) and queues what arrives; another takes everything queued at once and
gives it to `handle_batch`. Under load a batch holds many events, so a read
model commits once for all of them instead of once per event; when idle, a
batch is one event and arrives as soon as it is committed.

If the database goes away, the follower starts again from `resume_position()`
after a pause, so the service recovers by itself when the database is back.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from eventsourcing.projection import ApplicationSubscription

log = logging.getLogger(__name__)

Batch = list[tuple[Any, Tracking]]
MAX_BATCH = 500
RESTART_PAUSE_SECONDS = 1.0


class EventFollower:
    def __init__(
        self,
        app: Application[Any],
        handle_batch: Callable[[Batch], None],
        resume_position: Callable[[], int | None],
        *,
        topics: Sequence[str] = (),
        name: str = "follower",
    ):
        self.app = app
        self.handle_batch = handle_batch
        self.resume_position = resume_position
        self.topics = list(topics)
        self.name = name
        self._stopping = threading.Event()
        self._subscription: ApplicationSubscription[Any] | None = None
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

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stopping.is_set()

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._follow()
                failures = 0
            except Exception as error:
                if self._stopping.is_set():
                    return
                if failures == 0:
                    log.exception("%s lost the event store; starting again", self.name)
                else:  # one traceback per outage is enough
                    log.warning("%s still cannot follow the event store: %s", self.name, error)
                failures += 1
                self._stopping.wait(RESTART_PAUSE_SECONDS)

    def _follow(self) -> None:
        arrived: queue.Queue[tuple[Any, Tracking] | None] = queue.Queue()
        position = self.resume_position()
        with ApplicationSubscription(self.app, gt=position, topics=self.topics) as subscription:
            self._subscription = subscription
            if self._stopping.is_set():
                return
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

    _error: BaseException | None = None

    def _read(self, subscription: ApplicationSubscription[Any], arrived: queue.Queue[Any]) -> None:
        self._error = None
        try:
            for item in subscription:
                arrived.put(item)
        except BaseException as error:
            self._error = error
        finally:
            arrived.put(None)  # tells the processor this subscription ended

    def _process(self, arrived: queue.Queue[tuple[Any, Tracking] | None]) -> None:
        while True:
            first = arrived.get()
            if first is None:
                return
            batch: Batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = arrived.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.handle_batch(batch)
                    return
                batch.append(item)
            self.handle_batch(batch)
