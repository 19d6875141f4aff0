"""The mail outbox: mails written exactly once from recorded events, sent afterwards.

Three tables:
- `invitation_tokens` (and `password_reset_tokens`): an invitation's (a reset
  link's) one-time token, written by the command service's recorder
  (`InvitationTokenRecorder`) beside the `Invitation.Issued` (`PasswordReset.Asked`)
  event, in the same transaction; never in an event;
- `mail_outbox`: one row per mail, keyed by the position of the event that called
  for it (the idempotency key). The follower (`MailOutbox.process_batch`) writes
  the rows, takes the tokens it used and records its tracking position in one
  transaction, so a crash neither loses a mail nor writes one twice;
- the follower's tracking table (`mail_tracking`).

A sender claims one due row at a time (`due_mail`, a row lock that other
processes skip), sends it and marks it sent in the same transaction. A crash
between the mail leaving and the mark committing sends that one mail again; a
failure to send puts the row back with a later `next_attempt_at`, so one mail
that cannot go never holds up the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from psycopg import Cursor
from psycopg.sql import SQL

from projections.faults import FaultLog, TracksStuckEvents, describe
from projections.mail_texts import Mail
from projections.mails import MailReactions
from projections.tables import Tables

log = logging.getLogger(__name__)

TRACKING_TABLE = "mail_tracking"


class InvitationTokenRecorder(PostgresApplicationRecorder):
    """The command service's recorder: `save(..., invitation_tokens={invitation id: token})`
    writes each token beside the events, in their transaction; `reset_tokens={reset id:
    token}` likewise for password-reset links."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        tables = Tables(datastore.schema)
        self.sql_create_statements.append(SQL(tables.invitation_tokens_ddl()))  # type: ignore[arg-type]
        self.sql_create_statements.append(SQL(tables.reset_tokens_ddl()))  # type: ignore[arg-type]
        self._insert_token = {
            "invitation_tokens": f"INSERT INTO {tables.invitation_tokens}"
            " (invitation_id, token) VALUES (%s, %s)",
            "reset_tokens": f"INSERT INTO {tables.reset_tokens} (reset_id, token) VALUES (%s, %s)",
        }

    def _insert_events(
        self, curs: Cursor[Any], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        for name, insert in self._insert_token.items():
            tokens: dict[UUID, str] = kwargs.get(name) or {}
            for aggregate_id, token in tokens.items():
                curs.execute(insert, (aggregate_id, token))
        super()._insert_events(curs, stored_events, **kwargs)


@dataclass
class DueMail:
    """A claimed outbox row; `sent` or `failed` settles it in the claim's transaction."""

    position: int
    mail: Mail
    attempts: int
    _curs: Cursor[Any]
    _table: str

    def sent(self) -> None:
        # The body goes: an invitation's holds its one-time link.
        self._curs.execute(
            f"UPDATE {self._table} SET sent_at = now(), body = NULL,"
            " attempts = attempts + 1, last_error = NULL WHERE position = %s",
            (self.position,),
        )

    def failed(self, error: BaseException, retry_in_seconds: float) -> None:
        self._curs.execute(
            f"UPDATE {self._table} SET attempts = attempts + 1, last_error = %s,"
            " next_attempt_at = now() + make_interval(secs => %s) WHERE position = %s",
            (describe(error), retry_in_seconds, self.position),
        )


class MailOutbox(TracksStuckEvents):
    """The outbox and its follower's tracking; `on_written` is called after new rows commit."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        reactions: MailReactions,
        log_end: Callable[[], int | None],
        **kwargs: Any,
    ):
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE, **kwargs)
        self.tables = Tables(datastore.schema)
        self.faults = FaultLog(datastore, self.tables)
        self.reactions = reactions
        self.log_end = log_end
        self.on_written: Callable[[], None] = lambda: None
        ddl = self.tables.mail_ddl()
        self.sql_create_statements.extend(SQL(statement) for statement in ddl)  # type: ignore[misc]

    def create_table(self) -> None:
        """Where the outbox is new on a store that has events, mails begin after them: an
        upgrade does not mail the whole history again."""
        with self.datastore.get_connection() as conn:
            row = conn.execute("SELECT to_regclass(%s) AS t", (self.tables.mail_outbox,)).fetchone()
        existed = row is not None and row["t"] is not None
        super().create_table()
        end = None if existed else self.log_end()
        if end:
            with self.datastore.transaction(commit=True) as curs:
                self._insert_tracking(curs, Tracking(self.application_name, end))
                curs.execute(f"DELETE FROM {self.tables.invitation_tokens}")
                curs.execute(f"DELETE FROM {self.tables.reset_tokens}")
            log.info("mail outbox created: mails begin after event %d", end)

    def position(self) -> int | None:
        return self.max_tracking_id(self.application_name)

    # --- the follower's side -----------------------------------------------------------------

    def process_batch(self, batch: list[tuple[Any, Tracking]]) -> None:
        """The mails these events call for, and the position, in one transaction."""
        try:
            written = self._write(batch)
        except IntegrityError:
            position = batch[-1][1].notification_id
            if len(batch) > 1 or not self.has_tracking_id(self.application_name, position):
                raise
            log.info("event %d was already taken into the mail outbox; skipped", position)
            return
        if written:
            self.on_written()

    def _write(self, batch: list[tuple[Any, Tracking]]) -> int:
        written = 0
        with self.datastore.transaction(commit=True) as curs:
            for event, tracking in batch:
                mail = self.reactions.mail_for(curs, event)
                if mail is None:
                    continue
                curs.execute(
                    f"INSERT INTO {self.tables.mail_outbox}"
                    " (position, recipient, subject, body) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (position) DO NOTHING",
                    (tracking.notification_id, mail.to, mail.subject, mail.body),
                )
                written += 1
            self._insert_tracking(curs, batch[-1][1])
        return written

    # --- the sender's side -------------------------------------------------------------------

    @contextmanager
    def due_mail(self) -> Iterator[DueMail | None]:
        """The next mail due, locked until the block ends (other senders skip it)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "SELECT position, recipient, subject, body, attempts"
                f" FROM {self.tables.mail_outbox}"
                " WHERE sent_at IS NULL AND next_attempt_at <= now()"
                " ORDER BY next_attempt_at, position LIMIT 1 FOR UPDATE SKIP LOCKED"
            )
            row = curs.fetchone()
            if row is None:
                yield None
                return
            mail = Mail(row["recipient"], row["subject"], row["body"] or "")
            yield DueMail(row["position"], mail, row["attempts"], curs, self.tables.mail_outbox)

    def seconds_until_due(self) -> float | None:
        """How long until the next unsent mail is due (0 if one is now); None if none waits."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM min(next_attempt_at) - now()) AS s"
                f" FROM {self.tables.mail_outbox} WHERE sent_at IS NULL"
            ).fetchone()
        seconds = None if row is None else row["s"]
        return None if seconds is None else max(float(seconds), 0.0)

    def failing(self) -> int:
        """Mails not sent although tried (the SMTP server refused them or did not answer)."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                f"SELECT count(*) AS n FROM {self.tables.mail_outbox}"
                " WHERE sent_at IS NULL AND attempts > 0"
            ).fetchone()
        return int(row["n"]) if row else 0

    def mails(self) -> list[dict[str, Any]]:
        """Every row, oldest first: what was mailed to whom, and what still waits."""
        with self.datastore.get_connection() as conn:
            return list(
                conn.execute(
                    "SELECT position, recipient, subject, body, created_at, attempts,"
                    " next_attempt_at, last_error, sent_at"
                    f" FROM {self.tables.mail_outbox} ORDER BY position"
                ).fetchall()
            )
