"""The OCPP gateway end to end: `ocpp` library chargers over real websockets, real PostgreSQL.

Profiles are desired by recording them directly (`desire_profiles`), as the
scheduler does: the ProfilesDesired events are the contract between the two.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from uuid import UUID

import pytest
from ocpp.v16 import call as call16

from chargers.gateway import Gateway
from chargers.profile_payloads import ocpp16_payload
from conftest import OCPP_CALL_TIMEOUT
from domain.actors import Actor
from peer.ocpp_chargers import Received, Session, open_charger
from peer.scenario import (
    CLEARED_BESIDE,
    PASSWORD,
    UTC_Z,
    answers,
    assert_wire_rules,
    by_profile_id,
    charger_row,
    cover,
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


# --- OCPP 1.6J ----------------------------------------------------------------------------


async def boots_and_reports(runtime: Runtime, session: Session) -> None:
    """BootNotification and Heartbeat answered in UTC with Z; capabilities read and recorded."""
    boot = await session.charger.call(
        call16.BootNotification(charge_point_model="Home", charge_point_vendor="Acme")
    )
    assert boot.status == "Accepted" and UTC_Z.match(boot.current_time)
    heartbeat = await session.charger.call(call16.Heartbeat())
    assert UTC_Z.match(heartbeat.current_time)
    await session.charger.expect("GetConfiguration")
    await wait_until(lambda: charger_row(runtime, session.charger.id)["max_periods"] == 24)
    assert charger_row(runtime, session.charger.id)["rate_units"] == ["A", "W"]
    await session.charger.call(
        call16.StatusNotification(connector_id=1, error_code="NoError", status="Available")
    )


def transaction(runtime: Runtime, evse_id: UUID) -> str | None:
    row = runtime.context.queries.evse(evse_id)
    assert row is not None
    return row["status"]["transaction_id"]  # type: ignore[no-any-return]


async def starts_charging(runtime: Runtime, session: Session, evse_id: UUID) -> int:
    started = await session.charger.call(
        call16.StartTransaction(
            connector_id=1, id_tag="ANY-TAG", meter_start=0, timestamp=now_utc()
        )
    )
    assert started.id_tag_info["status"] == "Accepted"  # home chargers: any idTag
    await wait_until(lambda: transaction(runtime, evse_id) == str(started.transaction_id))
    return int(started.transaction_id)


def test_a_16_charger_boots_charges_and_gets_its_profiles(runtime: Runtime, gateway: Gateway):
    (evse_id,) = register(runtime, "CP-16")
    wanted = [exclusion(), priority()]

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-16", PASSWORD)
        await boots_and_reports(runtime, session)
        transaction_id = await starts_charging(runtime, session, evse_id)

        await asyncio.to_thread(desire, runtime, evse_id, *wanted)
        sent = await session.charger.expect_set_profiles(2)
        assert by_profile_id(sent) == [ocpp16_payload(profile, 1) for profile in wanted]
        for payload in sent:
            assert_wire_rules(payload)
        await wait_until(lambda: answers(runtime, evse_id) == every_answer("Accepted"))

        await session.charger.call(
            call16.StopTransaction(
                meter_stop=10, timestamp=now_utc(), transaction_id=transaction_id
            )
        )
        await wait_until(lambda: transaction(runtime, evse_id) is None)
        await session.close()
        await wait_until(lambda: not charger_row(runtime, "CP-16")["connected"])

        again = await open_charger(gateway.url, "CP-16", PASSWORD)  # no BootNotification
        assert by_profile_id(await again.charger.expect_set_profiles(2)) == by_profile_id(sent)
        await wait_until(lambda: charger_row(runtime, "CP-16")["connected"])
        await again.close()

    asyncio.run(scenario())


def test_managed_profiles_not_desired_are_cleared(runtime: Runtime, gateway: Gateway):
    (evse_id,) = register(runtime, "CP-CLEAR")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-CLEAR", PASSWORD)
        await asyncio.to_thread(desire, runtime, evse_id, exclusion())
        assert await session.charger.expect("SetChargingProfile") == ocpp16_payload(exclusion(), 1)
        # OCPP 1.6 §5.5: cleared by id, those of the priority profile and the cover not desired
        assert await session.charger.expect("ClearChargingProfile") == {"id": 1012}
        assert await session.charger.expect("ClearChargingProfile") == {"id": 1013}
        # and those of the exclusion profiles of later offset periods, sent ahead of time
        assert await session.charger.expect("ClearChargingProfile") == {"id": 1014}
        assert await session.charger.expect("ClearChargingProfile") == {"id": 1015}
        await wait_until(lambda: answers(runtime, evse_id) == every_answer("Accepted"))
        await session.close()

    asyncio.run(scenario())


def calls(log: list[Received]) -> Counter[str]:
    return Counter(received.action for received in log)


def test_a_charger_is_asked_each_thing_once_per_connection_and_sent_only_changes(
    runtime: Runtime, gateway: Gateway
):
    (evse_id,) = register(runtime, "CP-CALLS")
    every = every_answer("Accepted")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-CALLS", PASSWORD)
        charger = session.charger
        await boots_and_reports(runtime, session)
        await asyncio.to_thread(desire, runtime, evse_id, exclusion(), cover())
        await charger.expect_set_profiles(2)
        for _ in range(CLEARED_BESIDE):
            await charger.expect("ClearChargingProfile")
        await wait_until(lambda: answers(runtime, evse_id) == every)
        # Its configuration once (on connecting, not again after the BootNotification),
        # each id not desired cleared once, each desired profile set once.
        assert calls(charger.log) == {
            "GetConfiguration": 1,
            "ClearChargingProfile": CLEARED_BESIDE,
            "SetChargingProfile": 2,
        }

        # Ids cleared on this connection are not cleared again, nor answered for again.
        held = {"1011": "Accepted", "1012": "Accepted", "1013": "Accepted"}
        charger.log.clear()
        boost = priority()
        await asyncio.to_thread(desire, runtime, evse_id, exclusion(), boost, cover())
        assert await charger.expect_set_profiles(1) == [ocpp16_payload(boost, 1)]
        await wait_until(lambda: answers(runtime, evse_id) == held)
        assert calls(charger.log) == {"SetChargingProfile": 1}  # a priority start: one call

        charger.log.clear()
        await asyncio.to_thread(desire, runtime, evse_id, exclusion(), cover())
        assert await charger.expect("ClearChargingProfile") == {"id": 1012}
        await wait_until(lambda: answers(runtime, evse_id) == held)
        assert calls(charger.log) == {"ClearChargingProfile": 1}  # its end: one call
        await session.close()

        # A new connection knows nothing of what the charger holds: everything once more.
        again = await open_charger(gateway.url, "CP-CALLS", PASSWORD)
        await again.charger.expect_set_profiles(2)
        await wait_until(lambda: charger_row(runtime, "CP-CALLS")["connected"])
        await again.charger.call(
            call16.BootNotification(charge_point_model="Home", charge_point_vendor="Acme")
        )
        # Known, so not asked on connecting: asked after the boot, behind the delivery.
        await again.charger.expect("GetConfiguration")
        assert calls(again.charger.log) == {
            "GetConfiguration": 1,
            "ClearChargingProfile": CLEARED_BESIDE,
            "SetChargingProfile": 2,
        }
        await again.close()

    asyncio.run(scenario())


def test_a_retry_sends_only_what_was_not_accepted(runtime: Runtime, gateway: Gateway):
    (evse_id,) = register(runtime, "CP-RETRY")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-RETRY", PASSWORD)
        session.charger.set_profile_answer = "Rejected"
        await asyncio.to_thread(desire, runtime, evse_id, exclusion())
        refused = every_answer("Accepted", **{"1011": "Rejected"})
        await wait_until(lambda: answers(runtime, evse_id) == refused)
        session.charger.log.clear()

        session.charger.set_profile_answer = "Accepted"
        await asyncio.to_thread(runtime.service.deliveries.request_retry, evse_id, 1)
        assert await session.charger.expect("SetChargingProfile") == ocpp16_payload(exclusion(), 1)
        await wait_until(lambda: answers(runtime, evse_id) == every_answer("Accepted"))
        assert [r.action for r in session.charger.log] == ["SetChargingProfile"]
        await session.close()

    asyncio.run(scenario())


def test_a_silent_charger_times_out_without_slowing_another(runtime: Runtime, gateway: Gateway):
    (silent_evse,) = register(runtime, "CP-SILENT")
    (other_evse,) = register(runtime, "CP-OTHER")

    async def scenario() -> None:
        silent = await open_charger(gateway.url, "CP-SILENT", PASSWORD)
        silent.charger.silent = True
        other = await open_charger(gateway.url, "CP-OTHER", PASSWORD)
        await silent.charger.expect("GetConfiguration")  # unanswered: its outbox is busy
        started = time.monotonic()
        await asyncio.to_thread(desire, runtime, silent_evse, exclusion(), priority())
        await asyncio.to_thread(desire, runtime, other_evse, exclusion(), priority())
        await other.charger.expect_set_profiles(2, timeout=OCPP_CALL_TIMEOUT)
        assert time.monotonic() - started < OCPP_CALL_TIMEOUT
        await wait_until(lambda: answers(runtime, other_evse) == every_answer("Accepted"))
        assert answers(runtime, silent_evse) == {}  # still waiting for the silent one

        timed_out = every_answer("Timeout")
        await wait_until(lambda: answers(runtime, silent_evse) == timed_out, timeout=30)
        await silent.close()
        await other.close()

    asyncio.run(scenario())


def test_a_second_connection_replaces_the_first(runtime: Runtime, gateway: Gateway):
    (evse_id,) = register(runtime, "CP-TWICE")

    async def scenario() -> None:
        first = await open_charger(gateway.url, "CP-TWICE", PASSWORD)
        await first.charger.expect("GetConfiguration")
        second = await open_charger(gateway.url, "CP-TWICE", PASSWORD)
        await asyncio.wait_for(first.connection.wait_closed(), 10)
        assert first.connection.close_code == 1000
        assert gateway.connections() == {"CP-TWICE": "ocpp1.6"}

        await asyncio.to_thread(desire, runtime, evse_id, exclusion(), priority())
        await second.charger.expect_set_profiles(2)
        await second.charger.call(
            call16.StatusNotification(connector_id=1, error_code="NoError", status="Preparing")
        )
        await wait_until(
            lambda: (
                charger_row(runtime, "CP-TWICE")["connector_status"].get("1", {}).get("status")
                == "Preparing"
            )
        )
        assert charger_row(runtime, "CP-TWICE")["connected"]  # the first's end is not recorded
        await first.close()
        await second.close()

    asyncio.run(scenario())


def test_stopping_the_session_ends_the_priority_charge(runtime: Runtime, gateway: Gateway):
    (evse_id,) = register(runtime, "CP-PRIO")
    group_id, _ = runtime.service.groups.create_group(
        name="Home", time_zone="Europe/Amsterdam", actor=Actor.system(), evse_ids=[evse_id]
    )
    runtime.service.groups.start_priority_charge(group_id, Actor.system())

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-PRIO", PASSWORD)
        started = await session.charger.call(
            call16.StartTransaction(
                connector_id=1, id_tag="ANY-TAG", meter_start=0, timestamp=now_utc()
            )
        )
        await session.charger.call(
            call16.StopTransaction(
                meter_stop=10, timestamp=now_utc(), transaction_id=started.transaction_id
            )
        )
        await wait_until(lambda: runtime.service.group(group_id).priority is None)
        await session.close()

    asyncio.run(scenario())
