"""What the followers of the event store could not do, kept where operators and /healthz see it.

A *stuck event* is one that a follower (the read models, the scheduler, the
gateway) could not process: it is recorded here with the follower's name, its
position and the error, and the follower goes on with the next one. An
operator marks it handled once looked into.

A *group fault* is the scheduler failing to work out one group's profiles: it
is recorded on that group (its page shows it), retried later, and cleared by
the next computation of that group that succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import dict_row

from domain.service import SmartCharging
from domain.values import clean_text
from projections.follower import StuckEvent
from projections.tables import Tables

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000


def describe(error: BaseException) -> str:
    """An error as an operator reads it: its kind and message, cleaned and capped."""
    return clean_text(f"{type(error).__name__}: {error}", MAX_ERROR_LENGTH)


class FaultLog:
    """Records and reads stuck events and group faults; every method is one short transaction."""

    def __init__(self, datastore: PostgresDatastore, tables: Tables):
        self.datastore = datastore
        self.tables = tables

    # --- stuck events ------------------------------------------------------------------------

    def record_stuck(self, curs: Cursor[Any], stuck: StuckEvent) -> None:
        """In the caller's transaction, so a follower that tracks its position in the
        database commits "skipped" and "moved on" together."""
        curs.execute(
            f"INSERT INTO {self.tables.stuck_events}"
            " (follower, position, topic, originator_id, error) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (follower, position) DO UPDATE SET error = EXCLUDED.error",
            (
                stuck.follower,
                stuck.position,
                clean_text(stuck.topic, 500),
                stuck.originator_id,
                describe(stuck.error),
            ),
        )

    def stuck(self, stuck: StuckEvent) -> None:
        """For a follower that keeps its position itself (the scheduler, the gateway)."""
        with self.datastore.transaction(commit=True) as curs:
            self.record_stuck(curs, stuck)

    def open_stuck_events(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._rows(
            f"SELECT follower, position, topic, originator_id, error, recorded_at"
            f" FROM {self.tables.stuck_events} WHERE handled_at IS NULL"
            " ORDER BY recorded_at DESC, position DESC LIMIT %s",
            (limit,),
        )

    def stuck_counts(self) -> dict[str, int]:
        """Open stuck events per follower."""
        rows = self._rows(
            f"SELECT follower, count(*) AS n FROM {self.tables.stuck_events}"
            " WHERE handled_at IS NULL GROUP BY follower",
            (),
        )
        return {row["follower"]: int(row["n"]) for row in rows}

    def mark_handled(self, follower: str, position: int, by: UUID, at: datetime) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"UPDATE {self.tables.stuck_events} SET handled_at = %s, handled_by = %s"
                " WHERE follower = %s AND position = %s AND handled_at IS NULL",
                (at, by, follower, position),
            )
            return curs.rowcount == 1

    # --- group faults ------------------------------------------------------------------------

    def group_failed(self, group_id: UUID, reason: str, error: BaseException) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"INSERT INTO {self.tables.group_faults} (group_id, error, reason)"
                " VALUES (%s, %s, %s) ON CONFLICT (group_id) DO UPDATE SET"
                " error = EXCLUDED.error, reason = EXCLUDED.reason, last_at = now(),"
                f" attempts = {self.tables.group_faults}.attempts + 1",
                (group_id, describe(error), clean_text(reason, 200)),
            )

    def group_recovered(self, group_id: UUID) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"DELETE FROM {self.tables.group_faults} WHERE group_id = %s", (group_id,))

    def failing_groups(self) -> set[UUID]:
        rows = self._rows(f"SELECT group_id FROM {self.tables.group_faults}", ())
        return {row["group_id"] for row in rows}

    def group_fault(self, group_id: UUID) -> dict[str, Any] | None:
        rows = self._rows(
            f"SELECT group_id, error, reason, first_at, last_at, attempts"
            f" FROM {self.tables.group_faults} WHERE group_id = %s",
            (group_id,),
        )
        return rows[0] if rows else None

    def group_faults(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._rows(
            f"SELECT f.group_id, g.name, f.error, f.reason, f.first_at, f.last_at, f.attempts"
            f" FROM {self.tables.group_faults} f LEFT JOIN {self.tables.groups} g"
            " ON g.id = f.group_id ORDER BY f.first_at DESC LIMIT %s",
            (limit,),
        )

    def open_count(self) -> int:
        """Everything an operator should look at: open stuck events and failing groups."""
        rows = self._rows(
            f"SELECT (SELECT count(*) FROM {self.tables.stuck_events} WHERE handled_at IS NULL)"
            f" + (SELECT count(*) FROM {self.tables.group_faults}) AS n",
            (),
        )
        return int(rows[0]["n"])

    def _rows(self, query: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=dict_row) as curs:
            curs.execute(query, params)  # type: ignore[arg-type]
            return list(curs.fetchall())


class TracksStuckEvents(PostgresTrackingRecorder):
    """A follower that tracks its position in the database (the read models, the mail
    outbox): a stuck event is recorded and passed in one transaction, so a restart
    neither tries it again nor loses the events after it."""

    faults: FaultLog
    application_name = SmartCharging.name  # whose events are followed

    def record_stuck(self, stuck: StuckEvent) -> None:
        try:
            with self.datastore.transaction(commit=True) as curs:
                self.faults.record_stuck(curs, stuck)
                self._insert_tracking(curs, Tracking(self.application_name, stuck.position))
        except IntegrityError:  # already passed, by another process of ours
            if not self.has_tracking_id(self.application_name, stuck.position):
                raise
