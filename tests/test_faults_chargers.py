"""Chargers that misbehave while others wait for their profiles: one cuts the connection
in the middle of our call, one answers after the call timeout, one answers with garbage.

The well-behaved chargers get their profiles while the late charger's call is still
unanswered: every charger has its own outbox. Their latency, from the recorded desire
to the SetChargingProfile frame at the charger, is printed without and with the
misbehaving ones (a figure, not an assertion).
"""

from __future__ import annotations

import asyncio
import functools
import json
import statistics
import time
from typing import Any
from uuid import UUID

import pytest

from chargers.gateway import Gateway
from conftest import OCPP_CALL_TIMEOUT
from faults_support import KeptCharger, until
from peer.ocpp_chargers import Charger16, Received
from peer.scenario import PASSWORD, answers, desire, exclusion, register, wait_until
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

GOOD = 6
ROUNDS = 4


# --- the misbehaving chargers ----------------------------------------------------------------


def set_profile_call(raw: str | bytes) -> list[Any] | None:
    frame = json.loads(raw)
    return frame if frame[0] == 2 and frame[2] == "SetChargingProfile" else None


class Dropping(Charger16):
    """Cuts the TCP connection, without a closing handshake, when asked to set a profile."""

    async def route_message(self, raw_msg: str) -> None:
        frame = set_profile_call(raw_msg)
        if frame is None:
            await super().route_message(raw_msg)
            return
        self.log.append(Received(frame[2], frame[3]))
        self._connection.transport.abort()


class Late(Charger16):
    """Accepts every profile, but only after the gateway stopped waiting for the answer."""

    delay = OCPP_CALL_TIMEOUT + 0.5

    def __init__(self, charge_point_id: str, connection: Any):
        super().__init__(charge_point_id, connection)
        self.late_answers: set[asyncio.Task[None]] = set()

    async def route_message(self, raw_msg: str) -> None:
        frame = set_profile_call(raw_msg)
        if frame is None:
            await super().route_message(raw_msg)
            return
        self.log.append(Received(frame[2], frame[3]))
        self.received.put_nowait(Received(frame[2], frame[3]))
        answer = asyncio.create_task(self._answer_late(frame[1]))
        self.late_answers.add(answer)
        answer.add_done_callback(self.late_answers.discard)

    async def _answer_late(self, message_id: str) -> None:
        await asyncio.sleep(self.delay)  # the misbehaviour itself, not a wait in the test
        await self._send(json.dumps([3, message_id, {"status": "Accepted"}]))


class Garbage(Charger16):
    """Answers every call with frames that are no answer: not JSON, not OCPP, not valid."""

    async def route_message(self, raw_msg: str) -> None:
        frame = json.loads(raw_msg)
        if frame[0] != 2:
            return
        self.log.append(Received(frame[2], frame[3]))
        for junk in ("\x00{garbage", '{"not": "an array"}', f'[3,"{frame[1]}",{{"status":7}}]'):
            await self._send(junk)


BAD: dict[str, type[Charger16]] = {"CP-DROP": Dropping, "CP-LATE": Late, "CP-GARBAGE": Garbage}


# --- measuring the others ---------------------------------------------------------------------


def limit_of(payload: dict[str, Any]) -> float:
    return float(
        payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
    )


async def arrival(charger: KeptCharger, limit: float) -> float:
    """When the charger gets the SetChargingProfile with this round's limit (perf_counter)."""
    while True:
        payload = await charger.sessions[-1].charger.expect(
            "SetChargingProfile", OCPP_CALL_TIMEOUT * 5
        )
        if limit_of(payload) == limit:
            return time.perf_counter()


def desire_each(runtime: Runtime, evse_ids: list[UUID], limit: float) -> list[float]:
    """Record an exclusion profile for each EVSE; when each began (perf_counter)."""
    started = []
    for evse_id in evse_ids:
        started.append(time.perf_counter())
        desire(runtime, evse_id, exclusion(limit=limit))
    return started


async def round_trip(
    runtime: Runtime, good: list[KeptCharger], evses: list[UUID], limit: float
) -> list[float]:
    """One round: new profiles for the well-behaved; each one's latency in ms."""
    arrivals = [asyncio.create_task(arrival(charger, limit)) for charger in good]
    committed = await asyncio.to_thread(desire_each, runtime, evses, limit)
    arrived = await asyncio.gather(*arrivals)
    return [(a - c) * 1000 for a, c in zip(arrived, committed, strict=True)]


def summary(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    return (
        f"n={len(ordered)} p50={statistics.median(ordered):.1f} "
        f"p90={ordered[int(0.9 * (len(ordered) - 1))]:.1f} max={ordered[-1]:.1f} ms"
    )


# --- the story --------------------------------------------------------------------------------


async def connected(chargers: list[KeptCharger]) -> None:
    """Until each has a connection whose capabilities the gateway asked for."""
    await until(lambda: all(c.sessions for c in chargers), 10, "chargers connected")
    for charger in chargers:
        await charger.sessions[-1].charger.expect("GetConfiguration")


async def misbehaving_rounds(
    runtime: Runtime, good: list[KeptCharger], evses: list[UUID], bad: dict[str, Any]
) -> list[float]:
    """Each round, the bad ones get new profiles first; once the late one's call is in
    flight, the good ones get theirs."""
    latencies: list[float] = []
    bad_evses = [evse_id for evse_id, _ in bad.values()]
    late = bad["CP-LATE"][1]
    for round_number in range(ROUNDS):
        limit = 12.0 + round_number
        await asyncio.to_thread(desire_each, runtime, bad_evses, limit)
        await arrival(late, limit)
        latencies += await round_trip(runtime, good, evses, limit)
        # Served while the late charger's call is still unanswered: nobody waited for it.
        assert late.sessions[-1].charger.late_answers, "the others waited for the late charger"
    return latencies


def test_misbehaving_chargers_do_not_slow_the_others(runtime: Runtime, gateway: Gateway):
    evses = [register(runtime, f"CP-GOOD-{i}")[0] for i in range(GOOD)]
    bad_evses = {cp: register(runtime, cp)[0] for cp in BAD}

    async def scenario() -> None:
        stop = asyncio.Event()
        good = [KeptCharger(gateway.url, f"CP-GOOD-{i}", password=PASSWORD) for i in range(GOOD)]
        bad = {
            cp: (bad_evses[cp], KeptCharger(gateway.url, cp, kind, PASSWORD, reconnect_pause=0.2))
            for cp, kind in BAD.items()
        }
        keepers = [asyncio.create_task(c.keep_connected(stop)) for c in good]
        try:
            await connected(good)
            baseline = [
                ms for limit in (10.0, 11.0) for ms in await round_trip(runtime, good, evses, limit)
            ]
            keepers += [asyncio.create_task(c.keep_connected(stop)) for _, c in bad.values()]
            await until(lambda: all(c.sessions for _, c in bad.values()), 10, "bad ones connected")
            during = await misbehaving_rounds(runtime, good, evses, bad)
            await outcomes_recorded(runtime, evses, bad)
        finally:
            stop.set()
            await asyncio.gather(*keepers)
        print(f"\nwell-behaved, alone:           {summary(baseline)}")
        print(f"well-behaved, with bad ones:   {summary(during)}")
        print(
            f"call timeout {OCPP_CALL_TIMEOUT * 1000:.0f} ms; the dropping charger connected "
            f"{len(bad['CP-DROP'][1].sessions)} times, the garbage one "
            f"{len(bad['CP-GARBAGE'][1].sessions)} times"
        )

    asyncio.run(scenario())


def answered(runtime: Runtime, evse_id: UUID, status: str) -> bool:
    return answers(runtime, evse_id).get("1011") == status


async def outcomes_recorded(
    runtime: Runtime, evses: list[UUID], bad: dict[str, tuple[UUID, KeptCharger]]
) -> None:
    """What happened to each bad charger's profile is recorded; the others are Accepted."""
    for cp, status in {"CP-LATE": "Timeout", "CP-GARBAGE": "Error"}.items():
        await wait_until(functools.partial(answered, runtime, bad[cp][0], status))
    late = bad["CP-LATE"][1].sessions[-1].charger
    await until(lambda: not late.late_answers, OCPP_CALL_TIMEOUT * 3, "the late answers sent")
    assert answers(runtime, bad["CP-LATE"][0])["1011"] == "Timeout"  # late ones were dropped
    # A call cut short records nothing: the charger gets everything again on reconnecting.
    dropper = bad["CP-DROP"][1]
    assert sum(1 for s in dropper.sessions if s.charger.log[-1:]) >= 2
    assert answers(runtime, bad["CP-DROP"][0]).get("1011") != "Accepted"
    for evse_id in evses:
        assert answers(runtime, evse_id)["1011"] == "Accepted"
