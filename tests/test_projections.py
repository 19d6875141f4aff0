"""Read models: exactly once, resumable, readable at once, and the user directory's search.

The yardstick for "exactly once" is a reference: the same events projected in
one uninterrupted pass into a schema of its own. Read models kept through a
restart, a crash or two competing runners must equal it, row for row.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.utils import Environment
from psycopg.rows import dict_row

from domain.actors import Actor
from domain.evse_limits import EvseLimits
from domain.exclusion_times import parse_windows
from old_evse_events import record_old_evse
from projections.queries import ReadModelQueries
from projections.runner import start_read_models
from projections.view import READ_MODELS_NAME, ReadModelsView
from scheduler.inputs import evse_spec_from_row
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

OPERATOR = Actor.system()
EVENING = {"weekdays": ["mon", "tue", "wed"], "start": "17:00", "end": "21:00"}
WAIT = 10.0  # seconds; a bound for waits on conditions, never a pause
# Columns that say when a row was written rather than what the events say.
WHEN_PROJECTED = {"projected_at"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"database_pool_size": 2})


# --- helpers ---------------------------------------------------------------------------------


def make_history(runtime: Runtime, tag: str, groups: int = 3) -> None:
    """Users, EVSEs and groups with edits: events of every read model, audited or not."""
    service = runtime.service
    for n in range(groups):
        user_id, token = service.accounts.invite_home_user(f"{tag}-{n}@example.com", OPERATOR)
        if n % 2:
            service.accounts.accept_invitation(token, "secret-password-1")
        evse_id, _ = service.evses.register_evse(
            f"CP-{tag}-{n}", 1, OPERATOR, EvseLimits(max_current_a=16, phases=3)
        )
        group_id, _ = service.groups.create_group(
            name=f"Group {tag} {n}",
            time_zone="Europe/Amsterdam",
            actor=OPERATOR,
            home_user_id=user_id,
            evse_ids=[evse_id],
        )
        service.groups.set_exclusion_times(group_id, parse_windows([EVENING]), OPERATOR)
        service.groups.edit_group(
            group_id, OPERATOR, name=f"Group {tag} {n} renamed", random_delay=True
        )
        service.evses.change_evse_limits(evse_id, OPERATOR, EvseLimits(max_power_w=7400))
        service.groups.start_priority_charge(group_id, Actor.home_user(user_id))


def last_position(runtime: Runtime) -> int:
    position = runtime.service.recorder.max_notification_id()
    assert position is not None
    return position


def events_with_tracking(runtime: Runtime) -> list[tuple[Any, Tracking]]:
    app = runtime.service
    notifications = app.recorder.select_notifications(start=1, limit=100_000)
    return [
        (app.mapper.to_domain_event(n), Tracking(application_name=app.name, notification_id=n.id))
        for n in notifications
    ]


def read_models(database: Database, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows, in a stable order, without when-projected columns."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(database.conninfo(), row_factory=dict_row) as conn:
        names = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = %s AND table_name LIKE 'rm\\_%%' ORDER BY table_name",
            (schema,),
        ).fetchall()
        for name in (row["table_name"] for row in names):
            rows = conn.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
            kept = [
                tuple((k, v) for k, v in row.items() if k not in WHEN_PROJECTED) for row in rows
            ]
            tables[name] = sorted(kept, key=repr)
    assert {"rm_users", "rm_groups", "rm_evses", "rm_audit_log"} <= tables.keys()
    return tables


def tracked_position(database: Database, runtime: Runtime) -> int | None:
    """The position the read models' tracking table says they have reached."""
    table = runtime.context.view.tracking_table_name
    with psycopg.connect(database.conninfo()) as conn:
        row = conn.execute(
            f'SELECT max(notification_id) FROM "{database.schema}"."{table}"'
            " WHERE application_name = %s",
            (runtime.service.name,),
        ).fetchone()
    return row[0] if row else None


def duplicated_audit_positions(database: Database, schema: str) -> list[int]:
    with psycopg.connect(database.conninfo()) as conn:
        rows = conn.execute(
            f'SELECT position FROM "{schema}".rm_audit_log GROUP BY position, seq'
            " HAVING count(*) > 1"
        ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def reference(postgres_server: Database, database: Database, runtime: Runtime) -> Iterator[Any]:
    """Builds the reference: all events so far, projected in one pass into another schema."""
    schema = f"ref_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def build() -> dict[str, list[tuple[Any, ...]]]:
        runner = start_read_models({**runtime.env, "READMODELS_POSTGRES_SCHEMA": schema})
        try:
            assert runner.view.wait_for(last_position(runtime), WAIT)
        finally:
            runner.stop()
        return read_models(database, schema)

    yield build
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def assert_exactly_once(database: Database, runtime: Runtime, expected: dict[str, Any]) -> None:
    schema = database.schema
    assert schema is not None
    assert tracked_position(database, runtime) == last_position(runtime), "an event is missing"
    assert duplicated_audit_positions(database, schema) == []
    actual = read_models(database, schema)
    for table, rows in expected.items():
        assert actual[table] == rows, f"{table} differs from one pass over the same events"


# --- restart, crash, repetition, competition -------------------------------------------------


def test_restarted_projection_resumes_with_the_events_recorded_while_it_was_stopped(
    runtime: Runtime, database: Database, reference: Any
) -> None:
    make_history(runtime, "before")
    assert runtime.context.view.wait_for(last_position(runtime), WAIT)
    runtime.read_models.stop()

    make_history(runtime, "while-stopped")
    restarted = start_read_models(runtime.env)
    try:
        assert restarted.view.wait_for(last_position(runtime), WAIT)
        make_history(runtime, "after", groups=1)
        assert restarted.view.wait_for(last_position(runtime), WAIT)
    finally:
        restarted.stop()

    assert_exactly_once(database, runtime, reference())


class CrashingView(ReadModelsView):
    """Fails when it records the position of one event: as if the process died right there,
    after writing that event's rows but before the commit."""

    crash_at = 0

    def _insert_tracking(self, curs: Any, tracking: Tracking) -> None:
        if tracking.notification_id == self.crash_at:
            raise RuntimeError("power cut")
        super()._insert_tracking(curs, tracking)


def test_projection_that_crashed_mid_stream_resumes_without_duplicates(
    runtime: Runtime, database: Database, reference: Any
) -> None:
    runtime.read_models.stop()
    make_history(runtime, "crash")
    events = events_with_tracking(runtime)
    crashing = InfrastructureFactory.construct(
        env=Environment(READ_MODELS_NAME, runtime.env)
    ).tracking_recorder(CrashingView)
    crashing.crash_at = events[len(events) // 2][1].notification_id

    with pytest.raises(RuntimeError, match="power cut"):
        for event, tracking in events:
            crashing.process(event, tracking)
    crashing.datastore.close()

    assert tracked_position(database, runtime) == crashing.crash_at - 1
    restarted = start_read_models(runtime.env)
    try:
        assert restarted.view.wait_for(last_position(runtime), WAIT)
    finally:
        restarted.stop()
    assert_exactly_once(database, runtime, reference())


def test_projecting_the_same_events_again_changes_nothing(
    runtime: Runtime, database: Database
) -> None:
    make_history(runtime, "twice")
    view = runtime.context.view
    assert view.wait_for(last_position(runtime), WAIT)
    before = read_models(database, database.schema or "")

    for event, tracking in events_with_tracking(runtime):
        view.process(event, tracking)

    assert read_models(database, database.schema or "") == before
    assert tracked_position(database, runtime) == last_position(runtime)


def test_two_runners_over_the_same_events_project_each_once(
    runtime: Runtime, database: Database, reference: Any
) -> None:
    runtime.read_models.stop()
    make_history(runtime, "backlog")  # both start behind, and race through the backlog
    runners = [start_read_models(runtime.env), start_read_models(runtime.env)]
    try:
        writers = [
            threading.Thread(target=make_history, args=(runtime, f"live-{n}")) for n in range(2)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        for runner in runners:
            assert runner.view.wait_for(last_position(runtime), WAIT)
    finally:
        for runner in runners:
            runner.stop()

    assert_exactly_once(database, runtime, reference())


def test_audit_trail_of_a_group_survives_a_restart_in_order_and_once(runtime: Runtime) -> None:
    group_id, _ = runtime.service.groups.create_group(
        name="Restart", time_zone="UTC", actor=OPERATOR
    )
    assert runtime.context.view.wait_for(last_position(runtime), WAIT)
    runtime.read_models.stop()
    runtime.service.groups.set_exclusion_times(group_id, parse_windows([EVENING]), OPERATOR)
    runtime.service.groups.edit_group(group_id, OPERATOR, name="Restarted")

    restarted = start_read_models(runtime.env)
    try:
        assert restarted.view.wait_for(last_position(runtime), WAIT)
        audit = ReadModelQueries(restarted.view).audit_for_group(group_id)
    finally:
        restarted.stop()

    assert [entry["action"] for entry in reversed(audit)] == [
        "created",
        "exclusion_times_set",
        "renamed",
    ]
    assert [(entry["old_value"], entry["new_value"]) for entry in audit[:2]] == [
        ("Restart", "Restarted"),
        ([], [EVENING]),
    ]


# --- events recorded before EvseLimits ----------------------------------------------------------


def test_evse_events_with_three_loose_limit_fields_still_reach_the_read_models(
    runtime: Runtime,
) -> None:
    evse_id = record_old_evse(
        runtime.service,
        "CP-OLD",
        OPERATOR,
        {"max_current_a": 32.0, "phases": 1, "max_power_w": None},
        {"max_current_a": None, "phases": None, "max_power_w": 11000.0},
    )
    assert runtime.context.view.wait_for(last_position(runtime), WAIT)

    row = runtime.context.queries.evse(evse_id)
    assert row is not None
    assert (row["max_current_a"], row["phases"], row["max_power_w"]) == (None, None, 11000.0)
    assert evse_spec_from_row(row).limits == runtime.service.evse(evse_id).limits


# --- read your writes ------------------------------------------------------------------------


def test_the_answer_to_each_command_already_shows_its_change(
    operator_client: httpx.Client,
) -> None:
    group = operator_client.post(
        "/api/operator/groups", json={"name": "Version 0", "time_zone": "UTC"}
    ).json()
    path = f"/api/operator/groups/{group['id']}"

    for n in range(1, 21):
        answer = operator_client.patch(path, json={"name": f"Version {n}"}).json()
        assert answer["name"] == f"Version {n}"
        assert answer["version"] == group["version"] + n
        listed = operator_client.get("/api/operator/groups", params={"q": "Version"}).json()
        assert [g["name"] for g in listed] == [f"Version {n}"]


def test_a_change_in_one_portal_is_in_the_other_at_once(
    runtime: Runtime, server: str, operator_client: httpx.Client
) -> None:
    user_id, token = runtime.service.accounts.invite_home_user("anna@example.com", OPERATOR)
    runtime.service.accounts.accept_invitation(token, "secret-password-1")
    group = operator_client.post(
        "/api/operator/groups",
        json={"name": "Anna", "time_zone": "UTC", "home_user_id": str(user_id)},
    ).json()
    anna = httpx.post(
        f"{server}/api/auth/login",
        json={"email": "anna@example.com", "password": "secret-password-1"},
    ).json()["token"]
    headers = {"Authorization": f"Bearer {anna}"}

    for n in range(10):
        window = {"weekdays": ["mon"], "start": f"{n:02d}:00", "end": f"{n + 1:02d}:00"}
        mine = httpx.put(
            f"{server}/api/me/groups/{group['id']}/exclusion-times",
            json={"windows": [window]},
            headers=headers,
        )
        assert mine.json()["windows"] == [window]
        seen = operator_client.get(f"/api/operator/groups/{group['id']}/exclusion-times")
        assert seen.json()["windows"] == [window]


# --- the user directory's autocomplete -------------------------------------------------------


@pytest.fixture
def directory(runtime: Runtime) -> list[str]:
    """Home users' e-mails, invited in no particular order, and one operator."""
    emails = [f"ann{n:02d}@example.com" for n in (7, 3, 12, 1, 9, 5, 11, 2, 8, 4, 10, 6)]
    emails += [
        "joanna@example.com",  # 'ann' inside, not at the start
        "Annette.Upper@Example.COM",
        "a_b@example.com",
        "axb@example.com",
        "a%c@example.com",
        "azc@example.com",
        "a^d@example.com",  # a backslash is no address (email-validator), a caret is
        "gone@example.com",
    ]
    for email in emails:
        runtime.service.accounts.invite_home_user(email, OPERATOR)
    runtime.service.accounts.revoke_user(
        runtime.service.accounts.invite_home_user("gone2@example.com", OPERATOR)[0], OPERATOR
    )
    runtime.service.accounts.add_operator("annoperator@example.com", "operator-pass-1", OPERATOR)
    assert runtime.context.view.wait_for(last_position(runtime), WAIT)
    return emails


def complete(client: httpx.Client, prefix: str) -> list[str]:
    answer = client.get("/api/operator/users/autocomplete", params={"q": prefix})
    assert answer.status_code == 200, answer.text
    return [user["email"] for user in answer.json()]


def test_autocomplete_gives_the_first_ten_matches_sorted(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    found = complete(operator_client, "ann")

    assert found == sorted(found)
    assert found == [f"ann{n:02d}@example.com" for n in range(1, 11)]


def test_autocomplete_matches_in_any_case_the_start_first(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    assert complete(operator_client, "JOANNA") == ["joanna@example.com"]
    assert complete(operator_client, "annE") == ["annette.upper@example.com"]
    assert complete(operator_client, "anna") == ["joanna@example.com"]  # inside, from 3 letters
    assert complete(operator_client, "an") == complete(operator_client, "ann")[:10]
    assert complete(operator_client, "nobody") == []


def test_autocomplete_treats_percent_and_underscore_literally(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    assert complete(operator_client, "a_") == ["a_b@example.com"]
    assert complete(operator_client, "a%") == ["a%c@example.com"]
    assert complete(operator_client, "a\\") == []  # not LIKE's escape: "a%c" does not match
    assert complete(operator_client, "%") == []


def test_autocomplete_sorts_by_code_point_whatever_the_database_locale(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    found = complete(operator_client, "a")

    assert found == ["a%c@example.com", "a^d@example.com", "a_b@example.com"] + [
        f"ann{n:02d}@example.com" for n in range(1, 8)
    ]


def test_autocomplete_leaves_out_revoked_users_and_operators(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    assert complete(operator_client, "gone") == ["gone@example.com"]
    assert complete(operator_client, "annop") == []


def test_a_connector_registered_again_is_back_in_the_registry(runtime: Runtime) -> None:
    service = runtime.service
    operator = Actor.operator(
        service.accounts.add_operator("ops2@example.com", "operator-pass-7", Actor.system())
    )
    evse_id, _ = service.evses.register_evse(
        "CP-AGAIN", 1, operator, EvseLimits(max_current_a=16, phases=3)
    )
    runtime.read_models.wait(service.evses.deregister_evse(evse_id, operator))
    assert runtime.context.queries.evse(evse_id) is None

    _, position = service.evses.register_evse(
        "CP-AGAIN", 1, operator, EvseLimits(max_current_a=32, phases=1)
    )
    runtime.read_models.wait(position)

    row = runtime.context.queries.evse(evse_id)
    assert row is not None and (row["max_current_a"], row["phases"]) == (32.0, 1)


def test_a_batch_partly_projected_by_another_process_projects_the_rest_once(
    runtime: Runtime, database: Database, reference: Any
) -> None:
    """Several processes keep the same read models: a batch overlapping what another one
    projected first is applied only for the rest, and this process knows it is there."""
    runtime.read_models.stop()
    make_history(runtime, "overlap")
    events = events_with_tracking(runtime)
    views = [
        InfrastructureFactory.construct(
            env=Environment(READ_MODELS_NAME, runtime.env)
        ).tracking_recorder(ReadModelsView)
        for _ in range(2)
    ]
    first, second = views
    try:
        first.process_batch(events[: len(events) // 2])  # the other process got there first

        second.process_batch(events)

        assert second.wait_for(last_position(runtime), timeout=0.01)
    finally:
        for view in views:
            view.datastore.close()
    assert tracked_position(database, runtime) == last_position(runtime)
    assert_exactly_once(database, runtime, reference())
