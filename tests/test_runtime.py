"""The composition root: what each process starts, and that it stops what it starts."""

from __future__ import annotations

import pytest

from conftest import login, serving
from domain.actors import SYSTEM
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres


def test_the_api_keeps_the_read_models_while_it_serves(
    settings: Settings, database: Database
) -> None:
    runtime = Runtime(settings, database)
    try:
        assert runtime.read_models.follower is None  # built, not yet following
        runtime.service.accounts.add_operator("ops@example.com", "ops-password-7", SYSTEM)
        with serving(runtime.api) as url, login(url, "ops@example.com", "ops-password-7") as ops:
            invited = ops.post("/api/operator/users", json={"email": "new@example.com"})
            assert invited.status_code in (200, 201), invited.text
            listed = ops.get("/api/operator/users", params={"q": "new@"}).json()
            assert [u["email"] for u in listed] == ["new@example.com"]
            follower = runtime.read_models.follower
            assert follower is not None and follower.running
        assert not follower.running  # the API started them, so its end stops them
    finally:
        runtime.close()


def test_a_process_that_started_the_read_models_keeps_them_after_serving(
    settings: Settings, database: Database
) -> None:
    runtime = Runtime(settings, database).start()
    try:
        with serving(runtime.api):
            pass
        assert runtime.read_models.follower is not None
        assert runtime.read_models.follower.running
    finally:
        runtime.close()
