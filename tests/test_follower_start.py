"""A follower that starts while events are being recorded misses none of them, and a
follower of some kinds reads only after commits of those kinds, missing none.

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
from eventsourcing import postgres
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from psycopg.sql import Composable

from projections.follower import Batch, EventFollower, StuckEvent
from smartcharge.persistence import ApplicationRecorder, notified_topics, topics_payload

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


# A commit's notification names the kinds it recorded; a follower of some kinds reads only
# after a commit that names one of them, or names none.


class Other(Aggregate):
    """A kind the followers below do not follow."""


def follow(app: Application[Any], topics: list[str]) -> tuple[EventFollower, list[Any], Any]:
    delivered: list[Any] = []
    arrived = threading.Condition()

    def handle_batch(batch: Batch) -> None:
        with arrived:
            delivered.extend(event.originator_id for event, _ in batch)
            arrived.notify_all()

    def on_stuck(stuck: StuckEvent) -> None:
        raise AssertionError(f"stuck: {stuck}")

    follower = EventFollower(app, handle_batch, lambda: None, on_stuck=on_stuck, topics=topics)
    return follower.start(), delivered, arrived


def test_a_follower_of_some_kinds_gets_all_of_them_and_reads_only_after_their_commits(
    app: Application[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    select = app.recorder.select_notifications

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return select(*args, **kwargs)

    monkeypatch.setattr(app.recorder, "select_notifications", counted)
    follower, delivered, arrived = follow(app, [get_topic(Tally.Created)])
    try:
        wanted = [Tally() for _ in range(3)]
        for tally in wanted:
            app.save(tally)
            for _ in range(10):
                app.save(Other())
        both = Tally()
        app.save(Other(), both)  # one commit of both kinds names both
        wanted.append(both)
        with arrived:
            assert arrived.wait_for(lambda: len(delivered) == len(wanted), WAIT), delivered
    finally:
        follower.stop()
    assert delivered == [t.id for t in wanted]
    # The first read, then at most one a commit of its kind (two when a notification came
    # while a read was on its way): not one for each of the 30 commits of the other kind.
    assert len(reads) <= 1 + 2 * len(wanted), len(reads)


def test_a_commit_whose_notification_names_nothing_is_read_after(
    app: Application[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that names no kinds (a process of an earlier version, or a commit of more
    kinds than a notification holds) wakes every follower."""
    follower, delivered, arrived = follow(app, [get_topic(Tally.Created)])
    try:
        first = Tally()
        app.save(first)  # once it has come, the follower's first read is behind it
        with arrived:
            assert arrived.wait_for(lambda: delivered == [first.id], WAIT), delivered
        monkeypatch.setattr(
            ApplicationRecorder,
            "_notify_channel",
            postgres.PostgresApplicationRecorder._notify_channel,
        )
        tally = Tally()
        app.save(tally)
        with arrived:
            assert arrived.wait_for(lambda: delivered == [first.id, tally.id], WAIT), delivered
    finally:
        follower.stop()


def test_a_notification_names_each_kind_once_or_none_when_they_do_not_fit() -> None:
    def stored(topic: str) -> StoredEvent:
        return StoredEvent(originator_id=uuid4(), originator_version=1, topic=topic, state=b"{}")

    few = [stored("a.b:C.Made"), stored("a.b:C.Changed"), stored("a.b:C.Made")]
    assert topics_payload(few) == "a.b:C.Made a.b:C.Changed"
    assert notified_topics(topics_payload(few)) == {"a.b:C.Made", "a.b:C.Changed"}

    many = [stored(f"domain.kind_{n}:SomeAggregate.SomethingHappened") for n in range(200)]
    assert topics_payload(many) == ""  # over PostgreSQL's 8,000 bytes: no kinds named
    assert notified_topics("") is None
