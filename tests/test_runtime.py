"""The composition root: what each process starts, and that it stops what it starts."""

from __future__ import annotations

import psycopg
import pytest

from conftest import login, serving
from domain.actors import SYSTEM
from smartcharge.database import Database
from smartcharge.runtime import GatewayRuntime, Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

# Made by starting a process, not by building its parts.
STARTED_TABLES = {"sessions", "rate_limit_hits", "rate_limit_counters", "mail_outbox"}


def tables(database: Database) -> set[str]:
    with psycopg.connect(database.conninfo()) as conn:
        return {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (database.schema,),
            )
        }


def test_building_a_process_makes_no_table_and_starts_no_thread(
    settings: Settings, database: Database
) -> None:
    runtime = Runtime(settings, database)
    try:
        assert not tables(database) & STARTED_TABLES
        assert runtime.read_models.follower is None
        assert runtime.gateway.follower is None and not runtime.scheduler.running
        assert runtime.mail.follower is None
        runtime.start()
        assert tables(database) >= STARTED_TABLES
    finally:
        runtime.close()


def test_serve_starts_every_part_in_one_place_and_close_stops_them(
    settings: Settings, database: Database
) -> None:
    runtime = Runtime(settings, database).start_everything()
    try:
        followers = [
            runtime.read_models.follower,
            runtime.gateway.follower and runtime.gateway.follower.follower,
            runtime.mail.follower,
        ]
        assert all(f is not None and f.running for f in followers), followers
        assert runtime.scheduler.running
        assert runtime.gateway.port != 0  # listening
        with serving(runtime.api):  # the lifespan finds them running and leaves them be
            pass
        assert all(f is not None and f.running for f in followers)
    finally:
        runtime.close()
    assert not any(f is not None and f.running for f in followers)
    assert not runtime.scheduler.running


def test_a_gateway_process_runs_the_gateway_and_what_it_reads_only(
    settings: Settings, database: Database
) -> None:
    runtime = GatewayRuntime(settings, database).start_everything()
    try:
        assert runtime.read_models.follower is not None and runtime.read_models.follower.running
        assert runtime.gateway.follower is not None
        assert not hasattr(runtime, "api") and not hasattr(runtime, "scheduler")
        assert not hasattr(runtime, "mail")
        assert not tables(database) & {"sessions", "mail_outbox"}
    finally:
        runtime.close()


def test_the_api_keeps_the_read_models_while_it_serves(
    settings: Settings, database: Database
) -> None:
    runtime = Runtime(settings, database)
    try:
        assert runtime.read_models.follower is None  # built, not yet following
        runtime.service.accounts.add_operator("ops@example.com", "ops-password-7", SYSTEM)
        with serving(runtime.api) as url, login(url, "ops@example.com", "ops-password-7") as ops:
            invited = ops.post("/api/operator/users", json={"email": "new@example.com"})
            assert invited.status_code in (200, 201), invited.text
            listed = ops.get("/api/operator/users", params={"q": "new@"}).json()
            assert [u["email"] for u in listed] == ["new@example.com"]
            follower = runtime.read_models.follower
            assert follower is not None and follower.running
        assert not follower.running  # the API started them, so its end stops them
    finally:
        runtime.close()


def test_a_process_that_started_the_read_models_keeps_them_after_serving(
    settings: Settings, database: Database
) -> None:
    runtime = Runtime(settings, database).start()
    try:
        with serving(runtime.api):
            pass
        assert runtime.read_models.follower is not None
        assert runtime.read_models.follower.running
    finally:
        runtime.close()
