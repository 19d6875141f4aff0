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
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import (
    NotSupportedError,
    OCPPError,
    PropertyConstraintViolationError,
    UnknownCallErrorCodeError,
)
from ocpp.messages import Call
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from chargers.frames import FrameGuard
from chargers.outbox import Outbox
from chargers.rpc import OcppEndpoint, wire_payload
from chargers.throttle import CallRate
from domain.capabilities import ChargerCapabilities
from domain.charge_points import ChargerFacts, reported_connector
from domain.charger_commands import Reported
from domain.charging_profiles import ChargingProfile
from domain.charging_sessions import transaction_key
from domain.errors import DomainError, InvalidInput
from domain.service import SmartCharging
from domain.values import clean_text
from projections.queries import ReadModelQueries

if TYPE_CHECKING:
    from chargers.delivery import Held

log = logging.getLogger(__name__)
frames_log = logging.getLogger("chargers.frames")

T = TypeVar("T")

MAX_REASON = 500  # of a failed call's reason, as logged and shown


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
    # One per gateway, shared by its connections: a charger's count outlives a reconnect.
    call_rate: CallRate = field(default_factory=CallRate)


class ValueRefused(PropertyConstraintViolationError):
    """A value out of the range we hold (a connector id of 10^12, a 1.6 transaction id
    of -2^40): raised in a handler, the CALL is answered with a CALLERROR
    PropertyConstraintViolation (the same word in 1.6 and 2.0.1, OCPP-J 1.6 §4.2.3),
    and nothing is recorded."""


class CallFailed(Exception):
    """An outbound call got no proper answer; `status` is how delivery records it.

    The reason quotes the charger (its CALLERROR's code and description), so it is
    cleaned: it reaches logs and the API's answers, which cannot carry a lone UTF-16
    half."""

    def __init__(self, status: str, reason: str):
        super().__init__(clean_text(reason, MAX_REASON))
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


def _as_sent(value: Any) -> Any:
    """Plain JSON values that every encoder takes: a lone UTF-16 half (which Python's
    JSON reader lets through) becomes U+FFFD; a number too large for a float fails."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_as_sent(key): _as_sent(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_sent(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise CallFailed("Error", f"the answer holds the number {value}")
    return value


def wire_form(answer: Any) -> dict[str, Any]:
    """A call's answer as the charger sent it: camelCase keys, plain JSON values."""
    payload = wire_payload(answer)
    return cast(dict[str, Any], _as_sent(json.loads(json.dumps(payload, default=_plain_number))))


def refused(charge_point_id: str, check: Callable[..., T], *args: Any, **options: Any) -> T:
    """A domain value check on what a charger sent; its refusal becomes ValueRefused."""
    try:
        return check(*args, **options)
    except InvalidInput as refusal:
        frames_log.warning("%s: refused a value: %s", charge_point_id, refusal)
        raise ValueRefused(str(refusal)) from None


class ChargerConnection(OcppEndpoint):
    """A charger's connection, whatever its version: its frame loop (OcppEndpoint), its
    outbox, and what it reports turned into domain commands."""

    protocol: str

    def __init__(
        self,
        charge_point_id: str,
        websocket: ServerConnection,
        context: GatewayContext,
        evses: dict[int, UUID],
    ):
        guard = FrameGuard(context.bad_frame_limit, context.bad_frame_window)
        super().__init__(charge_point_id, websocket, context.call_timeout, guard)
        self.context = context
        self.evses = evses  # connector (2.0.1: EVSE) number -> our EVSE id
        self.transactions: dict[str, int] = {}  # transaction id -> connector, this connection's
        self.sent_versions: dict[UUID, int] = {}  # EVSE -> desired version sent on this connection
        self.held: dict[UUID, Held] = {}  # EVSE -> what the charger holds of our ids, as known
        self._capabilities_told = False  # on this connection
        self.connected_position: int | None = None
        # What the charger's aggregate keeps of its reports, from its connection on (the
        # gateway sets it): a report that would change none of it is not sent as a command.
        self.facts: ChargerFacts | None = None
        self.outbox = Outbox(charge_point_id)
        self._over_rate = False

    # --- life --------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read frames until the charger goes; the outbox worker lives as long."""
        worker = asyncio.create_task(self.outbox.run(), name=f"outbox {self.id}")
        try:
            async for raw in self.websocket:
                await self.receive(raw)
        except ConnectionClosed:
            pass
        finally:
            self.outbox.close()
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def answer_call(self, call: Call) -> None:
        """A call over the charger's rate is refused before it is read, and records nothing;
        it counts as a bad frame, so a charger that goes on far beyond is closed (1008).

        The CALLERROR is GenericError (OCPP-J 1.6 §4.2.3, the same word in 2.0.1): the
        payload is fine, so no constraint-violation code fits (OccurenceConstraintViolation
        is about a field's occurrences, not the message's); SecurityError would say the
        charger is not accepted, and InternalError would invite an immediate retry."""
        if self.context.call_rate.admit(self.id):
            self._over_rate = False
            await super().answer_call(call)
            return
        if not self._over_rate:  # one line per run of refusals, not one per call
            log.warning("%s: over its call rate; refusing calls", self.id)
        self._over_rate = True
        await self.refuse(
            call.unique_id, "GenericError", f"too many calls: {self.context.call_rate.describe()}"
        )

    async def blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run a synchronous domain or database call off the event loop."""
        return await asyncio.to_thread(function, *args)

    # --- outbound calls ----------------------------------------------------------------------

    async def request(self, payload: Any) -> Any:
        """One call and its answer, or CallFailed with the status to record."""
        try:
            return await self.call(payload)
        except TimeoutError:
            raise CallFailed("Timeout", f"no answer within {self.context.call_timeout} s") from None
        except ConnectionClosed:
            raise CallFailed("Offline", "the charger disconnected") from None
        except (OcppNotImplemented, NotSupportedError) as error:
            raise CallFailed("NotSupported", str(error)) from None
        except (
            OCPPError,
            UnknownCallErrorCodeError,
            TypeError,
            ValueError,
            KeyError,
            RecursionError,
        ) as error:
            # a CALLERROR, or an answer that fails the schema or does not make the
            # library's answer class: nothing we can rely on
            raise CallFailed("Error", str(error)) from None

    # The protocol-specific calls, each answering with a status or raising CallFailed.

    async def set_profile(self, profile: ChargingProfile, connector_id: int) -> str:
        raise NotImplementedError

    async def clear_profile(self, profile_id: int) -> str:
        raise NotImplementedError

    async def read_capabilities(self) -> ChargerCapabilities:
        raise NotImplementedError

    async def composite_schedule(self, connector_id: int, duration: int) -> dict[str, Any]:
        raise NotImplementedError

    async def after_delivery(self, evse_id: UUID, connector_id: int) -> None:
        """What a version does once an EVSE's profiles are delivered (OCPP 2.1: v21.py)."""

    async def session_began(self, connector_id: int) -> None:
        """What a version does when a session starts (OCPP 2.1: v21.py)."""

    async def report_capabilities(self) -> bool:
        """Ask the charger what a profile may hold and record it (the scheduler recomputes
        when it changed); False when the charger did not tell.

        Once per connection that told: the gateway asks a charger it knows nothing of when
        it connects, and every charger after its BootNotification (a new firmware may allow
        more), which on a new connection comes right after; asked again only if the first
        got no answer."""
        if self._capabilities_told:
            return True
        try:
            found = await self.read_capabilities()
        except CallFailed as failure:
            log.warning("%s: capabilities unknown (%s): %s", self.id, failure.status, failure)
            return False
        log.info("%s: %s", self.id, found)
        if self.facts is None or self.facts.capabilities_are_new(found):
            await self._command(
                "capabilities", self.context.service.chargers.charger_capabilities, self.id, found
            )
        self._capabilities_told = True
        return True

    # --- what the charger reports, as domain commands ----------------------------------------

    def now(self) -> str:
        return utc_timestamp(self.context.service.clock())

    async def _command(self, what: str, function: Callable[..., Any], *args: Any) -> None:
        """A domain command on the charger's behalf. A value out of range is refused
        (ValueRefused: the call gets a CALLERROR); any other refusal is logged and the
        charger answered as usual. The charger's facts after a report are kept."""
        try:
            result = await self.blocking(function, *args)
        except InvalidInput as refusal:
            frames_log.warning("%s: %s refused: %s", self.id, what, refusal)
            raise ValueRefused(str(refusal)) from None
        except DomainError as refusal:
            log.warning("%s: %s not recorded: %s", self.id, what, refusal)
            return
        if isinstance(result, Reported):
            self.facts = result.facts

    def checked(self, check: Callable[..., T], *args: Any, **options: Any) -> T:
        return refused(self.id, check, *args, **options)

    async def record_boot(self, vendor: object, model: object, firmware: object) -> None:
        """Free text, cleaned by the domain (ChargePoint.boot); nothing to do when it is the
        boot the charger told before."""
        if self.facts is not None and not self.facts.boot_is_new(vendor, model, firmware):
            return
        service = self.context.service
        await self._command(
            "boot", service.chargers.charger_booted, self.id, vendor, model, firmware
        )

    async def record_status(self, connector_id: object, status: object, error: object) -> None:
        """Nothing to do when the connector's status is the one recorded (a connector out of
        range is refused all the same: ValueRefused)."""
        if self.facts is not None and not self.checked(
            self.facts.status_is_new, connector_id, status
        ):
            return
        service = self.context.service
        await self._command(
            "status", service.chargers.connector_status, self.id, connector_id, status, error
        )

    async def start_session(self, connector_id: object, transaction_id: object) -> None:
        connector = self.checked(reported_connector, connector_id, whole_charger=False)
        key = self.checked(transaction_key, transaction_id)
        service = self.context.service
        await self._command(
            "session start", service.deliveries.session_started, self.id, connector, key
        )
        self.transactions[str(key)] = connector
        await self.session_began(connector)

    async def stop_session(self, transaction_id: object, connector_id: object) -> None:
        """The session ends, and with it the group's priority charge (see session_stopped)."""
        key = self.checked(transaction_key, transaction_id)
        if connector_id is not None:
            connector_id = self.checked(reported_connector, connector_id, whole_charger=False)
        connector = connector_id or await self._connector_of(str(key))
        if connector is None:
            log.warning("%s: transaction %s stopped on an unknown connector", self.id, key)
            return
        self.transactions.pop(str(key), None)
        service = self.context.service
        await self._command(
            "session stop", service.deliveries.session_stopped, self.id, connector, key
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
