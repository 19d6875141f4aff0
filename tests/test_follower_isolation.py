"""No stored event stops a follower: the read models, the scheduler and the gateway record what
they cannot process as stuck and go on serving everybody else, also after a restart.

The bad events here are written past the domain's checks, as an earlier version
of the service (or a bug) could have written them: a store that already holds
such events must start and serve. /healthz and the operator portal say so.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from chargers.gateway import Gateway
from conftest import login, serving
from domain.actors import SYSTEM, Actor
from domain.delivery import ProfileDelivery
from domain.evse_limits import EvseLimits
from domain.evses import Evse
from pages_kit import PageClient, text
from peer.ocpp_chargers import open_charger
from peer.scenario import PASSWORD, register
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not (value := condition()):
        assert time.monotonic() < deadline, "the condition did not become true in time"
        pause.wait(0.02)
    return value


def recorded_past_the_checks(
    runtime: Runtime, aggregate_id: UUID, kind: type, **fields: Any
) -> int:
    """Record an event as an earlier version of the service could have: no check on its values."""
    aggregate = runtime.service.repository.get(aggregate_id)
    aggregate.trigger_event(kind, **fields)
    return int(runtime.service.save(aggregate)[-1].notification.id)


def unreadable_event(runtime: Runtime, kind: type) -> int:
    """A stored event of a followed kind whose state no longer decodes."""
    recorder: Any = runtime.service.recorder
    table = SQL("{}.{}").format(
        Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
    )
    with recorder.datastore.transaction(commit=True) as curs:
        curs.execute(
            SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state)"
                " VALUES (%s, 1, %s, %s) RETURNING notification_id"
            ).format(table),
            (uuid4(), get_topic(kind), b"\xff not json"),
        )
        position = int(curs.fetchone()["notification_id"])
        curs.execute(SQL("NOTIFY {}").format(Identifier(recorder.channel_name)))
    return position


def new_user_is_listed(runtime: Runtime, email: str) -> None:
    """The read models still follow: a user invited now is listed once the answer is given."""
    user_id, _token = runtime.service.accounts.invite_home_user(email, SYSTEM)
    position = runtime.service.recorder.max_notification_id()
    assert runtime.context.view.wait_for(position, timeout=10)
    row = runtime.context.queries.user(user_id)
    assert row is not None and row["email"] == email


def stuck(runtime: Runtime) -> list[dict[str, Any]]:
    return runtime.context.view.faults.open_stuck_events()


def registered_by_the_old_form(runtime: Runtime) -> int:
    """An EVSE on connector 1000000000000, as the EVSE form once let through: more than
    the read models' connector column holds."""
    evse = Evse(
        charge_point_id="CP-OLD-FORM",
        connector_id=1_000_000_000_000,
        limits=EvseLimits(max_current_a=16.0, phases=3),
        actor=SYSTEM,
    )
    return int(runtime.service.save(evse)[-1].notification.id)


# --- the read models ---------------------------------------------------------------------------


def test_the_read_models_pass_an_event_they_cannot_store_and_go_on(runtime: Runtime) -> None:
    position = registered_by_the_old_form(runtime)

    new_user_is_listed(runtime, "after-the-nul@example.com")

    (row,) = stuck(runtime)
    assert (row["follower"], row["position"]) == ("read-models", position)
    assert row["topic"].endswith("Evse.Registered")
    assert "out of range" in row["error"]


def test_an_event_that_cannot_be_read_is_passed_by_every_follower(
    runtime: Runtime, gateway: Gateway
) -> None:
    runtime.start_scheduler()
    assert runtime.scheduler.is_leader.wait(10)
    wait_until(lambda: runtime.scheduler.follower is not None)
    # Of a kind the read models and the scheduler follow, and one the gateway follows too.
    answered = unreadable_event(runtime, ProfileDelivery.ProfileAnswered)
    registered = unreadable_event(runtime, Evse.Registered)
    # A delivery of no charger connected here: the gateway passes over it, undecoded.
    desired = unreadable_event(runtime, ProfileDelivery.ProfilesDesired)

    new_user_is_listed(runtime, "after-the-garbage@example.com")

    def stuck_at() -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for row in stuck(runtime):
            found.setdefault(row["position"], set()).add(row["follower"])
        return found

    expected = {
        answered: {"read-models", "scheduler"},
        registered: {"read-models", "gateway"},
        desired: {"read-models"},
    }
    wait_until(lambda: stuck_at() == expected)
    assert all("deserialise" in r["error"] for r in stuck(runtime))
    gateway_follower = gateway.follower
    assert gateway_follower is not None and gateway_follower.follower is not None
    wait_until(lambda: (gateway_follower.follower.position or 0) >= desired)  # passed over


def test_a_store_holding_a_bad_event_starts_and_serves(
    settings: Settings, database: Database
) -> None:
    first = Runtime(settings, database).start()
    try:
        position = registered_by_the_old_form(first)
        assert first.context.view.wait_for(position, timeout=10)
    finally:
        first.close()

    again = Runtime(settings, database).start()
    try:
        new_user_is_listed(again, "after-the-restart@example.com")
        assert [r["position"] for r in stuck(again)] == [position]  # not tried again
    finally:
        again.close()


# --- the scheduler: one group's failure is that group's alone ---------------------------------


@pytest.fixture
def operator(runtime: Runtime) -> Actor:
    return Actor.operator(
        runtime.service.accounts.add_operator("ops@example.com", "ops-password-7", SYSTEM)
    )


def customer(runtime: Runtime, operator: Actor, name: str) -> tuple[UUID, UUID]:
    (evse_id,) = register(runtime, f"CP-{name}")
    group_id, _ = runtime.service.groups.create_group(
        name=name, time_zone="Europe/Amsterdam", actor=operator, evse_ids=[evse_id]
    )
    return group_id, evse_id


def group_fault(runtime: Runtime, group_id: UUID) -> dict[str, Any] | None:
    return runtime.context.view.faults.group_fault(group_id)


@pytest.fixture
def leading(runtime: Runtime) -> Iterator[Runtime]:
    runtime.start_scheduler()
    assert runtime.scheduler.is_leader.wait(10)
    yield runtime


def test_a_group_the_scheduler_cannot_compute_does_not_keep_another_from_its_profiles(
    leading: Runtime, gateway: Gateway, operator: Actor, server: str
) -> None:
    runtime = leading
    group_a, _ = customer(runtime, operator, "ANNA")
    group_b, evse_b = customer(runtime, operator, "BERT")
    # The scheduler has worked out Bert's group as created; else, behind, it would first
    # meet the lost limits while working out the group for an earlier event.
    wait_until(lambda: runtime.service.delivery(evse_b).desired)
    # An EVSE whose limits were lost: the algorithm cannot give it a maximum.
    recorded_past_the_checks(runtime, evse_b, Evse.LimitsChanged, limits=None, actor=SYSTEM)
    fault = wait_until(lambda: group_fault(runtime, group_b))
    assert fault["reason"] == "EVSE limits changed"
    assert "neither a current nor a power" in fault["error"]

    async def anna_gets_her_priority_charge() -> None:
        session = await open_charger(gateway.url, "CP-ANNA", PASSWORD)
        try:
            await asyncio.to_thread(runtime.service.groups.start_priority_charge, group_a, operator)
            while True:  # her exclusion profile comes first, on connecting
                payload = await session.charger.expect("SetChargingProfile")
                if payload["csChargingProfiles"]["stackLevel"] > 1:
                    break
            assert payload["csChargingProfiles"]["validTo"]
        finally:
            await session.close()

    asyncio.run(anna_gets_her_priority_charge())

    assert httpx.get(f"{server}/healthz").json()["failing_groups"] == 1
    with login(server, "ops@example.com", "ops-password-7") as api:
        preview = api.get(f"/api/operator/groups/{group_b}/schedule")
        assert preview.status_code == 409
        assert "cannot be worked out" in preview.json()["detail"]
    ops = PageClient(server)
    try:
        ops.log_in("ops@example.com", "ops-password-7")
        page = ops.get(f"/operator/groups/{group_b}")
        assert "could not work out this group" in text(page)
        assert "neither a current nor a power rating" in text(page)
        assert "could not process" in text(ops.get("/operator/groups"))  # the banner
        assert "could not work out" not in text(ops.get(f"/operator/groups/{group_a}"))
    finally:
        ops.close()

    runtime.service.evses.change_evse_limits(
        evse_b, operator, EvseLimits(max_current_a=16, phases=3)
    )
    wait_until(lambda: group_fault(runtime, group_b) is None)
    assert runtime.service.delivery(evse_b).desired


# --- /healthz ----------------------------------------------------------------------------------


def test_healthz_tells_each_followers_position_lag_and_stuck_events(
    runtime: Runtime, server: str
) -> None:
    healthy = httpx.get(f"{server}/healthz")
    assert healthy.status_code == 200
    assert healthy.json()["status"] == "ok"
    assert healthy.json()["followers"]["read-models"]["state"] == "following"
    assert healthy.json()["followers"]["scheduler"]["state"] == "not started"

    position = registered_by_the_old_form(runtime)
    assert runtime.context.view.wait_for(position, timeout=10)
    degraded = wait_until(lambda: httpx.get(f"{server}/healthz").json()["stuck_events"] == 1)
    assert degraded
    body = httpx.get(f"{server}/healthz").json()
    assert body["status"] == "degraded"
    assert body["followers"]["read-models"] | {"position": None} == {
        "state": "following",
        "position": None,
        "lag": 0,
        "stuck": 1,
    }
    assert body["followers"]["read-models"]["position"] >= position

    runtime.read_models.follower.stop()
    down = httpx.get(f"{server}/healthz")
    assert down.status_code == 503
    assert down.json()["followers"]["read-models"]["state"] == "stopped"


def test_an_operator_sees_the_stuck_event_and_marks_it_handled(
    runtime: Runtime, operator: Actor
) -> None:
    position = registered_by_the_old_form(runtime)
    assert runtime.context.view.wait_for(position, timeout=10)
    with serving(runtime.api) as url:
        ops = PageClient(url)
        try:
            ops.log_in("ops@example.com", "ops-password-7")
            health = ops.get("/operator/health")
            assert health.status_code == 200
            assert f"{position}: Evse.Registered" in text(health)
            assert "1 thing the service could not process" in text(health)
            assert "integer out of range" in text(health)

            done = ops.follow(
                ops.post(
                    "/operator/health/stuck/handled",
                    {"follower": "read-models", "position": str(position)},
                )
            )

            assert f"Event {position} marked handled." in text(done)
            for follower, bad in (
                ("read-models", "1e400"),
                ("read-models", "12\x00"),
                ("read-models", "9" * 40),
                ("no-such\x00follower", str(position)),
            ):
                refused = ops.follow(
                    ops.post(
                        "/operator/health/stuck/handled", {"follower": follower, "position": bad}
                    )
                )
                assert refused.status_code == 200
                assert "marked handled" not in text(refused)
            assert "could not process" not in text(ops.get("/operator/groups"))
        finally:
            ops.close()
    assert stuck(runtime) == []
