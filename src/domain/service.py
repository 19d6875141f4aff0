"""The command side: every use case of both portals, the CLI, the scheduler and the gateway.

Each command loads aggregates, calls one aggregate method per aggregate and
saves them together. Saving several aggregates is one atomic write with
optimistic concurrency on their versions, so of two racing commands exactly
one is recorded; the other is retried on fresh state, where it usually meets
the domain rule (e.g. the one-user rule) and is refused in its words.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording, Transcoder, Transcoding

from domain.account_commands import AccountCommands
from domain.actors import Actor, Role
from domain.charger_commands import ChargerCommands
from domain.errors import (
    ConcurrentChange,
    Conflict,
    EvseAlreadyRegistered,
    Forbidden,
    GroupAlreadyHasHomeUser,
    InvalidInput,
    NotFound,
)
from domain.evses import Evse
from domain.exclusion_times import ExclusionWindow
from domain.groups import PriorityEndReason, SmartChargingGroup, priority_charge_end
from domain.users import (
    User,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)
Clock = Callable[[], datetime]

DEFAULT_PRIORITY_MINUTES = 120
DEFAULT_INVITATION_DAYS = 7
CONFLICT_RETRIES = 8
GROUP_LOCK_STRIPES = 64


def utc_now() -> datetime:
    return datetime.now(UTC)


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> Actor:
        return Actor.from_dict(data)


class ExclusionWindowAsDict(Transcoding):
    type = ExclusionWindow
    name = "exclusion_window"

    def encode(self, obj: ExclusionWindow) -> dict[str, Any]:
        return {"weekdays": list(obj.weekdays), "start": obj.start, "end": obj.end}

    def decode(self, data: dict[str, Any]) -> ExclusionWindow:
        return ExclusionWindow(tuple(data["weekdays"]), data["start"], data["end"])


class SmartCharging(AccountCommands, ChargerCommands, Application[UUID]):
    """Settings come from the environment dict (`env`), as for any eventsourcing application:
    `PRIORITY_CHARGE_DEFAULT_MINUTES`, `INVITATION_VALID_DAYS`, plus the persistence keys.
    """

    name = "SmartCharging"
    # Keep recently used aggregates in memory and read only their newer events
    # ("fast-forward") instead of replaying whole histories on every command.
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000"}  # noqa: RUF012 (the library reads it so)

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock | None = None):
        super().__init__(env)
        self.clock: Clock = clock or utc_now
        # Changes to one group made in this process take turns. Left to race, the losers of
        # a race on a group race each other again: with N at once the last one needs N
        # attempts, more than the retries allow. Other processes' changes are still settled
        # by optimistic concurrency and retries. Striped: a bounded set of locks.
        self._group_locks = [threading.Lock() for _ in range(GROUP_LOCK_STRIPES)]
        self.priority_default = timedelta(
            minutes=int(self.env.get("PRIORITY_CHARGE_DEFAULT_MINUTES") or DEFAULT_PRIORITY_MINUTES)
        )
        self.invitation_validity = timedelta(
            days=float(self.env.get("INVITATION_VALID_DAYS") or DEFAULT_INVITATION_DAYS)
        )

    def register_transcodings(self, transcoder: Transcoder) -> None:
        super().register_transcodings(transcoder)  # type: ignore[arg-type]
        transcoder.register(ActorAsDict())  # type: ignore[attr-defined]
        transcoder.register(ExclusionWindowAsDict())  # type: ignore[attr-defined]

    # --- loading and saving ----------------------------------------------------------

    def _load(self, kind: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {aggregate_id} not found") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"{what} {aggregate_id} not found")
        return aggregate

    def group(self, group_id: UUID) -> SmartChargingGroup:
        group = self._load(SmartChargingGroup, group_id, "group")
        if group.deleted:
            raise NotFound(f"group {group_id} not found")
        return group

    def evse(self, evse_id: UUID) -> Evse:
        evse = self._load(Evse, evse_id, "EVSE")
        if evse.deregistered:
            raise NotFound(f"EVSE {evse_id} not found")
        return evse

    def user(self, user_id: UUID) -> User:
        return self._load(User, user_id, "user")

    def _retrying(self, command: Callable[[], T]) -> T:
        """Run a load-decide-save command again on fresh state when a racing save won."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                return command()
            except IntegrityError:
                log.debug("concurrent change, retry %d", attempt + 1)
        raise ConcurrentChange("too many concurrent changes to the same thing; try again")

    def _commit(self, *aggregates: Aggregate, **beside: Any) -> int | None:
        """Save atomically; return the notification position to wait for (read-your-writes).

        `beside` goes to the recorder with the events, in their transaction, never into an
        event (an invitation's one-time token, which only its mail may carry).
        """
        recordings: list[Recording[UUID]] = self.save(*aggregates, **beside)
        return recordings[-1].notification.id if recordings else None

    # --- access rules shared by both portals -----------------------------------------

    @staticmethod
    def _require_operator(actor: Actor) -> None:
        if actor.role not in (Role.OPERATOR, Role.SYSTEM):
            raise Forbidden("only an operator may do this")

    def _group_for(self, group_id: UUID, actor: Actor) -> SmartChargingGroup:
        """The group, if the actor may act on it: a home user sees only his own groups."""
        group = self.group(group_id)
        if actor.role is Role.HOME_USER and group.home_user_id != actor.user_id:
            raise NotFound(f"group {group_id} not found")
        return group

    # --- groups ------------------------------------------------------------------------

    def create_group(
        self,
        *,
        name: str,
        time_zone: str,
        actor: Actor,
        description: str = "",
        algorithm: str = "consumer_tou",
        home_user_id: UUID | None = None,
        evse_ids: Sequence[UUID] = (),
        exclusion_windows: Sequence[ExclusionWindow] = (),
        random_delay: bool = False,
    ) -> tuple[UUID, int | None]:
        """Create a group with its home user and EVSEs in one atomic save."""
        self._require_operator(actor)

        def command() -> tuple[UUID, int | None]:
            group = SmartChargingGroup.create(name, description, algorithm, time_zone, actor)
            if exclusion_windows:
                group.set_exclusion_times(list(exclusion_windows), actor)
            group.set_random_delay(random_delay, actor)
            if home_user_id is not None:
                self._check_home_user(home_user_id)
                group.add_home_user(home_user_id, actor)
            evses = [self.evse(evse_id) for evse_id in dict.fromkeys(evse_ids)]
            for evse in evses:
                evse.assign_to(group.id, actor)
                group.add_evse(evse.id, actor)
            return group.id, self._commit(group, *evses)

        return self._retrying(command)

    def edit_group(
        self,
        group_id: UUID,
        actor: Actor,
        *,
        name: str | None = None,
        description: str | None = None,
        time_zone: str | None = None,
        random_delay: bool | None = None,
    ) -> int | None:
        """Change any of the group's details in one save; unchanged values record nothing."""

        def change(group: SmartChargingGroup) -> None:
            if name is not None:
                group.rename(name, actor)
            if description is not None:
                group.describe(description, actor)
            if time_zone is not None:
                group.change_time_zone(time_zone, actor)
            if random_delay is not None:
                group.set_random_delay(random_delay, actor)

        return self._change_group(group_id, actor, change)

    def rename_group(self, group_id: UUID, name: str, actor: Actor) -> int | None:
        return self._change_group(group_id, actor, lambda g: g.rename(name, actor))

    def describe_group(self, group_id: UUID, description: str, actor: Actor) -> int | None:
        return self._change_group(group_id, actor, lambda g: g.describe(description, actor))

    def change_time_zone(self, group_id: UUID, time_zone: str, actor: Actor) -> int | None:
        return self._change_group(group_id, actor, lambda g: g.change_time_zone(time_zone, actor))

    def set_random_delay(self, group_id: UUID, enabled: bool, actor: Actor) -> int | None:
        return self._change_group(group_id, actor, lambda g: g.set_random_delay(enabled, actor))

    def _change_group(
        self,
        group_id: UUID,
        actor: Actor,
        change: Callable[[SmartChargingGroup], object],
        *,
        operator_only: bool = True,
    ) -> int | None:
        if operator_only:
            self._require_operator(actor)

        def command() -> int | None:
            group = self._group_for(group_id, actor)
            change(group)
            return self._commit(group)

        with self._group_locks[hash(group_id) % GROUP_LOCK_STRIPES]:
            return self._retrying(command)

    def set_exclusion_times(
        self, group_id: UUID, windows: Iterable[ExclusionWindow], actor: Actor
    ) -> int | None:
        """Replace the group's exclusion times (operator, or the group's home user)."""
        windows = list(windows)
        return self._change_group(
            group_id, actor, lambda g: g.set_exclusion_times(windows, actor), operator_only=False
        )

    def add_exclusion_window(
        self, group_id: UUID, window: ExclusionWindow, actor: Actor
    ) -> int | None:
        """One more window, added to the group's windows as they are now (no lost update)."""
        return self._change_group(
            group_id,
            actor,
            lambda g: g.set_exclusion_times([*g.exclusion_windows, window], actor),
            operator_only=False,
        )

    def remove_exclusion_window(
        self, group_id: UUID, window: ExclusionWindow, actor: Actor
    ) -> int | None:
        """Remove one window; refused if it is no longer there (changed meanwhile)."""

        def change(group: SmartChargingGroup) -> None:
            windows = list(group.exclusion_windows)
            if window not in windows:
                raise Conflict("this exclusion time was already removed or changed meanwhile")
            windows.remove(window)
            group.set_exclusion_times(windows, actor)

        return self._change_group(group_id, actor, change, operator_only=False)

    def start_priority_charge(
        self,
        group_id: UUID,
        actor: Actor,
        *,
        duration: timedelta | None = None,
        ends_at: datetime | None = None,
    ) -> int | None:
        """Full power from now until `ends_at` (or for `duration`, or the default duration)."""
        now = self.clock()
        until = priority_charge_end(
            now, duration=duration, ends_at=ends_at, default=self.priority_default
        )
        return self._change_group(
            group_id,
            actor,
            lambda g: g.start_priority_charge(now, until, actor),
            operator_only=False,
        )

    def stop_priority_charge(
        self,
        group_id: UUID,
        actor: Actor,
        reason: PriorityEndReason = PriorityEndReason.STOPPED,
    ) -> int | None:
        now = self.clock()
        return self._change_group(
            group_id,
            actor,
            lambda g: g.stop_priority_charge(now, reason, actor),
            operator_only=False,
        )

    def delete_group(self, group_id: UUID, actor: Actor) -> int | None:
        """Deleting a group releases its EVSEs (saved with it) and its home user."""
        self._require_operator(actor)

        def command() -> int | None:
            group = self.group(group_id)
            evses = [self.evse(evse_id) for evse_id in group.evse_ids]
            for evse in evses:
                evse.release(group.id, actor)
            group.delete(actor)
            return self._commit(group, *evses)

        return self._retrying(command)

    # --- the home user -------------------------------------------------------------------

    def _check_home_user(self, user_id: UUID) -> User:
        user = self.user(user_id)
        if user.role is not Role.HOME_USER:
            raise InvalidInput(f"user {user.email} is an operator, not a home user")
        if user.revoked:
            raise InvalidInput(f"user {user.email} was revoked")
        return user

    def add_home_user(self, group_id: UUID, user_id: UUID, actor: Actor) -> int | None:
        self._require_operator(actor)

        def command() -> int | None:
            group = self.group(group_id)
            self._check_home_user(user_id)
            try:
                group.add_home_user(user_id, actor)
            except GroupAlreadyHasHomeUser as refusal:
                current = self.user(refusal.current_user_id)
                raise GroupAlreadyHasHomeUser(group_id, current.id, current.email) from None
            return self._commit(group)

        return self._retrying(command)

    def remove_home_user(self, group_id: UUID, user_id: UUID, actor: Actor) -> int | None:
        return self._change_group(group_id, actor, lambda g: g.remove_home_user(user_id, actor))

    # --- EVSEs ---------------------------------------------------------------------------

    def register_evse(
        self,
        charge_point_id: str,
        connector_id: int,
        actor: Actor,
        *,
        max_current_a: float | None = None,
        phases: int | None = None,
        max_power_w: float | None = None,
    ) -> tuple[UUID, int | None]:
        self._require_operator(actor)
        limits = {"max_current_a": max_current_a, "phases": phases, "max_power_w": max_power_w}
        evse = Evse.register(charge_point_id, connector_id, actor, **limits)  # type: ignore[arg-type]
        try:
            return evse.id, self._commit(evse)
        except IntegrityError:
            pass  # registered before: again, if it was deregistered since
        try:
            earlier = self._load(Evse, evse.id, "EVSE")
            earlier.reregister(actor, **limits)  # type: ignore[arg-type]
            return earlier.id, self._commit(earlier)
        except (Conflict, IntegrityError):
            raise EvseAlreadyRegistered(
                f"connector {connector_id} of charger {charge_point_id} is already registered"
            ) from None

    def add_evse(self, group_id: UUID, evse_id: UUID, actor: Actor) -> int | None:
        """Put an EVSE in a group: the EVSE and the group are saved together."""
        self._require_operator(actor)

        def command() -> int | None:
            group = self.group(group_id)
            evse = self.evse(evse_id)
            evse.assign_to(group.id, actor)
            group.add_evse(evse.id, actor)
            return self._commit(group, evse)

        return self._retrying(command)

    def remove_evse(self, group_id: UUID, evse_id: UUID, actor: Actor) -> int | None:
        self._require_operator(actor)

        def command() -> int | None:
            group = self.group(group_id)
            evse = self.evse(evse_id)
            group.remove_evse(evse.id, actor)
            evse.release(group.id, actor)
            return self._commit(group, evse)

        return self._retrying(command)

    def move_evse(self, evse_id: UUID, to_group_id: UUID, actor: Actor) -> int | None:
        """Move an EVSE to another group: the EVSE and both groups in one atomic save."""
        self._require_operator(actor)

        def command() -> int | None:
            evse = self.evse(evse_id)
            target = self.group(to_group_id)
            changed: list[Aggregate] = [evse, target]
            if evse.group_id is not None and evse.group_id != target.id:
                source = self.group(evse.group_id)
                source.remove_evse(evse.id, actor)
                evse.release(source.id, actor)
                changed.append(source)
            evse.assign_to(target.id, actor)
            target.add_evse(evse.id, actor)
            return self._commit(*changed)

        return self._retrying(command)

    def change_evse_limits(
        self,
        evse_id: UUID,
        actor: Actor,
        *,
        max_current_a: float | None = None,
        phases: int | None = None,
        max_power_w: float | None = None,
    ) -> int | None:
        self._require_operator(actor)

        def command() -> int | None:
            evse = self.evse(evse_id)
            evse.change_limits(
                actor, max_current_a=max_current_a, phases=phases, max_power_w=max_power_w
            )
            return self._commit(evse)

        return self._retrying(command)

    def deregister_evse(self, evse_id: UUID, actor: Actor) -> int | None:
        self._require_operator(actor)

        def command() -> int | None:
            evse = self.evse(evse_id)
            evse.deregister(actor)
            return self._commit(evse)

        return self._retrying(command)
