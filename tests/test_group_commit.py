"""Group commit on real PostgreSQL: commands saved at once share transactions, and each
keeps its own position, its own optimistic concurrency and its own values saved beside.

To make a batch certain rather than likely, a test holds the event store's table lock
(as a slow save would) while the commands arrive; they queue behind the one save that
waits for the lock, and the next save takes them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from domain.actors import Actor
from domain.errors import InvitationInvalid
from domain.evse_limits import EvseLimits
from domain.exclusion_times import parse_windows
from domain.group_commit import PendingSave, share_a_transaction
from domain.service import SmartCharging
from domain.users import user_id_for
from faults_support import wait_until
from smartcharge.database import Database

pytestmark = pytest.mark.postgres

COMMANDS = 40


@pytest.fixture
def stored_env(pg_env: dict[str, str]) -> dict[str, str]:
    """A connection for each of the commands saved at once."""
    return {**pg_env, "POSTGRES_MAX_OVERFLOW": str(COMMANDS + 8)}


def events_table(app: SmartCharging, database: Database) -> str:
    return f'"{database.schema}".{app.recorder.events_table_name}'  # type: ignore[attr-defined]


@contextmanager
def saves_held(app: SmartCharging, database: Database) -> Iterator[None]:
    """The event store's table lock, held by another connection until the block ends."""
    with psycopg.connect(database.conninfo()) as conn:
        conn.execute(f"LOCK TABLE {events_table(app, database)} IN EXCLUSIVE MODE")
        yield
        conn.rollback()


def at_once(app: SmartCharging, database: Database, commands: list[Callable[[], Any]]) -> list[Any]:
    """Start every command while saves are held; once all but the first (which waits for
    the lock) are queued, let the saves go. Each command's result, or its exception."""
    results: list[Any] = [None] * len(commands)

    def run(index: int) -> None:
        try:
            results[index] = commands[index]()
        except Exception as error:  # collected and asserted on by the test
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(commands))]
    with saves_held(app, database):
        for thread in threads:
            thread.start()
        wait_until(
            lambda: app.group_commit.waiting >= len(commands) - 1, 30, "every command queued"
        )
    for thread in threads:
        thread.join(timeout=60)
    return results


def transactions_of(app: SmartCharging, database: Database) -> dict[int, str]:
    """Each notification's transaction (rows one transaction wrote share its xmin)."""
    with psycopg.connect(database.conninfo()) as conn:
        rows = conn.execute(
            f"SELECT notification_id, xmin::text FROM {events_table(app, database)}"
        ).fetchall()
    return dict(rows)


def new_groups(app: SmartCharging, operator: Actor, count: int) -> list[UUID]:
    return [
        app.groups.create_group(name=f"G{i}", time_zone="Europe/Amsterdam", actor=operator)[0]
        for i in range(count)
    ]


def windows(hour: int) -> Any:
    return parse_windows([{"weekdays": ["mon"], "start": f"{hour:02d}:00", "end": "23:00"}])


def test_commands_saved_at_once_share_a_transaction_and_each_gets_its_own_position(
    stored_app: SmartCharging, database: Database, stored_operator: Actor
) -> None:
    groups = [stored_app.group(g) for g in new_groups(stored_app, stored_operator, COMMANDS)]
    for i, group in enumerate(groups):
        group.set_exclusion_times(windows(i % 20), stored_operator)
    before = stored_app.recorder.max_notification_id() or 0

    positions = at_once(stored_app, database, [lambda g=g: stored_app.commit(g) for g in groups])

    assert all(isinstance(p, int) for p in positions), positions
    notifications = {
        n.id: n for n in stored_app.recorder.select_notifications(start=1, limit=10_000)
    }
    for i, (group, position) in enumerate(zip(groups, positions, strict=True)):
        # The position is this command's own event: the change it asked for.
        assert notifications[position].originator_id == group.id
        assert notifications[position].topic.endswith("ExclusionTimesSet")
        assert stored_app.group(group.id).exclusion_windows == windows(i % 20)
    assert sorted(positions) == list(range(before + 1, before + COMMANDS + 1))
    transactions = transactions_of(stored_app, database)
    assert len({transactions[p] for p in positions}) < COMMANDS / 2


def test_notification_log_stays_gapless_and_in_order_under_many_writers(
    stored_app: SmartCharging, database: Database, stored_operator: Actor
) -> None:
    groups = new_groups(stored_app, stored_operator, 10)
    results: list[Any] = []
    lock = threading.Lock()

    def edit_many(group_id: UUID) -> None:
        for hour in range(15):
            position = stored_app.groups.set_exclusion_times(
                group_id, windows(hour), stored_operator
            )
            with lock:
                results.append((group_id, hour, position))

    threads = [threading.Thread(target=edit_many, args=(g,)) for g in groups]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    notifications = stored_app.recorder.select_notifications(start=1, limit=10_000)
    ids = [n.id for n in notifications]
    assert ids == list(range(1, len(ids) + 1))
    by_id = {n.id: n for n in notifications}
    assert len(results) == 10 * 15
    assert len({position for _, _, position in results}) == len(results)
    for group_id, _, position in results:
        assert by_id[position].originator_id == group_id
    for group_id in groups:  # each group's own edits in the order they were made
        own = sorted(p for g, _, p in results if g == group_id)
        versions = [by_id[p].originator_version for p in own]
        assert versions == sorted(versions)
        assert stored_app.group(group_id).exclusion_windows == windows(14)


def test_two_commands_of_one_batch_on_the_same_version_only_the_later_is_refused(
    stored_app: SmartCharging, database: Database, stored_operator: Actor
) -> None:
    (group_id, *others) = new_groups(stored_app, stored_operator, 6)
    first, second = (
        stored_app.group(group_id),
        stored_app.group(group_id),
    )  # both at the same version
    first.rename("First", stored_operator)
    second.rename("Second", stored_operator)
    version = first.version
    bystanders = [stored_app.group(g) for g in others]
    for group in bystanders:
        group.rename(f"Renamed {group.id}", stored_operator)

    results = at_once(
        stored_app,
        database,
        [lambda: stored_app.commit(first), lambda: stored_app.commit(second)]
        + [lambda g=g: stored_app.commit(g) for g in bystanders],
    )

    assert isinstance(results[0], int)
    assert isinstance(results[1], IntegrityError)
    assert all(isinstance(r, int) for r in results[2:])
    stored = stored_app.group(group_id)
    assert (stored.name, stored.version) == ("First", version)
    assert [stored_app.group(g.id).name for g in bystanders] == [g.name for g in bystanders]


def test_a_batch_that_lost_a_race_to_another_process_refuses_only_the_loser(
    stored_app: SmartCharging, pg_env: dict[str, str], database: Database, stored_operator: Actor
) -> None:
    (group_id, *others) = new_groups(stored_app, stored_operator, 6)
    stale = stored_app.group(group_id)
    other_process = SmartCharging(env=pg_env)
    try:
        other_process.groups.edit_group(group_id, stored_operator, name="Saved elsewhere first")
    finally:
        other_process.close()
    stale.rename("Stale", stored_operator)
    bystanders = [stored_app.group(g) for g in others]
    for group in bystanders:
        group.rename(f"Renamed {group.id}", stored_operator)

    results = at_once(
        stored_app,
        database,
        [lambda: stored_app.commit(stale)] + [lambda g=g: stored_app.commit(g) for g in bystanders],
    )

    assert isinstance(results[0], IntegrityError)
    assert all(isinstance(r, int) for r in results[1:])
    assert stored_app.group(group_id).name == "Saved elsewhere first"
    assert [stored_app.group(g.id).name for g in bystanders] == [g.name for g in bystanders]


def test_racing_commands_on_one_group_are_each_retried_and_all_kept(
    stored_app: SmartCharging, database: Database, stored_operator: Actor
) -> None:
    """The losers of a batch run load-decide-save again on fresh state: no edit is lost."""
    group_id, _ = stored_app.groups.create_group(
        name="Shared", time_zone="UTC", actor=stored_operator
    )
    limits = EvseLimits(max_current_a=16, phases=3)
    evse_ids = [
        stored_app.evses.register_evse(f"CP-{i}", 1, stored_operator, limits)[0] for i in range(6)
    ]

    results = at_once(
        stored_app,
        database,
        [lambda e=e: stored_app.evses.add_evse(group_id, e, stored_operator) for e in evse_ids],
    )

    assert all(isinstance(r, int) for r in results), results
    assert sorted(stored_app.group(group_id).evse_ids) == sorted(evse_ids)


def test_invitation_tokens_of_one_batch_are_each_kept_beside_their_events(
    stored_app: SmartCharging, database: Database, stored_operator: Actor
) -> None:
    emails = [f"home{i}@example.com" for i in range(COMMANDS // 2)]

    invited = at_once(
        stored_app,
        database,
        [lambda e=e: stored_app.accounts.invite_home_user(e, stored_operator) for e in emails],
    )

    assert all(isinstance(i, tuple) for i in invited), invited
    with psycopg.connect(database.conninfo()) as conn:
        stored = dict(
            conn.execute(
                f'SELECT invitation_id, token FROM "{database.schema}".invitation_tokens'
            ).fetchall()
        )
    for user_id, token in invited:
        invitation_id = stored_app.user(user_id).invitation_id
        assert stored[invitation_id] == token


def test_two_invitations_of_one_address_in_a_batch_make_one_account_and_one_working_link(
    stored_app: SmartCharging, database: Database, stored_operator: Actor
) -> None:
    """Two invitations of one address at once: the one saved second loses on the account's
    id, runs again and is issued in the first one's place; the others are unharmed."""
    emails = ["same@example.com", "same@example.com", "other1@example.com", "other2@example.com"]

    results = at_once(
        stored_app,
        database,
        [lambda e=e: stored_app.accounts.invite_home_user(e, stored_operator) for e in emails],
    )

    assert not [r for r in results if isinstance(r, Exception)]
    (same_id, first), (again_id, second) = results[:2]
    assert same_id == again_id == user_id_for("same@example.com")
    working = []
    for token in (first, second):
        with suppress(InvitationInvalid):
            working.append(stored_app.accounts.invitation(token).user_id)
    assert working == [same_id]  # the earlier link was withdrawn
    with psycopg.connect(database.conninfo()) as conn:
        (tokens,) = conn.execute(
            f'SELECT count(*) FROM "{database.schema}".invitation_tokens'
        ).fetchone()  # type: ignore[misc]
    assert tokens == 4  # each invitation's mail has its own link


def test_values_saved_beside_are_merged_or_saved_alone() -> None:
    """Unit: which commands of a batch may share a transaction."""

    def pending(**beside: Any) -> PendingSave:
        return PendingSave(events=[], beside=beside)

    a = pending(invitation_tokens={"i1": "t1"})
    b = pending(invitation_tokens={"i2": "t2"})
    c = pending(invitation_tokens={"i1": "another"})  # the same key: cannot be merged
    d = pending(flag=True)
    e = pending(flag=False)  # not a dict: cannot be merged

    together, alone = share_a_transaction([a, b, c, d, e])

    assert together == [a, b, d]
    assert alone == [c, e]
