"""What the HTTP edge's tests share: one running service with an operator, a home user and
her group, browser-like clients, and requests written byte by byte on a socket (a declared
length the body never reaches, a chunked body), which httpx would not send as they are."""

from __future__ import annotations

import http.client
import select
import socket
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

import service_kit as kit
from api.deps import SESSION_COOKIE
from conftest import serving
from domain.actors import Actor
from smartcharge.database import Database
from smartcharge.runtime import Runtime

PASSWORD = "a-long-edge-password-7"
WINDOW = {"weekdays": ["mon"], "start": "17:00", "end": "21:00"}
EVIL = "https://evil.example"


@dataclass
class Service:
    runtime: Runtime
    url: str
    operator_id: uuid.UUID
    anna_id: uuid.UUID
    group_id: uuid.UUID
    operator: httpx.Client  # an API client with a bearer token

    def session(self, user_id: uuid.UUID) -> str:
        return self.runtime.sessions.open(user_id, datetime.now(UTC))

    def browser(self, user_id: uuid.UUID | None = None) -> httpx.Client:
        """A client holding the user's session cookie, as a browser would (no Origin unless
        a test sends one)."""
        client = httpx.Client(base_url=self.url, timeout=20)
        if user_id is not None:
            client.cookies.set(SESSION_COOKIE, self.session(user_id))
        return client

    def position(self) -> int:
        return self.runtime.service.recorder.max_notification_id() or 0

    def group(self) -> dict[str, object]:
        answer = self.operator.get(f"/api/operator/groups/{self.group_id}")
        answer.raise_for_status()
        return dict(answer.json())


@contextmanager
def running_service(postgres_server: Database, folder: Path) -> Iterator[Service]:
    with kit.running_service(postgres_server, folder) as runtime:
        accounts = runtime.service.accounts
        operator_id = accounts.add_operator("operator@example.com", PASSWORD, Actor.system())
        anna_id = kit.home_user(runtime, "anna@example.com", PASSWORD)
        group_id = kit.new_group(runtime, "Anna's home", anna_id, [WINDOW])
        with serving(runtime.api) as url, kit.bearer(runtime, url, operator_id) as operator:
            yield Service(runtime, url, operator_id, anna_id, group_id, operator)


@pytest.fixture(scope="module")
def service(
    postgres_server: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running_service(postgres_server, tmp_path_factory.mktemp("edge")) as running:
        yield running


@contextmanager
def nothing_recorded(service: Service) -> Iterator[None]:
    """The block's requests leave the event store (and so every read model) as it was."""
    before = service.position()
    yield
    assert service.position() == before, "a refused request recorded events"


# --- requests written on a socket ---------------------------------------------------------


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the server took before it answered


def request_head(url: str, method: str, path: str, headers: dict[str, str]) -> bytes:
    host = urlsplit(url).netloc
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_raw(url: str, head: bytes, body: Iterable[bytes]) -> RawAnswer:
    """Send the head, then the body's pieces until the server answers or stops reading."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as conn:
        conn.sendall(head)
        sent = 0
        for piece in body:
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:  # the server has answered: it will read no more
                break
            try:
                conn.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        answer = http.client.HTTPResponse(conn)
        answer.begin()
        return RawAnswer(answer.status, dict(answer.getheaders()), answer.read(), sent)


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """HTTP/1.1 chunked transfer coding (RFC 9112 §7.1) of `pieces`, with its last chunk."""
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"
