"""Benchmark 2: how many chargers one `smartcharge serve` holds.

    python bench/connections.py --steps 1000,2500,5000,10000 --heartbeat 60 --window 60

Chargers (bench/fleet.py) connect in steps; after each step every charger
heartbeats for `window` seconds and the answers' latency is reported. The run
stops at the first step whose p99 exceeds 1 s. Target: 10,000 chargers.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
from common import header, percentiles
from fleet import FleetStats, start_fleet
from harness import fresh_database, running_service, wait_caught_up
from seed import operator

from domain.evse_limits import EvseLimits
from domain.service import SmartCharging

KEY = "bench-charger-key-0123456789"


def seed(app: SmartCharging, count: int) -> list[str]:
    actor = operator(app)

    def one(index: int) -> str:
        charger = f"HOLD-{index}"
        app.evses.register_evse(charger, 1, actor, EvseLimits(max_current_a=16, phases=3))
        app.chargers.set_charger_password(charger, KEY, actor)
        return charger

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


async def ramp(
    ocpp_url: str,
    ids: list[str],
    steps: list[int],
    heartbeat: float,
    window: float,
    server_pid: int,
) -> None:
    stats, stop = FleetStats(), asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    server = psutil.Process(server_pid)
    held = 0
    for step in steps:
        began = time.perf_counter()
        tasks += await start_fleet(
            ocpp_url,
            ids[held:step],
            KEY,
            stats,
            stop,
            heartbeat_seconds=heartbeat,
            start_session=False,
        )
        held = step
        connect_time = time.perf_counter() - began
        stats.heartbeats_ms.clear()
        await asyncio.sleep(window)
        samples = sorted(stats.heartbeats_ms)
        p99 = samples[int(0.99 * len(samples))] if samples else float("inf")
        rss = server.memory_info().rss / 2**20
        print(
            f"{stats.connected} connected ({stats.failed} failed; this step took "
            f"{connect_time:.0f} s), server RSS {rss:.0f} MiB, heartbeats: {percentiles(samples)}"
        )
        if p99 > 1000:
            print(f"heartbeat p99 over 1 s at {stats.connected} chargers: stopping")
            break
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", default="1000,2500,5000,10000")
    parser.add_argument("--heartbeat", type=float, default=60.0)
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    steps = [int(step) for step in args.steps.split(",")]
    header(
        "connections held",
        steps=args.steps,
        heartbeat_seconds=args.heartbeat,
        window_seconds=args.window,
    )
    with fresh_database() as database:
        app = SmartCharging(env=database.eventsourcing_env())
        started = time.perf_counter()
        ids = seed(app, steps[-1])
        print(f"seeded {len(ids)} chargers in {time.perf_counter() - started:.0f} s")
        with running_service(database) as service:
            wait_caught_up(database, app.recorder.max_notification_id())
            asyncio.run(
                ramp(service.ocpp, ids, steps, args.heartbeat, args.window, service.process.pid)
            )
        app.close()


if __name__ == "__main__":
    main()
