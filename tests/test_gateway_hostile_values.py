"""Chargers that send what real firmware sends: NUL in the vendor, -1 periods, a stack level
past 2^31, NUL in a 2.0.1 transaction id, connector numbers out of range. The values are
cleaned or replaced (and noted), or the call refused; every other customer stays served."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from ocpp.exceptions import PropertyConstraintViolationError
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from chargers.gateway import Gateway
from domain.actors import Actor
from pages_kit import PageClient
from peer.ocpp_chargers import Charger16, Session, basic_auth, open_charger
from peer.scenario import PASSWORD, charger_row, desire, exclusion, now_utc, register, wait_until
from scheduler.service import ProfileScheduler
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

NONSENSE = [
    {"key": "ChargingScheduleMaxPeriods", "readonly": True, "value": "-1"},
    {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Current"},
    {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": "2147483648"},
]
NOTES = [
    "reported ChargingScheduleMaxPeriods = '-1'; using 24",
    "reported ChargeProfileMaxStackLevel = '2147483648'; using 10",
]


class OddFirmware(Charger16):
    """Answers GetConfiguration with limits no charger can mean."""

    @on("GetConfiguration")
    def on_get_configuration(self, **_: Any) -> result16.GetConfiguration:
        return result16.GetConfiguration(configuration_key=NONSENSE)


@pytest.fixture
def scheduler(runtime: Runtime) -> Iterator[ProfileScheduler]:
    started = runtime.start_scheduler()
    started.leader_poll_seconds = 0.1
    assert started.is_leader.wait(10)
    yield started


def group_of(runtime: Runtime, name: str, evse_id: UUID) -> None:
    runtime.service.groups.create_group(
        name=name, time_zone="Europe/Amsterdam", actor=Actor.system(), evse_ids=[evse_id]
    )


async def connect_odd(gateway: Gateway, charge_point_id: str) -> Session:
    connection = await connect(
        f"{gateway.url}/{charge_point_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers=basic_auth(charge_point_id, PASSWORD),
        open_timeout=10,
    )
    charger = OddFirmware(charge_point_id, connection)
    return Session(charger, connection, asyncio.create_task(charger.start()))


def test_nul_vendor_and_nonsense_capabilities_are_cleaned_noted_and_shown(
    runtime: Runtime,
    gateway: Gateway,
    scheduler: ProfileScheduler,
    server: str,
    operator_credentials: tuple[str, str],
) -> None:
    (odd_evse,) = register(runtime, "CP-ODD")
    (calm_evse,) = register(runtime, "CP-CALM")
    group_of(runtime, "Odd firmware", odd_evse)

    async def scenario() -> None:
        odd = await connect_odd(gateway, "CP-ODD")
        await odd.charger.call(
            call16.BootNotification(
                charge_point_vendor="Acme\x00Power",
                charge_point_model="Wall\x00box",
                firmware_version="1.0\ud800",
            )
        )
        await odd.charger.expect("GetConfiguration")
        await wait_until(lambda: charger_row(runtime, "CP-ODD")["capability_notes"] == NOTES)
        # the scheduler works out the odd charger's profile with the defaults
        await odd.charger.expect("SetChargingProfile")
        calm = await open_charger(gateway.url, "CP-CALM", PASSWORD)
        group_of(runtime, "Another customer", calm_evse)
        await calm.charger.expect("SetChargingProfile")
        await asyncio.gather(odd.close(), calm.close())

    asyncio.run(scenario())

    row = charger_row(runtime, "CP-ODD")
    assert (row["vendor"], row["model"], row["firmware"]) == ("AcmePower", "Wallbox", "1.0\ufffd")
    assert (row["max_periods"], row["rate_units"], row["max_stack_level"]) == (24, ["A"], 10)
    page = PageClient(server)
    page.log_in(*operator_credentials)
    shown = html.unescape(page.get("/operator/evses").text)
    page.close()
    assert all(note in shown for note in NOTES)
    assert "AcmePower Wallbox, firmware 1.0\ufffd" in shown


def transaction_event(event_type: str, seq_no: int, transaction_id: str) -> Any:
    return call201.TransactionEvent(
        event_type=event_type,
        timestamp=now_utc(),
        trigger_reason="CablePluggedIn" if event_type == "Started" else "EVDeparted",
        seq_no=seq_no,
        transaction_info={"transaction_id": transaction_id},
        evse={"id": 1, "connector_id": 1},
    )


def test_nul_in_a_201_transaction_id_is_cleaned_and_the_session_ends(
    runtime: Runtime, gateway: Gateway
) -> None:
    (station_evse,) = register(runtime, "CS-NUL")
    (calm_evse,) = register(runtime, "CP-CALM")

    def session_of(evse_id: UUID) -> str | None:
        row = runtime.context.queries.evse(evse_id)
        assert row is not None
        return row["status"]["transaction_id"]  # type: ignore[no-any-return]

    async def scenario() -> None:
        station = await open_charger(gateway.url, "CS-NUL", PASSWORD, "ocpp2.0.1")
        await station.charger.call(transaction_event("Started", 0, "TX\x00-7"))
        await wait_until(lambda: session_of(station_evse) == "TX-7")
        await station.charger.call(transaction_event("Ended", 1, "TX\x00-7"))
        await wait_until(lambda: session_of(station_evse) is None)
        calm = await open_charger(gateway.url, "CP-CALM", PASSWORD)
        desire(runtime, calm_evse, exclusion())
        await calm.charger.expect("SetChargingProfile")
        await asyncio.gather(station.close(), calm.close())

    asyncio.run(scenario())


def test_connector_numbers_out_of_range_are_refused_and_the_charger_stays(
    runtime: Runtime, gateway: Gateway
) -> None:
    register(runtime, "CP-RANGE")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-RANGE", PASSWORD)
        charger = session.charger
        for connector in (1001, -1, 10**12):
            with pytest.raises(PropertyConstraintViolationError):
                await charger.call(status(connector), suppress=False)
        with pytest.raises(PropertyConstraintViolationError):
            await charger.call(
                call16.StopTransaction(meter_stop=0, timestamp=now_utc(), transaction_id=2**40),
                suppress=False,
            )
        # OCPP 1.6 §4.9: connector 0 is the charger's main controller, and is kept
        await charger.call(status(0, "Unavailable"), suppress=False)
        await wait_until(lambda: "0" in charger_row(runtime, "CP-RANGE")["connector_status"])
        assert await charger.call(call16.Heartbeat(), suppress=False) is not None
        await session.close()

    asyncio.run(scenario())
    assert set(charger_row(runtime, "CP-RANGE")["connector_status"]) == {"0"}


def status(connector: int, word: str = "Available") -> call16.StatusNotification:
    return call16.StatusNotification(connector_id=connector, error_code="NoError", status=word)
