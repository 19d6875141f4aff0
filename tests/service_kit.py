"""What tests of a running service share: the service on a schema of its own, accounts made
through the command service (quicker than HTTP, and no mail), and API clients holding a
session. No tests here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from conftest import temporary_schema
from domain.actors import Actor
from domain.exclusion_times import parse_windows
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

PASSWORD = "secret-password-1"
EVENING = {"weekdays": ["mon"], "start": "17:00", "end": "21:00"}


@contextmanager
def running_service(server: Database, folder: Path, **settings: Any) -> Iterator[Runtime]:
    """The whole service (read models, scheduler, mail; no listening sockets) on a schema of
    its own, stopped and dropped afterwards."""
    with temporary_schema(server) as database:
        runtime = Runtime(Settings(data_dir=folder, database_pool_size=4, **settings), database)
        runtime.start()
        try:
            yield runtime
        finally:
            runtime.close()


def home_user(runtime: Runtime, email: str, password: str | None = PASSWORD) -> uuid.UUID:
    """A home user, invited and, with a password, active."""
    user_id, token = runtime.service.accounts.invite_home_user(email, Actor.system())
    if password is not None:
        runtime.service.accounts.accept_invitation(token, password)
    return user_id


def bearer(runtime: Runtime, url: str, user_id: uuid.UUID | None) -> httpx.Client:
    """An API client with the user's session as a bearer token (none: not logged in)."""
    headers = {}
    if user_id is not None:
        headers["Authorization"] = f"Bearer {runtime.sessions.open(user_id, datetime.now(UTC))}"
    return httpx.Client(base_url=url, headers=headers, timeout=20)


def new_group(
    runtime: Runtime,
    name: str,
    home_user_id: uuid.UUID | None = None,
    windows: Sequence[dict[str, Any]] = (EVENING,),
    time_zone: str = "Europe/Amsterdam",
) -> uuid.UUID:
    """A group, once the read models hold it."""
    group_id, position = runtime.service.groups.create_group(
        name=name,
        time_zone=time_zone,
        actor=Actor.system(),
        home_user_id=home_user_id,
        exclusion_windows=parse_windows(list(windows)),
    )
    assert runtime.context.view.wait_for(position, 10)
    return group_id
