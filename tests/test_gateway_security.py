"""Who may connect, and what a charger sending nonsense gets: refusals and CALLERRORs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ocpp.v16 import call as call16
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chargers.gateway import Gateway
from chargers.profile_payloads import ocpp16_payload
from peer.ocpp_chargers import basic_auth, open_charger
from peer.scenario import PASSWORD, desire, exclusion, register
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres


async def refusal(url: str, headers: dict[str, str] | None = None) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, subprotocols=["ocpp1.6"], additional_headers=headers)  # type: ignore[list-item]
    return refused.value


async def raw(gateway: Gateway, charge_point_id: str, protocol: str) -> ClientConnection:
    return await connect(
        f"{gateway.url}/{charge_point_id}",
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=basic_auth(charge_point_id, PASSWORD),
    )


async def answer_to(connection: ClientConnection, frame: str) -> list[Any]:
    """Send one frame and read the next frame the gateway sends that is not a CALL."""
    await connection.send(frame)
    while True:
        received = json.loads(await asyncio.wait_for(connection.recv(), 10))
        if received[0] != 2:
            return received  # type: ignore[no-any-return]


# --- the handshake ------------------------------------------------------------------------


def test_unknown_chargers_and_wrong_passwords_are_refused_before_the_upgrade(
    runtime: Runtime, gateway: Gateway
):
    register(runtime, "CP-SAFE")

    async def scenario() -> None:
        unknown = await refusal(f"{gateway.url}/CP-NOBODY", basic_auth("CP-NOBODY", PASSWORD))
        assert unknown.response.status_code == 404  # OCPP-J 1.6 §3.2
        wrong = await refusal(f"{gateway.url}/CP-SAFE", basic_auth("CP-SAFE", "guessed-password-1"))
        assert wrong.response.status_code == 401
        assert wrong.response.headers["WWW-Authenticate"].startswith("Basic")
        anonymous = await refusal(f"{gateway.url}/CP-SAFE")
        assert anonymous.response.status_code == 401
        other_user = await refusal(f"{gateway.url}/CP-SAFE", basic_auth("CP-OTHER", PASSWORD))
        assert other_user.response.status_code == 401
        elsewhere = await refusal(f"{gateway.url.removesuffix('/ocpp')}/CP-SAFE")
        assert elsewhere.response.status_code == 404

    asyncio.run(scenario())
    assert not runtime.context.queries.charger("CP-SAFE")["connected"]


def test_a_charger_offering_no_version_of_ours_is_closed_after_the_handshake(
    runtime: Runtime, gateway: Gateway
):
    register(runtime, "CP-OLD")

    async def scenario() -> None:
        connection = await connect(
            f"{gateway.url}/CP-OLD",
            subprotocols=["ocpp1.5"],  # type: ignore[list-item]
            additional_headers=basic_auth("CP-OLD", PASSWORD),
        )
        assert connection.subprotocol is None  # OCPP-J 1.6 §3.2: no header, then closed
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(connection.recv(), 10)
        assert connection.close_code == 1002

    asyncio.run(scenario())


def test_a_hijack_attempt_leaves_the_connected_charger_working(runtime: Runtime, gateway: Gateway):
    (evse_id,) = register(runtime, "CP-OWNED")

    async def scenario() -> None:
        owner = await open_charger(gateway.url, "CP-OWNED", PASSWORD)
        await owner.charger.expect("GetConfiguration")
        intruder = await refusal(
            f"{gateway.url}/CP-OWNED", basic_auth("CP-OWNED", "not-the-password-0")
        )
        assert intruder.response.status_code == 401
        assert gateway.connections() == {"CP-OWNED": "ocpp1.6"}
        await owner.charger.call(call16.Heartbeat())
        await asyncio.to_thread(desire, runtime, evse_id, exclusion())
        assert await owner.charger.expect("SetChargingProfile") == ocpp16_payload(exclusion(), 1)
        await owner.close()

    asyncio.run(scenario())


# --- bad frames ---------------------------------------------------------------------------

BAD_16 = [
    ("this is not JSON", ["-1", "FormationViolation"]),
    ('{"not": "an array"}', ["-1", "FormationViolation"]),
    ('[5,"m1",{}]', ["m1", "FormationViolation"]),  # no such message type (§4.1.3)
    # OCPP-J 1.6 §4.2.3: NotImplemented "is not known by receiver", NotSupported "is
    # recognized but not supported" (the `ocpp` library had them the other way round)
    ('[2,"m2","FooBar",{}]', ["m2", "NotImplemented"]),  # no such action in 1.6
    ('[2,"m3","Reset",{"type":"Hard"}]', ["m3", "NotSupported"]),  # ours to send, not theirs
    ('[2,"m4","BootNotification",{"chargePointVendor":"Acme"}]', ["m4", "ProtocolError"]),
    (
        '[2,"m5","BootNotification",{"chargePointVendor":5,"chargePointModel":"X"}]',
        ["m5", "TypeConstraintViolation"],
    ),
    (
        '[2,"m6","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Asleep"}]',
        ["m6", "FormationViolation"],
    ),
    ('[2,"m7","Heartbeat",{"extra":1}]', ["m7", "FormationViolation"]),
]


def test_bad_frames_get_a_callerror_and_the_connection_lives_on(runtime: Runtime, gateway: Gateway):
    register(runtime, "CP-NOISY")

    async def scenario() -> None:
        connection = await raw(gateway, "CP-NOISY", "ocpp1.6")
        for frame, (message_id, code) in BAD_16:
            answer = await answer_to(connection, frame)
            assert answer[:3] == [4, message_id, code], frame
            assert len(answer) == 5
        await connection.send('[3,"no-such-call",{}]')  # an answer to nothing: dropped
        answer = await answer_to(connection, '[2,"ok","Heartbeat",{}]')
        assert answer[:2] == [3, "ok"] and answer[2]["currentTime"].endswith("Z")
        await connection.close()

    asyncio.run(scenario())


def test_bad_frames_on_201_use_its_error_codes(runtime: Runtime, gateway: Gateway):
    register(runtime, "CP-NOISY-2")

    async def scenario() -> None:
        connection = await raw(gateway, "CP-NOISY-2", "ocpp2.0.1")
        assert (await answer_to(connection, "nonsense"))[:3] == [4, "-1", "RpcFrameworkError"]
        assert (await answer_to(connection, '[6,"s",{}]'))[:3] == [
            4,
            "s",
            "MessageTypeNotSupported",
        ]
        assert (await answer_to(connection, '[2,"h","Heartbeat",{"x":1}]'))[:3] == [
            4,
            "h",
            "FormatViolation",
        ]
        assert (await answer_to(connection, '[2,"ok","Heartbeat",{}]'))[:2] == [3, "ok"]
        await connection.close()

    asyncio.run(scenario())


def test_a_charger_flooding_bad_frames_is_cut_off(runtime: Runtime, gateway: Gateway):
    register(runtime, "CP-FLOOD")

    async def scenario() -> None:
        connection = await raw(gateway, "CP-FLOOD", "ocpp1.6")
        for _ in range(20):
            assert (await answer_to(connection, "garbage"))[0] == 4
        await connection.send("garbage")  # the 21st within a minute
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(connection.recv(), 10)
        assert connection.close_code == 1008

    asyncio.run(scenario())
