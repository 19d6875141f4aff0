"""A fleet reconnecting at once: handshakes wait their turn for the identity check, those
that would wait too long are told when to come back (and get in then), and the shared
count of failed handshakes is asked only about ids and addresses that failed lately."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from limits.storage import MemoryStorage
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chargers.admission import FIRST_GUESS_SECONDS, HandshakeQueue, ServerBusy
from chargers.gateway import Gateway
from chargers.throttle import HandshakeLimits, HandshakeThrottle
from peer.ocpp_chargers import basic_auth, open_charger
from peer.scenario import PASSWORD, charger_row, register, wait_until
from smartcharge.database import Database
from smartcharge.limits_storage import PostgresLimitsStorage, limits_uri
from smartcharge.runtime import Runtime

# --- the queue for identity checks -----------------------------------------------------------


def test_at_most_the_concurrency_is_checked_at_once_and_every_handshake_gets_its_turn() -> None:
    queue = HandshakeQueue(concurrency=2, max_wait=60)
    inside, most = 0, 0

    async def handshake() -> None:
        nonlocal inside, most
        async with queue.turn():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    async def storm() -> None:
        await asyncio.gather(*(handshake() for _ in range(20)))

    asyncio.run(asyncio.wait_for(storm(), 30))
    assert (most, queue.turned_away, queue.waiting) == (2, 0, 0)


def test_a_handshake_that_would_wait_too_long_is_told_when_to_come_back() -> None:
    # Ten waiting at the first guess a check fit in 9.5 guesses; an eleventh does not.
    queue = HandshakeQueue(concurrency=1, max_wait=9.5 * FIRST_GUESS_SECONDS)

    async def storm() -> ServerBusy:
        release = asyncio.Event()

        async def held() -> None:
            async with queue.turn():
                await release.wait()

        first = asyncio.create_task(held())
        await asyncio.sleep(0)  # it holds the one slot now
        waiting = [asyncio.create_task(held()) for _ in range(10)]
        async with asyncio.timeout(10):
            while queue.waiting < 10:
                await asyncio.sleep(0)
        with pytest.raises(ServerBusy) as busy:
            async with queue.turn():
                raise AssertionError("admitted past its wait")
        release.set()
        await asyncio.gather(first, *waiting)
        return busy.value

    busy = asyncio.run(asyncio.wait_for(storm(), 30))
    assert busy.retry_after >= 1
    assert "try again in" in str(busy)
    assert queue.turned_away == 1  # the ten that waited were all checked


# --- a storm at the gateway --------------------------------------------------------------------


@contextmanager
def identity_checks_held(runtime: Runtime, database: Database) -> Iterator[None]:
    """The EVSE table locked, as by a slow database: identity checks wait until released."""
    with psycopg.connect(database.conninfo()) as locker:
        locker.execute(f"LOCK TABLE {runtime.context.queries.t.evses} IN ACCESS EXCLUSIVE MODE")
        yield
        locker.rollback()


async def attempt(gateway: Gateway, charge_point_id: str) -> object:
    """Open a charger's connection: the connection, or the refusal."""
    try:
        return await connect(
            f"{gateway.url}/{charge_point_id}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic_auth(charge_point_id, PASSWORD),
            open_timeout=30,
        )
    except InvalidStatus as refused:
        return refused


@pytest.mark.postgres
def test_chargers_turned_away_in_a_storm_are_told_when_to_return_and_get_in_then(
    runtime: Runtime, gateway: Gateway, database: Database
) -> None:
    ids = ["CP-STORM-1", "CP-STORM-2", "CP-STORM-3"]
    for charge_point_id in ids:
        register(runtime, charge_point_id)
    gateway.checks = HandshakeQueue(concurrency=1, max_wait=0.001)

    async def storm() -> None:
        with identity_checks_held(runtime, database):
            checked = asyncio.create_task(attempt(gateway, ids[0]))  # holds the one slot
            await wait_until(lambda: not checked.done() and gateway.checks.waiting == 0)
            queued = asyncio.create_task(attempt(gateway, ids[1]))
            await wait_until(lambda: gateway.checks.waiting == 1)
            turned_away = await attempt(gateway, ids[2])
        assert isinstance(turned_away, InvalidStatus)
        response = turned_away.response
        assert response.status_code == 503
        assert "too many chargers connecting at once" in response.body.decode()
        retry_after = int(response.headers["Retry-After"])
        assert retry_after >= 1
        assert not charger_row(runtime, ids[2])["connected"]
        for task in (checked, queued):
            connection = await task
            assert not isinstance(connection, InvalidStatus)
            await connection.close()  # type: ignore[attr-defined]
        await asyncio.sleep(retry_after)  # as it was told
        again = await open_charger(gateway.url, ids[2], PASSWORD)
        await wait_until(lambda: charger_row(runtime, ids[2])["connected"])
        await again.close()

    asyncio.run(storm())
    assert gateway.checks.turned_away == 1


# --- failed handshakes learnt from other gateways ----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def two_gateways(
    database: Database,
) -> Iterator[tuple[HandshakeThrottle, HandshakeThrottle, Clock]]:
    """The handshake throttles of two gateways, each with its own connection to the one
    shared storage: 3 failures per charger or 5 per address in a minute."""
    clock = Clock()
    limits = HandshakeLimits(per_charger=3, per_address=5, window_seconds=60)
    schema = database.schema or "public"
    storages = [
        PostgresLimitsStorage(limits_uri(database), schema=schema, clock=clock) for _ in "ab"
    ]
    storages[0].create_tables()
    a, b = (HandshakeThrottle(storage, limits, clock=clock) for storage in storages)
    yield a, b, clock
    for storage in storages:
        storage.close()


@pytest.mark.postgres
def test_a_guesser_moving_to_another_gateway_is_refused_there_once_it_has_heard(
    two_gateways: tuple[HandshakeThrottle, HandshakeThrottle, Clock],
) -> None:
    a, b, clock = two_gateways
    for _ in range(3):
        a.failed("CP-GUESSED", "203.0.113.7")
    assert a.suspected("CP-GUESSED", "198.51.100.1")
    assert a.retry_after("CP-GUESSED", "198.51.100.1") > 0

    # Until b has heard (every second), a handshake there is not held up by a's failures.
    assert not b.suspected("CP-GUESSED", "203.0.113.7")
    b.refresh()
    assert b.suspected("CP-GUESSED", "198.51.100.1")
    assert b.suspected("CP-OTHER", "203.0.113.7")  # the address failed too
    assert b.retry_after("CP-GUESSED", "198.51.100.1") > 0
    assert b.retry_after("CP-OTHER", "198.51.100.1") == 0
    # Real chargers that failed nowhere cost the storage no question.
    assert not b.suspected("CP-OTHER", "198.51.100.1")

    clock.now += 61  # the window has slid past the guessing
    b.refresh()
    assert not b.suspected("CP-GUESSED", "203.0.113.7")
    assert b.retry_after("CP-GUESSED", "203.0.113.7") == 0


@pytest.mark.postgres
def test_a_failure_here_is_suspected_at_once_before_any_refresh(
    two_gateways: tuple[HandshakeThrottle, HandshakeThrottle, Clock],
) -> None:
    a, _, clock = two_gateways
    a.failed(None, "203.0.113.7")  # a made-up id: counted for its address only

    assert a.suspected("CP-ANY", "203.0.113.7")
    assert not a.suspected("CP-ANY", "198.51.100.1")
    clock.now += 61
    a.refresh()
    assert not a.suspected("CP-ANY", "203.0.113.7")


def test_a_storage_that_cannot_list_its_keys_is_asked_on_every_handshake() -> None:
    throttle = HandshakeThrottle(MemoryStorage())

    assert throttle.suspected("CP-1", "198.51.100.1")
    assert throttle.retry_after("CP-1", "198.51.100.1") == 0
