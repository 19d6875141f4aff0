"""Reconnect storm: every charger connects at the same moment.

    python bench/storm.py --chargers 10000 [--rounds first,outage,restart]

Each charger (bench/fleet.py) has an EVSE in a group of its own, whose desired
profiles the scheduler has recorded before the storm. Then all connect at once
(Basic auth, BootNotification, StatusNotification), and, as real chargers do, one
that is refused (a full listen queue, a time-out, a 503) tries again, after the
Retry-After the server gave or a random pause; the clock stops when every charger
is accepted and booted, holds its exclusion profile, and the service has recorded
every charger's answer. Target: 10,000 chargers in < 60 s.

Three rounds: the fleet's first connection to a service that never saw it; after a
network outage (every connection drops at once, the service runs on); after the
service restarts. Each prints the server's CPU-seconds, which a busy machine changes
less than the times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
from common import header, postgres_cpu_seconds, user_and_system_seconds
from fleet import FleetStats, SimulatedCharger, boot_charger
from harness import Service, fresh_database, running_service, wait_caught_up
from seed import operator

from domain.evse_limits import EvseLimits
from domain.service import SmartCharging
from projections.tables import Tables
from smartcharge.database import Database

KEY = "storm-charger-key-0123456789"
TIMEOUT_SECONDS = 900
RETRY_PAUSE_SECONDS = (1.0, 5.0)  # a refused charger's back-off, drawn at random


def seed(app: SmartCharging, count: int) -> list[str]:
    actor = operator(app)

    def one(index: int) -> str:
        charger = f"STORM-{index}"
        evse_id, _ = app.evses.register_evse(
            charger, 1, actor, EvseLimits(max_current_a=16, phases=3)
        )
        app.chargers.set_charger_password(charger, KEY, actor)
        app.groups.create_group(
            name=f"Storm {index}", time_zone="Europe/Amsterdam", actor=actor, evse_ids=[evse_id]
        )
        return charger

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, range(count)))


def deliveries_with(database: Database, app: SmartCharging, topic: str, after: int) -> int:
    """How many EVSEs' deliveries recorded an event of `topic` after position `after`."""
    table = f'"{database.schema}".{app.recorder.events_table_name}'  # type: ignore[attr-defined]
    with psycopg.connect(database.conninfo()) as conn:
        row = conn.execute(
            f"SELECT count(DISTINCT originator_id) FROM {table}"
            " WHERE notification_id > %s AND topic LIKE %s",
            (after, f"%{topic}"),
        ).fetchone()
    return int(row[0]) if row else 0


def events_after(database: Database, app: SmartCharging, after: int) -> list[tuple[str, int]]:
    """How many events of each kind were recorded after position `after`, most first."""
    table = f'"{database.schema}".{app.recorder.events_table_name}'  # type: ignore[attr-defined]
    with psycopg.connect(database.conninfo()) as conn:
        rows = conn.execute(
            f"SELECT split_part(topic, '.', -1), count(*) FROM {table}"
            " WHERE notification_id > %s GROUP BY 1 ORDER BY 2 DESC",
            (after,),
        ).fetchall()
    return [(str(topic), int(n)) for topic, n in rows]


async def until(check, what: str, started: float) -> None:  # type: ignore[no-untyped-def]
    """Poll `check` (in a thread) until true; print when, from `started`."""
    deadline = time.perf_counter() + TIMEOUT_SECONDS
    while not await asyncio.to_thread(check):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not within {TIMEOUT_SECONDS} s: {what}")
        await asyncio.sleep(0.5)
    print(f"{what}: {time.perf_counter() - started:.1f} s")


@contextmanager
def profiled(pid: int, path: str | None, *, gil: bool) -> Iterator[None]:
    """py-spy samples the server meanwhile (collapsed stacks in `path`), when asked: the
    threads that run, or (`gil`) the one holding the interpreter lock."""
    if path is None:
        yield
        return
    command = [
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--rate",
        "50",
        "--format",
        "raw",
        "--nonblocking",
    ]
    spy = subprocess.Popen(
        [*command, *(["--gil"] if gil else []), "--output", path], stdout=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        spy.wait(timeout=120)


@contextmanager
def cpu_used(server_pid: int, chargers: int) -> Iterator[None]:
    """Print the CPU-seconds the server and this load generator used meanwhile."""
    server, ours, began = user_and_system_seconds(server_pid), os.times(), time.perf_counter()
    database = postgres_cpu_seconds()
    load_before = os.getloadavg()[0]
    try:
        yield
    finally:
        wall = time.perf_counter() - began
        now = user_and_system_seconds(server_pid)
        user, system = now[0] - server[0], now[1] - server[1]
        server_total = user + system
        after = os.times()
        load = after.user + after.system - ours.user - ours.system
        database = postgres_cpu_seconds() - database
        print(
            f"CPU over {wall:.1f} s: server {server_total:.1f} s "
            f"({server_total / chargers * 1000:.1f} ms a charger; {system:.1f} s of it in the"
            f" kernel), PostgreSQL {database:.1f} s "
            f"({database / chargers * 1000:.1f} ms), load generator {load:.1f} s; "
            f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
        )


Pair = tuple[SimulatedCharger, asyncio.Task[None]]


async def storm(
    name: str, ocpp_url: str, ids: list[str], database: Database, app: SmartCharging
) -> list[Pair]:
    """Every charger connects at once; print when all are booted, hold a profile sent in
    this round, and have the answers of this round recorded."""
    position = app.recorder.max_notification_id() or 0
    stats = FleetStats()
    started = time.perf_counter()
    chargers = await asyncio.gather(*(accepted(ocpp_url, cp, stats) for cp in ids))
    refusals = ", ".join(f"{n} {what}" for what, n in stats.refusals.most_common()) or "none"
    print(
        f"{name}: {stats.connected} accepted and booted: {time.perf_counter() - started:.1f} s"
        f" ({stats.failed} attempts refused first: {refusals})"
    )
    await until(
        lambda: all(stats.profiles[cp] for cp in ids),
        f"{name}: every charger holds a profile",
        started,
    )
    await until(
        lambda: deliveries_with(database, app, "ProfileAnswered", position) >= len(ids),
        f"{name}: every answer recorded",
        started,
    )
    recorded = ", ".join(
        f"{n / len(ids):.2f} {topic}" for topic, n in events_after(database, app, position)
    )
    print(f"{name}: events recorded a charger: {recorded}")
    return chargers


async def outage(chargers: list[Pair], database: Database) -> None:
    """Every connection drops at once, as when the network goes; until the service has
    recorded every charger disconnected."""
    started = time.perf_counter()
    for charger, listener in chargers:
        listener.cancel()
        charger._connection.transport.abort()
    await until(lambda: connected_count(database) == 0, "outage: all disconnected", started)


def connected_count(database: Database) -> int:
    with psycopg.connect(database.conninfo()) as conn:
        table = Tables(database.schema or "public").chargers
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE connected").fetchone()
    return int(row[0]) if row else 0


async def accepted(url: str, charge_point_id: str, stats: FleetStats) -> Pair:
    """Connect and boot, trying again while refused: after the Retry-After the server
    gave (spread by ±50 %), else after a random pause."""
    while True:
        pair = await boot_charger(url, charge_point_id, KEY, stats, start_session=False)
        if pair is not None:
            return pair
        told = stats.retry_after.pop(charge_point_id, None)
        pause = told * random.uniform(0.5, 1.5) if told else random.uniform(*RETRY_PAUSE_SECONDS)
        await asyncio.sleep(pause)


async def close_all(chargers: list[Pair]) -> None:
    for charger, listener in chargers:
        listener.cancel()
        await charger._connection.close()


def measured_round(
    name: str,
    args: argparse.Namespace,
    service: Service,
    ids: list[str],
    database: Database,
    app: SmartCharging,
    then: Callable[[list[Pair]], Awaitable[None]],
) -> None:
    """One storm under the profilers and the CPU count, then `then` with its chargers."""
    pid = service.process.pid
    suffix = f".{name}.txt"

    async def run() -> None:
        with (
            profiled(pid, args.profile and args.profile + suffix, gil=False),
            profiled(pid, args.profile_gil and args.profile_gil + suffix, gil=True),
            cpu_used(pid, len(ids)),
        ):
            chargers = await storm(name, service.ocpp, ids, database, app)
        await then(chargers)

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chargers", type=int, default=10_000)
    parser.add_argument(
        "--rounds",
        default="first,outage,restart",
        help="first: all connect at once to a service that never saw them; outage: all "
        "connections drop, then all connect again; restart: the service restarts, then all "
        "connect again",
    )
    parser.add_argument("--profile", help="py-spy's collapsed stacks of the server's threads")
    parser.add_argument("--profile-gil", help="the same, of the thread holding the GIL")
    args = parser.parse_args()
    header("reconnect storm", chargers=args.chargers, rounds=args.rounds)
    with fresh_database() as database:
        app = SmartCharging(env=database.eventsourcing_env(pool_size=20))
        began = time.perf_counter()
        ids = seed(app, args.chargers)
        print(
            f"seeded {len(ids)} chargers, EVSEs and groups in {time.perf_counter() - began:.0f} s"
        )
        rounds = args.rounds.split(",")
        with running_service(database) as service:
            began = time.perf_counter()
            wait_caught_up(database, app.recorder.max_notification_id())
            while deliveries_with(database, app, "ProfilesDesired", 0) < len(ids):
                time.sleep(0.5)
            took = time.perf_counter() - began
            print(f"the scheduler recorded every EVSE's profiles in {took:.0f} s")
            then = (lambda c: outage(c, database)) if "outage" in rounds else close_all
            measured_round("first connection", args, service, ids, database, app, then)
            if "outage" in rounds:
                measured_round("after an outage", args, service, ids, database, app, close_all)
        if "restart" in rounds:
            with running_service(database) as service:
                measured_round("after a restart", args, service, ids, database, app, close_all)
        app.close()


if __name__ == "__main__":
    main()
