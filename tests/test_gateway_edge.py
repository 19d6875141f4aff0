"""Attacks at the OCPP edge, each shown to fail with the stored state unchanged and the
other chargers served: forged identities, unreadable frames, password guessing, call floods."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from ocpp.v16 import call as call16
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chargers.connection import GatewayContext
from chargers.gateway import Gateway
from chargers.throttle import CallLimits, CallRate, HandshakeLimits, HandshakeThrottle
from peer.ocpp_chargers import Session, basic_auth, open_charger
from peer.scenario import PASSWORD, charger_row, register, wait_until
from smartcharge.database import Database
from smartcharge.limits_storage import PostgresLimitsStorage, limits_uri
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

OTHER = "CP-BYSTANDER"


def recorded(runtime: Runtime) -> int:
    """The position of the last event in the store: unchanged means nothing recorded."""
    return runtime.service.recorder.max_notification_id() or 0


async def refusal(url: str, charge_point_id: str, password: str = PASSWORD) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            url,
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic_auth(charge_point_id, password),
            open_timeout=10,
        )
    return refused.value


async def raw(gateway: Gateway, charge_point_id: str, protocol: str) -> ClientConnection:
    """A charger that sends what the test says and answers nothing."""
    return await connect(
        f"{gateway.url}/{charge_point_id}",
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=basic_auth(charge_point_id, PASSWORD),
    )


async def answer_to(connection: ClientConnection, frame: str) -> list[Any]:
    """Send one frame; the next frame the gateway sends that is not one of its CALLs."""
    await connection.send(frame)
    while True:
        received = json.loads(await asyncio.wait_for(connection.recv(), 10))
        if received[0] != 2:
            return received  # type: ignore[no-any-return]


async def connected(runtime: Runtime, charge_point_id: str, *, answers: bool = True) -> int:
    """Once the read models show the charger connected, and the capabilities the gateway
    asks a new connection for when the charger `answers` our calls: the store's position
    then, with nothing more on its way."""

    def settled() -> bool:
        row = charger_row(runtime, charge_point_id)
        return bool(row["connected"]) and (not answers or row["max_periods"] is not None)

    await wait_until(settled)
    return recorded(runtime)


async def still_served(session: Session) -> None:
    """The bystander's calls are answered as usual."""
    answer = await session.charger.call(call16.Heartbeat())
    assert answer.current_time.endswith("Z")


# --- the charge point id ------------------------------------------------------------------

FORGED_IDS = [
    ("CP%00X", "control character"),  # NUL
    ("CP%0Aforged%20line", "control character"),  # a line feed: a forged log line
    ("CP%0D%0AWARNING:%20admin%20logged%20in", "control character"),
    ("CP%E2%80%A8X", "control character"),  # U+2028, a line separator to some viewers
    ("CP%FF", "not percent-encoded UTF-8"),
    ("C" * 49, "over 48 characters"),  # OCPP 2.0.1: the identity is at most 48
]


@pytest.mark.parametrize(("identity", "problem"), FORGED_IDS)
def test_a_forged_charge_point_id_is_refused_with_400_on_one_log_line(
    runtime: Runtime, gateway: Gateway, caplog: pytest.LogCaptureFixture, identity, problem
):
    register(runtime, OTHER)
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        bystander = await open_charger(gateway.url, OTHER, PASSWORD)
        before = await connected(runtime, OTHER)
        refused = await refusal(f"{gateway.url}/{identity}", "CP")
        assert refused.response.status_code == 400
        assert problem in refused.response.body.decode()
        await still_served(bystander)
        assert recorded(runtime) == before
        assert gateway.connections() == {OTHER: "ocpp1.6"}
        await bystander.close()

    asyncio.run(scenario())
    assert [row["charge_point_id"] for row in runtime.context.queries.chargers()] == [OTHER]
    for record in caplog.records:
        message = record.getMessage()
        assert record.exc_info is None, message  # no traceback: nothing failed
        assert not {"\n", "\r", "\x00", "\u2028"} & set(message), message


# --- frames that are not JSON we can read -------------------------------------------------


def unreadable_frames(version_code: str) -> list[tuple[str, list[Any]]]:
    return [
        ('[2,"deep","Heartbeat",' + "[" * 100_000 + "]" * 100_000 + "]", ["deep", version_code]),
        ('[2,"digits","Heartbeat",{"x":' + "9" * 4301 + "}]", ["digits", version_code]),
        ('[2,"big","Heartbeat",{"x":' + "9" * 4300 + "}]", ["big", version_code]),
        ('[2,"nan","Heartbeat",{"x":NaN}]', ["nan", version_code]),
        ("[" * 100_000 + "]" * 100_000, ["-1", None]),  # no id to read: "-1"
    ]


@pytest.mark.parametrize(
    ("protocol", "code", "no_id_code"),
    [
        ("ocpp1.6", "FormationViolation", "FormationViolation"),
        ("ocpp2.0.1", "FormatViolation", "RpcFrameworkError"),
    ],
)
def test_unreadable_frames_get_a_callerror_with_their_id_and_the_connection_lives(
    runtime: Runtime, gateway: Gateway, protocol, code, no_id_code
):
    register(runtime, "CP-DEEP")
    register(runtime, OTHER)

    async def scenario() -> None:
        bystander = await open_charger(gateway.url, OTHER, PASSWORD)
        connection = await raw(gateway, "CP-DEEP", protocol)
        await connected(runtime, "CP-DEEP", answers=False)
        before = await connected(runtime, OTHER)
        for frame, (message_id, expected) in unreadable_frames(code):
            answer = await answer_to(connection, frame)
            assert answer[:3] == [4, message_id, expected or no_id_code], frame[:40]
            assert answer[3] and answer[4] == {}  # a description saying what is wrong
        assert (await answer_to(connection, '[2,"ok","Heartbeat",{}]'))[:2] == [3, "ok"]
        await still_served(bystander)
        assert recorded(runtime) == before
        await connection.close()
        await bystander.close()

    asyncio.run(scenario())


def test_unreadable_frames_count_towards_the_bad_frame_limit(runtime: Runtime, gateway: Gateway):
    register(runtime, "CP-DEEP-FLOOD")
    deep = '[2,"deep","Heartbeat",' + "[" * 50_000 + "]" * 50_000 + "]"

    async def scenario() -> None:
        connection = await raw(gateway, "CP-DEEP-FLOOD", "ocpp1.6")
        for _ in range(gateway.context.bad_frame_limit):
            assert (await answer_to(connection, deep))[:3] == [4, "deep", "FormationViolation"]
        await connection.send(deep)  # one more within the minute
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(connection.recv(), 10)
        assert connection.close_code == 1008  # a policy violation, not 1011 (our failure)

    asyncio.run(scenario())


# --- password guessing --------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttled(gateway: Gateway, database: Database, clock: FakeClock) -> Iterator[Gateway]:
    """The gateway counting failed handshakes in the shared PostgreSQL storage, on a clock
    the test moves: 3 failures per charger or 5 per address within a minute."""
    storage = PostgresLimitsStorage(
        limits_uri(database), schema=database.schema or "public", clock=clock
    )
    limits = HandshakeLimits(per_charger=3, per_address=5, window_seconds=60)
    gateway.handshakes = HandshakeThrottle(storage, limits, clock=clock)
    yield gateway
    storage.close()


def test_password_guessing_is_refused_with_429_then_the_charger_gets_in_again(
    runtime: Runtime, throttled: Gateway, clock: FakeClock
):
    gateway = throttled
    register(runtime, "CP-GUESSED")
    register(runtime, OTHER)

    async def scenario() -> None:
        bystander = await open_charger(gateway.url, OTHER, PASSWORD)
        before = await connected(runtime, OTHER)
        url = f"{gateway.url}/CP-GUESSED"
        for guess in range(3):
            wrong = await refusal(url, "CP-GUESSED", f"guessed-password-{guess:03d}")
            assert wrong.response.status_code == 401
        over = await refusal(url, "CP-GUESSED", "guessed-password-004")
        assert over.response.status_code == 429
        assert 0 < int(over.response.headers["Retry-After"]) <= 60
        # While the guessing goes on, the right password gets no answer to learn from.
        assert (await refusal(url, "CP-GUESSED")).response.status_code == 429
        assert not charger_row(runtime, "CP-GUESSED")["connected"]
        assert recorded(runtime) == before  # no event for any refusal
        await still_served(bystander)
        clock.now += 61  # the guesser stopped a minute ago: the window has slid
        charger = await open_charger(gateway.url, "CP-GUESSED", PASSWORD)
        await connected(runtime, "CP-GUESSED")
        await charger.close()
        await bystander.close()

    asyncio.run(scenario())


def test_an_address_trying_many_chargers_is_refused_with_429_for_a_window(
    runtime: Runtime, throttled: Gateway, clock: FakeClock
):
    gateway = throttled
    register(runtime, "CP-REAL")

    async def scenario() -> None:
        for number in range(5):  # made-up ids: 404, counted for the address only
            unknown = await refusal(f"{gateway.url}/CP-MADE-UP-{number}", f"CP-MADE-UP-{number}")
            assert unknown.response.status_code == 404
        before = recorded(runtime)
        over = await refusal(f"{gateway.url}/CP-REAL", "CP-REAL")
        assert over.response.status_code == 429
        assert "too many failed attempts" in over.response.body.decode()
        assert recorded(runtime) == before
        assert not charger_row(runtime, "CP-REAL")["connected"]
        clock.now += 61
        charger = await open_charger(gateway.url, "CP-REAL", PASSWORD)
        await connected(runtime, "CP-REAL")
        await charger.close()

    asyncio.run(scenario())


# --- call floods ------------------------------------------------------------------------


def boot(message_id: str, firmware: str) -> str:
    payload = {"chargePointVendor": "Acme", "chargePointModel": "Flood"}
    payload["firmwareVersion"] = firmware
    return json.dumps([2, message_id, "BootNotification", payload])


@pytest.fixture
def slow_rate(gateway: Gateway) -> GatewayContext:
    """At most 5 calls in 10 s and 8 a minute per charger, for the flood tests."""
    limits = CallLimits(per_minute=8, burst=5)
    gateway.context = dataclasses.replace(gateway.context, call_rate=CallRate(limits))
    return gateway.context


def test_a_charger_flooding_calls_is_refused_records_nothing_and_is_closed(
    runtime: Runtime, gateway: Gateway, slow_rate: GatewayContext
):
    register(runtime, "CP-FLOOD-BOOT")
    register(runtime, OTHER)

    async def scenario() -> None:
        bystander = await open_charger(gateway.url, OTHER, PASSWORD)
        await connected(runtime, OTHER)
        flood = await raw(gateway, "CP-FLOOD-BOOT", "ocpp1.6")
        await connected(runtime, "CP-FLOOD-BOOT", answers=False)
        for number in range(5):  # each a new firmware: each recorded
            assert (await answer_to(flood, boot(f"b{number}", f"fw-{number}")))[0] == 3
        await wait_until(lambda: charger_row(runtime, "CP-FLOOD-BOOT")["firmware"] == "fw-4")
        before = recorded(runtime)
        for number in range(5, 5 + slow_rate.bad_frame_limit):
            refused = await answer_to(flood, boot(f"b{number}", f"fw-{number}"))
            assert refused[:3] == [4, f"b{number}", "GenericError"]
            assert "too many calls" in refused[3]
        await still_served(bystander)  # its own count, untouched by the flood
        assert recorded(runtime) == before
        await flood.send(boot("b-last", "fw-last"))  # far beyond: the connection ends
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(flood.recv(), 10)
        assert flood.close_code == 1008
        await still_served(bystander)
        await wait_until(lambda: not charger_row(runtime, "CP-FLOOD-BOOT")["connected"])
        assert charger_row(runtime, "CP-FLOOD-BOOT")["firmware"] == "fw-4"
        await bystander.close()

    asyncio.run(scenario())


def test_a_charger_rebooting_with_the_same_firmware_records_one_boot(
    runtime: Runtime, gateway: Gateway
):
    register(runtime, "CP-REBOOT")

    async def scenario() -> None:
        connection = await raw(gateway, "CP-REBOOT", "ocpp1.6")
        await connected(runtime, "CP-REBOOT", answers=False)
        assert (await answer_to(connection, boot("first", "1.0")))[0] == 3
        await wait_until(lambda: charger_row(runtime, "CP-REBOOT")["firmware"] == "1.0")
        before = recorded(runtime)
        for number in range(20):
            assert (await answer_to(connection, boot(f"again-{number}", "1.0")))[0] == 3
        assert recorded(runtime) == before
        assert (await answer_to(connection, boot("upgraded", "1.1")))[0] == 3
        await wait_until(lambda: charger_row(runtime, "CP-REBOOT")["firmware"] == "1.1")
        assert recorded(runtime) == before + 1
        await connection.close()

    asyncio.run(scenario())


def test_the_default_call_rate_lets_a_busy_real_charger_through():
    """A boot, a StatusNotification per connector of 10 and a minute of MeterValues every
    5 s on 4 connectors (48), all at once as a backlog after a reconnect: none refused."""
    rate = CallRate()
    assert all(rate.admit("CP-BUSY") for _ in range(1 + 10 + 48))
    assert rate.admit("CP-OTHER")  # every charger has its own count
