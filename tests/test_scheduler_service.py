"""The scheduler on real PostgreSQL: it follows the event store, records desired profiles only
when they change, rebuilds its timers after a restart, and only one process leads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from domain.actors import SYSTEM, Actor
from domain.delivery import ProfileDelivery
from domain.evse_limits import EvseLimits
from domain.exclusion_times import parse_windows
from domain.service import SmartCharging
from scheduler.evaluate import limit_at
from scheduler.leader import LeaderLock, lock_key_for
from scheduler.service import ProfileScheduler
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

EVENING = [{"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}]


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll a condition until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        pause.wait(0.02)


def new_scheduler(runtime: Runtime) -> ProfileScheduler:
    lock = LeaderLock(runtime.database.conninfo(), lock_key_for(runtime.database.schema))
    return ProfileScheduler(runtime.service, runtime.context.queries, lock, leader_poll_seconds=0.1)


@pytest.fixture
def scheduler(runtime: Runtime) -> Iterator[ProfileScheduler]:
    started = runtime.start_scheduler()
    started.leader_poll_seconds = 0.1
    assert started.is_leader.wait(10)
    yield started


@pytest.fixture
def operator(runtime: Runtime) -> Actor:
    return Actor.operator(
        runtime.service.accounts.add_operator("ops@example.com", "ops-password-7", SYSTEM)
    )


def make_group(service: SmartCharging, operator: Actor, cp: str = "CP-S1") -> tuple[UUID, UUID]:
    evse_id, _ = service.evses.register_evse(
        cp, 1, operator, EvseLimits(max_current_a=16, phases=3)
    )
    group_id, _ = service.groups.create_group(
        name="Home", time_zone="Europe/Amsterdam", actor=operator, evse_ids=[evse_id]
    )
    return group_id, evse_id


def desired_events(service: SmartCharging, evse_id: UUID) -> list[ProfileDelivery.ProfilesDesired]:
    delivery_id = service.delivery(evse_id).id
    return [
        e for e in service.events.get(delivery_id) if isinstance(e, ProfileDelivery.ProfilesDesired)
    ]


def test_exclusion_times_become_desired_profiles_that_obey_them(
    runtime: Runtime, scheduler: ProfileScheduler, operator: Actor
) -> None:
    service = runtime.service
    group_id, evse_id = make_group(service, operator)
    service.groups.set_exclusion_times(group_id, parse_windows(EVENING), operator)

    def excluded_profile_recorded() -> bool:
        desired = service.delivery(evse_id).desired
        return bool(desired) and len(desired[0].periods) > 1

    wait_until(excluded_profile_recorded)
    profiles = service.delivery(evse_id).desired
    now = service.clock()
    evening = next_local_time(now, weekday=0, hour=18, zone="Europe/Amsterdam")
    morning = next_local_time(now, weekday=0, hour=9, zone="Europe/Amsterdam")
    assert limit_at(profiles, evening) == 0
    assert limit_at(profiles, morning) == 16


def next_local_time(now: datetime, weekday: int, hour: int, zone: str) -> datetime:
    """The first local `weekday` at `hour`:00 after `now` (a day away at least, at most 8)."""
    local = now.astimezone(ZoneInfo(zone)).replace(hour=hour, minute=0, second=0, microsecond=0)
    local += timedelta(days=(weekday - local.weekday()) % 7 or 7)
    return local


def test_recomputing_unchanged_state_records_nothing(
    runtime: Runtime, scheduler: ProfileScheduler, operator: Actor
) -> None:
    group_id, evse_id = make_group(runtime.service, operator)
    wait_until(lambda: desired_events(runtime.service, evse_id))
    before = len(desired_events(runtime.service, evse_id))

    scheduler.recompute(group_id, "again")
    scheduler.recompute(group_id, "and again")

    assert len(desired_events(runtime.service, evse_id)) == before


def test_priority_charge_adds_a_profile_and_its_end_is_recorded(
    runtime: Runtime, scheduler: ProfileScheduler, operator: Actor
) -> None:
    service = runtime.service
    group_id, evse_id = make_group(service, operator)
    service.groups.start_priority_charge(group_id, operator, duration=timedelta(seconds=2))

    wait_until(lambda: len(service.delivery(evse_id).desired) == 2)
    wait_until(lambda: service.group(group_id).priority is None, timeout=15)
    wait_until(lambda: len(service.delivery(evse_id).desired) == 1)
    ended = [e for e in service.events.get(group_id) if type(e).__name__ == "PriorityChargeEnded"]
    assert [str(getattr(e.reason, "value", e.reason)) for e in ended] == ["expired"]


def test_timers_are_rebuilt_after_a_restart(runtime: Runtime, operator: Actor) -> None:
    service = runtime.service
    group_id, _evse_id = make_group(service, operator)
    service.groups.start_priority_charge(group_id, operator, duration=timedelta(hours=1))
    first = runtime.start_scheduler()
    first.leader_poll_seconds = 0.1
    assert first.is_leader.wait(10)
    wait_until(lambda: first.timer(f"priority:{group_id}") is not None)
    priority_end = first.timer(f"priority:{group_id}")
    dst_change = first.timer(f"group:{group_id}")
    first.stop()

    second = new_scheduler(runtime)
    second.start()
    try:
        assert second.is_leader.wait(10)
        assert second.timer(f"priority:{group_id}") == priority_end
        assert second.timer(f"group:{group_id}") == dst_change
    finally:
        second.stop()


def test_two_schedulers_on_one_database_have_one_leader(runtime: Runtime) -> None:
    one, two = new_scheduler(runtime), new_scheduler(runtime)
    one.start()
    assert one.is_leader.wait(10)
    two.start()
    try:
        assert not two.is_leader.wait(0.5)
        one.stop()
        assert two.is_leader.wait(10), "the other process takes over when the leader stops"
    finally:
        two.stop()
        one.stop()


def rejected(
    service: SmartCharging, scheduler: ProfileScheduler, operator: Actor
) -> tuple[UUID, ProfileDelivery, datetime]:
    """A group whose charger rejected its first profile: the group, the EVSE's delivery as
    it was, and when the scheduler's retry is set for."""
    group_id, evse_id = make_group(service, operator)
    wait_until(lambda: service.delivery(evse_id).desired)
    delivery = service.delivery(evse_id)
    profile_id = delivery.desired[0].profile_id
    service.deliveries.record_answer(evse_id, profile_id, delivery.desired_version, "Rejected")
    wait_until(lambda: scheduler.timer(f"retry:{delivery.id}") is not None)
    retry_at = scheduler.timer(f"retry:{delivery.id}")
    assert retry_at is not None
    return group_id, delivery, retry_at


def test_rejected_profile_is_retried_with_backoff(
    runtime: Runtime, scheduler: ProfileScheduler, operator: Actor
) -> None:
    service = runtime.service
    _group_id, _delivery, first_retry = rejected(service, scheduler, operator)

    delay = first_retry - service.clock()
    assert timedelta(seconds=5) < delay <= timedelta(seconds=10)


def test_new_desired_profiles_drop_the_retry_of_the_old_ones(
    runtime: Runtime, scheduler: ProfileScheduler, operator: Actor
) -> None:
    """A retry is for profiles the charger refused; once the scheduler wants others, the
    gateway sends those anyway, and the old retry would only send them twice."""
    service = runtime.service
    group_id, delivery, retry_at = rejected(service, scheduler, operator)

    service.groups.set_exclusion_times(group_id, parse_windows(EVENING), operator)

    wait_until(
        lambda: service.delivery(delivery.evse_id).desired_version > delivery.desired_version
    )
    wait_until(lambda: scheduler.timer(f"retry:{delivery.id}") is None)
    assert service.clock() < retry_at  # dropped, not fired


def test_evse_removed_from_its_group_gets_its_profiles_cleared(
    runtime: Runtime, scheduler: ProfileScheduler, operator: Actor
) -> None:
    service = runtime.service
    group_id, evse_id = make_group(service, operator)
    wait_until(lambda: service.delivery(evse_id).desired)

    service.evses.remove_evse(group_id, evse_id, operator)

    wait_until(lambda: service.delivery(evse_id).desired == ())
