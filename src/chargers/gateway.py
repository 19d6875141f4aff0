"""The OCPP gateway: a websocket server for chargers, on an asyncio loop in a thread of its own.

    ws(s)://HOST:PORT/ocpp/{charge_point_id}    subprotocols ocpp1.6, ocpp2.0.1, ocpp2.1

Threads: the gateway's loop runs the websocket server, every connection and
its outbox worker; domain commands run in the loop's worker threads
(`asyncio.to_thread`); the event follower's thread hands events to the loop.
Other threads (the API) use the thread-safe methods `connections`,
`connected_here` and `composite_schedule`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import ssl
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any
from uuid import UUID

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from chargers.admission import HandshakeQueue, ServerBusy
from chargers.auth import CHALLENGE, BadIdentity, basic_password, charge_point_id_from
from chargers.connection import CallFailed, ChargerConnection, GatewayContext
from chargers.follower import GatewayFollower
from chargers.outbox import OutboxClosed
from chargers.registry import Registry
from chargers.throttle import HandshakeThrottle
from chargers.v16 import ChargePoint16
from chargers.v21 import ChargePoint21
from chargers.v201 import ChargePoint201
from domain.errors import Conflict

log = logging.getLogger(__name__)

PROTOCOLS: dict[str, type[ChargerConnection]] = {
    "ocpp1.6": ChargePoint16,
    "ocpp2.0.1": ChargePoint201,
    "ocpp2.1": ChargePoint21,
}
MAX_MESSAGE_BYTES = 256 * 1024
STARTUP_SECONDS = 30
STOP_SECONDS = 30
OPEN_TIMEOUT = 10.0  # seconds for the opening handshake (the websockets default), then cut
# Identity checks at once. A check is a read-model query, the charger's aggregate and an
# argon2id verification (outside the interpreter lock): 5 ms of CPU, but 50-85 ms from
# start to end in a reconnect storm, mostly waiting for the database and the interpreter
# lock. One per core left the cores half idle and the fleet waiting; four per core keep
# them busy (1,000 chargers at once: 59 s instead of 75 s to all booted, bench/storm.py).
IDENTITY_CHECKS = 4 * max(2, os.cpu_count() or 1)
# Threads for the connections' domain commands and reads (the loop's default executor).
# Each mostly waits: for its database round trips and for the group commit that saves it
# with others. asyncio's default (cores + 4: six here) made a reconnecting fleet's
# commands, and the identity checks among them, queue for a thread while the cores were
# half idle (2,000 chargers at once: 161 s to all answered, 73 s with 12 threads). More
# is not better: with 32 a DST night took twice as long (3,750 groups: 8.1 s with 12,
# 15.5 s with 32), more of the group commit's batches meeting a racing save and being
# written again one command at a time. The event store's pool is what they share.
COMMAND_THREADS = 12
LISTEN_BACKLOG = 4096  # connections the kernel holds before we accept them (somaxconn caps)
SUSPECTS_REFRESH_SECONDS = 1.0  # how often failed handshakes are learnt from other gateways
READ_MODELS_WAIT = 10.0  # seconds, at start, for the read models to show the last connections


class ChargerCallError(ConnectionError):
    """The charger answered a call with an error, or with something unusable."""


class PortInUse(RuntimeError):
    """Another process listens on the gateway's address and port."""


def gateway_id_at(place: str) -> str:
    """The id of this process's gateway at `place` (host name and port): no other living
    process has it, and it stays the same while this one lives."""
    return f"{place}:{os.getpid()}"


def gone_from(place: str, gateway_id: str) -> bool:
    """Whether `gateway_id` names a gateway of `place` whose process has ended, seen from
    the gateway that now listens there: `place` itself (a configured name, or an id from
    before ids named the process), or `place:pid` of a process that is no more. This
    process's own pid counts as ended: its gateway has accepted no charger yet, so the id is
    an earlier process's that had the same pid."""
    if gateway_id == place:
        return True
    head, _, pid = gateway_id.rpartition(":")
    if head != place or not pid.isdigit():
        return False
    return int(pid) == os.getpid() or not process_alive(int(pid))


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """The charger's first choice among ours (OCPP-J 1.6 §3.1.3: the client lists by
    preference); None completes the handshake without one, and we then close (§3.2)."""
    return next((Subprotocol(p) for p in offered if p in PROTOCOLS), None)


class Gateway:
    def __init__(
        self,
        context: GatewayContext,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        handshakes: HandshakeThrottle | None = None,
        backlog: int = LISTEN_BACKLOG,
        place: str | None = None,
    ):
        """`place` names where it listens in gateway ids (gateway_id_at): connections that
        gateways of that place held when their process ended are forgotten once the port
        is ours. None: only those recorded under this gateway's own id."""
        self.context = context
        self.host = host
        self.port = port
        self.place = place or context.gateway_id
        self.tls = tls
        self.handshakes = handshakes or HandshakeThrottle()
        self.backlog = backlog
        # Waiting for an identity check at most half the opening timeout, else 503.
        self.checks = HandshakeQueue(IDENTITY_CHECKS, OPEN_TIMEOUT / 2)
        self.registry = Registry(context.gateway_id)
        self._admitted: weakref.WeakKeyDictionary[ServerConnection, tuple[str, dict[int, UUID]]]
        self._admitted = weakref.WeakKeyDictionary()
        self._capabilities_known: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._checkers: ThreadPoolExecutor | None = None  # the identity checks' threads
        self._stopping: asyncio.Event | None = None
        self._follower: GatewayFollower | None = None
        self._startup_error: BaseException | None = None

    @property
    def gateway_id(self) -> str:
        return self.context.gateway_id

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}/ocpp"

    # --- life cycle (called from other threads) ------------------------------------------------

    def start(self) -> None:
        """Listen for chargers; returns once the server is listening (the bound port in .port).

        Raises PortInUse, having changed nothing, when another process listens there.
        """
        # Taken before any charger is accepted: what a connection's first delivery
        # reads is either older than this position or followed from it.
        position = self.context.service.recorder.max_notification_id() or 0
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(ready, position), name="ocpp-gateway", daemon=True
        )
        self._thread.start()
        if not ready.wait(STARTUP_SECONDS) or self._startup_error is not None:
            self.stop()
            error = self._startup_error
            if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"cannot listen for chargers on {self.host}:{self.port}: "
                    "address already in use (by another gateway?)"
                ) from None
            raise RuntimeError(f"the OCPP gateway did not start: {error}")
        assert self._loop is not None
        self._follower = GatewayFollower(
            self.context.service,
            self._loop,
            self.registry.on_event,
            self.context.queries.view.faults,
            self.registry.concerns,
        )
        self._follower.start(position)
        log.info("OCPP gateway %s listening on %s/{charge_point_id}", self.gateway_id, self.url)

    def stop(self) -> None:
        if self._follower is not None:
            self._follower.stop()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)
            if self._thread.is_alive():
                log.warning("the OCPP gateway did not stop within %d s", STOP_SECONDS)

    @property
    def follower(self) -> GatewayFollower | None:
        return self._follower

    def _forget_earlier_connections(self, position: int) -> None:
        """Chargers that gateways of this place held when their process ended are not
        connected anymore. Only once listening: a process that cannot listen here (the
        port is another's, whose chargers are connected) changes nothing."""
        # The connections recorded until this gateway started, as the rows show them.
        self.context.queries.view.wait_for(position, READ_MODELS_WAIT)
        for row in self.context.queries.chargers():
            recorded_by = row["gateway_id"]
            if row["connected"] and recorded_by and gone_from(self.place, recorded_by):
                self.context.service.chargers.charger_disconnected(
                    row["charge_point_id"], recorded_by
                )

    def _main(self, ready: threading.Event, position: int) -> None:
        loop = asyncio.new_event_loop()
        # Both shut down by loop.close(), and on the way out below.
        loop.set_default_executor(ThreadPoolExecutor(COMMAND_THREADS, "gateway-command"))
        self._checkers = ThreadPoolExecutor(IDENTITY_CHECKS, "gateway-identity")
        self._loop = loop
        try:
            loop.run_until_complete(self._run(ready, position))
        except BaseException as error:  # reported to start(), which raises it
            self._startup_error = error
            ready.set()
        finally:
            loop.close()
            if self._checkers is not None:
                self._checkers.shutdown(wait=False)

    async def _run(self, ready: threading.Event, position: int) -> None:
        self._stopping = asyncio.Event()
        await asyncio.to_thread(self.handshakes.refresh)  # failures from before we started
        server = await self._listen()
        self.port = server.sockets[0].getsockname()[1]
        # On the loop, which accepts nobody meanwhile (the kernel holds them): no
        # connection of ours is recorded before the earlier ones are forgotten.
        self._forget_earlier_connections(position)
        ready.set()
        refreshing = asyncio.create_task(self._refresh_suspects(), name="handshake suspects")
        await self._stopping.wait()
        refreshing.cancel()
        server.close()  # closes every charger's connection with 1001 (going away)
        await server.wait_closed()

    async def _refresh_suspects(self) -> None:
        """Learn every second which ids and addresses failed on any gateway (throttle.py)."""
        while True:
            await asyncio.sleep(SUSPECTS_REFRESH_SECONDS)
            try:
                await asyncio.to_thread(self.handshakes.refresh)
            except Exception as error:  # the database away: the last list stays, try again
                log.warning("failed handshakes of other gateways not read: %s", error)

    async def _listen(self) -> Server:
        return await serve(
            self._serve_charger,
            self.host,
            self.port,
            ssl=self.tls,
            subprotocols=[Subprotocol(p) for p in PROTOCOLS],
            select_subprotocol=select_subprotocol,
            process_request=self._admit,
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=OPEN_TIMEOUT,
            backlog=self.backlog,
            ping_interval=self.context.ping_interval,
            ping_timeout=self.context.ping_interval,
            compression=None,  # OCPP-J 1.6 §5.1: compression only as the websocket allows; off
        )

    # --- the handshake -------------------------------------------------------------------------

    async def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse before the upgrade: 400 for an identity no charger can have, 404 for an
        unknown charger, 401 for a wrong password, 429 after too many failures."""
        try:
            charge_point_id = charge_point_id_from(request.path)
        except BadIdentity as bad:
            return self._refuse(connection, HTTPStatus.BAD_REQUEST, str(bad))
        if charge_point_id is None:
            return self._refuse(connection, HTTPStatus.NOT_FOUND, "use /ocpp/{charge_point_id}")
        address = self._address(connection)
        if self.handshakes.suspected(charge_point_id, address):
            wait = await asyncio.to_thread(self.handshakes.retry_after, charge_point_id, address)
            if wait:
                return self._too_many(connection, charge_point_id, wait)
        try:
            async with self.checks.turn():
                refusal = await self._identify(connection, request, charge_point_id)
        except ServerBusy as busy:
            return self._busy(connection, busy)
        if refusal is not None:
            known = refusal.status_code != HTTPStatus.NOT_FOUND
            await asyncio.to_thread(
                self.handshakes.failed, charge_point_id if known else None, address
            )
        return refusal

    async def _identify(
        self, connection: ServerConnection, request: Request, charge_point_id: str
    ) -> Response | None:
        """404 for an unknown charger, 401 for a wrong password; None once admitted."""
        password = basic_password(request.headers.get("Authorization"), charge_point_id)
        # Threads of their own: a check waits behind no command (the queue paces them).
        evses, verified = await asyncio.get_running_loop().run_in_executor(
            self._checkers, self._check, charge_point_id, password
        )
        if not evses:
            return self._refuse(
                connection, HTTPStatus.NOT_FOUND, f"unknown charger {charge_point_id!r}"
            )
        if not verified:
            return self._refuse(
                connection,
                HTTPStatus.UNAUTHORIZED,
                f"charger {charge_point_id!r}: wrong credentials",
            )
        self._admitted[connection] = (charge_point_id, evses)
        return None

    def _check(self, charge_point_id: str, password: str | None) -> tuple[dict[int, UUID], bool]:
        """The charger's EVSEs (none: unknown) and whether `password` is its key; in one
        worker thread, as a storm of handshakes would wait for each hand-over."""
        rows = self.context.queries.evses_of_charger(charge_point_id)
        if not rows:
            return {}, False
        evses = {int(row["connector_id"]): row["id"] for row in rows}
        if password is None:
            return evses, False
        return evses, self.context.service.chargers.verify_charger(charge_point_id, password)

    @staticmethod
    def _address(connection: ServerConnection) -> str:
        """The peer's IP address (its port changes with every attempt)."""
        peer = connection.remote_address
        return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)

    def _too_many(self, connection: ServerConnection, charge_point_id: str, wait: int) -> Response:
        reason = f"charger {charge_point_id!r}: too many failed attempts; try again in {wait} s"
        response = self._refuse(connection, HTTPStatus.TOO_MANY_REQUESTS, reason)
        response.headers["Retry-After"] = str(wait)  # RFC 9110 §10.2.3
        return response

    def _busy(self, connection: ServerConnection, busy: ServerBusy) -> Response:
        response = self._refuse(connection, HTTPStatus.SERVICE_UNAVAILABLE, str(busy))
        response.headers["Retry-After"] = str(busy.retry_after)  # RFC 9110 §10.2.3
        return response

    @staticmethod
    def _refuse(connection: ServerConnection, status: HTTPStatus, reason: str) -> Response:
        # Every part of the line is ours or escaped (!r): a request cannot forge log lines.
        log.warning("refused %s: %s (%d)", connection.remote_address, reason, status)
        response = connection.respond(status, f"{reason}\n")
        if status == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = CHALLENGE
        return response

    # --- a connection ----------------------------------------------------------------------

    async def _serve_charger(self, websocket: ServerConnection) -> None:
        admitted = self._admitted.pop(websocket, None)
        if admitted is None:
            await websocket.close(1011, "not admitted")
            return
        if websocket.subprotocol is None:
            # OCPP-J 1.6 §3.2: no subprotocol in common: complete the handshake, then close.
            await websocket.close(1002, "offer ocpp1.6, ocpp2.0.1 or ocpp2.1")
            return
        charge_point_id, evses = admitted
        connection = PROTOCOLS[websocket.subprotocol](
            charge_point_id, websocket, self.context, evses
        )
        previous = self.registry.add(connection)
        try:
            await self._connected(connection, previous)
            await connection.serve()
        finally:
            await self._disconnected(connection)

    async def _connected(
        self, connection: ChargerConnection, previous: ChargerConnection | None
    ) -> None:
        service = self.context.service
        reported = await connection.blocking(
            service.chargers.charger_connected, connection.id, self.gateway_id, connection.protocol
        )
        connection.connected_position, connection.facts = reported
        log.info("%s connected (%s)", connection.id, connection.protocol)
        if previous is not None:
            # Only now, with the new connection authenticated and recorded.
            self.registry.close_soon(previous, 1000, "replaced by a new connection")
        if connection.id not in self._capabilities_known:
            connection.outbox.put(lambda: self._read_capabilities(connection))
        self.registry.send_everything(connection)

    async def _read_capabilities(self, connection: ChargerConnection) -> None:
        if await connection.report_capabilities():
            self._capabilities_known.add(connection.id)

    async def _disconnected(self, connection: ChargerConnection) -> None:
        if not self.registry.remove(connection):
            return  # replaced: the new connection is the charger's now
        log.info("%s disconnected", connection.id)
        await connection.blocking(
            self.context.service.chargers.charger_disconnected, connection.id, self.gateway_id
        )

    # --- for other threads ---------------------------------------------------------------------

    def _on_loop(self, coroutine: Any) -> Any:
        if self._loop is None or not self._loop.is_running():
            coroutine.close()
            raise Conflict("the OCPP gateway of this process is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def connections(self) -> dict[str, str]:
        """Charger id -> subprotocol of the chargers connected to this gateway."""
        if self._loop is None or not self._loop.is_running():
            return {}
        return self._on_loop(self._connections())  # type: ignore[no-any-return]

    async def _connections(self) -> dict[str, str]:
        return self.registry.connections()

    def connected_here(self, charge_point_id: str) -> bool:
        return charge_point_id in self.connections()

    def composite_schedule(
        self, charge_point_id: str, connector_id: int, duration: int
    ) -> dict[str, Any]:
        """The charger's answer to GetCompositeSchedule (OCPP 1.6 §5.7).

        Raises Conflict when the charger is not connected to this gateway,
        TimeoutError when it does not answer, ChargerCallError when it answers an error.
        """
        return self._on_loop(  # type: ignore[no-any-return]
            self._composite_schedule(charge_point_id, connector_id, duration)
        )

    async def _composite_schedule(
        self, charge_point_id: str, connector_id: int, duration: int
    ) -> dict[str, Any]:
        connection = self.registry.get(charge_point_id)
        if connection is None:
            raise Conflict(f"charger {charge_point_id} is not connected to this gateway")
        answer = connection.outbox.submit(
            lambda: connection.composite_schedule(connector_id, duration)
        )
        try:
            return await asyncio.wait_for(answer, self.context.call_timeout * 3)  # type: ignore[no-any-return]
        except CallFailed as failure:
            if failure.status == "Timeout":
                raise TimeoutError(str(failure)) from None
            if failure.status == "Offline":
                raise Conflict(f"charger {charge_point_id} disconnected") from None
            raise ChargerCallError(f"{failure.status}: {failure}") from None
        except OutboxClosed as closed:
            raise Conflict(str(closed)) from None
