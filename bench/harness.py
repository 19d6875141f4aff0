"""Run the real service for a benchmark: a fresh schema, `smartcharge serve` as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import psycopg

from smartcharge.database import Database

LOCAL = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fresh_database() -> Iterator[Database]:
    """A new schema on SMARTCHARGE_DATABASE_URL or the local server, dropped afterwards."""
    server = Database.from_url(os.environ.get("SMARTCHARGE_DATABASE_URL") or LOCAL)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Database(
            server.dbname, server.host, server.port, server.user, server.password, schema
        )
    finally:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    http: str
    ocpp: str


@contextmanager
def running_service(database: Database, **settings: str) -> Iterator[Service]:
    http_port, ocpp_port = free_port(), free_port()
    env = {
        **os.environ,
        "SMARTCHARGE_DATABASE_URL": database.conninfo(),
        "SMARTCHARGE_DATABASE_SCHEMA": database.schema or "public",
        "SMARTCHARGE_HTTP_PORT": str(http_port),
        "SMARTCHARGE_OCPP_PORT": str(ocpp_port),
        "SMARTCHARGE_DATA_DIR": f"/tmp/smartcharge-bench-{database.schema}",
        "SMARTCHARGE_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
        **{f"SMARTCHARGE_{key.upper()}": value for key, value in settings.items()},
    }
    command = [sys.executable, "-m", "smartcharge.cli", "serve", "--port", str(http_port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_for_http(base, process)
        yield Service(process, base, f"ws://127.0.0.1:{ocpp_port}/ocpp")
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for_http(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"smartcharge serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("smartcharge serve did not answer in time")


def wait_caught_up(database: Database, position: int | None, timeout: float = 600) -> None:
    """Until the service's read models hold every event up to `position`."""
    if not position:
        return
    table = f'"{database.schema}".readmodels_tracking'
    deadline = time.monotonic() + timeout
    with psycopg.connect(database.conninfo(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            try:
                row = conn.execute(
                    f"SELECT max(notification_id) FROM {table}"
                    " WHERE application_name = 'SmartCharging'"
                ).fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            if row and row[0] is not None and row[0] >= position:
                return
            time.sleep(0.2)
    raise RuntimeError(f"the read models did not reach {position} in {timeout} s")
