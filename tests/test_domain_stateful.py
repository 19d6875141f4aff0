"""Random command sequences against the service: the domain's rules hold after every step.

A simple model says what each command should do (or which refusal it meets);
after every step the invariants compare the application with the model, and
every aggregate just saved with the replay of its stored events.
"""

from __future__ import annotations

import functools
import os
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from domain.actors import Actor
from domain.errors import (
    Conflict,
    EvseAlreadyRegistered,
    EvseInAnotherGroup,
    GroupAlreadyHasHomeUser,
    InvalidInput,
    NotFound,
)
from domain.evse_limits import EvseLimits
from domain.evses import evse_id_for
from domain.exclusion_times import ExclusionWindow
from domain.groups import SmartChargingGroup
from domain.priority_charge import PriorityEndReason
from domain.service import SmartCharging
from domain.users import normalize_email
from domain_strategies import (
    ManualClock,
    charge_point_ids,
    clock_steps,
    connector_ids,
    group_names,
    home_user_emails,
    priority_minutes,
    time_zones,
    window_lists,
)

OPERATOR = Actor.operator(uuid4())
STATE_EXCLUDED = {"_pending_events"}


class RecordingSmartCharging(SmartCharging):
    """Remembers the aggregates it saved, to compare them with their replayed events."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.saved: dict[UUID, Any] = {}

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        self.saved.update((obj.id, obj) for obj in objs if obj is not None)
        return recordings


def state_of(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k not in STATE_EXCLUDED}


class GroupModel:
    def __init__(self, group_id: UUID) -> None:
        self.id = group_id
        self.home_user_id: UUID | None = None
        self.windows: tuple[ExclusionWindow, ...] = ()
        self.priority_ends_at: datetime | None = None
        self.deleted = False


class DomainMachine(RuleBasedStateMachine):
    groups = Bundle("groups")
    evses = Bundle("evses")
    users = Bundle("users")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.app = RecordingSmartCharging(clock=self.clock)
        self.model_groups: dict[UUID, GroupModel] = {}
        self.evse_group: dict[UUID, UUID | None] = {}
        self.emails: dict[UUID, str] = {}
        self.revoked: set[UUID] = set()
        self.audited_up_to = 0

    def teardown(self) -> None:
        self.app.close()

    # --- two groups, two home users and two EVSEs at the start, so conflicts come early -----

    @initialize(target=groups)
    def first_groups(self) -> Any:
        return multiple(
            self.create_group("First", "Europe/Amsterdam", []),
            self.create_group("Second", "UTC", []),
        )

    @initialize(target=users)
    def first_home_users(self) -> Any:
        return multiple(
            self.invite_home_user("anna@example.com"), self.invite_home_user("bert@x.org")
        )

    @initialize(target=evses)
    def first_evses(self) -> Any:
        return multiple(self.register_evse("CP-0", 1), self.register_evse("CP-0", 2))

    # --- commands -------------------------------------------------------------------------

    @rule(target=groups, name=group_names, time_zone=time_zones, windows=window_lists(3))
    def create_group(self, name: str, time_zone: str, windows: list[ExclusionWindow]) -> UUID:
        group_id, _ = self.app.groups.create_group(
            name=name, time_zone=time_zone, actor=OPERATOR, exclusion_windows=windows
        )
        self.model_groups[group_id] = GroupModel(group_id)
        self.model_groups[group_id].windows = tuple(windows)
        return group_id

    @rule(target=evses, charge_point_id=charge_point_ids, connector_id=connector_ids)
    def register_evse(self, charge_point_id: str, connector_id: int) -> Any:
        if evse_id_for(charge_point_id, connector_id) in self.evse_group:
            with pytest.raises(EvseAlreadyRegistered):
                self.app.evses.register_evse(
                    charge_point_id, connector_id, OPERATOR, EvseLimits(max_power_w=7400)
                )
            return multiple()
        evse_id, _ = self.app.evses.register_evse(
            charge_point_id, connector_id, OPERATOR, EvseLimits(max_current_a=16, phases=3)
        )
        self.evse_group[evse_id] = None
        return evse_id

    @rule(target=users, email=home_user_emails)
    def invite_home_user(self, email: str) -> Any:
        user_id, token = self.app.accounts.invite_home_user(email, OPERATOR)
        assert self.app.accounts.invitation(token).user_id == user_id
        self.revoked.discard(user_id)  # a new invitation reopens a revoked account
        if user_id in self.emails:
            return multiple()
        self.emails[user_id] = normalize_email(email)
        return user_id

    @rule(user_id=users)
    def revoke_user(self, user_id: UUID) -> None:
        self.app.accounts.revoke_user(user_id, OPERATOR)
        self.revoked.add(user_id)

    @rule(group_id=groups, user_id=users)
    def add_home_user(self, group_id: UUID, user_id: UUID) -> None:
        group = self.model_groups[group_id]
        current = group.home_user_id
        if group.deleted:
            expected: type[Exception] | None = NotFound
        elif user_id in self.revoked:
            expected = InvalidInput
        elif current is not None and current != user_id:
            expected = GroupAlreadyHasHomeUser
        else:
            expected = None
        event(f"add_home_user: {expected.__name__ if expected else 'added'}")
        if expected is None:
            self.app.groups.add_home_user(group_id, user_id, OPERATOR)
            group.home_user_id = user_id
            return
        with pytest.raises(expected) as refusal:
            self.app.groups.add_home_user(group_id, user_id, OPERATOR)
        if expected is GroupAlreadyHasHomeUser:
            assert refusal.value.current_user_id == current
            assert self.emails[current] in str(refusal.value)

    @rule(group_id=groups, user_id=users)
    def remove_home_user(self, group_id: UUID, user_id: UUID) -> None:
        group = self.model_groups[group_id]
        if group.deleted or group.home_user_id != user_id:
            with pytest.raises(NotFound if group.deleted else Conflict):
                self.app.groups.remove_home_user(group_id, user_id, OPERATOR)
            return
        self.app.groups.remove_home_user(group_id, user_id, OPERATOR)
        group.home_user_id = None

    @rule(group_id=groups, evse_id=evses)
    def add_evse(self, group_id: UUID, evse_id: UUID) -> None:
        current = self.evse_group[evse_id]
        if self.model_groups[group_id].deleted:
            with pytest.raises(NotFound):
                self.app.evses.add_evse(group_id, evse_id, OPERATOR)
        elif current not in (None, group_id):
            event("add_evse: EvseInAnotherGroup")
            with pytest.raises(EvseInAnotherGroup) as refusal:
                self.app.evses.add_evse(group_id, evse_id, OPERATOR)
            assert refusal.value.group_id == current
        else:
            self.app.evses.add_evse(group_id, evse_id, OPERATOR)
            self.evse_group[evse_id] = group_id

    @rule(group_id=groups, evse_id=evses)
    def remove_evse(self, group_id: UUID, evse_id: UUID) -> None:
        if self.model_groups[group_id].deleted or self.evse_group[evse_id] != group_id:
            with pytest.raises(Conflict if not self.model_groups[group_id].deleted else NotFound):
                self.app.evses.remove_evse(group_id, evse_id, OPERATOR)
            return
        self.app.evses.remove_evse(group_id, evse_id, OPERATOR)
        self.evse_group[evse_id] = None

    @rule(evse_id=evses, group_id=groups)
    def move_evse(self, evse_id: UUID, group_id: UUID) -> None:
        if self.model_groups[group_id].deleted:
            with pytest.raises(NotFound):
                self.app.evses.move_evse(evse_id, group_id, OPERATOR)
            return
        if self.evse_group[evse_id] not in (None, group_id):
            event("move_evse: between groups")
        self.app.evses.move_evse(evse_id, group_id, OPERATOR)
        self.evse_group[evse_id] = group_id

    @rule(group_id=groups)
    def delete_group(self, group_id: UUID) -> None:
        group = self.model_groups[group_id]
        if group.deleted:
            with pytest.raises(NotFound):
                self.app.groups.delete_group(group_id, OPERATOR)
            return
        self.app.groups.delete_group(group_id, OPERATOR)
        group.deleted, group.home_user_id, group.priority_ends_at = True, None, None
        for evse_id, in_group in self.evse_group.items():
            if in_group == group_id:
                self.evse_group[evse_id] = None

    @rule(group_id=groups, windows=window_lists(4), as_home_user=st.booleans())
    def set_exclusion_times(
        self, group_id: UUID, windows: list[ExclusionWindow], as_home_user: bool
    ) -> None:
        group = self.model_groups[group_id]
        home_user = group.home_user_id
        actor = Actor.home_user(home_user) if as_home_user and home_user else OPERATOR
        if group.deleted:
            with pytest.raises(NotFound):
                self.app.groups.set_exclusion_times(group_id, windows, actor)
            return
        self.app.groups.set_exclusion_times(group_id, windows, actor)
        group.windows = tuple(windows)

    @rule(group_id=groups, user_id=users, windows=window_lists(2))
    def a_home_user_edits_a_group_that_is_not_his(
        self, group_id: UUID, user_id: UUID, windows: list[ExclusionWindow]
    ) -> None:
        if self.model_groups[group_id].home_user_id == user_id:
            return
        with pytest.raises(NotFound):
            self.app.groups.set_exclusion_times(group_id, windows, Actor.home_user(user_id))

    @rule(group_id=groups, minutes=priority_minutes)
    def start_priority_charge(self, group_id: UUID, minutes: int) -> None:
        group = self.model_groups[group_id]
        duration = timedelta(minutes=minutes)
        if group.deleted:
            with pytest.raises(NotFound):
                self.app.groups.start_priority_charge(group_id, OPERATOR, duration=duration)
            return
        self.app.groups.start_priority_charge(group_id, OPERATOR, duration=duration)
        group.priority_ends_at = self.clock.now + duration

    @rule(group_id=groups)
    def stop_priority_charge(self, group_id: UUID) -> None:
        group = self.model_groups[group_id]
        if group.deleted:
            with pytest.raises(NotFound):
                self.app.groups.stop_priority_charge(group_id, OPERATOR)
            return
        before = len(list(self.app.events.get(group_id)))
        self.app.groups.stop_priority_charge(group_id, OPERATOR)
        events = list(self.app.events.get(group_id))
        if group.priority_ends_at is None:
            assert len(events) == before
            return
        ended = events[-1]
        if self.clock.now >= group.priority_ends_at:
            assert (ended.reason, ended.ended_at) == (
                PriorityEndReason.EXPIRED,
                group.priority_ends_at,
            )
        else:
            assert (ended.reason, ended.ended_at) == (PriorityEndReason.STOPPED, self.clock.now)
        group.priority_ends_at = None

    @rule(step=clock_steps)
    def time_passes(self, step: timedelta) -> None:
        self.clock.advance(step)

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def groups_match_the_model(self) -> None:
        for group_id, model in self.model_groups.items():
            group = self.app.repository.get(group_id)
            assert group.deleted is model.deleted
            assert group.home_user_id == model.home_user_id
            assert group.exclusion_windows == model.windows
            ends_at = group.priority.ends_at if group.priority else None
            assert ends_at == model.priority_ends_at

    @invariant()
    def a_group_never_holds_two_home_users(self) -> None:
        for group_id in self.model_groups:
            holding: UUID | None = None
            for stored in self.app.events.get(group_id):
                if isinstance(stored, SmartChargingGroup.HomeUserAdded):
                    assert holding is None, "a second home user was added"
                    holding = stored.user_id
                elif isinstance(stored, SmartChargingGroup.HomeUserRemoved):
                    assert holding == stored.user_id
                    holding = None

    @invariant()
    def each_evse_is_in_at_most_one_group_and_both_sides_agree(self) -> None:
        members: dict[UUID, UUID] = {}
        for group_id in self.model_groups:
            evse_ids = self.app.repository.get(group_id).evse_ids
            assert len(evse_ids) == len(set(evse_ids))
            for evse_id in evse_ids:
                assert evse_id not in members, "an EVSE is listed by two groups"
                members[evse_id] = group_id
        for evse_id, expected in self.evse_group.items():
            assert self.app.evse(evse_id).group_id == expected
            assert members.get(evse_id) == expected

    @invariant()
    def every_new_event_names_its_actor_and_time(self) -> None:
        notifications = self.app.recorder.select_notifications(
            start=self.audited_up_to + 1, limit=10_000
        )
        for notification in notifications:
            stored = self.app.mapper.to_domain_event(notification)
            assert isinstance(stored.actor, Actor), stored
            assert stored.timestamp.tzinfo is not None
            self.audited_up_to = notification.id

    @invariant()
    def saved_state_equals_the_replay_of_the_stored_events(self) -> None:
        for aggregate_id, in_memory in self.app.saved.items():
            events = list(self.app.events.get(aggregate_id))
            replayed = functools.reduce(lambda agg, event: event.mutate(agg), events, None)
            assert replayed is not None
            assert state_of(replayed) == state_of(in_memory)
            assert state_of(self.app.repository.get(aggregate_id)) == state_of(in_memory)
        self.app.saved.clear()


DomainMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("STATEFUL_EXAMPLES", 200)),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDomainRules = DomainMachine.TestCase
