"""OCPP 2.1 stations through the gateway: the `ocpp` library's v21 ChargePoint as the station."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from ocpp.v21 import call as call21
from websockets.asyncio.client import connect

from chargers.gateway import Gateway
from chargers.profile_payloads import (
    NotForThisVersion,
    ocpp16_payload,
    ocpp21_payload,
    ocpp201_payload,
)
from domain.actors import Actor
from domain.charging_profiles import (
    EXCLUSION_ROLE,
    PRIORITY_ROLE,
    ChargingProfile,
    ChargingSchedulePeriod,
    profile_id,
)
from domain.exclusion_times import ExclusionWindow
from peer.ocpp_chargers import basic_auth, open_charger
from peer.scenario import (
    PASSWORD,
    UTC_Z,
    answers,
    charger_row,
    desire,
    now_utc,
    register,
    wait_until,
)
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

MONDAY = datetime(2024, 1, 1, tzinfo=UTC)  # its digits are local time under useLocalTime


def local_exclusion(delay: int = 0) -> ChargingProfile:
    """Weekly in the station's local time: no charging Mondays 17:00-21:00."""
    return ChargingProfile(
        profile_id=profile_id(1, EXCLUSION_ROLE),
        stack_level=1,
        purpose="TxDefaultProfile",
        kind="Recurring",
        recurrency_kind="Weekly",
        valid_from=None,
        valid_to=None,
        rate_unit="A",
        start_schedule=MONDAY,
        duration=604_800,
        periods=(
            ChargingSchedulePeriod(0, 16.0, 3),
            ChargingSchedulePeriod(61_200 - delay, 0.0, 3),
            ChargingSchedulePeriod(75_600, 16.0, 3),
        ),
        use_local_time=True,
        randomized_delay=delay,
    )


def priority_charging() -> ChargingProfile:
    start = datetime.now(UTC).replace(microsecond=0)
    return ChargingProfile(
        profile_id=profile_id(1, PRIORITY_ROLE),
        stack_level=0,
        purpose="PriorityCharging",
        kind="Absolute",
        recurrency_kind=None,
        valid_from=start,
        valid_to=start + timedelta(hours=1),
        rate_unit="A",
        start_schedule=start,
        duration=3600,
        periods=(ChargingSchedulePeriod(0, 16.0, 3),),
    )


def in_group(runtime: Runtime, evse_id: UUID, time_zone: str) -> None:
    _, position = runtime.service.groups.create_group(
        name=f"Home {evse_id}", time_zone=time_zone, actor=Actor.system(), evse_ids=[evse_id]
    )
    assert runtime.context.view.wait_for(position, 10)


def transaction_started() -> call21.TransactionEvent:
    return call21.TransactionEvent(
        event_type="Started",
        timestamp=now_utc(),
        trigger_reason="CablePluggedIn",
        seq_no=0,
        transaction_info={"transaction_id": "TX-21"},
        evse={"id": 1, "connector_id": 1},
    )


async def boot(station: Any) -> None:
    answer = await station.call(
        call21.BootNotification(
            charging_station={"model": "Wallbox 21", "vendor_name": "Acme"}, reason="PowerUp"
        )
    )
    assert answer.status == "Accepted" and UTC_Z.match(answer.current_time)


def test_a_21_station_tells_its_features_and_its_clock_is_set_to_the_groups_zone(
    runtime: Runtime, gateway: Gateway
):
    (evse_id,) = register(runtime, "CS-21")
    in_group(runtime, evse_id, "Europe/Amsterdam")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CS-21", PASSWORD, "ocpp2.1")
        station = session.charger
        await boot(station)
        asked = await station.expect("GetVariables")
        names = {(d["component"]["name"], d["variable"]["name"]) for d in asked["getVariableData"]}
        assert ("ClockCtrlr", "TimeZone") in names
        assert ("SmartChargingCtrlr", "SupportsUseLocalTime") in names
        # It kept UTC; the group is in Amsterdam: the gateway sets the station's zone.
        setting = await station.expect("SetVariables")
        assert setting["setVariableData"][0]["attributeValue"] == "Europe/Amsterdam"
        row = await wait_until(
            lambda: (r := charger_row(runtime, "CS-21"))["clock_zone"] == "Europe/Amsterdam" and r
        )
        assert row["protocol"] == "ocpp2.1"
        assert row["supports_local_time"] and row["supports_randomized_delay"]
        assert row["supports_priority_charging"] and row["max_periods"] == 24
        assert station.variables[("ClockCtrlr", "TimeZone")] == "Europe/Amsterdam"
        await session.close()

    asyncio.run(scenario())


def test_a_station_that_keeps_its_own_zone_is_recorded_with_it(runtime: Runtime, gateway: Gateway):
    (evse_id,) = register(runtime, "CS-21-FIXED")
    in_group(runtime, evse_id, "Europe/London")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CS-21-FIXED", PASSWORD, "ocpp2.1")
        station = session.charger
        station.settable = set()
        station.variables[("ClockCtrlr", "TimeZone")] = "Europe/Berlin"
        await station.expect("GetVariables")
        await station.expect("SetVariables")
        await wait_until(lambda: charger_row(runtime, "CS-21-FIXED")["supports_local_time"])
        await station.call(call21.Heartbeat())
        assert charger_row(runtime, "CS-21-FIXED")["clock_zone"] == "Europe/Berlin"
        await session.close()

    asyncio.run(scenario())


def test_a_21_station_gets_local_time_profiles_and_priority_for_its_transaction(
    runtime: Runtime, gateway: Gateway
):
    (evse_id,) = register(runtime, "CS-21-TX")
    exclusion, boost = local_exclusion(delay=600), priority_charging()

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CS-21-TX", PASSWORD, "ocpp2.1")
        station = session.charger
        await boot(station)
        await station.expect("GetVariables")
        await station.call(transaction_started())
        await asyncio.to_thread(desire, runtime, evse_id, exclusion, boost)
        sent = await station.expect_set_profiles(2)
        assert sent == [ocpp21_payload(exclusion, 1), ocpp21_payload(boost, 1)]
        schedule = sent[0]["chargingProfile"]["chargingSchedule"][0]
        assert schedule["useLocalTime"] is True and schedule["randomizedDelay"] == 600
        assert schedule["startSchedule"] == "2024-01-01T00:00:00Z"
        assert sent[1]["chargingProfile"]["chargingProfilePurpose"] == "PriorityCharging"
        # OCPP 2.1: the priority profile is put to use for the running transaction.
        assert await station.expect("UsePriorityCharging") == {
            "transactionId": "TX-21",
            "activate": True,
        }
        await wait_until(
            lambda: (
                {k: v for k, v in answers(runtime, evse_id).items() if k in ("1011", "1012")}
                == {"1011": "Accepted", "1012": "Accepted"}
            )
        )
        await session.close()

        again = await open_charger(gateway.url, "CS-21-TX", PASSWORD, "ocpp2.1")
        assert await again.charger.expect_set_profiles(2) == sent
        await again.close()

    asyncio.run(scenario())


def test_a_priority_started_before_the_car_is_put_to_use_when_its_session_starts(
    runtime: Runtime, gateway: Gateway
):
    (evse_id,) = register(runtime, "CS-21-LATE")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CS-21-LATE", PASSWORD, "ocpp2.1")
        station = session.charger
        await station.expect("GetVariables")
        await asyncio.to_thread(desire, runtime, evse_id, local_exclusion(), priority_charging())
        await station.expect_set_profiles(2)
        await station.call(transaction_started())
        assert (await station.expect("UsePriorityCharging"))["transactionId"] == "TX-21"
        await session.close()

    asyncio.run(scenario())


def test_a_21_station_answers_the_composite_schedule_through_the_gateway(
    runtime: Runtime, gateway: Gateway
):
    register(runtime, "CS-21-CS")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CS-21-CS", PASSWORD, "ocpp2.1")
        await session.charger.expect("GetVariables")
        answer = await asyncio.to_thread(gateway.composite_schedule, "CS-21-CS", 1, 3600)
        assert answer == {"status": "Rejected"}
        assert await session.charger.expect("GetCompositeSchedule") == {
            "duration": 3600,
            "evseId": 1,
        }
        await session.close()

    asyncio.run(scenario())


def test_bad_21_messages_get_a_callerror_and_the_connection_lives_on(
    runtime: Runtime, gateway: Gateway
):
    register(runtime, "CS-21-BAD")

    async def scenario() -> None:
        async with connect(
            f"{gateway.url}/CS-21-BAD",
            subprotocols=["ocpp2.1"],  # type: ignore[list-item]
            additional_headers=basic_auth("CS-21-BAD", PASSWORD),
        ) as websocket:
            assert websocket.subprotocol == "ocpp2.1"
            frames = [
                [2, "a", "NotifyPriorityCharging", {"transactionId": 7, "activated": True}],
                [2, "b", "NotifyPriorityCharging", {"transactionId": "x" * 37, "activated": 1}],
                [2, "c", "UsePriorityCharging", {"transactionId": "T", "activate": True}],
                [2, "d", "BatterySwap", {}],
            ]
            codes = []
            for frame in frames:
                await websocket.send(json.dumps(frame))
                answer = await next_answer(websocket, frame[1])
                codes.append(answer[2])
            # A wrong type or length breaks the 2.1 schema; UsePriorityCharging is ours to
            # send; BatterySwap is a 2.1 action a home charger's backend does not take.
            assert codes == [
                "TypeConstraintViolation",
                "TypeConstraintViolation",
                "NotSupported",
                "NotSupported",
            ]
            await websocket.send(json.dumps([2, "e", "Heartbeat", {}]))
            answer = await next_answer(websocket, "e")
            assert answer[0] == 3 and UTC_Z.match(answer[2]["currentTime"])
            await websocket.send(
                json.dumps(
                    [2, "f", "NotifyPriorityCharging", {"transactionId": "T", "activated": True}]
                )
            )
            assert await next_answer(websocket, "f") == [3, "f", {}]

    asyncio.run(scenario())


async def next_answer(websocket: Any, message_id: str) -> list[Any]:
    """The gateway's answer to our CALL `message_id`; its own calls are answered with errors."""
    async with asyncio.timeout(10):
        while True:
            frame = json.loads(await websocket.recv())
            if frame[0] == 2:
                await websocket.send(json.dumps([4, frame[1], "NotImplemented", "", {}]))
                continue
            if frame[1] == message_id:
                return frame  # type: ignore[no-any-return]


def test_what_only_21_has_is_never_rendered_for_older_versions():
    for profile in (local_exclusion(), local_exclusion(delay=600), priority_charging()):
        with pytest.raises(NotForThisVersion):
            ocpp16_payload(profile, 1)
        with pytest.raises(NotForThisVersion):
            ocpp201_payload(profile, 1)


def test_with_the_scheduler_a_21_station_gets_one_local_time_profile_once_its_clock_follows(
    runtime: Runtime, gateway: Gateway
):
    """The story end to end: a station keeping UTC joins a group in Amsterdam. It gets the
    2.0.1 profiles in UTC first; once its clock keeps Amsterdam time, one useLocalTime
    profile (the UTC ones cleared); a priority charge is a PriorityCharging profile put to
    use for the car's session."""
    scheduler = runtime.start_scheduler()
    scheduler.leader_poll_seconds = 0.1
    assert scheduler.is_leader.wait(10)
    (evse_id,) = register(runtime, "CS-21-STORY")
    evening = ExclusionWindow.parse({"weekdays": ["mon"], "start": "17:00", "end": "21:00"})
    group_id, position = runtime.service.groups.create_group(
        name="Story", time_zone="Europe/Amsterdam", actor=Actor.system(),
        evse_ids=[evse_id], exclusion_windows=[evening],
    )  # fmt: skip
    assert runtime.context.view.wait_for(position, 10)

    def desired() -> tuple[ChargingProfile, ...]:
        return runtime.service.delivery(evse_id).desired

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CS-21-STORY", PASSWORD, "ocpp2.1")
        station = session.charger
        await station.expect("GetVariables")
        await station.expect("SetVariables")
        await station.call(transaction_started())
        local = await wait_until(
            lambda: (held := desired()) and all(p.use_local_time for p in held) and held
        )
        (exclusion,) = local
        sent = await station.expect("SetChargingProfile")
        while sent != ocpp21_payload(exclusion, 1):  # the UTC ones came first
            sent = await station.expect("SetChargingProfile")
        assert exclusion.valid_to is None and exclusion.stack_level == 0

        await asyncio.to_thread(
            lambda: runtime.service.groups.start_priority_charge(
                group_id, Actor.system(), duration=timedelta(hours=1)
            )
        )
        boost = await station.expect("SetChargingProfile")
        assert boost["chargingProfile"]["chargingProfilePurpose"] == "PriorityCharging"
        assert (await station.expect("UsePriorityCharging"))["transactionId"] == "TX-21"
        await session.close()

    asyncio.run(scenario())
