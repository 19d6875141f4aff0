"""What every charger connection does, whatever its OCPP version.

A `ChargerConnection` is mixed into the `ocpp` library's ChargePoint of its
version (`v16.py`, `v201.py`). It reads frames strictly, answers bad ones,
keeps the charger's outbound calls in one queue, and turns what the charger
reports into domain commands. The domain and its database are synchronous, so
every command runs in a worker thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError, UnknownCallErrorCodeError
from ocpp.messages import Call, MessageType
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from chargers.frames import FrameError, FrameGuard, call_error, parse_frame
from chargers.outbox import Outbox
from domain.errors import DomainError
from domain.service import SmartCharging
from projections.queries import ReadModelQueries
from scheduler.profiles import ChargingProfile

log = logging.getLogger(__name__)
frames_log = logging.getLogger("chargers.frames")

T = TypeVar("T")

POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1


@dataclass(frozen=True)
class GatewayContext:
    """What a connection needs from the process around it."""

    service: SmartCharging
    queries: ReadModelQueries
    gateway_id: str
    call_timeout: float = 10.0
    heartbeat_interval: int = 300
    # Websocket pings from our side find dead connections (OCPP-J 1.6 §5.3); every
    # 20 s (the websockets default) is 500 pings a second at 10,000 chargers.
    ping_interval: float | None = 60.0
    bad_frame_limit: int = 20
    bad_frame_window: float = 60.0


@dataclass(frozen=True)
class Capabilities:
    """The charger's smart-charging limits (OCPP 1.6 §9.4; 2.0.1 SmartChargingCtrlr)."""

    max_periods: int | None
    rate_units: tuple[str, ...]
    max_stack_level: int | None


class CallFailed(Exception):
    """An outbound call got no proper answer; `status` is how delivery records it."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status


def utc_timestamp(instant: datetime) -> str:
    """UTC with a Z, as every timestamp we send (OCPP 1.6 §3.14; the schemas' date-time)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{instant.microsecond // 1000:03d}Z"
    )


def _plain_number(value: object) -> float:
    if isinstance(value, Decimal):  # the library reads 1.6 schedules' numbers as Decimal
        return float(value)
    raise TypeError(f"{value!r} is not JSON")


def wire_form(answer: Any) -> dict[str, Any]:
    """A call's answer as the charger sent it: camelCase keys, plain JSON values."""
    payload = snake_to_camel_case(remove_nones(serialize_as_dict(answer)))
    return json.loads(json.dumps(payload, default=_plain_number))  # type: ignore[no-any-return]


class ChargerConnection:
    """Mixed into an `ocpp` ChargePoint class (which provides `call`, `_handle_call`, ...)."""

    _ocpp_version: str
    protocol: str
    id: str

    def __init__(
        self,
        charge_point_id: str,
        websocket: ServerConnection,
        context: GatewayContext,
        evses: dict[int, UUID],
    ):
        super().__init__(  # type: ignore[call-arg]
            charge_point_id, websocket, response_timeout=context.call_timeout, logger=frames_log
        )
        self.websocket = websocket
        self.context = context
        self.evses = evses  # connector (2.0.1: EVSE) number -> our EVSE id
        self.transactions: dict[str, int] = {}  # transaction id -> connector, this connection's
        self.sent_versions: dict[UUID, int] = {}  # EVSE -> desired version sent on this connection
        self.connected_position: int | None = None
        self.outbox = Outbox(charge_point_id)
        self.guard = FrameGuard(context.bad_frame_limit, context.bad_frame_window)
        self._pending_id: str | None = None
        self._unique_id_generator = self._next_message_id

    # --- life --------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read frames until the charger goes; the outbox worker lives as long."""
        worker = asyncio.create_task(self.outbox.run(), name=f"outbox {self.id}")
        try:
            async for raw in self.websocket:
                await self.route_message(raw)
        except ConnectionClosed:
            pass
        finally:
            self.outbox.close()
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.websocket.close(code, reason)

    async def blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run a synchronous domain or database call off the event loop."""
        return await asyncio.to_thread(function, *args)

    # --- inbound frames ----------------------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:  # type: ignore[override]
        try:
            message = parse_frame(raw_msg)
        except FrameError as error:
            frames_log.warning("%s: bad frame (%s): %.200r", self.id, error, raw_msg)
            await self._refuse(error.message_id, error.code, error.description)
            return
        if message.message_type_id != MessageType.Call:
            self._take_answer(message)
            return
        assert isinstance(message, Call)
        try:
            await self._handle_call(message)  # type: ignore[attr-defined]
        except OCPPError as error:
            frames_log.warning("%s: refused %s: %s", self.id, message.action, error)
            await self._refuse(message.unique_id, error.code, error.description)
        except Exception:  # a bug of ours must not end the charger's connection
            log.exception("%s: failed to handle %s", self.id, message.action)
            await self._send(  # type: ignore[attr-defined]
                call_error(message.unique_id, "InternalError", "", self._ocpp_version)
            )

    def _take_answer(self, message: Any) -> None:
        """Pass the answer to our call in flight; drop late and unknown ones, which would
        otherwise wait in the library's queue for the next call."""
        if message.unique_id == self._pending_id:
            self._response_queue.put_nowait(message)  # type: ignore[attr-defined]
        else:
            frames_log.info("%s: dropped an answer to no call in flight", self.id)

    async def _refuse(self, message_id: str, code: str, description: str) -> None:
        await self._send(call_error(message_id, code, description, self._ocpp_version))  # type: ignore[attr-defined]
        if self.guard.strike():
            log.warning("%s: too many bad frames; closing the connection", self.id)
            await self.close(POLICY_VIOLATION, "too many malformed messages")

    # --- outbound calls ----------------------------------------------------------------------

    def _next_message_id(self) -> str:
        self._pending_id = str(uuid.uuid4())
        return self._pending_id

    async def request(self, payload: Any) -> Any:
        """One call and its answer, or CallFailed with the status to record."""
        try:
            return await self.call(payload, suppress=False)  # type: ignore[attr-defined]
        except TimeoutError:
            raise CallFailed("Timeout", f"no answer within {self.context.call_timeout} s") from None
        except ConnectionClosed:
            raise CallFailed("Offline", "the charger disconnected") from None
        except (OcppNotImplemented, NotSupportedError) as error:
            raise CallFailed("NotSupported", str(error)) from None
        except (OCPPError, UnknownCallErrorCodeError, TypeError, ValueError) as error:
            # a CALLERROR, or an answer that fails the schema: nothing we can rely on
            raise CallFailed("Error", str(error)) from None
        finally:
            self._pending_id = None

    # The protocol-specific calls, each answering with a status or raising CallFailed.

    async def set_profile(self, profile: ChargingProfile, connector_id: int) -> str:
        raise NotImplementedError

    async def clear_profile(self, profile_id: int) -> str:
        raise NotImplementedError

    async def read_capabilities(self) -> Capabilities:
        raise NotImplementedError

    async def composite_schedule(self, connector_id: int, duration: int) -> dict[str, Any]:
        raise NotImplementedError

    async def report_capabilities(self) -> bool:
        """Ask the charger what a profile may hold and record it (the scheduler recomputes
        when it changed); False when the charger did not tell."""
        try:
            found = await self.read_capabilities()
        except CallFailed as failure:
            log.warning("%s: capabilities unknown (%s): %s", self.id, failure.status, failure)
            return False
        log.info("%s: %s", self.id, found)
        await self._command(
            "capabilities",
            self.context.service.charger_capabilities,
            self.id,
            found.max_periods,
            found.rate_units,
            found.max_stack_level,
        )
        return True

    # --- what the charger reports, as domain commands ----------------------------------------

    def now(self) -> str:
        return utc_timestamp(self.context.service.clock())

    async def _command(self, what: str, function: Callable[..., Any], *args: Any) -> None:
        """A domain command on the charger's behalf; a refusal is logged, the charger answered."""
        try:
            await self.blocking(function, *args)
        except DomainError as refusal:
            log.warning("%s: %s not recorded: %s", self.id, what, refusal)

    async def record_boot(self, vendor: str, model: str, firmware: str | None) -> None:
        service = self.context.service
        await self._command("boot", service.charger_booted, self.id, vendor, model, firmware)

    async def record_status(self, connector_id: int, status: str, error: str | None) -> None:
        service = self.context.service
        await self._command(
            "status", service.connector_status, self.id, connector_id, status, error
        )

    async def start_session(self, connector_id: int, transaction_id: int | str) -> None:
        self.transactions[str(transaction_id)] = connector_id
        service = self.context.service
        await self._command(
            "session start", service.session_started, self.id, connector_id, transaction_id
        )

    async def stop_session(self, transaction_id: int | str, connector_id: int | None) -> None:
        """The session ends, and with it the group's priority charge (see session_stopped)."""
        connector = connector_id or await self._connector_of(str(transaction_id))
        if connector is None:
            log.warning(
                "%s: transaction %s stopped on an unknown connector", self.id, transaction_id
            )
            return
        self.transactions.pop(str(transaction_id), None)
        service = self.context.service
        await self._command(
            "session stop", service.session_stopped, self.id, connector, transaction_id
        )

    async def _connector_of(self, transaction_id: str) -> int | None:
        """From this connection's memory, else the EVSE status read model (after a reconnect)."""
        if transaction_id in self.transactions:
            return self.transactions[transaction_id]
        rows = await self.blocking(self.context.queries.evses_of_charger, self.id)
        for row in rows:
            if row["status"]["transaction_id"] == transaction_id:
                return int(row["connector_id"])
        return None
