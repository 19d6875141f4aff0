"""The read models' materialised view: rows and tracking position commit in one transaction.

An event already processed fails on the tracking row and its transaction is
rolled back, so each event changes the read models exactly once, and a
restarted projection resumes after the last committed position.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL

from projections import audit_log, charger_status, evses, faults, groups, users
from projections.follower import StuckEvent
from projections.tables import Tables

log = logging.getLogger(__name__)

HANDLER_TABLES = (users.HANDLERS, evses.HANDLERS, groups.HANDLERS, charger_status.HANDLERS)
# Names the read models' settings (READMODELS_POSTGRES_SCHEMA, ...) and tracking.
READ_MODELS_NAME = "ReadModels"
# How long read-your-writes trusts this process's own projection before it looks at
# the tracking table too (another process's projection may be ahead).
LOCAL_WAIT_SECONDS = 0.2


class ReadModelsView(faults.TracksStuckEvents):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.tables = Tables(datastore.schema)
        self.faults = faults.FaultLog(datastore, self.tables)
        ddl = self.tables.ddl()
        self.sql_create_statements.extend(SQL(statement) for statement in ddl)  # type: ignore[misc]
        self._position: int | None = None
        self._advanced = threading.Condition()

    def create_table(self) -> None:
        super().create_table()
        self._create_search_indexes()

    def _create_search_indexes(self) -> None:
        """The trigram indexes, each in a transaction of its own: where one cannot be made,
        the searches still work, by scanning."""
        for statement in self.tables.search_index_ddl():
            try:
                with self.datastore.transaction(commit=True) as curs:
                    curs.execute(statement)  # type: ignore[arg-type]
            except psycopg.Error as error:  # e.g. another process created it at the same time
                log.warning("search index not created (%s): searches will scan", error)

    def process(self, event: Any, tracking: Tracking) -> None:
        self.process_batch([(event, tracking)])

    def process_batch(self, batch: list[tuple[Any, Tracking]]) -> None:
        """Apply the events and record the last position, all in one transaction.

        If another runner got there first, the tracking insert fails and all rolls
        back; the follower then hands the events over one by one, and an event
        already projected is skipped here. Any other failure is the follower's to
        isolate (see `record_stuck`).
        """
        try:
            self._apply(batch)
        except IntegrityError:
            rest = self._not_yet_projected(batch)
            if len(rest) == len(batch):
                raise
            if rest:
                self.process_batch(rest)
                return
            log.debug(
                "events up to %d were already projected; skipped", batch[-1][1].notification_id
            )
        self._advanced_to(batch[-1][1].notification_id)

    def _not_yet_projected(self, batch: list[tuple[Any, Tracking]]) -> list[tuple[Any, Tracking]]:
        """Where several processes keep the read models, another one may have projected
        part of the batch first: passed over in one query, not event by event (which left
        this process's followers behind, and its callers waiting for their own writes)."""
        done = self.max_tracking_id(self.application_name) or 0
        return [(event, tracking) for event, tracking in batch if tracking.notification_id > done]

    def record_stuck(self, stuck: StuckEvent) -> None:
        super().record_stuck(stuck)
        self._advanced_to(stuck.position)

    def _apply(self, batch: list[tuple[Any, Tracking]]) -> None:
        """One transaction, its statements sent in a pipeline: the batch's updates and
        inserts go out together, and only a read waits for its answer (the tracking
        insert's, and an audit entry's that names a user or an EVSE; a group's old value
        is taken by the entry's INSERT itself). Sent one by one, each waited for the
        server and then for the interpreter lock, and the read models fell behind the
        commands they answer (read-your-writes waits for them)."""
        with (
            self.datastore.get_connection() as conn,
            conn.pipeline(),
            conn.transaction(),
            conn.cursor() as curs,
        ):
            for event, tracking in batch:
                audit_log.record(curs, self.tables, event, tracking.notification_id)
                for handlers in HANDLER_TABLES:
                    handler = handlers.get(type(event))
                    if handler is not None:
                        handler(curs, self.tables, event)
            self._insert_tracking(curs, batch[-1][1])

    def _advanced_to(self, position: int) -> None:
        with self._advanced:
            self._position = max(self._position or 0, position)
            self._advanced.notify_all()

    def wait_for(self, position: int | None, timeout: float = 2.0) -> bool:
        """Block until the read models have passed `position` (read-your-writes).

        Woken at once by a projection running in this process; otherwise polls
        the tracking table briefly. Returns False if the bound passed first.
        Once a projection here has advanced, it is waited for longer before polling,
        and polled less often: polling every few ms cost every command queries under
        load, for no earlier answer.
        """
        if position is None:
            return True
        deadline = time.monotonic() + timeout
        local = self._position is not None
        in_memory = min(timeout, LOCAL_WAIT_SECONDS if local else 0.05)
        with self._advanced:
            if self._advanced.wait_for(
                lambda: (self._position or 0) >= position, timeout=in_memory
            ):
                return True
        pause = LOCAL_WAIT_SECONDS if local else 0.005
        while time.monotonic() < deadline:
            if self.has_tracking_id(self.application_name, position):
                return True
            with self._advanced:
                if self._advanced.wait_for(
                    lambda: (self._position or 0) >= position, timeout=pause
                ):
                    return True
            pause = min(pause * 2, 0.1)
        return self.has_tracking_id(self.application_name, position)
