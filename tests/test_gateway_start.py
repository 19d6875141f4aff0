"""Starting a gateway where another listens, or where one was killed: who keeps the chargers.

Real processes (`smartcharge serve` and `smartcharge gateway`) on a real PostgreSQL, chargers
on real sockets of 127.0.0.1. A gateway's id names its process: host name, port, pid.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from conftest import free_ports
from domain.service import SmartCharging
from faults_support import (
    Home,
    KeptCharger,
    ServeProcess,
    holds_desired,
    login,
    open_as,
    seed_homes,
    stop_process,
    until,
    wait_until,
    window,
)
from peer.ocpp_chargers import Charger16

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def gateway_id(ocpp_port: int, process: subprocess.Popen[bytes] | None) -> str:
    assert process is not None
    return f"{socket.gethostname()}:{ocpp_port}:{process.pid}"


def charger_row(service: ServeProcess, charge_point_id: str) -> dict[str, Any] | None:
    """What the read models say of the charger's connection."""
    schema = service.env["SMARTCHARGE_DATABASE_SCHEMA"]
    with psycopg.connect(service.env["SMARTCHARGE_DATABASE_URL"], row_factory=dict_row) as conn:
        return conn.execute(
            f'SELECT connected, gateway_id FROM "{schema}".rm_chargers WHERE charge_point_id = %s',
            (charge_point_id,),
        ).fetchone()


async def row_is(
    service: ServeProcess, charge_point_id: str, connected: bool, held_by: str
) -> bool:
    row = await asyncio.to_thread(charger_row, service, charge_point_id)
    return row == {"connected": connected, "gateway_id": held_by}


class GatewayProcess:
    """`smartcharge gateway` with the settings (so the OCPP port) of `like`."""

    def __init__(self, like: ServeProcess, log_path: Path):
        self.env = like.env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        command = [sys.executable, "-m", "smartcharge.cli", "gateway"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._listening, timeout, "smartcharge gateway listening")

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"smartcharge gateway exited:\n{self.log_path.read_text()}")
        return "smartcharge: gateway " in self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def start_second(
    command: str, first: ServeProcess, data_dir: Path
) -> subprocess.CompletedProcess[str]:
    """`smartcharge COMMAND` on the first's OCPP port (its own HTTP port and data folder),
    until it exits (killed if it has not after 90 s)."""
    (http_port,) = free_ports(1)
    env = {
        **first.env,
        "SMARTCHARGE_HTTP_PORT": str(http_port),
        "SMARTCHARGE_DATA_DIR": str(data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "smartcharge.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


# --- a second process where a gateway listens ----------------------------------------------


async def second_on_the_busy_port(
    app: SmartCharging, home: Home, first: ServeProcess, command: str, data_dir: Path
) -> None:
    charger = KeptCharger(first.ocpp, home.charge_point_id)
    stop = asyncio.Event()
    keeper = asyncio.create_task(charger.keep_connected(stop))
    held_by = gateway_id(first.ocpp_port, first.process)
    try:
        await until(
            functools.partial(holds_desired, app, home, charger, 0), 30, "the first profiles"
        )
        await until(lambda: row_is(first, home.charge_point_id, True, held_by), 10, "connected row")

        second = await asyncio.to_thread(start_second, command, first, data_dir)

        assert second.returncode == 1, second.stderr
        assert second.stderr.splitlines() == [
            f"smartcharge: cannot listen for chargers on 127.0.0.1:{first.ocpp_port}:"
            " address already in use (by another gateway?)"
        ]
        recorded = await asyncio.to_thread(app.charge_point, home.charge_point_id)
        assert (recorded.connected, recorded.gateway_id) == (True, held_by)
        assert await row_is(first, home.charge_point_id, True, held_by)
        assert len(charger.sessions) == 1, "the charger never lost its connection"
        # And it still gets what its group asks for.
        async with login(first.http, home.email) as client:
            edited = await client.put(
                f"/api/me/groups/{home.group_id}/exclusion-times",
                json={"windows": [window(600)]},
            )
            assert edited.status_code == 200, edited.text
        await until(
            functools.partial(holds_desired, app, home, charger, 0), 30, "the edited profiles"
        )
        assert len(charger.sessions) == 1
    finally:
        stop.set()
        await keeper


@pytest.mark.parametrize("command", ["serve", "gateway"])
def test_a_second_process_on_the_busy_ocpp_port_says_so_and_the_first_keeps_its_chargers(
    database: Any, tmp_path: Path, command: str
) -> None:
    app = SmartCharging(env=database.eventsourcing_env())
    (home,) = seed_homes(app, 1, "busy")
    first = ServeProcess(database, tmp_path, ocpp_call_timeout="3")
    try:
        first.start()
        asyncio.run(second_on_the_busy_port(app, home, first, command, tmp_path / "second"))
    except BaseException:
        print(first.log_tail())
        raise
    finally:
        first.stop()
        app.close()


# --- a gateway where a killed one listened -------------------------------------------------


async def gateway_after_kill(
    app: SmartCharging, homes: list[Home], first: ServeProcess, restarted: GatewayProcess
) -> None:
    away, back = homes
    stays_away = await open_as(Charger16, first.ocpp, away.charge_point_id)
    comes_back = KeptCharger(first.ocpp, back.charge_point_id)
    stop = asyncio.Event()
    keeper = asyncio.create_task(comes_back.keep_connected(stop))
    dead = gateway_id(first.ocpp_port, first.process)
    try:
        for home in homes:
            await until(
                lambda home=home: row_is(first, home.charge_point_id, True, dead),  # type: ignore[misc]
                30,
                f"{home.charge_point_id} connected",
            )
        await until(
            functools.partial(holds_desired, app, back, comes_back, 0), 30, "the first profiles"
        )

        await asyncio.to_thread(first.kill)
        recorded = await asyncio.to_thread(app.charge_point, away.charge_point_id)
        assert (recorded.connected, recorded.gateway_id) == (True, dead), "nothing ran at kill"
        await asyncio.to_thread(restarted.start)

        alive = gateway_id(first.ocpp_port, restarted.process)
        await until(
            lambda: row_is(first, away.charge_point_id, False, dead), 30, "the dead one forgotten"
        )
        await until(
            lambda: row_is(first, back.charge_point_id, True, alive), 30, "reconnected here"
        )
        await until(
            functools.partial(holds_desired, app, back, comes_back, 1), 30, "profiles sent again"
        )
    finally:
        stop.set()
        await keeper
        await stays_away.close()


def test_a_gateway_started_where_a_killed_one_listened_forgets_its_connections(
    database: Any, tmp_path: Path
) -> None:
    app = SmartCharging(env=database.eventsourcing_env())
    homes = seed_homes(app, 2, "killed")
    first = ServeProcess(database, tmp_path, ocpp_call_timeout="3")
    restarted = GatewayProcess(first, tmp_path / "gateway.log")
    try:
        first.start()
        asyncio.run(gateway_after_kill(app, homes, first, restarted))
    except BaseException:
        print(first.log_tail())
        if restarted.log_path.exists():
            print(restarted.log_path.read_text(errors="replace"))
        raise
    finally:
        restarted.stop()
        first.stop()
        app.close()
