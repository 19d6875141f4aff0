"""The OCPP-J RPC framework of one connection (OCPP-J 1.6 §4), owned here.

Every frame the charger sends is read by `frames.parse_frame`; a CALL goes to
the handler its action is routed to, an answer to our one call in flight
(§4.1.1). From the `ocpp` library we use only what it publishes: the payload
classes of each version (`call`, `call_result`), the official JSON schemas
(`validate_payload`), the routes its `@on` / `@after` decorators mark
(`create_route_map`), the message classes and the case conversion. None of
its `ChargePoint` internals are used, so an upgrade of the library cannot
change how frames are read, answered or matched without a test noticing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType
from typing import Any

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import FormatViolationError, NotSupportedError, OCPPError
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.messages import Call, CallError, CallResult, MessageType, validate_payload
from ocpp.routing import create_route_map
from websockets.asyncio.server import ServerConnection

from chargers.frames import FrameError, FrameGuard, call_error, parse_frame, readable_id

frames_log = logging.getLogger("chargers.frames")
log = logging.getLogger(__name__)

# OCPP 2.0.1 Part 4 §4.2.3: ErrorDescription is at most 255 characters; 1.6 sets no
# bound, and the same bound keeps a schema error quoting a whole payload short.
MAX_DESCRIPTION = 255


@dataclass(frozen=True)
class Route:
    """What the charger's CALL of one action runs: its handler, and what follows the answer."""

    handler: Callable[..., Any] | None
    after: Callable[..., Any] | None = None
    validated: bool = True


def routes_of(endpoint: object) -> dict[str, Route]:
    """The `@on` / `@after` handlers of `endpoint`, by action name.

    `create_route_map` is the library's documented way to read its decorators; its
    answer's keys are documented in its docstring. A library that changes them fails
    tests/test_gateway_rpc.py, which names what changed."""
    return {
        str(action): Route(
            handler=hooks.get("_on_action"),
            after=hooks.get("_after_action"),
            validated=not hooks.get("_skip_schema_validation", False),
        )
        for action, hooks in create_route_map(endpoint).items()
    }


def described(error: OCPPError) -> str:
    """What a CALLERROR says: the cause when the library names one (the schema's complaint),
    else the code's own description. Bounded (MAX_DESCRIPTION) by cutting out its middle:
    a schema's complaint quotes the value first and says what is wrong with it last. Only
    its first line: the rest is jsonschema's report of the schema."""
    details = error.details if isinstance(error.details, dict) else {}
    text = str(details.get("cause") or error.description or "").split("\n", 1)[0]
    if len(text) <= MAX_DESCRIPTION:
        return text
    half = (MAX_DESCRIPTION - 1) // 2
    return f"{text[:half]}…{text[-half:]}"


def wire_payload(payload: Any) -> dict[str, Any]:
    """A payload class as OCPP sends it: camelCase keys, no empty optional fields."""
    return snake_to_camel_case(remove_nones(serialize_as_dict(payload)))  # type: ignore[no-any-return]


@dataclass
class _InFlight:
    message_id: str
    answer: asyncio.Future[CallResult | CallError] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class OcppEndpoint:
    """One charger's end of OCPP-J: subclasses give the version and the handlers."""

    ocpp_version: str  # "1.6", "2.0.1" or "2.1", as the library's schemas are named
    actions: type[Enum]  # the version's Action enumeration: known and unknown actions
    results: ModuleType  # the version's `call_result` module: our calls' answer classes

    def __init__(
        self,
        charge_point_id: str,
        websocket: ServerConnection,
        call_timeout: float,
        guard: FrameGuard,
    ):
        self.id = charge_point_id
        self.websocket = websocket
        self.call_timeout = call_timeout
        self.guard = guard
        self.routes = routes_of(self)
        self._in_flight: _InFlight | None = None
        self._call_lock = asyncio.Lock()
        self._after_tasks: set[asyncio.Task[Any]] = set()

    # --- frames in ---------------------------------------------------------------------------

    async def receive(self, raw: str | bytes) -> None:
        """One frame from the charger: answered, or matched to our call, never raised."""
        try:
            message = parse_frame(raw)
        except FrameError as error:
            frames_log.warning("%s: bad frame (%s): %.200r", self.id, error, raw)
            if error.answer:
                # our call in flight fails now, rather than waiting out its timeout
                self._take_answer(CallError(error.message_id, error.code, error.description, {}))
            await self.refuse(error.message_id, error.code, error.description)
            return
        except Exception:  # a frame our reader did not foresee must not end the connection
            log.exception("%s: could not read a frame", self.id)
            await self.refuse(readable_id(raw), "RpcFrameworkError", "the message cannot be read")
            return
        if message.message_type_id != MessageType.Call:
            self._take_answer(message)
            return
        assert isinstance(message, Call)
        await self.answer_call(message)

    async def answer_call(self, call: Call) -> None:
        """OCPP-J 1.6 §4.2: a CALLRESULT from the action's handler, or a CALLERROR."""
        route = self.routes.get(call.action)
        try:
            if route is None or route.handler is None:
                raise self._unhandled(call.action)
            if route.validated:
                await validate_payload(call, self.ocpp_version)
        except OCPPError as error:
            frames_log.warning("%s: refused %.60r: %r", self.id, call.action, described(error))
            await self.refuse(call.unique_id, error.code, described(error))
            return
        except Exception:  # the schema check failed on the payload itself (parse_frame bounds it)
            log.exception("%s: could not check a %.60r against its schema", self.id, call.action)
            await self.refuse(call.unique_id, "FormatViolation", "the payload cannot be checked")
            return
        arguments = camel_to_snake_case(call.payload)
        answer = await self._handled(call, route, arguments)
        await self.send(answer)
        if isinstance(answer, CallResult) and route.after is not None:
            self._run_after(route.after, arguments)

    def _unhandled(self, action: str) -> OCPPError:
        """OCPP-J 1.6 §4.2.3: NotImplemented is an action the receiver does not know,
        NotSupported one it knows but does not take (the `ocpp` library has them the
        other way round)."""
        try:
            self.actions(action)
        except ValueError:
            return OcppNotImplemented(f"{action[:60]} is not an OCPP {self.ocpp_version} action")
        return NotSupportedError(f"{action} is ours to send, not the charger's")

    async def _handled(
        self, call: Call, route: Route, arguments: dict[str, Any]
    ) -> CallResult | CallError:
        assert route.handler is not None
        try:
            result = route.handler(**arguments)
            if inspect.isawaitable(result):
                result = await result
        except OCPPError as refusal:  # a value the handler refused (already logged)
            return CallError(call.unique_id, refusal.code, described(refusal), {})
        except Exception:  # a bug of ours must not end the charger's connection
            log.exception("%s: failed to handle %s", self.id, call.action)
            return CallError(call.unique_id, "InternalError", "", {})
        answer = call.create_call_result(wire_payload(result))
        try:
            if route.validated:
                await validate_payload(answer, self.ocpp_version)
        except OCPPError:  # our answer breaks the schema: our bug, not the charger's
            log.exception("%s: our answer to %s fails its schema", self.id, call.action)
            return CallError(call.unique_id, "InternalError", "", {})
        return answer

    def _run_after(self, after: Callable[..., Any], arguments: dict[str, Any]) -> None:
        """The `@after` hook, once the answer is sent; a coroutine runs as its own task."""
        try:
            started = after(**arguments)
        except Exception:
            log.exception("%s: a hook after the answer failed", self.id)
            return
        if inspect.isawaitable(started):
            task = asyncio.ensure_future(started)
            self._after_tasks.add(task)
            task.add_done_callback(self._after_tasks.discard)

    def _take_answer(self, message: CallResult | CallError) -> None:
        """Pass the answer to our call in flight; drop late and unknown ones."""
        waiting = self._in_flight
        if waiting is not None and message.unique_id == waiting.message_id:
            if not waiting.answer.done():
                waiting.answer.set_result(message)
        else:
            frames_log.info("%s: dropped an answer to no call in flight", self.id)

    async def refuse(self, message_id: str, code: str, description: str) -> None:
        """A CALLERROR for the charger's fault; it counts towards the bad-frame limit."""
        await self.send(CallError(message_id, code, description, {}))
        if self.guard.strike():
            log.warning("%s: too many bad frames; closing the connection", self.id)
            await self.close(1008, "too many malformed messages")  # RFC 6455 §7.4.1

    # --- frames out --------------------------------------------------------------------------

    async def send(self, message: CallResult | CallError | str) -> None:
        if isinstance(message, CallError):
            message = call_error(
                message.unique_id,
                message.error_code,
                message.error_description,
                self.ocpp_version,
            )
        elif isinstance(message, CallResult):
            message = message.to_json()
        frames_log.debug("%s: send %s", self.id, message)
        await self.websocket.send(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.websocket.close(code, reason)

    async def call(self, payload: Any) -> Any:
        """Send one of the version's `call` payloads and return its `call_result`.

        Raises TimeoutError, the OCPPError of a CALLERROR (UnknownCallErrorCodeError for a
        code OCPP does not define), or the schema's OCPPError for an answer that breaks it.
        One call at a time (OCPP-J 1.6 §4.1.1)."""
        action = type(payload).__name__
        request = Call(str(uuid.uuid4()), action, wire_payload(payload))
        await validate_payload(request, self.ocpp_version)
        async with self._call_lock:
            self._in_flight = _InFlight(request.unique_id)
            try:
                await self.send(request.to_json())
                answer = await asyncio.wait_for(self._in_flight.answer, self.call_timeout)
            finally:
                self._in_flight = None
        if isinstance(answer, CallError):
            raise answer.to_exception()
        answer.action = action
        try:
            await validate_payload(answer, self.ocpp_version)
        except OCPPError:
            raise
        except Exception as error:  # the schema check failed on the answer itself
            # e.g. decimal's DivisionImpossible for a limit of -6.9e33 against the schema's
            # multipleOf 0.1: an answer as unusable as one that breaks the schema
            raise FormatViolationError(f"the answer cannot be checked: {error!r}") from None
        return getattr(self.results, action)(**camel_to_snake_case(answer.payload))
