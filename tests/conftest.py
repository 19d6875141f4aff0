"""Shared fixtures: a real PostgreSQL for the tests that need one.

Which server: SMARTCHARGE_TEST_DATABASE_URL (or SMARTCHARGE_DATABASE_URL) if set,
else the local server on 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL started for this test run (SMARTCHARGE_TEST_EMBEDDED=1 forces that). Every test gets a schema of its own,
dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from smartcharge.database import Database, start_embedded

LOCAL_SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=2"


def _configured_url() -> str | None:
    return os.environ.get("SMARTCHARGE_TEST_DATABASE_URL") or os.environ.get(
        "SMARTCHARGE_DATABASE_URL"
    )


def _local_server_answers() -> bool:
    try:
        with psycopg.connect(LOCAL_SERVER):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Database]:
    url = _configured_url()
    force_embedded = os.environ.get("SMARTCHARGE_TEST_EMBEDDED") == "1"
    if url and not force_embedded:
        yield Database.from_url(url)
    elif not force_embedded and _local_server_answers():
        yield Database.from_url(LOCAL_SERVER)
    else:
        with tempfile.TemporaryDirectory(prefix="smartcharge-test-pg-") as folder:
            os.chmod(folder, 0o755)
            yield start_embedded(Path(folder) / "pgdata")


@pytest.fixture
def database(postgres_server: Database) -> Iterator[Database]:
    """A fresh, empty schema on the test server, dropped after the test."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield Database(
        dbname=postgres_server.dbname,
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        password=postgres_server.password,
        schema=schema,
    )
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_env(database: Database) -> dict[str, str]:
    """The eventsourcing environment for an application on the test schema."""
    return database.eventsourcing_env(pool_size=25)
