"""The scheduler process: follows the event store, keeps each EVSE's desired profiles, and
holds the timers that re-run the ToU algorithm.

Only the leader (see `leader.py`) runs. Timers are derived from state, never
stored: when a process becomes leader it recomputes every group, which records
nothing where nothing changed and sets every timer again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.actors import SYSTEM
from domain.charge_points import ChargePoint, charge_point_aggregate_id
from domain.charging_profiles import ChargingProfile
from domain.delivery import ProfileDelivery, delivery_id_for
from domain.errors import DomainError, NotFound
from domain.evses import Evse
from domain.groups import SmartChargingGroup
from domain.priority_charge import PriorityEndReason, priority_charge_runs
from domain.service import SmartCharging
from projections.follower import OUTAGES, Batch, EventFollower, StuckEvent
from projections.handlers import Handlers
from projections.queries import ReadModelQueries
from scheduler.group_timers import GroupTimers
from scheduler.inputs import group_inputs, inputs_of, limits_of
from scheduler.leader import LeaderLock
from scheduler.tou import desired_profiles

log = logging.getLogger(__name__)

G = SmartChargingGroup
RECOMPUTE_ON = (
    G.Created,
    G.ExclusionTimesSet,
    G.TimeZoneChanged,
    G.RandomDelaySet,
    G.EvseAdded,
    G.PriorityChargeStarted,
    G.PriorityChargeEnded,
)
LEADER_CHECK_SECONDS = 1.0
# Groups recomputed together: loaded in a few queries, their deliveries saved in one go.
RECOMPUTE_CHUNK = 250
OUTAGE_RETRY = timedelta(seconds=10)
RETRY_BACKOFF = (10, 30, 60, 120, 300, 600, 1800, 3600)  # seconds, then hourly


def priority_over(group: SmartChargingGroup, now: datetime) -> bool:
    """Whether the group's priority charge is past its end. Its start is not asked: the
    clock of the process that started it may be a moment ahead of ours, and such a
    charge is not over."""
    priority = group.priority
    return priority is not None and not priority_charge_runs(None, priority.ends_at, now)


K = TypeVar("K", bound=Aggregate)


def loaded(aggregates: dict[UUID, Aggregate], kind: type[K]) -> dict[UUID, K]:
    """Those of `aggregates` that are of `kind` and not deleted or deregistered."""
    return {
        aggregate_id: aggregate
        for aggregate_id, aggregate in aggregates.items()
        if isinstance(aggregate, kind)
        and not getattr(aggregate, "deleted", False)
        and not getattr(aggregate, "deregistered", False)
    }


def retry_delay(attempt: int) -> timedelta:
    return timedelta(seconds=RETRY_BACKOFF[min(max(attempt, 1), len(RETRY_BACKOFF)) - 1])


def retry_job(delivery_id: UUID) -> str:
    """The timer that asks the gateway to send a delivery's unaccepted profiles again."""
    return f"retry:{delivery_id}"


class ProfileScheduler:
    def __init__(
        self,
        service: SmartCharging,
        queries: ReadModelQueries,
        lock: LeaderLock,
        *,
        clock: Callable[[], datetime] | None = None,
        leader_poll_seconds: float = 5.0,
    ):
        self.service = service
        self.queries = queries
        self.lock = lock
        self.clock = clock or service.clock
        self.leader_poll_seconds = leader_poll_seconds
        self.timers = BackgroundScheduler(
            timezone="UTC", job_defaults={"misfire_grace_time": None, "coalesce": True}
        )
        self.group_timers = GroupTimers(self.timers, self._groups_due)
        self.is_leader = threading.Event()
        self._stopping = threading.Event()
        self._position = 0
        self.follower: EventFollower | None = None
        self._failing: set[UUID] = set()  # groups with a fault on record
        self._due: set[UUID] = set()  # groups whose timers fired, not yet recomputed
        self._due_lock = threading.Lock()
        self._working_due = False
        self._thread = threading.Thread(target=self._run, name="profile-scheduler", daemon=True)

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        """Competing for leadership (or leading)."""
        return self._thread.is_alive() and not self._stopping.is_set()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=10)
        if self.timers.running:
            self.timers.shutdown(wait=False)
        self.lock.release()

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self.lock.try_acquire():
                try:
                    self._lead()
                except Exception:
                    log.exception("the scheduler stopped leading; trying again")
                finally:
                    self.is_leader.clear()
                    self.lock.release()
            self._stopping.wait(self.leader_poll_seconds)

    def _lead(self) -> None:
        log.info("this process leads the scheduler")
        self._position = self.service.recorder.max_notification_id() or 0
        # The timers are rebuilt from the read models: they must hold everything
        # up to where the follower will take over.
        while not self.queries.view.wait_for(self._position, timeout=5.0):
            if self._stopping.is_set():
                return
            log.info("waiting for the read models to reach %d", self._position)
        if not self.timers.running:
            self.timers.start()
        self.timers.remove_all_jobs()
        self.group_timers.clear()
        self.rebuild()  # what is recorded meanwhile comes through the follower next
        self.is_leader.set()
        self.follower = EventFollower(
            self.service,
            self._handle_batch,
            lambda: self._position,
            on_stuck=self._stuck,
            topics=[get_topic(kind) for kind in (*RECOMPUTE_ON, *REACTIONS.kinds())],
            name="scheduler",
        ).start()
        try:
            while not self._stopping.is_set() and self.lock.held():
                self._stopping.wait(LEADER_CHECK_SECONDS)
        finally:
            self.follower.stop()

    def _handle_batch(self, batch: Batch) -> None:
        """Each event's work, but each group recomputed once per batch, after the rest."""
        groups: dict[UUID, str] = {}
        for event, _tracking in batch:
            if isinstance(event, RECOMPUTE_ON):
                groups[event.originator_id] = type(event).__name__
            else:
                self._skipping_refusals(self.handle, event)
        by_reason: dict[str, list[UUID]] = {}
        for group_id, reason in groups.items():
            by_reason.setdefault(reason, []).append(group_id)
        for reason, group_ids in by_reason.items():
            self.recompute_all(group_ids, reason)
        self._position = batch[-1][1].notification_id

    def _stuck(self, stuck: StuckEvent) -> None:
        self.queries.view.faults.stuck(stuck)
        self._position = stuck.position

    @staticmethod
    def _skipping_refusals(work: Callable[..., object], *args: Any) -> None:
        try:
            work(*args)
        except DomainError as refusal:  # e.g. an EVSE deregistered since: nothing to do
            log.info("scheduler skipped %s%r: %s", work.__name__, args, refusal)

    def rebuild(self) -> None:
        """Every group's profiles and timers, and the retries, from the read models."""
        self._failing = self.queries.view.faults.failing_groups()
        self.recompute_all(self.queries.group_ids(), "scheduler start")
        for evse_id in self.queries.evses_awaiting_acceptance():
            try:
                self.schedule_retry(evse_id)
            except OUTAGES:
                raise
            except Exception:  # one EVSE's retry must not keep the others from theirs
                log.exception("no retry set for EVSE %s", evse_id)

    # --- isolating one group from the others ------------------------------------------------

    def recompute_isolated(self, group_id: UUID, reason: str) -> None:
        """`recompute`, where a failure is recorded on the group (its page shows it) and tried
        again later, and never keeps another group from its profiles. An outage of the
        database is raised: then everything starts again once it is back."""
        try:
            self._skipping_refusals(self.recompute, group_id, reason)
        except OUTAGES:
            raise
        except Exception as error:
            self._group_failed(group_id, reason, error)
            return
        self._recovered(group_id)

    def _recovered(self, group_id: UUID) -> None:
        if group_id in self._failing:
            self.queries.view.faults.group_recovered(group_id)
            self._failing.discard(group_id)

    def _group_failed(self, group_id: UUID, reason: str, error: Exception) -> None:
        first = group_id not in self._failing
        if first:  # one traceback per failing group, not one per retry
            log.exception("profiles of group %s not computed (%s)", group_id, reason)
        else:
            log.warning("profiles of group %s still not computed: %s", group_id, error)
        faults = self.queries.view.faults
        faults.group_failed(group_id, reason, error)
        self._failing.add(group_id)
        fault = faults.group_fault(group_id)
        attempts = int(fault["attempts"]) if fault else 1
        when = self.clock() + retry_delay(attempts)
        self.group_timers.set(group_id, when)

    def _groups_due(self, group_ids: list[UUID]) -> None:
        """The groups whose timer fired together (on a DST night, every group of a zone);
        if the database is away just then, they are tried again soon."""
        try:
            self.recompute_all(group_ids, "timer")
        except OUTAGES as outage:
            log.warning("%d groups' timers deferred: %s", len(group_ids), outage)
            for group_id in group_ids:
                self.group_timers.set(group_id, self.clock() + OUTAGE_RETRY)

    # --- following the event store -------------------------------------------------------

    def handle(self, event: Any) -> None:
        """The work of one followed event that is not a group's own change (those are
        recomputed once per batch by `_handle_batch`)."""
        reaction = REACTIONS.get(type(event))
        if reaction is not None:
            reaction(self, event)

    def recompute_group_of(self, evse_id: UUID, reason: str) -> None:
        group_id = self.service.evse(evse_id).group_id
        if group_id is not None:
            self.recompute_isolated(group_id, reason)

    def recompute_charger(self, charge_point_aggregate_id: UUID) -> None:
        charger: ChargePoint = self.service.get(charge_point_aggregate_id)
        for row in self.queries.evses_of_charger(charger.charge_point_id):
            if row["group_id"] is not None:
                self.recompute_isolated(row["group_id"], "charger capabilities")

    # --- the algorithm, and its timers ------------------------------------------------------

    def recompute(self, group_id: UUID, reason: str) -> None:
        """Record each EVSE's desired profiles (only where they change) and set the timers."""
        try:
            group = self.service.group(group_id)
        except NotFound:
            self.group_timers.set(group_id, None)
            self.cancel(f"priority:{group_id}")
            return
        now = self.clock()
        if priority_over(group, now):
            self.service.groups.stop_priority_charge(group_id, SYSTEM, PriorityEndReason.EXPIRED)
            return  # the PriorityChargeEnded event brings us back here
        inputs = group_inputs(self.service, group)
        schedule = desired_profiles(inputs.group, inputs.specs, inputs.limits, now)
        for evse in inputs.evses:
            self.desire(evse.id, schedule.profiles_for(evse.id), reason)
        self._set_timers(group, schedule.next_change)

    def desire(self, evse_id: UUID, profiles: Sequence[ChargingProfile], reason: str) -> None:
        """Record an EVSE's desired profiles; when they changed, its retry is moot."""
        if self.service.deliveries.desire_profiles(evse_id, profiles, reason) is not None:
            self.cancel(retry_job(delivery_id_for(evse_id)))

    def _set_timers(self, group: SmartChargingGroup, next_change: datetime | None) -> None:
        self.group_timers.set(group.id, next_change)
        ends_at = group.priority.ends_at if group.priority else None
        self._at(f"priority:{group.id}", ends_at, self._priority_ended, group.id)

    def recompute_all(self, group_ids: Iterable[UUID], reason: str) -> None:
        """`recompute_isolated` for many groups, RECOMPUTE_CHUNK at a time: each chunk's
        aggregates loaded in a few queries and its changed deliveries saved in one
        transaction, instead of some five round trips and a commit per group."""
        chunk: list[UUID] = []
        for group_id in group_ids:
            chunk.append(group_id)
            if len(chunk) == RECOMPUTE_CHUNK:
                self._recompute_chunk(chunk, reason)
                chunk = []
        if chunk:
            self._recompute_chunk(chunk, reason)

    def _recompute_chunk(self, group_ids: list[UUID], reason: str) -> None:
        """The groups that need more than recording profiles (gone, priority charge over,
        an EVSE missing, a failure) and a chunk that could not be loaded or whose save met a
        racing change go through `recompute_isolated` one by one, as before."""
        try:
            planned, changed, alone = self._plan_chunk(group_ids, reason)
            if changed:
                self.service.commit(*changed)
                self.cancel(*(retry_job(delivery.id) for delivery in changed))
        except OUTAGES:
            raise
        except IntegrityError:  # a delivery changed meanwhile (an answer): each on its own
            planned, alone = [], group_ids
        except Exception:  # e.g. an event that does not load: found, and kept, per group
            log.exception("%d groups not recomputed together (%s)", len(group_ids), reason)
            planned, alone = [], group_ids
        for group, next_change in planned:
            self._set_timers(group, next_change)
            self._recovered(group.id)
        for group_id in alone:
            self.recompute_isolated(group_id, reason)

    def _plan_chunk(
        self, group_ids: list[UUID], reason: str
    ) -> tuple[list[tuple[SmartChargingGroup, datetime | None]], list[ProfileDelivery], list[UUID]]:
        """What `recompute` does for each group, on aggregates loaded together: the groups
        done with their next change, the deliveries changed, and the groups left to do
        alone."""
        app, now = self.service, self.clock()
        groups = loaded(app.load_many(group_ids), SmartChargingGroup)
        evses = loaded(app.load_many(e for g in groups.values() for e in g.evse_ids), Evse)
        charger_ids = {evse.charge_point_id for evse in evses.values()}
        chargers = loaded(app.load_many(map(charge_point_aggregate_id, charger_ids)), ChargePoint)
        limits = {c: limits_of(chargers.get(charge_point_aggregate_id(c))) for c in charger_ids}
        deliveries = loaded(app.load_many(map(delivery_id_for, evses)), ProfileDelivery)
        alone = [group_id for group_id in group_ids if group_id not in groups]
        planned: list[tuple[SmartChargingGroup, datetime | None]] = []
        changed: list[ProfileDelivery] = []
        for group in groups.values():
            if priority_over(group, now) or any(e not in evses for e in group.evse_ids):
                alone.append(group.id)
                continue
            try:
                inputs = inputs_of(group, [evses[e] for e in group.evse_ids], limits)
                schedule = desired_profiles(inputs.group, inputs.specs, inputs.limits, now)
                wanted = [(evse, schedule.profiles_for(evse.id)) for evse in inputs.evses]
            except Exception:  # recorded on the group by recompute_isolated
                alone.append(group.id)
                continue
            for evse, profiles in wanted:
                delivery = deliveries.get(delivery_id_for(evse.id)) or ProfileDelivery(
                    evse_id=evse.id,
                    charge_point_id=evse.charge_point_id,
                    connector_id=evse.connector_id,
                )
                if delivery.desire(profiles, reason, SYSTEM):
                    changed.append(delivery)
            planned.append((group, schedule.next_change))
        return planned, changed, alone

    def _priority_ended(self, group_id: UUID) -> None:
        try:
            self.service.groups.stop_priority_charge(group_id, SYSTEM, PriorityEndReason.EXPIRED)
        except NotFound:
            return
        except OUTAGES:
            self._at(
                f"priority:{group_id}", self.clock() + OUTAGE_RETRY, self._priority_ended, group_id
            )
        except Exception as error:  # the charger ends it by itself (validTo); retried here
            self._group_failed(group_id, "priority charge end", error)

    def schedule_retry(self, evse_id: UUID) -> None:
        delivery = self.service.delivery(evse_id)
        attempt = delivery.attempts()
        when = self.clock() + retry_delay(attempt)
        self._at(
            retry_job(delivery.id),
            when,
            self.service.deliveries.request_retry,
            evse_id,
            attempt + 1,
        )

    def _at(self, job_id: str, when: datetime | None, func: Callable[..., Any], *args: Any) -> None:
        if when is None:
            self.cancel(job_id)
            return
        self.timers.add_job(
            func, "date", run_date=when, args=args, id=job_id, replace_existing=True
        )

    def cancel(self, *job_ids: str) -> None:
        for job_id in job_ids:
            try:
                self.timers.remove_job(job_id)
            except JobLookupError:  # not set, or it just fired
                continue

    def timer(self, job_id: str) -> datetime | None:
        """When the timer `job_id` ("group:<id>", "priority:<id>", "retry:<id>") fires next."""
        kind, _, key = job_id.partition(":")
        if kind == "group":
            return self.group_timers.when(UUID(key))
        job = self.timers.get_job(job_id)
        return job.next_run_time if job is not None else None


# The work of the other followed event kinds: a plain function per kind.
Reaction = Callable[[ProfileScheduler, Any], None]
REACTIONS: Handlers[Reaction] = Handlers("scheduler")


@REACTIONS.on(G.EvseRemoved)
def _evse_removed(scheduler: ProfileScheduler, e: Any) -> None:
    scheduler.desire(e.evse_id, [], "removed from its group")


@REACTIONS.on(Evse.LimitsChanged)
def _limits_changed(scheduler: ProfileScheduler, e: Any) -> None:
    scheduler.recompute_group_of(e.originator_id, "EVSE limits changed")


@REACTIONS.on(ChargePoint.CapabilitiesReported)
def _capabilities_reported(scheduler: ProfileScheduler, e: Any) -> None:
    scheduler.recompute_charger(e.originator_id)


@REACTIONS.on(ProfileDelivery.ProfileAnswered)
def _profile_answered(scheduler: ProfileScheduler, e: Any) -> None:
    if e.status == "Accepted":
        return
    scheduler.schedule_retry(scheduler.service.get(e.originator_id).evse_id)
