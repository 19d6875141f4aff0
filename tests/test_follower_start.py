"""A follower that starts while events are being recorded misses none of them.

PostgreSQL's rule for LISTEN (its documentation, "LISTEN"): first listen, then read
what is already there, then rely on notifications. A subscription that read first and
listened afterwards missed an event committed in between: too new for its first read,
and notified before anybody listened, it waited for the next commit, however long
that took (read models started just before a command never showed it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from psycopg.sql import Composable

from projections.follower import Batch, EventFollower, StuckEvent

pytestmark = pytest.mark.postgres

WAIT = 10.0  # seconds; a bound for waits on conditions, never a pause
# How long LISTEN is held back at most: until an event was committed after the first
# read, which comes first where the subscription reads before it listens.
LISTEN_HELD_BACK = 1.0


class Tally(Aggregate):
    """One event (its creation) per instance: all the test needs recorded."""


@pytest.fixture
def app(pg_env: dict[str, str]) -> Iterator[Application[Any]]:
    """An application of a name of its own: its events table, and so its NOTIFY channel
    (named after the table, not the schema), belong to this test alone. A commit of
    another test on the same database would wake a follower that missed its own."""
    kind = type(f"FollowerStart{uuid4().hex[:12]}", (Application,), {})
    application: Application[Any] = kind(env=pg_env)
    yield application
    application.close()


def is_listen(conn: psycopg.Connection[Any], query: Any) -> bool:
    text = query.as_string(conn) if isinstance(query, Composable) else str(query)
    return text.lstrip().upper().startswith("LISTEN")


def test_an_event_committed_between_the_first_read_and_listen_is_followed(
    app: Application[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """LISTEN is held back, as a busy machine can hold it, and an event is committed just
    after the subscription's first read: the follower must still deliver it."""
    first_read_then_commit = threading.Event()
    committed: list[int] = []

    select = app.recorder.select_notifications

    def select_then_commit(*args: Any, **kwargs: Any) -> Any:
        found = select(*args, **kwargs)
        if not first_read_then_commit.is_set():
            committed.append(app.save(Tally())[-1].notification.id)
            first_read_then_commit.set()
        return found

    execute = psycopg.Connection.execute

    def held_back(conn: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if is_listen(conn, query):
            first_read_then_commit.wait(LISTEN_HELD_BACK)
        return execute(conn, query, *args, **kwargs)

    monkeypatch.setattr(app.recorder, "select_notifications", select_then_commit)
    monkeypatch.setattr(psycopg.Connection, "execute", held_back)

    delivered: list[int] = []
    arrived = threading.Event()

    def handle_batch(batch: Batch) -> None:
        delivered.extend(tracking.notification_id for _, tracking in batch)
        arrived.set()

    def on_stuck(stuck: StuckEvent) -> None:
        raise AssertionError(f"stuck: {stuck}")

    follower = EventFollower(app, handle_batch, lambda: None, on_stuck=on_stuck).start()
    try:
        assert arrived.wait(WAIT), "the event committed while the follower started never came"
    finally:
        follower.stop()

    assert delivered == committed
