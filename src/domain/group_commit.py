"""Group commit: the events of every command waiting to be saved, in one transaction.

The event store keeps its notification log gapless and in commit order by locking its
table for each transaction, through the commit and its WAL flush (DESIGN.md, "Write
throughput"), so transactions run one after another, a few hundred a second. Throughput
comes from doing more per transaction: while one save is in flight, the commands that
arrive wait in a queue, and the next save takes them all.

No thread of its own: the first caller to find no save in flight writes the batch (its
own command and those queued), answers every caller in it, and hands the next batch to
the first caller still waiting. Each caller gets its own recordings, hence its own
notification position (read-your-writes).

Optimistic concurrency stays per command. Two commands of one batch that save the same
aggregate version cannot both win, so the later one is saved on its own after the batch;
a batch that fails on a version another process saved first is saved again command by
command, so that only the loser gets `IntegrityError` (and runs again on fresh state).
Values saved beside the events (`beside`, e.g. an invitation's token) reach the recorder
per command: dicts under the same name are merged, anything else is saved alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Recording

Event = DomainEventProtocol[UUID]
Put = Callable[..., list[Recording[UUID]]]  # EventStore.put(events, **beside)

MAX_BATCH_COMMANDS = 500  # keeps one transaction (and the lock it holds) short


class NotSaved(RuntimeError):
    """The save of a batch stopped before this command's outcome was known."""


@dataclass(eq=False)
class PendingSave:
    """One command's events, waiting for a batch; settled once, with recordings or an error."""

    events: Sequence[Event]
    beside: dict[str, Any]
    woken: threading.Event = field(default_factory=threading.Event)
    recordings: list[Recording[UUID]] | None = None
    error: BaseException | None = None

    @property
    def settled(self) -> bool:
        return self.recordings is not None or self.error is not None

    def succeed(self, recordings: list[Recording[UUID]]) -> None:
        self.recordings = recordings

    def fail(self, error: BaseException) -> None:
        self.error = error

    def outcome(self) -> list[Recording[UUID]]:
        if self.error is not None:
            raise self.error
        assert self.recordings is not None
        return self.recordings

    def versions(self) -> set[tuple[UUID, int]]:
        return {(e.originator_id, e.originator_version) for e in self.events}


class GroupCommit:
    def __init__(self, put: Put, max_batch: int = MAX_BATCH_COMMANDS):
        self._put = put
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[PendingSave] = []
        self._writing = False

    @property
    def waiting(self) -> int:
        """How many commands are queued for the next batch."""
        with self._lock:
            return len(self._queue)

    def save(self, events: Sequence[Event], beside: dict[str, Any]) -> list[Recording[UUID]]:
        """Record the events (with `beside`) in a batch; their recordings, or the error."""
        pending = PendingSave(events, beside)
        with self._lock:
            self._queue.append(pending)
            leading = not self._writing
            self._writing = True
        if not leading:
            pending.woken.wait()  # settled by a batch, or told to write the next one
        if not pending.settled:
            self._write_next_batch()
        return pending.outcome()

    def _write_next_batch(self) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            write_batch(self._put, batch)
        finally:
            for pending in batch:
                if not pending.settled:  # only when write_batch itself was interrupted
                    pending.fail(NotSaved("the save was interrupted; try again"))
                pending.woken.set()
            self._hand_over()

    def _hand_over(self) -> None:
        """The first caller still waiting writes the next batch; else nobody is writing."""
        with self._lock:
            if self._queue:
                self._queue[0].woken.set()
            else:
                self._writing = False


def write_batch(put: Put, batch: Sequence[PendingSave]) -> None:
    together, alone = share_a_transaction(batch)
    write_together(put, together)
    for pending in alone:
        write_alone(put, pending)


def share_a_transaction(
    batch: Iterable[PendingSave],
) -> tuple[list[PendingSave], list[PendingSave]]:
    """The commands that can be saved in one transaction, and those to save alone after it:
    one saving an aggregate version an earlier one saves too (one of the two must lose), or
    whose `beside` values cannot be merged with the earlier ones'."""
    together: list[PendingSave] = []
    alone: list[PendingSave] = []
    versions: set[tuple[UUID, int]] = set()
    beside: dict[str, Any] = {}
    for pending in batch:
        own = pending.versions()
        if own & versions or not mergeable(beside, pending.beside):
            alone.append(pending)
            continue
        together.append(pending)
        versions |= own
        beside = merged(beside, pending.beside)
    return together, alone


def mergeable(earlier: dict[str, Any], later: dict[str, Any]) -> bool:
    for name, value in later.items():
        if name not in earlier:
            continue
        kept = earlier[name]
        if not (isinstance(kept, dict) and isinstance(value, dict)) or kept.keys() & value.keys():
            return False
    return True


def merged(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    both = dict(earlier)
    for name, value in later.items():
        both[name] = {**both[name], **value} if name in both else value
    return both


def write_together(put: Put, together: Sequence[PendingSave]) -> None:
    if len(together) <= 1:
        for pending in together:
            write_alone(put, pending)
        return
    beside: dict[str, Any] = {}
    for pending in together:
        beside = merged(beside, pending.beside)
    try:
        recordings = put([event for pending in together for event in pending.events], **beside)
    except IntegrityError:
        # A version some other process saved first: each again on its own, so that only
        # the command that lost the race is refused (and runs again on fresh state).
        for pending in together:
            write_alone(put, pending)
        return
    except Exception as error:  # e.g. the database went away: every caller hears of it
        for pending in together:
            pending.fail(error)
        return
    hand_out(recordings, together)


def hand_out(recordings: list[Recording[UUID]], together: Sequence[PendingSave]) -> None:
    """Each command its own recordings: the batch's are in the order of its events."""
    start = 0
    for pending in together:
        end = start + len(pending.events)
        pending.succeed(recordings[start:end])
        start = end


def write_alone(put: Put, pending: PendingSave) -> None:
    try:
        pending.succeed(put(list(pending.events), **pending.beside))
    except Exception as error:  # the caller's: raised in its own thread by outcome()
        pending.fail(error)
