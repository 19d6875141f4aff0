"""Reconnect storm: every charger connects at the same moment, as after a restart.

    python bench/storm.py --chargers 10000

Each charger (bench/fleet.py) has an EVSE in a group of its own, whose desired
profiles the scheduler has recorded before the storm. Then all connect at once
(Basic auth, BootNotification, StatusNotification), and, as real chargers do, one
that is refused (a full listen queue, a time-out) tries again after a random pause;
the clock stops when every charger is accepted and booted, holds its exclusion
profile, and the service has recorded every charger's answer. Target: 10,000
chargers in < 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from common import header
from fleet import FleetStats, SimulatedCharger, boot_charger
from harness import fresh_database, running_service, wait_caught_up
from seed import operator

from domain.evse_limits import EvseLimits
from domain.service import SmartCharging
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


async def until(check, what: str, started: float) -> None:  # type: ignore[no-untyped-def]
    """Poll `check` (in a thread) until true; print when, from `started`."""
    deadline = time.perf_counter() + TIMEOUT_SECONDS
    while not await asyncio.to_thread(check):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not within {TIMEOUT_SECONDS} s: {what}")
        await asyncio.sleep(0.5)
    print(f"{what}: {time.perf_counter() - started:.1f} s")


async def storm(
    ocpp_url: str, ids: list[str], database: Database, app: SmartCharging, position: int
) -> None:
    stats = FleetStats()
    started = time.perf_counter()
    chargers = await asyncio.gather(*(accepted(ocpp_url, cp, stats) for cp in ids))
    print(
        f"{stats.connected} accepted and booted ({stats.failed} attempts refused first): "
        f"{time.perf_counter() - started:.1f} s"
    )
    await until(
        lambda: all(stats.profiles[cp] for cp in ids), "every charger holds a profile", started
    )
    await until(
        lambda: deliveries_with(database, app, "ProfileAnswered", position) >= len(ids),
        "every answer recorded",
        started,
    )
    for charger, listener in chargers:
        listener.cancel()
        await charger._connection.close()


async def accepted(
    url: str, charge_point_id: str, stats: FleetStats
) -> tuple[SimulatedCharger, asyncio.Task[None]]:
    """Connect and boot, trying again after a pause while refused."""
    while True:
        pair = await boot_charger(url, charge_point_id, KEY, stats, start_session=False)
        if pair is not None:
            return pair
        await asyncio.sleep(random.uniform(*RETRY_PAUSE_SECONDS))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chargers", type=int, default=10_000)
    args = parser.parse_args()
    header("reconnect storm", chargers=args.chargers)
    with fresh_database() as database:
        app = SmartCharging(env=database.eventsourcing_env(pool_size=20))
        began = time.perf_counter()
        ids = seed(app, args.chargers)
        print(
            f"seeded {len(ids)} chargers, EVSEs and groups in {time.perf_counter() - began:.0f} s"
        )
        with running_service(database) as service:
            began = time.perf_counter()
            wait_caught_up(database, app.recorder.max_notification_id())
            while deliveries_with(database, app, "ProfilesDesired", 0) < len(ids):
                time.sleep(0.5)
            took = time.perf_counter() - began
            print(f"the scheduler recorded every EVSE's profiles in {took:.0f} s")
            position = app.recorder.max_notification_id() or 0
            asyncio.run(storm(service.ocpp, ids, database, app, position))
        app.close()


if __name__ == "__main__":
    main()
