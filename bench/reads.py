"""Benchmark 6: portal reads with many groups.

    python bench/reads.py --groups 100000 --requests 2000 --concurrency 8

A few home users are created through the real command service; the rest of
the groups (and their home users) are added to the read models in bulk with
generate_series, since the reads touch only those tables (writing 100,000
groups through the event store is measured by bench/commands.py instead).
Then: a home user's GET /api/me/groups, and the operator's group list (first
page, a page deep in the list, and a search), p50/p95/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
import psycopg
from common import header, percentiles
from harness import fresh_database, running_service
from seed import OPERATOR, USER_PASSWORD, home_users_with_groups, operator

from domain.service import SmartCharging


def bulk_groups(database, count: int) -> None:  # type: ignore[no-untyped-def]
    s = f'"{database.schema}"'
    with psycopg.connect(database.conninfo(), autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {s}.rm_users (id, email, role, status, created_at)"
            " SELECT md5('u' || i)::uuid, 'bulk' || i || '@bench.example', 'home_user',"
            " 'active', now()"
            " FROM generate_series(1, %s) AS i",
            (count,),
        )
        conn.execute(
            f"INSERT INTO {s}.rm_groups (id, name, description, algorithm, time_zone, home_user_id,"
            " exclusion_windows, created_at, updated_at, version)"
            " SELECT md5('g' || i)::uuid, 'Bulk home ' || i, '', 'consumer_tou',"
            " 'Europe/Amsterdam',"
            ' md5(\'u\' || i)::uuid, \'[{"weekdays":["mon"],"start":"17:00","end":"21:00"}]\','
            " now(), now(), 1 FROM generate_series(1, %s) AS i",
            (count,),
        )
        conn.execute(f"ANALYZE {s}.rm_groups")
        conn.execute(f"ANALYZE {s}.rm_users")


def group_at(database, position: int) -> str:  # type: ignore[no-untyped-def]
    """The id of the group at `position` in the operator's order (a deep page's start)."""
    with psycopg.connect(database.conninfo()) as conn:
        row = conn.execute(
            f'SELECT id FROM "{database.schema}".rm_groups ORDER BY lower(name), id'
            " OFFSET %s LIMIT 1",
            (position,),
        ).fetchone()
    assert row is not None
    return str(row[0])


async def measure(
    base: str, token: str, paths: list[str], requests: int, concurrency: int
) -> list[float]:
    samples: list[float] = []
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}
    ) as client:

        async def worker(index: int) -> None:
            for n in range(index, requests, concurrency):
                started = time.perf_counter()
                answer = await client.get(paths[n % len(paths)])
                answer.raise_for_status()
                samples.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return samples


def login(base: str, email: str, password: str) -> str:
    answer = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": password})
    answer.raise_for_status()
    return str(answer.json()["token"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    header("portal reads", groups=args.groups, requests=args.requests, concurrency=args.concurrency)
    with fresh_database() as database, running_service(database) as service:
        app = SmartCharging(env=database.eventsourcing_env())
        users = home_users_with_groups(app, operator(app), 8, with_password=True)
        bulk_groups(database, args.groups)
        user_token = login(service.http, users[0][0], USER_PASSWORD)
        operator_token = login(service.http, *OPERATOR)
        deep = group_at(database, args.groups // 2)
        runs = {
            "GET /api/me/groups": (user_token, ["/api/me/groups"]),
            "GET /api/operator/groups (first page)": (operator_token, ["/api/operator/groups"]),
            "GET /api/operator/groups?offset=50000": (
                operator_token,
                ["/api/operator/groups?offset=50000"],
            ),
            f"GET /api/operator/groups?after=<the {args.groups // 2}th>": (
                operator_token,
                [f"/api/operator/groups?after={deep}"],
            ),
            "GET /api/operator/groups?q=home 4242": (
                operator_token,
                ["/api/operator/groups?q=home%204242"],
            ),
        }
        for name, (token, paths) in runs.items():
            samples = asyncio.run(
                measure(service.http, token, paths, args.requests, args.concurrency)
            )
            print(f"{name}: {percentiles(samples)}")
        app.close()


if __name__ == "__main__":
    main()
