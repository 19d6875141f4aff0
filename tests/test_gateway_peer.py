"""An independent peer: ocpp-rpc (npm) in strict mode validates all we send against the
official OCPP JSON schemas, date-time formats included. Install it with `npm ci` in tests/.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chargers.gateway import Gateway
from chargers.profile_payloads import ocpp16_payload, ocpp21_payload, ocpp201_payload
from domain.actors import Actor
from peer.scenario import PASSWORD, by_profile_id, desire, exclusion, priority, register
from smartcharge.runtime import Runtime
from test_gateway_v21 import local_exclusion, priority_charging

TESTS = Path(__file__).parent
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (TESTS / "node_modules" / "ocpp-rpc").is_dir(),
        reason="the ocpp-rpc peer is not installed: run `npm ci` in tests/",
    ),
]

Event = dict[str, Any]


class NodeCharger:
    """tests/peer/charger.js as a subprocess: commands on stdin, events read from stdout."""

    def __init__(self, url: str, identity: str, protocol: str):
        assert NODE is not None
        self.process = subprocess.Popen(
            [NODE, str(TESTS / "peer" / "charger.js"), url, identity, PASSWORD, protocol],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=TESTS,
        )  # fmt: skip
        self.events: queue.Queue[Event] = queue.Queue()
        self.backlog: list[Event] = []  # arrived, not yet expected
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def send(self, **order: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(order) + "\n")
        self.process.stdin.flush()

    def expect(self, wanted: Callable[[Event], bool], timeout: float = 15.0) -> Event:
        """The first event, in order of arrival, that is `wanted` and was not taken yet."""
        for event in self.backlog:
            if wanted(event):
                self.backlog.remove(event)
                return event
        while True:
            event = self.events.get(timeout=timeout)
            assert event["event"] != "strictValidationFailure", event
            if wanted(event):
                return event
            self.backlog.append(event)

    def call(self, method: str, params: dict[str, Any]) -> Any:
        self.send(call=method, params=params, tag=method)
        answer = self.expect(lambda e: e.get("tag") == method)
        assert answer["event"] == "result", answer
        return answer["result"]

    def received(self, method: str) -> dict[str, Any]:
        return self.expect(lambda e: e["event"] == "call" and e["method"] == method)["params"]  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.send(exit=True)
        self.process.wait(timeout=10)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_strict_16_peer_gets_valid_profiles_and_again_after_reconnecting(
    runtime: Runtime, gateway: Gateway
):
    (evse_id,) = register(runtime, "NODE-16")
    charger = NodeCharger(gateway.url, "NODE-16", "ocpp1.6")
    try:
        charger.expect(lambda e: e["event"] == "open")
        boot = charger.call(
            "BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "H"}
        )
        assert boot["status"] == "Accepted"
        charger.received("GetConfiguration")
        charger.call(
            "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        )
        charger.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": "X", "meterStart": 0, "timestamp": now()},
        )

        desire(runtime, evse_id, exclusion())
        assert charger.received("SetChargingProfile") == ocpp16_payload(exclusion(), 1)
        assert charger.received("ClearChargingProfile") == {"id": 1012}
        boost = priority()
        desire(runtime, evse_id, exclusion(), boost)
        # The exclusion profile it holds is not sent again.
        assert charger.received("SetChargingProfile") == ocpp16_payload(boost, 1)

        charger.send(close=True)
        charger.expect(lambda e: e["event"] == "closed")
        charger.send(connect=True)
        charger.expect(lambda e: e["event"] == "open")
        sets = [charger.received("SetChargingProfile") for _ in range(2)]
        assert by_profile_id(sets) == [ocpp16_payload(exclusion(), 1), ocpp16_payload(boost, 1)]
        charger.call("Heartbeat", {})
    finally:
        charger.stop()


def test_a_strict_201_peer_gets_valid_profiles_and_again_after_reconnecting(
    runtime: Runtime, gateway: Gateway
):
    (evse_id,) = register(runtime, "NODE-201")
    charger = NodeCharger(gateway.url, "NODE-201", "ocpp2.0.1")
    try:
        charger.expect(lambda e: e["event"] == "open")
        station = {"model": "Wallbox", "vendorName": "Acme"}
        boot = charger.call("BootNotification", {"chargingStation": station, "reason": "PowerUp"})
        assert boot["status"] == "Accepted"
        charger.received("GetVariables")
        charger.call(
            "StatusNotification",
            {"timestamp": now(), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
        )
        charger.call(
            "TransactionEvent",
            {
                "eventType": "Started", "timestamp": now(), "triggerReason": "CablePluggedIn",
                "seqNo": 0, "transactionInfo": {"transactionId": "T-1"},
                "evse": {"id": 1, "connectorId": 1},
            },
        )  # fmt: skip

        boost = priority()
        desire(runtime, evse_id, exclusion(), boost)
        sets = [charger.received("SetChargingProfile") for _ in range(2)]
        assert by_profile_id(sets) == [ocpp201_payload(exclusion(), 1), ocpp201_payload(boost, 1)]

        charger.send(close=True)
        charger.expect(lambda e: e["event"] == "closed")
        charger.send(connect=True)
        charger.expect(lambda e: e["event"] == "open")
        sets = [charger.received("SetChargingProfile") for _ in range(2)]
        assert by_profile_id(sets) == [ocpp201_payload(exclusion(), 1), ocpp201_payload(boost, 1)]
    finally:
        charger.stop()


def test_a_strict_21_peer_gets_local_time_and_priority_profiles_and_its_clock_set(
    runtime: Runtime, gateway: Gateway
):
    """ocpp-rpc validates every 2.1 message both ways, useLocalTime, randomizedDelay,
    SetVariables and UsePriorityCharging included."""
    (evse_id,) = register(runtime, "NODE-21")
    _, position = runtime.service.groups.create_group(
        name="Node 21", time_zone="Europe/London", actor=Actor.system(), evse_ids=[evse_id]
    )
    assert runtime.context.view.wait_for(position, 10)
    charger = NodeCharger(gateway.url, "NODE-21", "ocpp2.1")
    try:
        assert charger.expect(lambda e: e["event"] == "open")["protocol"] == "ocpp2.1"
        station = {"model": "Wallbox", "vendorName": "Acme"}
        boot = charger.call("BootNotification", {"chargingStation": station, "reason": "PowerUp"})
        assert boot["status"] == "Accepted"
        charger.received("GetVariables")
        setting = charger.received("SetVariables")["setVariableData"]
        assert setting[0]["attributeValue"] == "Europe/London"
        charger.call(
            "TransactionEvent",
            {
                "eventType": "Started", "timestamp": now(), "triggerReason": "CablePluggedIn",
                "seqNo": 0, "transactionInfo": {"transactionId": "T-21"},
                "evse": {"id": 1, "connectorId": 1},
            },
        )  # fmt: skip
        exclusion_21, boost_21 = local_exclusion(delay=600), priority_charging()
        desire(runtime, evse_id, exclusion_21, boost_21)
        assert charger.received("SetChargingProfile") == ocpp21_payload(exclusion_21, 1)
        assert charger.received("SetChargingProfile") == ocpp21_payload(boost_21, 1)
        used = charger.received("UsePriorityCharging")
        assert used == {"transactionId": "T-21", "activate": True}
        notified = {"transactionId": "T-21", "activated": False}
        assert charger.call("NotifyPriorityCharging", notified) == {}
        # The peer's strict mode checks 2.1: a call breaking its schema does not leave it.
        charger.send(call="NotifyPriorityCharging", params={"activated": True}, tag="bad")
        failure = charger.events.get(timeout=10)
        assert failure["event"] == "strictValidationFailure" and failure["outbound"], failure
        assert failure["method"] == "NotifyPriorityCharging"
        assert charger.expect(lambda e: e.get("tag") == "bad")["event"] == "callError"
        charger.call("Heartbeat", {})
    finally:
        charger.stop()
