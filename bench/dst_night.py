"""A DST night: every group of a zone gets new profiles at the same instant.

    python bench/dst_night.py --groups 100000 --connected 1000 [--patterns 1000]

`--groups` groups in Europe/Amsterdam, one EVSE each, with exclusion windows drawn from
`--patterns` distinct sets (groups share tariffs), are saved in bulk; `--connected` of
their chargers are connected (bench/fleet.py, in a process of its own). The service runs
in this process on a clock set half an hour before Amsterdam's next spring-forward
change, so the scheduler's start records every group's winter profiles (timed: "start").
Then the clock is set to the change and its timer fires: the clock runs until every
group's summer profiles are recorded, and until every connected charger has been sent
them and its answer is recorded. Target: 100,000 groups end to end in < 60 s.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import psycopg
from common import cpu_seconds, header
from harness import free_port, fresh_database
from seed import operator
from storm import profiled

from domain.evse_limits import EvseLimits
from domain.evses import Evse
from domain.exclusion_times import ExclusionWindow, parse_windows
from domain.groups import SmartChargingGroup
from domain.service import SmartCharging
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput, desired_profiles
from scheduler.utc_offsets import next_offset_change
from smartcharge.database import Database
from smartcharge.runtime import Runtime, service_env
from smartcharge.settings import Settings

ZONE = "Europe/Amsterdam"
KEY = "dst-night-charger-key-0123"
SAVE_CHUNK = 500  # groups saved per transaction while seeding
TIMEOUT_SECONDS = 1800
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ShiftedClock:
    """The real clock moved to another instant, running on from there."""

    def __init__(self, now: datetime):
        self.set(now)

    def set(self, now: datetime) -> None:
        self.offset = now - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def patterns(count: int, rng: random.Random) -> list[tuple[ExclusionWindow, ...]]:
    """`count` distinct sets of 1-4 windows, on whole quarter hours."""
    found: dict[tuple[ExclusionWindow, ...], None] = {}
    while len(found) < count:
        windows = []
        for _ in range(rng.randint(1, 4)):
            start = rng.randrange(0, 96) * 15
            length = rng.randrange(1, 24) * 15
            end = (start + length) % 1440
            windows.append(
                {
                    "weekdays": sorted(rng.sample(WEEKDAYS, rng.randint(1, 7)), key=WEEKDAYS.index),
                    "start": f"{start // 60:02d}:{start % 60:02d}",
                    "end": f"{end // 60:02d}:{end % 60:02d}",
                }
            )
        try:
            found[tuple(parse_windows(windows))] = None
        except ValueError:
            continue
    return list(found)


def changing(shared: list[tuple[ExclusionWindow, ...]], change: datetime) -> list[bool]:
    """Of each pattern, whether the scheduler computes it again at `change` (the algorithm
    says when): a recurring profile does, an Absolute fallback (more periods than a
    charger holds a week) follows local time across the change and is refreshed later."""
    evse = EvseSpec(evse_id=uuid4(), connector_id=1, limits=EvseLimits(max_current_a=16, phases=3))
    before = change - timedelta(minutes=30)
    return [
        desired_profiles(GroupInput(ZONE, w), [evse], ChargerLimits(), before).next_change == change
        for w in shared
    ]


def seed(
    app: SmartCharging, groups: int, connected: int, shared: list[tuple[ExclusionWindow, ...]]
) -> None:
    """The groups and EVSEs saved in bulk (SAVE_CHUNK groups a transaction); the first
    `connected` chargers get their key through the command service."""
    actor = operator(app)
    limits = EvseLimits(max_current_a=16, phases=3)
    for first in range(0, groups, SAVE_CHUNK):
        aggregates: list[Any] = []
        for index in range(first, min(first + SAVE_CHUNK, groups)):
            evse = Evse.register(f"DST-{index}", 1, limits, actor)
            group = SmartChargingGroup.create(f"Night {index}", "", "consumer_tou", ZONE, actor)
            group.set_exclusion_times(list(shared[index % len(shared)]), actor)
            evse.assign_to(group.id, actor)
            group.add_evse(evse.id, actor)
            aggregates += [evse, group]
        app.save(*aggregates)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(
                lambda i: app.chargers.set_charger_password(f"DST-{i}", KEY, actor),
                range(connected),
            )
        )


EVENTS_TABLE = "smartcharging_events"


def count_deliveries(database: Database, topic: str, after: int) -> int:
    """How many deliveries recorded an event of `topic` after position `after`."""
    with psycopg.connect(database.conninfo()) as conn:
        row = conn.execute(
            f'SELECT count(DISTINCT originator_id) FROM "{database.schema}".{EVENTS_TABLE}'
            " WHERE notification_id > %s AND topic LIKE %s",
            (after, f"%{topic}"),
        ).fetchone()
    return int(row[0]) if row else 0


def until(check: Callable[[], bool], what: str, started: float) -> float:
    deadline = time.perf_counter() + TIMEOUT_SECONDS
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not within {TIMEOUT_SECONDS} s: {what}")
        time.sleep(0.25)
    took = time.perf_counter() - started
    print(f"{what}: {took:.1f} s", flush=True)
    return took


def fleet(url: str, count: int) -> subprocess.Popen[bytes]:
    here = Path(__file__).parent
    command = [sys.executable, str(here / "fleet.py"), "--url", url, "--prefix", "DST"]
    command += ["--count", str(count), "--password", KEY, "--seconds", str(TIMEOUT_SECONDS)]
    command += ["--heartbeat", "300"]
    return subprocess.Popen(command, cwd=here, stdout=subprocess.DEVNULL)


def run(groups: int, connected: int, pattern_count: int, profile: str | None) -> None:
    change = next_offset_change(ZoneInfo(ZONE), datetime.now(UTC))
    assert change is not None
    with fresh_database() as database:
        settings = Settings(
            data_dir=Path(f"/tmp/smartcharge-bench-{database.schema}"),
            ocpp_port=free_port(),
            ocpp_call_timeout=30,
        )
        app = SmartCharging(env=service_env(settings, database))
        assert app.recorder.events_table_name == EVENTS_TABLE  # type: ignore[attr-defined]
        shared = patterns(pattern_count, random.Random(2027))
        changes = changing(shared, change)
        changed = sum(changes[i % len(shared)] for i in range(groups))
        changed_connected = sum(changes[i % len(shared)] for i in range(connected))
        print(f"{changed} groups' profiles are due at {change:%Y-%m-%d %H:%M} UTC", flush=True)
        began = time.perf_counter()
        seed(app, groups, connected, shared)
        app.close()
        print(f"seeded {groups} groups in {time.perf_counter() - began:.0f} s", flush=True)

        clock = ShiftedClock(change - timedelta(minutes=30))
        runtime = Runtime(settings, database, clock=clock)
        process = None
        try:
            began = time.perf_counter()
            runtime.start()
            runtime.read_models.view.wait_for(
                runtime.service.recorder.max_notification_id() or 0, timeout=TIMEOUT_SECONDS
            )
            print(f"read models caught up: {time.perf_counter() - began:.1f} s", flush=True)
            runtime.gateway.start()
            scheduler = runtime.start_scheduler()
            cpu = cpu_seconds(os.getpid())
            began = time.perf_counter()
            until(
                lambda: count_deliveries(database, "ProfilesDesired", 0) >= groups,
                f"start: {groups} groups' winter profiles recorded",
                began,
            )
            print(f"  this process's CPU: {cpu_seconds(os.getpid()) - cpu:.1f} s")
            process = fleet(f"ws://127.0.0.1:{settings.ocpp_port}/ocpp", connected)
            began = time.perf_counter()
            until(
                lambda: count_deliveries(database, "ProfileAnswered", 0) >= connected,
                f"{connected} chargers connected, sent and answered",
                began,
            )

            position = runtime.service.recorder.max_notification_id() or 0
            clock.set(change)
            cpu = cpu_seconds(os.getpid())
            began = time.perf_counter()
            job = scheduler.timers.get_job(scheduler.group_timers.job_id(change))
            assert job is not None, "no timer at the change"
            job.modify(next_run_time=datetime.now(UTC))
            with profiled(os.getpid(), profile, gil=True):
                until(
                    lambda: count_deliveries(database, "ProfilesDesired", position) >= changed,
                    f"DST night: {changed} groups' summer profiles computed and recorded",
                    began,
                )
            until(
                lambda: (
                    count_deliveries(database, "ProfileAnswered", position) >= changed_connected
                ),
                f"DST night: {changed_connected} connected chargers sent them, answers recorded",
                began,
            )
            print(f"  this process's CPU: {cpu_seconds(os.getpid()) - cpu:.1f} s")
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
            runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--connected", type=int, default=1000)
    parser.add_argument("--patterns", type=int, default=1000)
    parser.add_argument("--profile", help="py-spy's samples of the DST night (--gil) here")
    args = parser.parse_args()
    header("dst_night", groups=args.groups, connected=args.connected, patterns=args.patterns)
    run(args.groups, args.connected, args.patterns, args.profile)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
