"""Benchmark 1: how fast a home user's press reaches the charger.

    python bench/reaction.py --chargers 1000 --samples 200

`chargers` simulated chargers (bench/fleet.py) connect to `smartcharge serve`
and heartbeat every `heartbeat` seconds, each in a group of its own. Then, one
at a time, a home user presses Start priority charge (POST) and the time until
the SetChargingProfile frame arrives at his charger is measured; likewise for
an exclusion-time edit (PUT). Target on 2 cores: p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from common import header, percentiles
from fleet import FleetStats, start_fleet
from harness import fresh_database, running_service, wait_caught_up
from seed import USER_PASSWORD, operator

from domain.actors import Actor
from domain.evse_limits import EvseLimits
from domain.service import SmartCharging

KEY = "bench-charger-key-0123456789"


def seed(app: SmartCharging, actor: Actor, chargers: int, users: int) -> list[tuple[str, str, str]]:
    """One group per charger; the first `users` home users can log in.
    Returns (charger id, user e-mail, group id) of those users."""

    def one(index: int) -> tuple[str, str, str]:
        charger, email = f"FLEET-{index}", f"driver{index}@bench.example"
        user_id, token = app.accounts.invite_home_user(email, actor)
        if index < users:
            app.accounts.accept_invitation(token, USER_PASSWORD)
        evse_id, _ = app.evses.register_evse(
            charger, 1, actor, EvseLimits(max_current_a=16, phases=3)
        )
        app.chargers.set_charger_password(charger, KEY, actor)
        group_id, _ = app.groups.create_group(
            name=f"Driver {index}",
            time_zone="Europe/Amsterdam",
            actor=actor,
            home_user_id=user_id,
            evse_ids=[evse_id],
        )
        return charger, email, str(group_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(chargers)))[:users]


async def press(
    client: httpx.AsyncClient, stats: FleetStats, charger: str, method: str, path: str, body: dict
) -> float:
    started = time.perf_counter()
    answer = await client.request(method, path, json=body)
    answer.raise_for_status()
    received = await stats.wait_for_profile(charger, after=started)
    return (received.at - started) * 1000


async def measure(
    service_http: str,
    service_ocpp: str,
    drivers: list[tuple[str, str, str]],
    chargers: int,
    samples: int,
    heartbeat: float,
) -> None:
    stats, stop = FleetStats(), asyncio.Event()
    ids = [f"FLEET-{i}" for i in range(chargers)]
    began = time.perf_counter()
    tasks = await start_fleet(service_ocpp, ids, KEY, stats, stop, heartbeat_seconds=heartbeat)
    print(
        f"fleet: {stats.connected} connected, {stats.failed} refused, "
        f"in {time.perf_counter() - began:.1f} s"
    )
    await asyncio.sleep(5)  # let the initial profiles of every charger be delivered
    clients = []
    for _charger, email, _group in drivers:
        client = httpx.AsyncClient(base_url=service_http, timeout=30)
        token = (
            await client.post("/api/auth/login", json={"email": email, "password": USER_PASSWORD})
        ).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        clients.append(client)
    priority, exclusion = [], []
    for n in range(samples):
        charger, _email, group = drivers[n % len(drivers)]
        client = clients[n % len(drivers)]
        priority.append(
            await press(
                client,
                stats,
                charger,
                "POST",
                f"/api/me/groups/{group}/priority-charge",
                {"duration_minutes": 30},
            )
        )
        await client.delete(f"/api/me/groups/{group}/priority-charge")
        windows = [{"weekdays": ["mon", "tue"], "start": f"{n % 24:02d}:00", "end": "23:45"}]
        exclusion.append(
            await press(
                client,
                stats,
                charger,
                "PUT",
                f"/api/me/groups/{group}/exclusion-times",
                {"windows": windows},
            )
        )
        await asyncio.sleep(0.05)
    print(f"start priority charge -> SetChargingProfile at the charger: {percentiles(priority)}")
    print(f"exclusion-time edit -> SetChargingProfile at the charger: {percentiles(exclusion)}")
    print(f"heartbeat answers meanwhile: {percentiles(stats.heartbeats_ms)}")
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chargers", type=int, default=1000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--heartbeat", type=float, default=30.0)
    args = parser.parse_args()
    header(
        "reaction latency",
        chargers=args.chargers,
        samples=args.samples,
        heartbeat_seconds=args.heartbeat,
    )
    with fresh_database() as database:
        app = SmartCharging(env=database.eventsourcing_env())
        started = time.perf_counter()
        drivers = seed(app, operator(app), args.chargers, args.users)
        print(
            f"seeded {args.chargers} chargers and groups in {time.perf_counter() - started:.0f} s"
        )
        with running_service(database) as service:
            wait_caught_up(database, app.recorder.max_notification_id())
            asyncio.run(
                measure(
                    service.http, service.ocpp, drivers, args.chargers, args.samples, args.heartbeat
                )
            )
        app.close()


if __name__ == "__main__":
    main()
