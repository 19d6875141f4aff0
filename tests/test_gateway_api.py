"""The operator's charger API with a live gateway; wss://; several gateways on one database."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from ocpp.routing import on
from ocpp.v16 import call_result as result16

from chargers.gateway import Gateway
from chargers.profile_payloads import ocpp16_payload
from peer.ocpp_chargers import Charger16, open_charger
from peer.scenario import PASSWORD, charger_row, desire, exclusion, register, wait_until
from smartcharge.database import Database
from smartcharge.runtime import Runtime, make_gateway
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres


def register_over_http(client: httpx.Client, charge_point_id: str) -> str:
    answer = client.post(
        "/api/operator/evses",
        json={"charge_point_id": charge_point_id, "connector_id": 1, "max_power_w": 7400},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_the_operator_sets_a_password_and_sees_the_charger_connect(
    gateway: Gateway, operator_client: httpx.Client
):
    register_over_http(operator_client, "CP-API")
    listed = operator_client.get("/api/operator/chargers").json()
    assert [(c["charge_point_id"], c["password_set"]) for c in listed] == [("CP-API", False)]

    short = operator_client.put("/api/operator/chargers/CP-API/password", json={"password": "x"})
    assert short.status_code == 422
    answer = operator_client.put(
        "/api/operator/chargers/CP-API/password", json={"password": PASSWORD}
    )
    assert answer.status_code == 204, answer.text

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-API", PASSWORD)
        await session.charger.expect("GetConfiguration")

        def connected() -> list[dict[str, Any]]:
            listed = operator_client.get("/api/operator/chargers").json()
            return [c for c in listed if c["connected"]]  # once the read model has it

        (charger,) = await wait_until(connected)
        assert charger["connected_here"] and charger["protocol"] == "ocpp1.6"
        assert charger["connectors"] == [1] and charger["gateway_id"] == gateway.gateway_id
        await session.close()

    asyncio.run(scenario())


def test_the_operator_asks_a_charger_connected_here_for_its_composite_schedule(
    runtime: Runtime, gateway: Gateway, operator_client: httpx.Client
):
    register(runtime, "CP-PLAN")
    ask = "/api/operator/chargers/CP-PLAN/composite-schedule"

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-PLAN", PASSWORD)
        await session.charger.expect("GetConfiguration")
        params = {"connector_id": 1, "duration": 3600}
        answer = await asyncio.to_thread(operator_client.post, ask, params=params)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "Accepted"
        assert answer.json()["chargingSchedule"]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 16.0}
        ]
        expected = {"connectorId": 1, "duration": 3600}
        assert await session.charger.expect("GetCompositeSchedule") == expected
        await session.close()
        await wait_until(lambda: "CP-PLAN" not in gateway.connections())

    asyncio.run(scenario())
    assert operator_client.post(ask).status_code == 409  # no longer connected


class HugeNumbersCharger(Charger16):
    """Answers GetCompositeSchedule with a limit no schema check can divide (decimal's
    DivisionImpossible against multipleOf 0.1), as the fuzz test once found."""

    @on("GetCompositeSchedule", skip_schema_validation=True)
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, **_: Any
    ) -> result16.GetCompositeSchedule:
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            charging_schedule={
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": -6.886167973319242e33}],
            },
        )


def test_a_composite_schedule_no_schema_check_can_read_is_a_bad_gateway_answer(
    runtime: Runtime, gateway: Gateway, operator_client: httpx.Client
):
    register(runtime, "CP-HUGE")
    ask = "/api/operator/chargers/CP-HUGE/composite-schedule"

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-HUGE", PASSWORD, kind=HugeNumbersCharger)
        await session.charger.expect("GetConfiguration")
        answer = await asyncio.to_thread(operator_client.post, ask)
        assert answer.status_code == 502, answer.text
        assert "cannot be checked" in answer.text
        assert "CP-HUGE" in gateway.connections()  # the charger stays connected
        await session.close()

    asyncio.run(scenario())


def test_a_rejected_profile_shows_in_the_evse_status(
    runtime: Runtime, gateway: Gateway, operator_client: httpx.Client
):
    (evse_id,) = register(runtime, "CP-NO")

    async def scenario() -> None:
        session = await open_charger(gateway.url, "CP-NO", PASSWORD)
        session.charger.set_profile_answer = "Rejected"
        await asyncio.to_thread(desire, runtime, evse_id, exclusion())
        await session.charger.expect("SetChargingProfile")

        def shown() -> bool:
            status = operator_client.get(f"/api/operator/evses/{evse_id}").json()["status"]
            return status["answers"].get("1011", {}).get("status") == "Rejected"

        await wait_until(shown)
        await session.close()

    asyncio.run(scenario())


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_with_a_certificate_chargers_connect_over_wss(
    settings: Settings, database: Database, tmp_path: Path
):
    cert, key = self_signed(tmp_path)
    runtime = Runtime(
        settings.model_copy(update={"ocpp_tls_cert": cert, "ocpp_tls_key": key}), database
    ).start()
    try:
        register(runtime, "CP-TLS")
        runtime.gateway.start()
        assert runtime.gateway.url.startswith("wss://")
        trust = ssl.create_default_context(cafile=str(cert))

        async def scenario() -> None:
            session = await open_charger(runtime.gateway.url, "CP-TLS", PASSWORD, tls=trust)
            await session.charger.expect("GetConfiguration")
            await session.close()

        asyncio.run(scenario())
    finally:
        runtime.close()


def test_gateways_sharing_a_database_act_only_for_their_own_chargers(
    runtime: Runtime, gateway: Gateway, settings: Settings
):
    (here,) = register(runtime, "CP-HERE")
    (there,) = register(runtime, "CP-THERE")
    other = make_gateway(
        settings.model_copy(update={"gateway_id": "second"}),
        runtime.service,
        runtime.context.queries,
    )
    other.start()
    try:

        async def scenario() -> None:
            near = await open_charger(gateway.url, "CP-HERE", PASSWORD)
            far = await open_charger(other.url, "CP-THERE", PASSWORD)
            await asyncio.to_thread(desire, runtime, here, exclusion())
            await asyncio.to_thread(desire, runtime, there, exclusion(limit=8.0))
            assert await near.charger.expect("SetChargingProfile") == ocpp16_payload(exclusion(), 1)
            assert await far.charger.expect("SetChargingProfile") == ocpp16_payload(
                exclusion(limit=8.0), 1
            )
            await near.charger.expect("ClearChargingProfile")
            await far.charger.expect("ClearChargingProfile")
            assert [r.action for r in near.charger.log].count("SetChargingProfile") == 1
            assert [r.action for r in far.charger.log].count("SetChargingProfile") == 1

            # The charger moves: the first gateway closes the connection it still holds.
            moved = await open_charger(other.url, "CP-HERE", PASSWORD)
            await asyncio.wait_for(near.connection.wait_closed(), 10)
            assert near.connection.close_reason == "connected to another gateway"
            sent = await moved.charger.expect("SetChargingProfile")
            assert sent == ocpp16_payload(exclusion(), 1)
            await wait_until(lambda: charger_row(runtime, "CP-HERE")["gateway_id"] == "second")
            assert charger_row(runtime, "CP-HERE")["connected"]
            for session in (near, far, moved):
                await session.close()

        asyncio.run(scenario())
    finally:
        other.stop()
