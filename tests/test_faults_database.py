"""PostgreSQL restarted under load, on an embedded server the test owns.

While the database is down every request answers 503 within a few seconds (a hang
fails the test: the HTTP client gives up after ANSWER_BOUND). Once it is back the
service recovers by itself: commands succeed, the read models project the new
events, the scheduler leads again and the charger gets its new profiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from faults_support import (
    EmbeddedServer,
    Home,
    KeptCharger,
    holds_desired,
    login,
    pause,
    seed_homes,
    serving,
    until,
    wait_until,
    window,
)
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ANSWER_BOUND = 10.0  # seconds a request may take while the database is down
RECOVERY_BOUND = 30.0  # seconds until the service works again once the database is back
HOMES = 3  # the first one probes; the others keep editing throughout


@pytest.fixture
def embedded(embedded_folder: Path) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(embedded_folder / "pgdata")
    yield server
    server.close()


@pytest.fixture
def service(embedded: EmbeddedServer, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path / "data",
        ocpp_port=0,
        ocpp_call_timeout=2.0,
        login_attempts_per_address=100_000,
    )
    runtime = Runtime(settings, embedded.database).start()
    runtime.gateway.start()
    runtime.start_scheduler()
    yield runtime
    runtime.close()


@dataclass
class Load:
    """Home users editing their exclusion times over and over: what each got back."""

    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # no HTTP answer (a hang, a reset)

    async def edit(self, client: httpx.AsyncClient, home: Home, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            n = (n + 1) % 900
            path = f"/api/me/groups/{home.group_id}/exclusion-times"
            try:
                answer = await client.put(path, json={"windows": [window(n)]})
                self.statuses.append(answer.status_code)
            except httpx.TransportError as error:
                self.failures.append(repr(error))
            if self.statuses and self.statuses[-1] == 503:
                await pause(stop, 0.1)


PROBES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/me/groups", None),
    ("GET", "/api/me/groups/{group}/audit", None),
    ("PUT", "/api/me/groups/{group}/exclusion-times", {"windows": [window(600)]}),
    ("POST", "/api/me/groups/{group}/priority-charge", {"duration_minutes": 30}),
]


async def probe_outage(client: httpx.AsyncClient, home: Home) -> list[float]:
    """Reads and commands during the outage: each a 503 with Retry-After, in bounded time."""
    took = []
    for method, path, body in PROBES:
        started = time.monotonic()
        answer = await client.request(method, path.format(group=home.group_id), json=body)
        took.append(time.monotonic() - started)
        assert answer.status_code == 503, (method, path, answer.status_code, answer.text)
        assert answer.headers["Retry-After"]
    return took


async def recovered(client: httpx.AsyncClient, home: Home) -> float:
    """Seconds until an exclusion-time edit succeeds again."""
    started = time.monotonic()
    path = f"/api/me/groups/{home.group_id}/exclusion-times"

    async def edit_succeeds() -> bool:
        answer = await client.put(path, json={"windows": [window(700)]})
        return answer.status_code == 200

    await until(edit_succeeds, RECOVERY_BOUND, "an edit succeeding after the restart")
    return time.monotonic() - started


async def audited(client: httpx.AsyncClient, home: Home, start: str) -> bool:
    answer = await client.get(f"/api/me/groups/{home.group_id}/audit")
    return answer.status_code == 200 and any(
        entry["action"] == "exclusion_times_set" and entry["new_value"][0]["start"] == start
        for entry in answer.json()
    )


def events_locked(database: Database) -> psycopg.Connection:
    """A transaction holding the event store's table, so that commands wait on it."""
    conn = psycopg.connect(database.conninfo())
    conn.execute("LOCK TABLE smartcharging_events IN ACCESS EXCLUSIVE MODE")
    return conn


def waiting_on_lock(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    ).fetchone()
    return bool(row and row[0])


async def caught_in_flight(
    embedded: EmbeddedServer, client: httpx.AsyncClient, home: Home
) -> asyncio.Task[float]:
    """A command that passed authentication and waits in the database when it goes away.
    The task answers the seconds from the crash to the answer, which must be a 503."""
    lock = await asyncio.to_thread(events_locked, embedded.database)

    async def command() -> httpx.Response:
        path = f"/api/me/groups/{home.group_id}/exclusion-times"
        return await client.put(path, json={"windows": [window(650)]})

    sent = asyncio.create_task(command())
    await until(lambda: asyncio.to_thread(waiting_on_lock, lock), 10, "the command waiting")
    crashed = time.monotonic()
    await asyncio.to_thread(embedded.stop)
    with contextlib.suppress(psycopg.Error):
        lock.close()

    async def answered() -> float:
        try:
            answer = await sent
        except httpx.TimeoutException:
            raise AssertionError(f"a command in flight hung past {ANSWER_BOUND} s") from None
        assert answer.status_code == 503, (answer.status_code, answer.text)
        return time.monotonic() - crashed

    return asyncio.create_task(answered())


async def through_restart(embedded: EmbeddedServer, client: httpx.AsyncClient, home: Home) -> None:
    """Crash PostgreSQL under a waiting command, probe, start it again, wait for the service."""
    in_flight = await caught_in_flight(embedded, client, home)
    took = await probe_outage(client, home)
    took.append(await in_flight)
    names = [f"{m} {p.split('/')[-1]}" for m, p, _ in PROBES] + ["the command in flight"]
    print(
        "\nduring the outage: "
        + ", ".join(f"{n} {t:.2f} s" for n, t in zip(names, took, strict=True))
    )
    assert max(took) < ANSWER_BOUND
    await asyncio.to_thread(embedded.start)
    print(f"database back; an edit succeeds after {await recovered(client, home):.2f} s")


async def caught_up(
    runtime: Runtime, client: httpx.AsyncClient, home: Home, charger: KeptCharger
) -> None:
    """The new events are projected, the scheduler leads and recomputed, the charger has it."""
    started = time.monotonic()
    await until(lambda: audited(client, home, window(700)["start"]), RECOVERY_BOUND, "audit entry")
    await until(runtime.scheduler.is_leader.is_set, RECOVERY_BOUND, "a scheduler leader")
    await until(
        lambda: holds_desired(runtime.service, home, charger, 0),
        RECOVERY_BOUND,
        "profiles at the charger",
    )
    print(f"read models, scheduler and charger caught up {time.monotonic() - started:.2f} s later")


def test_the_service_recovers_by_itself_from_a_database_restart(
    embedded: EmbeddedServer, service: Runtime
) -> None:
    homes = seed_homes(service.service, HOMES, "db")

    async def story(base: str) -> None:
        stop, load = asyncio.Event(), Load()
        charger = KeptCharger(service.gateway.url, homes[0].charge_point_id)
        clients = [await asyncio.to_thread(login, base, home.email, ANSWER_BOUND) for home in homes]
        tasks = [asyncio.create_task(charger.keep_connected(stop))]
        try:
            await until(lambda: charger.set_profiles(), 30, "the first profiles at the charger")
            tasks += [
                asyncio.create_task(load.edit(c, h, stop))
                for c, h in zip(clients[1:], homes[1:], strict=True)
            ]
            await until(lambda: load.statuses.count(200) >= 5, 30, "edits before the outage")
            await through_restart(embedded, clients[0], homes[0])
            before = load.statuses.count(200)
            await caught_up(service, clients[0], homes[0], charger)
            await until(
                lambda: load.statuses.count(200) > before + 5, RECOVERY_BOUND, "edits after"
            )
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            for client in clients:
                await client.aclose()
        print(f"load: {len(load.statuses)} answers, {load.statuses.count(503)} of them 503")
        assert set(load.statuses) <= {200, 503}, sorted(set(load.statuses))
        assert not load.failures, load.failures[:3]

    with serving(service.api) as base:
        asyncio.run(story(base))
        # The outage was waited out, never taken for events or groups that cannot be processed.
        faults = service.context.view.faults
        assert faults.open_stuck_events() == []
        assert faults.failing_groups() == set()
        wait_until(
            lambda: httpx.get(f"{base}/healthz").json()["status"] == "ok",
            RECOVERY_BOUND,
            "every follower following again",
        )
