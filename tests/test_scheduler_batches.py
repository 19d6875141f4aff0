"""The scheduler works on many groups at once (its start, a batch of events, a DST night),
loading their aggregates together and saving their new profiles in one transaction: every
group still gets exactly its own profiles, a racing change loses nothing, and one group
that cannot be computed keeps no other from its profiles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import SYSTEM, Actor
from domain.delivery import ProfileDelivery, delivery_id_for
from domain.evse_limits import EvseLimits
from domain.exclusion_times import parse_windows
from domain.groups import SmartChargingGroup
from domain.service import SmartCharging
from domain_strategies import ManualClock
from scheduler import service as scheduler_service
from scheduler.evaluate import limit_at
from scheduler.leader import LeaderLock, lock_key_for
from scheduler.service import RECOMPUTE_CHUNK, ProfileScheduler
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings
from test_scheduler_service import wait_until

pytestmark = pytest.mark.postgres

ZONE = "Europe/Amsterdam"
# Amsterdam puts its clocks forward at 2027-03-28 01:00 UTC (02:00 local becomes 03:00).
SPRING_FORWARD = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
# Every evening 18:00-22:00 local: 17:00-21:00 UTC in winter, 16:00-20:00 UTC in summer.
EVENINGS = parse_windows(
    [
        {
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "18:00",
            "end": "22:00",
        }
    ]
)
GROUPS = RECOMPUTE_CHUNK + 20  # more than one chunk


# --- loading many aggregates at once ------------------------------------------------------


def test_many_aggregates_load_in_one_go_up_to_date_and_as_copies(
    stored_app: SmartCharging, stored_env: dict[str, str], stored_operator: Actor
) -> None:
    groups = [
        stored_app.groups.create_group(name=f"Home {n}", time_zone=ZONE, actor=stored_operator)[0]
        for n in range(3)
    ]
    stored_app.load_many(groups)  # now in this process's cache
    other_process = SmartCharging(env=stored_env)
    try:
        other_process.groups.edit_group(groups[0], stored_operator, name="Renamed elsewhere")
    finally:
        other_process.close()
    missing = uuid4()

    loaded = stored_app.load_many([*groups, missing])

    assert set(loaded) == set(groups)
    first = loaded[groups[0]]
    assert isinstance(first, SmartChargingGroup)
    assert first.name == "Renamed elsewhere"  # the cached one was brought up to date
    assert first.version == stored_app.group(groups[0]).version
    first.name = "changed in memory only"
    assert stored_app.load_many([groups[0]])[groups[0]].name == "Renamed elsewhere"  # type: ignore[attr-defined]


# --- the scheduler ------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SPRING_FORWARD - timedelta(hours=2))


@pytest.fixture
def dst_runtime(settings: Settings, database: Database, clock: ManualClock) -> Iterator[Runtime]:
    running = Runtime(settings, database, clock=clock).start()
    yield running
    running.close()


def households(runtime: Runtime, count: int) -> list[tuple[UUID, UUID]]:
    """`count` groups with evening exclusions and an EVSE each: (group id, EVSE id)."""
    service = runtime.service
    actor = Actor.operator(service.accounts.add_operator("ops@example.com", "ops-pass-7", SYSTEM))
    made = []
    for n in range(count):
        evse_id, _ = service.evses.register_evse(
            f"CP-{n}", 1, actor, EvseLimits(max_current_a=16, phases=3)
        )
        group_id, _ = service.groups.create_group(
            name=f"Home {n}", time_zone=ZONE, actor=actor, evse_ids=[evse_id]
        )
        service.groups.set_exclusion_times(group_id, EVENINGS, actor)
        made.append((group_id, evse_id))
    return made


def leading(runtime: Runtime) -> ProfileScheduler:
    scheduler = runtime.start_scheduler()
    scheduler.leader_poll_seconds = 0.1
    assert scheduler.is_leader.wait(20)
    return scheduler


def evening_at(runtime: Runtime, evse_id: UUID, instant: datetime) -> float | None:
    return limit_at(runtime.service.delivery(evse_id).desired, instant)


def fire_timers_at(scheduler: ProfileScheduler, when: datetime) -> None:
    """The group timers due at `when` run now (the timers follow the real clock)."""
    job = scheduler.timers.get_job(scheduler.group_timers.job_id(when))
    assert job is not None, f"no timer at {when}"
    job.modify(next_run_time=datetime.now(UTC))


def test_every_group_gets_its_summer_profiles_when_the_clocks_change(
    dst_runtime: Runtime, clock: ManualClock
) -> None:
    made = households(dst_runtime, GROUPS)
    scheduler = leading(dst_runtime)
    winter_evening = datetime(2027, 3, 26, 17, 30, tzinfo=UTC)  # 18:30 local
    wait_until(lambda: all(evening_at(dst_runtime, e, winter_evening) == 0 for _, e in made), 60)
    assert all(scheduler.timer(f"group:{g}") == SPRING_FORWARD for g, _ in made)

    clock.now = SPRING_FORWARD
    assert len(scheduler.timers.get_jobs()) == 1  # one timer for every group's change
    fire_timers_at(scheduler, SPRING_FORWARD)

    summer_evening = datetime(2027, 3, 29, 16, 30, tzinfo=UTC)  # 18:30 local in summer
    wait_until(lambda: all(evening_at(dst_runtime, e, summer_evening) == 0 for _, e in made), 60)
    for group_id, evse_id in made:
        assert evening_at(dst_runtime, evse_id, datetime(2027, 3, 29, 20, 30, tzinfo=UTC)) == 16
        assert scheduler.timer(f"group:{group_id}") is not None  # the autumn change
        assert scheduler.timer(f"group:{group_id}") != SPRING_FORWARD


def test_a_change_racing_the_batch_save_loses_nothing(
    dst_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process records profiles on one delivery between the batch's load and its
    save (stale ones: full power all week): the batch loses the race as a whole, every
    group is then done on its own, and the raced one ends with its right profiles."""
    made = households(dst_runtime, 30)
    service = dst_runtime.service
    raced: list[UUID] = []
    commit = service.commit

    def racing_commit(*aggregates: Any, **beside: Any) -> int | None:
        deliveries = [a for a in aggregates if isinstance(a, ProfileDelivery)]
        if len(deliveries) > 1 and not raced:
            victim = deliveries[0]
            raced.append(victim.evse_id)
            stale = replace(victim.desired[0], periods=victim.desired[0].periods[:1])
            rival = SmartCharging(env=dst_runtime.env)
            try:
                rival.deliveries.desire_profiles(victim.evse_id, [stale], "rival")
            finally:
                rival.close()
        return commit(*aggregates, **beside)

    monkeypatch.setattr(service, "commit", racing_commit)
    leading(dst_runtime)
    winter_evening = datetime(2027, 3, 26, 17, 30, tzinfo=UTC)

    wait_until(lambda: all(evening_at(dst_runtime, e, winter_evening) == 0 for _, e in made), 60)
    assert raced, "the race did not happen"
    reasons = [
        e.reason
        for e in service.events.get(delivery_id_for(raced[0]))
        if isinstance(e, ProfileDelivery.ProfilesDesired)
    ]
    assert reasons == ["rival", "scheduler start"]


def test_a_group_that_cannot_be_computed_keeps_no_other_from_its_profiles(
    dst_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = households(dst_runtime, 40)
    broken_group = made[7][0]
    real = scheduler_service.desired_profiles

    def failing_for_one(group: Any, evses: Any, charger: Any, now: datetime) -> Any:
        if any(spec.evse_id == made[7][1] for spec in evses):
            raise RuntimeError("this group's inputs make no sense")
        return real(group, evses, charger, now)

    monkeypatch.setattr(scheduler_service, "desired_profiles", failing_for_one)
    leading(dst_runtime)
    winter_evening = datetime(2027, 3, 26, 17, 30, tzinfo=UTC)

    others = [e for g, e in made if g != broken_group]
    wait_until(lambda: all(evening_at(dst_runtime, e, winter_evening) == 0 for e in others), 60)
    faults = dst_runtime.read_models.view.faults
    wait_until(lambda: faults.group_fault(broken_group) is not None)
    assert not dst_runtime.service.delivery(made[7][1]).desired


def test_a_second_scheduler_takes_over_the_timers_of_many_groups(
    dst_runtime: Runtime,
) -> None:
    made = households(dst_runtime, GROUPS)
    first = leading(dst_runtime)
    wait_until(lambda: all(first.timer(f"group:{g}") is not None for g, _ in made), 60)
    first.stop()

    lock = LeaderLock(dst_runtime.database.conninfo(), lock_key_for(dst_runtime.database.schema))
    second = ProfileScheduler(
        dst_runtime.service, dst_runtime.queries, lock, leader_poll_seconds=0.1
    )
    second.start()
    try:
        assert second.is_leader.wait(20)
        assert all(second.timer(f"group:{g}") == SPRING_FORWARD for g, _ in made)
    finally:
        second.stop()
