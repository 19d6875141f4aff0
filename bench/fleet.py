"""A fleet of simulated OCPP 1.6J chargers (the `ocpp` library's ChargePoint), for benchmarks.

Each charger connects with Basic auth, boots, reports Available, heartbeats at
a set interval (its answers timed), may start a session, answers
SetChargingProfile like a real charger, and timestamps every profile it gets.

The simulated chargers check no payload against the OCPP schemas, either way: that
took half of the simulator's CPU, which shares the machine with the service it
measures. The tests' strict peer (tests/peer) checks every frame the service sends.

    python bench/fleet.py --url ws://127.0.0.1:9000/ocpp --prefix CP --count 100 \
        --password <key> --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import websockets
from common import percentiles
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

CONFIGURATION = [
    {"key": "ChargingScheduleMaxPeriods", "readonly": True, "value": "24"},
    {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Current,Power"},
    {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": "8"},
]


@dataclass
class Received:
    at: float  # time.perf_counter() when the frame was handled
    connector_id: int
    profile: dict[str, Any]


@dataclass
class FleetStats:
    profiles: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    heartbeats_ms: list[float] = field(default_factory=list)
    connected: int = 0
    failed: int = 0
    refusals: Counter[str] = field(default_factory=Counter)  # failed attempts, by what said no
    retry_after: dict[str, float] = field(default_factory=dict)  # the server's word, per charger
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def profile_arrived(self, charger: str, received: Received) -> None:
        async with self.arrived:
            self.profiles[charger].append(received)
            self.arrived.notify_all()

    async def wait_for_profile(self, charger: str, after: float, timeout: float = 10.0) -> Received:
        """The first SetChargingProfile this charger got after `after` (perf_counter)."""

        def found() -> Received | None:
            return next((r for r in self.profiles[charger] if r.at >= after), None)

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: found() is not None), timeout)
        result = found()
        assert result is not None
        return result


class SimulatedCharger(ChargePoint):
    def __init__(self, charge_point_id: str, connection: Any, stats: FleetStats):
        super().__init__(charge_point_id, connection)
        self.stats = stats

    async def call(  # type: ignore[override]
        self, payload: Any, suppress: bool = True, unique_id: str | None = None
    ) -> Any:
        return await super().call(payload, suppress, unique_id, skip_schema_validation=True)

    @on(Action.set_charging_profile, skip_schema_validation=True)
    async def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        received = Received(time.perf_counter(), connector_id, cs_charging_profiles)
        await self.stats.profile_arrived(self.id, received)
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile, skip_schema_validation=True)
    async def on_clear_charging_profile(self, **_: Any) -> call_result.ClearChargingProfile:
        return call_result.ClearChargingProfile(status="Accepted")

    @on(Action.get_configuration, skip_schema_validation=True)
    async def on_get_configuration(self, **_: Any) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(configuration_key=CONFIGURATION)


def basic_auth(charge_point_id: str, password: str) -> str:
    token = base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()
    return f"Basic {token}"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def boot_charger(
    url: str, charge_point_id: str, password: str, stats: FleetStats, *, start_session: bool
) -> tuple[SimulatedCharger, asyncio.Task[None]] | None:
    """Connect, boot, report Available (and start a session); None if refused."""
    try:
        connection = await websockets.connect(
            f"{url}/{charge_point_id}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": basic_auth(charge_point_id, password)},
            open_timeout=120,
            ping_interval=None,
        )
    except websockets.exceptions.InvalidStatus as refused:
        stats.failed += 1
        stats.refusals[f"HTTP {refused.response.status_code}"] += 1
        wait = refused.response.headers.get("Retry-After")
        if wait is not None and wait.isdigit():
            stats.retry_after[charge_point_id] = float(wait)
        return None
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
        stats.failed += 1
        stats.refusals[type(error).__name__] += 1
        return None
    charger = SimulatedCharger(charge_point_id, connection, stats)
    listener = asyncio.create_task(charger.start())
    try:
        await charger.call(
            call.BootNotification(charge_point_model="Sim", charge_point_vendor="Bench")
        )
        await charger.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status="Available")
        )
    except TimeoutError:  # as a charger does: drop the connection, try again later
        stats.failed += 1
        stats.refusals["no answer to a boot call"] += 1
        listener.cancel()
        await connection.close()
        return None
    if start_session:
        await charger.call(
            call.StartTransaction(
                connector_id=1, id_tag="BENCH", meter_start=0, timestamp=utc_now()
            )
        )
    stats.connected += 1
    return charger, listener


async def heartbeat(
    charger: SimulatedCharger, stats: FleetStats, interval: float, stop: asyncio.Event
) -> None:
    # Spread the fleet's heartbeats over the interval, as real chargers are.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=interval * (hash(charger.id) % 1000) / 1000)
    while not stop.is_set():
        started = time.perf_counter()
        await charger.call(call.Heartbeat())
        stats.heartbeats_ms.append((time.perf_counter() - started) * 1000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def start_fleet(
    url: str,
    ids: list[str],
    password: str,
    stats: FleetStats,
    stop: asyncio.Event,
    *,
    heartbeat_seconds: float = 60.0,
    start_session: bool = True,
    connect_concurrency: int = 50,
) -> list[asyncio.Task[None]]:
    """Connect and boot the chargers, `connect_concurrency` at a time; once all are up,
    return the tasks that keep them heartbeating until `stop` is set."""
    gate = asyncio.Semaphore(connect_concurrency)

    async def boot(charge_point_id: str) -> tuple[SimulatedCharger, asyncio.Task[None]] | None:
        async with gate:
            return await boot_charger(
                url, charge_point_id, password, stats, start_session=start_session
            )

    async def live(charger: SimulatedCharger, listener: asyncio.Task[None]) -> None:
        try:
            await heartbeat(charger, stats, heartbeat_seconds, stop)
        finally:
            listener.cancel()
            await charger._connection.close()

    booted = await asyncio.gather(*(boot(cp) for cp in ids))
    return [asyncio.create_task(live(*pair)) for pair in booted if pair is not None]


async def main_async(args: argparse.Namespace) -> None:
    stats, stop = FleetStats(), asyncio.Event()
    ids = [f"{args.prefix}-{i}" for i in range(args.count)]
    started = time.perf_counter()
    tasks = await start_fleet(
        args.url, ids, args.password, stats, stop, heartbeat_seconds=args.heartbeat
    )
    took = time.perf_counter() - started
    print(f"{stats.connected} connected, {stats.failed} failed in {took:.1f} s")
    await asyncio.sleep(args.seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"heartbeat answers: {percentiles(stats.heartbeats_ms)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="ws://HOST:PORT/ocpp")
    parser.add_argument("--prefix", default="CP")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--password", required=True)
    parser.add_argument("--heartbeat", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
