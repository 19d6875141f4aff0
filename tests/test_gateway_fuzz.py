"""Hostile frames from connected chargers, generated from the OCPP JSON schemas that the `ocpp`
package ships, then mutated: NUL, lone UTF-16 halves, 16 KB strings, huge and negative
integers, wrong types, missing fields, deep nesting; and our own calls answered the same way.

One service (PostgreSQL, read models, scheduler-free gateway, API) serves the whole property.
Every CALL must get a CALLRESULT or a CALLERROR with its message id (never an InternalError:
that is a bug of ours), the connection must stay open, the API must never answer 5xx, and
afterwards the read models must still follow, no follower may have met an event it could
not handle, and a calm charger must still get the profile desired for it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import ocpp
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from chargers.frames import _V16_VALID
from chargers.gateway import Gateway
from chargers.throttle import CallLimits, CallRate
from domain.actors import Actor
from domain.evse_limits import EvseLimits
from peer.ocpp_chargers import basic_auth
from peer.scenario import PASSWORD, desire, every_answer, exclusion, register
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

SCHEMAS = Path(ocpp.__file__).parent
EXAMPLES = 200
ANSWER_SECONDS = 15.0

CHARGER_CALLS = {
    "ocpp1.6": [
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
    ],
    "ocpp2.0.1": [
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
    ],
}
V201_CODES = {
    "FormatViolation",
    "GenericError",
    "InternalError",
    "MessageTypeNotSupported",
    "NotImplemented",
    "NotSupported",
    "OccurrenceConstraintViolation",
    "PropertyConstraintViolation",
    "ProtocolError",
    "RpcFrameworkError",
    "SecurityError",
    "TypeConstraintViolation",
}
CODES = {"ocpp1.6": _V16_VALID, "ocpp2.0.1": V201_CODES}


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE: list[Any] = [
    "\x00",
    "Acme\x00Power",
    "\ud800",
    "x\udfffy",
    "\x1b[31m",
    "",
    "x" * 16_384,
    10**30,
    -(2**63),
    2**31,
    2**31 - 1,
    -1,
    0,
    1001,
    True,
    None,
    1.5,
    1e308,
    [],
    {},
    {"\x00": "\ud800"},
    nested(40),
]
# Mostly answers; silence only now and then, as each costs the gateway its call timeout
# (and never to GetCompositeSchedule, whose API request the example waits for).
ANSWER_KINDS = (
    ["result"] * 8 + ["capabilities"] * 4 + ["error", "malformed", "overflow"] * 2 + ["silence"]
)
# Values of the type the schema asks for, so the call passes the schema and reaches us.
SAME_TYPE: dict[type, list[Any]] = {
    str: ["\x00", "Acme\x00Power", "\ud800", "x\udfffy", "\x1b[31m", "", " \u200b "],
    int: [10**30, -(10**400), -(2**63), 2**31, 2**31 - 1, -1, 0, 1001, 1000],
    float: [1e308, -1e308, 0.0, -0.1],
}
CAPABILITY_VALUES = ["-1", "0", "abc", "", "1e12", "2147483648", "\x00", "\ud800", "24", "x" * 400]


# --- frames from the schemas ----------------------------------------------------------------


@cache
def schema(protocol: str, name: str) -> dict[str, Any]:
    folder = "v16" if protocol == "ocpp1.6" else "v201"
    loaded = json.loads((SCHEMAS / folder / "schemas" / f"{name}.json").read_text("utf-8-sig"))
    loaded.pop("$schema", None)
    loaded.pop("$id", None)
    return loaded  # type: ignore[no-any-return]


@cache
def payloads(protocol: str, name: str) -> st.SearchStrategy[dict[str, Any]]:
    return from_schema(schema(protocol, name))  # type: ignore[return-value]


def request_schema(protocol: str, action: str) -> str:
    return action if protocol == "ocpp1.6" else f"{action}Request"


def locations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from locations(item, (*path, key))


def mutated(payload: Any, data: st.DataObject) -> Any:
    """The payload with up to three of its values replaced, removed, or added to."""
    payload = copy.deepcopy(payload)
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        where = data.draw(st.sampled_from(list(locations(payload))), label="where")
        how = data.draw(st.sampled_from(["same type", "replace", "delete", "add"]), label="how")
        value = copy.deepcopy(data.draw(st.sampled_from(HOSTILE), label="value"))
        if not where:
            payload = value if how == "replace" else payload
            continue
        parent = payload
        for key in where[:-1]:
            parent = parent[key]
        kind = type(parent[where[-1]])
        if how == "same type" and kind in SAME_TYPE:
            parent[where[-1]] = data.draw(st.sampled_from(SAME_TYPE[kind]), label="same type")
        elif how == "replace":
            parent[where[-1]] = value
        elif how == "delete":
            del parent[where[-1]]
        elif isinstance(parent, dict):
            parent["extra\x00field"] = value
    return payload


# Frames no schema makes: (frame, the id the CALLERROR must carry). A frame that is not
# JSON we can read still has its id read from its start (OCPP-J 2.0.1 §4.2.3: "-1" only
# when it cannot be).
RAW_FRAMES = [
    ('[2, "fz-raw-1", "Heartbeat", {}', "fz-raw-1"),
    ("[" * 100_000 + "]" * 100_000, "-1"),
    ('[2, "fz-raw-2", "Heartbeat", {"x": NaN}]', "fz-raw-2"),
    ('[2, "fz-raw-3", "Heartbeat", {"x": 1' + "0" * 5000 + "}]", "fz-raw-3"),
    ('[2, "fz-raw-11", "Heartbeat", ' + "[" * 100_000 + "]" * 100_000 + "]", "fz-raw-11"),
    ('[2, "fz-\\ud800", "Heartbeat", {}]', "fz-\ud800"),
    ('[2, "fz-raw-4", "\\ud800\\u0000", {}]', "fz-raw-4"),
    ('[2, "fz-raw-5", "Heartbeat", ' + json.dumps(nested(40)) + "]", "fz-raw-5"),
    ('[2, "fz-raw-6", "Heartbeat", {"a": ' + json.dumps(nested(40)) + "}]", "fz-raw-6"),
    ('[2, "fz-raw-7", 7, {}]', "fz-raw-7"),
    ('[5, "fz-raw-8"]', "fz-raw-8"),
    ('"just text"', "-1"),
    ('[2, "fz-raw-9", "Heartbeat", {"x": 1e400}]', "fz-raw-9"),
    ('[2, "fz-raw-10", "StatusNotification", {"connectorId": 1' + "0" * 400 + "}]", "fz-raw-10"),
    ("[2, " + json.dumps("i" * 40) + ', "Heartbeat", {}]', "-1"),
]


# --- answers to our calls -------------------------------------------------------------------


def capability_answers(protocol: str) -> st.SearchStrategy[dict[str, Any]]:
    values = st.sampled_from(CAPABILITY_VALUES)
    if protocol == "ocpp1.6":
        keys = st.sampled_from(
            [
                "ChargingScheduleMaxPeriods",
                "ChargingScheduleAllowedChargingRateUnit",
                "ChargeProfileMaxStackLevel",
            ]
        )
        item = st.fixed_dictionaries({"key": keys, "readonly": st.booleans(), "value": values})
        return st.fixed_dictionaries({"configurationKey": st.lists(item, max_size=4)})
    names = st.sampled_from(["PeriodsPerSchedule", "RateUnit", "ProfileStackLevel"])
    result = st.fixed_dictionaries(
        {
            "attributeStatus": st.just("Accepted"),
            "attributeValue": values,
            "component": st.just({"name": "SmartChargingCtrlr"}),
            "variable": st.builds(lambda name: {"name": name}, names),
        }
    )
    return st.fixed_dictionaries({"getVariableResult": st.lists(result, min_size=1, max_size=4)})


OUR_CALLS = {
    "ocpp1.6": ["GetConfiguration", "SetChargingProfile", "ClearChargingProfile"],
    "ocpp2.0.1": ["GetVariables", "SetChargingProfile", "ClearChargingProfile"],
}
Answers = dict[str, Callable[[str], "str | None"]]


def answer_plan(protocol: str, data: st.DataObject) -> Answers:
    """How the fuzzed charger answers each of our calls in this example, drawn up front:
    which calls the gateway makes, and when, depends on the service, and hypothesis
    needs the same draws for the same choices."""
    return {
        action: one_answer(protocol, action, data)
        for action in [*OUR_CALLS[protocol], "GetCompositeSchedule"]
    }


def one_answer(protocol: str, action: str, data: st.DataObject) -> Callable[[str], str | None]:
    """A result from the schema (maybe mutated), a CALLERROR with odd fields, a malformed
    frame, or nothing."""
    kind = data.draw(st.sampled_from(ANSWER_KINDS), label=f"answer to {action}")
    if kind == "silence" and action != "GetCompositeSchedule":
        return lambda message_id: None
    if kind == "error":
        code = data.draw(st.sampled_from(HOSTILE), label="error code")
        return lambda message_id: json.dumps([4, message_id, code, "\ud800", []])
    if kind == "malformed":
        rest: list[Any] = data.draw(st.sampled_from([[], ["x"], [[1]]]), label="malformed")
        return lambda message_id: json.dumps([3, message_id, *rest])
    if kind == "overflow":  # a number JSON writes and a float cannot hold
        return lambda message_id: f'[3, "{message_id}", {{"status": "Accepted", "x": 1e400}}]'
    if kind == "capabilities" and action in ("GetConfiguration", "GetVariables"):
        payload = data.draw(capability_answers(protocol), label="capabilities")
    else:
        payload = data.draw(payloads(protocol, f"{action}Response"), label=f"{action} result")
    payload = mutated(payload, data)
    return lambda message_id: json.dumps([3, message_id, payload])


def answer_to(call: list[Any], answers: Answers | None) -> str | None:
    answer = (answers or {}).get(call[2])
    return answer(call[1]) if answer is not None else None


# --- the fuzzed charger, on a plain websocket ---------------------------------------------


@dataclasses.dataclass
class FuzzCharger:
    protocol: str
    connection: ClientConnection
    calls_answered: int = 0

    @classmethod
    @contextmanager
    def open(cls, gateway: Gateway, charge_point_id: str, protocol: str) -> Iterator[FuzzCharger]:
        with connect(
            f"{gateway.url}/{charge_point_id}",
            subprotocols=[Subprotocol(protocol)],
            additional_headers=basic_auth(charge_point_id, PASSWORD),
            open_timeout=10,
            max_size=None,
        ) as connection:
            yield cls(protocol, connection)

    def exchange(self, frame: str, message_id: str, answers: Answers | None) -> list[Any]:
        """Send one frame; answer our calls meanwhile; return the frame's answer."""
        self.connection.send(frame)
        return self.pump(lambda answer: answer[1] == message_id, answers)

    def pump(self, done: Callable[[list[Any]], bool], answers: Answers | None) -> list[Any]:
        while True:
            received = json.loads(self.connection.recv(timeout=ANSWER_SECONDS))
            if received[0] != 2:
                if done(received):
                    return received  # type: ignore[no-any-return]
                continue  # a CALLERROR for a malformed answer of ours
            reply = answer_to(received, answers)
            if reply is not None:
                self.connection.send(reply)
                self.calls_answered += 1

    def until(self, future: Future[Any], answers: Answers) -> None:
        """Answer our calls until `future` (a request to the API) is done."""
        while not future.done():
            try:
                received = json.loads(self.connection.recv(timeout=0.05))
            except TimeoutError:
                continue
            if received[0] == 2 and (reply := answer_to(received, answers)):
                self.connection.send(reply)


class CalmCharger(threading.Thread):
    """A well-behaved 1.6 charger: accepts every call; counts the profiles it is sent."""

    def __init__(self, connection: ClientConnection):
        super().__init__(daemon=True)
        self.connection = connection
        self.limits: list[float] = []
        self.got_profile = threading.Condition()

    def run(self) -> None:
        answers = {
            "GetConfiguration": {"configurationKey": []},
            "SetChargingProfile": {"status": "Accepted"},
            "ClearChargingProfile": {"status": "Accepted"},
        }
        try:
            for raw in self.connection:
                frame = json.loads(raw)
                if frame[0] != 2:
                    continue
                self.connection.send(json.dumps([3, frame[1], answers.get(frame[2], {})]))
                if frame[2] == "SetChargingProfile":
                    schedule = frame[3]["csChargingProfiles"]["chargingSchedule"]
                    with self.got_profile:
                        self.limits.append(schedule["chargingSchedulePeriod"][0]["limit"])
                        self.got_profile.notify_all()
        except ConnectionClosed:
            pass

    def wait_for_limit(self, limit: float) -> bool:
        with self.got_profile:
            return self.got_profile.wait_for(lambda: limit in self.limits, timeout=10)


# --- the property ---------------------------------------------------------------------------


@pytest.fixture
def tolerant_gateway(gateway: Gateway) -> Gateway:
    """The gateway, without cutting off a charger after 20 bad frames a minute nor refusing
    its calls over the call rate: the property sends hundreds on purpose, and asserts the
    connection lives through them."""
    gateway.context = dataclasses.replace(
        gateway.context,
        bad_frame_limit=1_000_000,
        call_rate=CallRate(CallLimits(per_minute=1_000_000, burst=1_000_000)),
    )
    return gateway


def call_frame(protocol: str, data: st.DataObject, number: int) -> tuple[str, str, str]:
    action = data.draw(st.sampled_from(CHARGER_CALLS[protocol]), label="action")
    payload = data.draw(payloads(protocol, request_schema(protocol, action)), label="payload")
    message_id = f"fz-{number}"
    return json.dumps([2, message_id, action, mutated(payload, data)]), message_id, action


@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_hostile_frames_get_answers_and_every_other_customer_stays_served(
    runtime: Runtime, tolerant_gateway: Gateway, operator_client: httpx.Client
) -> None:
    gateway = tolerant_gateway
    fuzz_evses = {p: register(runtime, charge_point(p))[0] for p in CHARGER_CALLS}
    (calm_evse,) = register(runtime, "CALM-1")
    with ExitStack() as stack:
        chargers = {
            p: stack.enter_context(FuzzCharger.open(gateway, charge_point(p), p))
            for p in CHARGER_CALLS
        }
        calm = CalmCharger(stack.enter_context(connect_calm(gateway, "CALM-1")))
        calm.start()
        api = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        property_of(runtime, chargers, fuzz_evses, api, operator_client)()

        for protocol, charger in chargers.items():
            assert charger.exchange(heartbeat(protocol), "fz-last", None)[0] == 3
        assert operator_client.get("/api/operator/chargers").status_code == 200
        evse_id, position = runtime.service.evses.register_evse(
            "AFTER-1", 1, Actor.system(), EvseLimits(max_current_a=16, phases=1)
        )
        assert runtime.context.view.wait_for(position, timeout=10)
        assert runtime.context.queries.evse(evse_id) is not None
        desire(runtime, calm_evse, exclusion(limit=13.0))
        assert calm.wait_for_limit(13.0)
        assert runtime.context.view.faults.open_stuck_events() == []


def property_of(
    runtime: Runtime,
    chargers: dict[str, FuzzCharger],
    fuzz_evses: dict[str, UUID],
    api: ThreadPoolExecutor,
    operator_client: httpx.Client,
) -> Callable[[], None]:
    """The property, on the one service the test started (not one per example)."""
    counter = iter(range(10**9))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # The service lives on between examples, and what the gateway calls depends on
        # it: an example cannot be replayed, so there is nothing to shrink.
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def hostile_frames_are_answered(data: st.DataObject) -> None:
        protocol = data.draw(st.sampled_from(list(CHARGER_CALLS)), label="protocol")
        charger = chargers[protocol]
        number = next(counter)
        if data.draw(st.booleans(), label="desire a profile"):
            desire(runtime, fuzz_evses[protocol], exclusion(limit=6.0 + number % 100))
        composite = None
        if data.draw(st.integers(0, 9), label="ask the schedule") == 0:
            # the gateway gives the charger 3 call timeouts, after its earlier calls
            composite = api.submit(
                operator_client.post,
                f"/api/operator/chargers/{charge_point(protocol)}/composite-schedule",
                timeout=60,
            )
        if data.draw(st.integers(0, 4), label="raw frame") == 0:
            frame, expected = data.draw(st.sampled_from(RAW_FRAMES), label="raw")
            what = "raw frame"
        else:
            frame, expected, what = call_frame(protocol, data, number)
        answers = answer_plan(protocol, data)
        answer = charger.exchange(frame, expected, answers)
        event(f"{protocol} {what}: {answer[2] if answer[0] == 4 else 'CALLRESULT'}")
        assert answer[0] in (3, 4)
        if answer[0] == 4:
            assert answer[2] in CODES[protocol] and answer[2] != "InternalError", answer
        if composite is not None:
            charger.until(composite, answers)
            # 502 and 504 are the route's documented words for a charger that answered
            # garbage or nothing; a 500 would be a failure of ours
            assert composite.result().status_code in (200, 409, 502, 504), composite.result().text
        assert operator_client.get("/api/operator/chargers").status_code == 200

    return hostile_frames_are_answered  # type: ignore[no-any-return]


@contextmanager
def connect_calm(gateway: Gateway, charge_point_id: str) -> Iterator[ClientConnection]:
    with connect(
        f"{gateway.url}/{charge_point_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers=basic_auth(charge_point_id, PASSWORD),
        open_timeout=10,
    ) as connection:
        yield connection


def charge_point(protocol: str) -> str:
    return "FUZZ-16" if protocol == "ocpp1.6" else "FUZZ-201"


def heartbeat(protocol: str) -> str:
    return json.dumps([2, "fz-last", "Heartbeat", {}])


def profile_answers(runtime: Runtime, evse_id: UUID) -> dict[str, str]:
    row = runtime.context.queries.evse(evse_id)
    assert row is not None
    return {key: value["status"] for key, value in row["status"]["answers"].items()}


# --- one bad answer, told apart from silence ------------------------------------------------

BAD_ANSWERS = {
    # nested past what any OCPP message holds: refused as a frame, and the call fails
    "SetChargingProfile": {"status": "Accepted", "deep": nested(40)},
    # a status that is no status (and no text PostgreSQL can hold): fails the schema
    "ClearChargingProfile": {"status": "\ud800"},
}


def test_a_malformed_answer_is_recorded_as_a_failed_call_not_a_timeout(
    runtime: Runtime, gateway: Gateway
) -> None:
    (evse_id,) = register(runtime, "ODD-ANSWER")
    with FuzzCharger.open(gateway, "ODD-ANSWER", "ocpp1.6") as charger:
        answers_bad_then_beats(runtime, evse_id, charger)


def answers_bad_then_beats(runtime: Runtime, evse_id: UUID, charger: FuzzCharger) -> None:
    desire(runtime, evse_id, exclusion())
    answered = 0
    errors = every_answer("Error")
    while answered < len(errors):  # the exclusion profile set, our other ids cleared
        frame = json.loads(charger.connection.recv(timeout=ANSWER_SECONDS))
        if frame[0] != 2:
            continue
        if frame[2] in BAD_ANSWERS:
            answered += 1
        charger.connection.send(json.dumps([3, frame[1], BAD_ANSWERS.get(frame[2], {})]))
    deadline = time.monotonic() + 10
    while profile_answers(runtime, evse_id) != errors:
        assert time.monotonic() < deadline, profile_answers(runtime, evse_id)
        time.sleep(0.02)
    assert charger.exchange(heartbeat("ocpp1.6"), "fz-last", None)[0] == 3  # type: ignore[arg-type]
    charger.connection.close()
