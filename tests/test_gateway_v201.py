"""OCPP 2.0.1 stations through the gateway: the `ocpp` library's v201 ChargePoint as the station."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from ocpp.v201 import call as call201

from chargers.gateway import Gateway
from chargers.profile_payloads import ocpp201_payload
from peer.ocpp_chargers import open_charger
from peer.scenario import (
    PASSWORD,
    UTC_Z,
    answers,
    assert_wire_rules,
    by_profile_id,
    charger_row,
    desire,
    every_answer,
    exclusion,
    now_utc,
    priority,
    register,
    wait_until,
)
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres


def transaction_event(
    event_type: str, seq_no: int, evse_id: int | None = 1
) -> call201.TransactionEvent:
    return call201.TransactionEvent(
        event_type=event_type,
        timestamp=now_utc(),
        trigger_reason="CablePluggedIn" if event_type == "Started" else "EVDeparted",
        seq_no=seq_no,
        transaction_info={"transaction_id": "TX-201"},
        evse={"id": evse_id, "connector_id": 1} if evse_id is not None else None,
        id_token={"id_token": "ANY", "type": "Central"} if event_type == "Started" else None,
    )


async def boots_and_charges(runtime: Runtime, station: Any, evse_id: UUID) -> None:
    boot = await station.call(
        call201.BootNotification(
            charging_station={"model": "Wallbox", "vendor_name": "Acme"}, reason="PowerUp"
        )
    )
    assert boot.status == "Accepted" and UTC_Z.match(boot.current_time)
    await station.expect("GetVariables")
    await wait_until(lambda: charger_row(runtime, "CS-201")["max_periods"] == 12)
    assert charger_row(runtime, "CS-201")["protocol"] == "ocpp2.0.1"
    await station.call(
        call201.StatusNotification(
            timestamp=now_utc(), connector_status="Occupied", evse_id=1, connector_id=1
        )
    )
    started = await station.call(transaction_event("Started", 0))
    assert started.id_token_info["status"] == "Accepted"
    await wait_until(lambda: transaction(runtime, evse_id) == "TX-201")


def transaction(runtime: Runtime, evse_id: UUID) -> str | None:
    row = runtime.context.queries.evse(evse_id)
    assert row is not None
    return row["status"]["transaction_id"]  # type: ignore[no-any-return]


def test_a_201_station_boots_charges_and_gets_its_profiles(runtime: Runtime, gateway: Gateway):
    (evse_id,) = register(runtime, "CS-201")
    accepted = every_answer("Accepted")
    lower = exclusion(limit=10.0)

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CS-201", PASSWORD, "ocpp2.0.1")
        station = session.charger
        await boots_and_charges(runtime, station, evse_id)

        boost = priority()
        await asyncio.to_thread(desire, runtime, evse_id, exclusion(), boost)
        sent = await station.expect_set_profiles(2)
        assert by_profile_id(sent) == [ocpp201_payload(exclusion(), 1), ocpp201_payload(boost, 1)]
        for payload in sent:
            assert_wire_rules(payload)
        for cleared in (1013, 1014, 1015):  # the cover, exclusion profiles sent ahead
            assert await station.expect("ClearChargingProfile") == {"chargingProfileId": cleared}
        await wait_until(lambda: answers(runtime, evse_id) == accepted)

        # K01.FR.05: the exclusion profile is replaced by sending its id again;
        # the priority profile's id is cleared (the station says Unknown: fine).
        await asyncio.to_thread(desire, runtime, evse_id, lower)
        assert await station.expect("SetChargingProfile") == ocpp201_payload(lower, 1)
        assert await station.expect("ClearChargingProfile") == {"chargingProfileId": 1012}
        # The cover's id, cleared on this connection already, is not cleared again.
        await wait_until(
            lambda: answers(runtime, evse_id) == {"1011": "Accepted", "1012": "Accepted"}
        )

        await station.call(transaction_event("Ended", 1, evse_id=None))
        await wait_until(lambda: transaction(runtime, evse_id) is None)
        await session.close()

        again = await open_charger(gateway.url, "CS-201", PASSWORD, "ocpp2.0.1")
        assert await again.charger.expect("SetChargingProfile") == ocpp201_payload(lower, 1)
        await again.close()

    asyncio.run(scenario())
