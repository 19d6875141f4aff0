"""The frame loop is ours; what it takes from the `ocpp` library is checked here, so an
upgrade of the library that changes one of those pieces fails here, naming it."""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path

import pytest
from ocpp.exceptions import NotSupportedError, OCPPError
from ocpp.messages import Call, CallResult, validate_payload
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

import chargers.rpc
from chargers.rpc import described, routes_of, wire_payload
from chargers.v16 import ChargePoint16
from chargers.v201 import ChargePoint201

HANDLED_16 = {
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "Authorize",
    "StartTransaction",
    "StopTransaction",
    "MeterValues",
    "DataTransfer",
    "FirmwareStatusNotification",
    "DiagnosticsStatusNotification",
}
HANDLED_201 = {
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "Authorize",
    "TransactionEvent",
    "MeterValues",
    "NotifyEvent",
    "NotifyReport",
    "SecurityEventNotification",
    "FirmwareStatusNotification",
    "DataTransfer",
}


class _Bare:
    """The handlers without a connection: routes are read from the class's methods."""


@pytest.mark.parametrize(
    ("cls", "handled"), [(ChargePoint16, HANDLED_16), (ChargePoint201, HANDLED_201)]
)
def test_every_call_a_charger_makes_is_routed_to_its_handler(cls, handled):
    routes = routes_of(cls.__new__(cls))
    assert set(routes) >= handled, (
        "ocpp.routing.create_route_map no longer finds our @on handlers: "
        f"missing {sorted(handled - set(routes))}"
    )
    for action in handled:
        route = routes[action]
        assert callable(route.handler), (
            f"create_route_map's answer lost its '_on_action' key for {action}"
        )
        assert route.validated, f"{action} would skip the official schema"
    assert callable(routes["BootNotification"].after), (
        "create_route_map's answer lost its '_after_action' key: capabilities "
        "would no longer be read after a boot"
    )


def test_the_library_pieces_the_loop_uses_keep_their_shape():
    # Each a public name of the `ocpp` library; the loop uses nothing else of it.
    assert inspect.iscoroutinefunction(validate_payload), "validate_payload is no longer async"
    call = Call("1", "Heartbeat", {})
    answer = call.create_call_result({"currentTime": "2030-01-01T00:00:00.000Z"})
    assert isinstance(answer, CallResult) and answer.action == "Heartbeat", (
        "Call.create_call_result no longer carries the action the schema needs"
    )
    assert answer.to_json() == '[3,"1",{"currentTime":"2030-01-01T00:00:00.000Z"}]'
    assert wire_payload(result16.StopTransaction()) == {}  # no empty optional fields
    assert wire_payload(call16.GetConfiguration(key=["A"])) == {"key": ["A"]}
    assert Action16("Reset") and Action201("GetVariables")
    assert hasattr(result201, "GetVariables") and hasattr(result16, "GetConfiguration")


def test_a_schema_violation_names_its_cause_within_255_characters():
    boot = Call("b", "BootNotification", {"chargePointVendor": "x" * 400, "chargePointModel": "M"})
    with pytest.raises(OCPPError) as refused:
        asyncio.run(validate_payload(boot, "1.6"))
    text = described(refused.value)
    assert 0 < len(text) <= 255
    assert "is too long" in text  # the schema's complaint, not a generic word
    assert described(NotSupportedError("Reset is ours to send")) == "Reset is ours to send"


def test_the_gateway_uses_no_private_name_of_the_library():
    """The internals of the library's ChargePoint that the gateway once overrode."""
    private = re.compile(
        r"\._(handle_call|response_queue|send|unique_id_generator|connection|get_specific_response)\b"
    )
    for module in Path(chargers.rpc.__file__).parent.glob("*.py"):
        source = module.read_text()
        assert "from ocpp.charge_point import ChargePoint" not in source, module
        imports = [line for line in source.splitlines() if line.startswith("from ocpp.v")]
        assert not [line for line in imports if "ChargePoint" in line], module
        assert not private.findall(source), module
