"""Benchmarks 3 and 4: command throughput and projection lag.

    python bench/commands.py --clients 32 --seconds 20

3. Home users editing their exclusion times over HTTP, `clients` at once, each
   command answered only once the read models include it (read-your-writes);
   then the raw event-store append path (the command service in-process, same
   number of threads), beside a plain psycopg INSERT loop into a similar table
   on the same server as the ceiling.
4. Projection lag: from an event's commit to its row in the read models, for
   every command of the HTTP run (rm_audit_log.projected_at - event time).

With `--servers 2` the HTTP clients are spread over two `smartcharge serve`
processes on the same database (each a Python process, so each up to one core).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import threading
import time
import uuid
from contextlib import ExitStack

import httpx
import psycopg
from common import header, percentiles, postgres_cpu_seconds, user_and_system_seconds
from harness import fresh_database, running_service
from seed import USER_PASSWORD, home_users_with_groups, operator

from domain.exclusion_times import parse_windows
from domain.service import SmartCharging


def windows(n: int) -> list[dict[str, object]]:
    return [
        {"weekdays": ["mon", "wed"], "start": f"{n % 24:02d}:00", "end": f"{(n + 3) % 24:02d}:30"}
    ]


async def logged_in(base: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    login = await client.post("/api/auth/login", json={"email": email, "password": USER_PASSWORD})
    login.raise_for_status()
    client.headers["Authorization"] = f"Bearer {login.json()['token']}"
    return client


async def edit_until(
    client: httpx.AsyncClient, group_id: str, stop_at: float, out: list[float]
) -> None:
    for n in itertools.count():
        if time.perf_counter() >= stop_at:
            return
        started = time.perf_counter()
        answer = await client.put(
            f"/api/me/groups/{group_id}/exclusion-times", json={"windows": windows(n)}
        )
        answer.raise_for_status()
        out.append((time.perf_counter() - started) * 1000)


async def http_run(
    bases: list[str], users: list[tuple[str, object]], seconds: float, logged_in_all=lambda: None
) -> list[float]:
    """All users log in first (spread over the servers; then `logged_in_all()`); then each
    edits his exclusion times for `seconds`."""
    clients = await asyncio.gather(
        *(logged_in(bases[i % len(bases)], email) for i, (email, _) in enumerate(users))
    )
    logged_in_all()
    samples: list[float] = []
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(
        *(edit_until(c, str(g), stop_at, samples) for c, (_, g) in zip(clients, users, strict=True))
    )
    for client in clients:
        await client.aclose()
    return samples


def threaded(work, threads: int, seconds: float) -> list[float]:  # type: ignore[no-untyped-def]
    samples: list[float] = []
    stop_at = time.perf_counter() + seconds

    def loop(index: int) -> None:
        for n in itertools.count():
            if time.perf_counter() >= stop_at:
                return
            started = time.perf_counter()
            work(index, n)
            samples.append((time.perf_counter() - started) * 1000)

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return samples


def report(name: str, samples: list[float], seconds: float) -> float:
    rate = len(samples) / seconds
    print(f"{name}: {rate:.0f} commands/s, latency {percentiles(samples)}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--servers", type=int, default=1)
    args = parser.parse_args()
    header(
        "command throughput and projection lag",
        clients=args.clients,
        seconds=args.seconds,
        servers=args.servers,
    )
    with fresh_database() as database, ExitStack() as stack:
        services = [stack.enter_context(running_service(database)) for _ in range(args.servers)]
        app = SmartCharging(env=database.eventsourcing_env(pool_size=args.clients + 4))
        actor = operator(app)
        users = home_users_with_groups(app, actor, args.clients, with_password=True)
        start_position = app.recorder.max_notification_id() or 0

        pids = [s.process.pid for s in services]
        before: list[float] = []

        def cpu() -> tuple[float, float, float, float]:
            user, kernel = (sum(t) for t in zip(*map(user_and_system_seconds, pids), strict=True))
            return user, kernel, postgres_cpu_seconds(), sum(user_and_system_seconds(os.getpid()))

        edits = asyncio.run(
            http_run([s.http for s in services], users, args.seconds, lambda: before.extend(cpu()))
        )
        used = [(b - a) * 1000 / len(edits) for a, b in zip(before, cpu(), strict=True)]
        http = report("HTTP exclusion-time edits", edits, args.seconds)
        print(
            f"CPU per HTTP edit: server {used[0] + used[1]:.2f} ms ({used[1]:.2f} in the"
            f" kernel), PostgreSQL {used[2]:.2f} ms, the clients (this process) {used[3]:.2f} ms"
        )
        lag_rows = projection_lag(database, start_position)
        print(f"projection lag (commit -> read model row) under that load: {percentiles(lag_rows)}")

        groups = [g for _, g in users]
        appended = report(
            "event store append (command service, in-process)",
            threaded(
                lambda i, n: app.groups.set_exclusion_times(
                    groups[i], parse_windows(windows(n)), actor
                ),
                args.clients,
                args.seconds,
            ),
            args.seconds,
        )
        app.close()  # its connections back to the server before the ceiling takes as many
        stack.close()  # and the services' (two of them hold as many as the server allows)
        ceiling = report(
            "plain psycopg INSERT (ceiling)",
            insert_loop(database, args.clients, args.seconds),
            args.seconds,
        )
        print(f"ratios: HTTP/ceiling {http / ceiling:.2f}, append/ceiling {appended / ceiling:.2f}")


def projection_lag(database, after: int) -> list[float]:  # type: ignore[no-untyped-def]
    with psycopg.connect(database.conninfo()) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM projected_at - at) * 1000"
            f' FROM "{database.schema}".rm_audit_log'
            " WHERE position > %s AND action = 'exclusion_times_set'",
            (after,),
        ).fetchall()
    return [float(row[0]) for row in rows]


def insert_loop(database, threads: int, seconds: float) -> list[float]:  # type: ignore[no-untyped-def]
    table = f'"{database.schema}".ceiling_events'
    with psycopg.connect(database.conninfo(), autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, originator_id uuid NOT NULL,"
            " originator_version integer NOT NULL, topic text NOT NULL, state bytea NOT NULL,"
            " UNIQUE (originator_id, originator_version))"
        )
    connections = [psycopg.connect(database.conninfo(), autocommit=True) for _ in range(threads)]
    payload = b'{"windows":[{"weekdays":["mon","wed"],"start":1020,"end":1260}]}' * 2
    versions = [itertools.count(1) for _ in range(threads)]
    ids = [uuid.uuid4() for _ in range(threads)]

    def insert(index: int, _n: int) -> None:
        connections[index].execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s)",
            (
                ids[index],
                next(versions[index]),
                "domain.groups:SmartChargingGroup.ExclusionTimesSet",
                payload,
            ),
        )

    try:
        return threaded(insert, threads, seconds)
    finally:
        for conn in connections:
            conn.close()


if __name__ == "__main__":
    main()
