"""Shared fixtures: a real PostgreSQL for the tests that need one.

Which server: SMARTCHARGE_TEST_DATABASE_URL (or SMARTCHARGE_DATABASE_URL) if set,
else the local server on 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL started for this test run (SMARTCHARGE_TEST_EMBEDDED=1 forces that).
Every test gets a schema of its own, dropped afterwards, so tests never see each
other's rows.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from aiosmtpd.controller import Controller

from chargers.gateway import Gateway
from domain.actors import Actor
from domain.service import SmartCharging
from domain_strategies import ManualClock
from mailcatcher import MailCatcher
from smartcharge.database import Database, start_embedded
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

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


@contextmanager
def embedded_postgres_folder() -> Iterator[Path]:
    """A folder for an embedded PostgreSQL, removed afterwards.

    Not under pytest's tmp_path: run as root, the server runs as a user of its own that must
    reach its folder, and every pytest run that starts on the machine makes
    /tmp/pytest-of-<user> private again (0700), which stops an initdb or a restart midway.
    """
    with tempfile.TemporaryDirectory(prefix="smartcharge-test-pg-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)


@pytest.fixture
def embedded_folder() -> Iterator[Path]:
    """A folder of the test's own for an embedded PostgreSQL (see embedded_postgres_folder)."""
    with embedded_postgres_folder() as folder:
        yield folder


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Database]:
    url = _configured_url()
    force_embedded = os.environ.get("SMARTCHARGE_TEST_EMBEDDED") == "1"
    if url and not force_embedded:
        yield Database.from_url(url)
    elif not force_embedded and _local_server_answers():
        yield Database.from_url(LOCAL_SERVER)
    else:
        with embedded_postgres_folder() as folder, signals_end_the_session():
            yield start_embedded(folder / "pgdata")


@contextmanager
def signals_end_the_session() -> Iterator[None]:
    """SIGTERM ends the test session as Ctrl+C does: the fixtures are torn down and the
    embedded server stopped at exit. (By default SIGTERM ends Python at once, and the
    server, stopped only at interpreter exit, kept running in a deleted folder.)"""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextmanager
def temporary_schema(server: Database) -> Iterator[Database]:
    """A fresh, empty schema on `server`, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield dataclasses.replace(server, schema=schema)
    finally:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def database(postgres_server: Database) -> Iterator[Database]:
    """A fresh, empty schema on the test server, dropped after the test."""
    with temporary_schema(postgres_server) as fresh:
        yield fresh


@pytest.fixture
def pg_env(database: Database) -> dict[str, str]:
    """The eventsourcing environment for an application on the test schema."""
    return database.eventsourcing_env(pool_size=25)


# --- a running service, a real SMTP server ----------------------------------------------


def free_port() -> int:
    (port,) = free_ports(1)
    return port


def free_ports(count: int) -> list[int]:
    """Ports of 127.0.0.1 free now, all different: each probe stays bound until all are
    chosen (probed one after another, the system may hand out the same port twice)."""
    with ExitStack() as probes:
        ports = []
        for _ in range(count):
            probe = probes.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


@pytest.fixture
def smtp_server() -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    catcher = MailCatcher()
    catcher.port = free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=catcher.port)
    controller.start()
    yield catcher
    controller.stop()


# --- the command service alone, on an in-memory store (pure domain tests) -----------------


@pytest.fixture
def clock() -> ManualClock:
    """The domain's time, moved by the test; a module may start it elsewhere."""
    return ManualClock()


@pytest.fixture
def app(clock: ManualClock) -> Iterator[SmartCharging]:
    application = SmartCharging(clock=clock)
    yield application
    application.close()


@pytest.fixture
def operator() -> Actor:
    return Actor.operator(uuid.uuid4())


# --- the command service alone, on the test's PostgreSQL (races, group commit) ------------


@pytest.fixture
def stored_env(pg_env: dict[str, str]) -> dict[str, str]:
    """The service's settings; a module may override this fixture to add some."""
    return pg_env


@pytest.fixture
def stored_app(stored_env: dict[str, str]) -> Iterator[SmartCharging]:
    application = SmartCharging(env=stored_env)
    yield application
    application.close()


@pytest.fixture
def stored_operator(stored_app: SmartCharging) -> Actor:
    """An operator with an account in the store."""
    return Actor.operator(
        stored_app.accounts.add_operator("ops@example.com", "operator-pass-7", Actor.system())
    )


# A charger that does not answer is given up on after this long in tests.
OCPP_CALL_TIMEOUT = 2.0


@pytest.fixture
def settings(tmp_path: Path, smtp_server: MailCatcher) -> Settings:
    return Settings(
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_sender="Smart charging <portal@example.com>",
        public_url="http://portal.example.com",
        ocpp_port=0,  # any free port, when a test starts the gateway
        ocpp_call_timeout=OCPP_CALL_TIMEOUT,
    )


@pytest.fixture
def runtime(settings: Settings, database: Database) -> Iterator[Runtime]:
    running = Runtime(settings, database).start()
    yield running
    running.close()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a free port of 127.0.0.1; yields its base URL."""
    http = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=http.run, daemon=True)
    thread.start()
    while not http.started:
        if not thread.is_alive():
            raise RuntimeError("the HTTP server did not start")
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{http.servers[0].sockets[0].getsockname()[1]}"
    finally:
        http.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def gateway(runtime: Runtime) -> Iterator[Gateway]:
    """The runtime's OCPP gateway, listening (stopped with the runtime)."""
    runtime.gateway.start()
    yield runtime.gateway


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    """The API served on a free port of 127.0.0.1; yields its base URL."""
    with serving(runtime.api) as url:
        yield url


@pytest.fixture
def operator_credentials(runtime: Runtime) -> tuple[str, str]:
    runtime.service.accounts.add_operator(
        "operator@example.com", "operator-password", Actor.system()
    )
    return "operator@example.com", "operator-password"


def login(base_url: str, email: str, password: str) -> httpx.Client:
    """An HTTP client holding a bearer token for the user."""
    answer = httpx.post(f"{base_url}/api/auth/login", json={"email": email, "password": password})
    answer.raise_for_status()
    token = answer.json()["token"]
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def operator_client(server: str, operator_credentials: tuple[str, str]) -> Iterator[httpx.Client]:
    with login(server, *operator_credentials) as client:
        yield client
