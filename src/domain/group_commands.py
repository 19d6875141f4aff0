"""Commands about smart charging groups: details, exclusion times, priority charge, and
the home user's (membership.py).

Both portals call the same commands; a home user may act only on his own group and only
where noted (exclusion times, priority charge). Changes to one group made in this
process take turns: left to race, the losers of a race on a group race each other
again, and with N at once the last one needs N attempts, more than the retries allow.
Other processes' changes are still settled by optimistic concurrency and retries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from domain.account_commands import AccountCommands
from domain.actors import Actor, Role, require_operator
from domain.application import CommandApplication
from domain.errors import Conflict, InvalidInput, NotFound
from domain.exclusion_times import ExclusionWindow
from domain.groups import SmartChargingGroup
from domain.membership import MembershipCommands
from domain.priority_charge import PriorityEndReason, priority_charge_end

GROUP_LOCK_STRIPES = 64


class GroupCommands:
    def __init__(self, app: CommandApplication, accounts: AccountCommands):
        self.app = app
        # Striped: a bounded set of locks, one turn per group (see the module's text).
        self._locks = [threading.Lock() for _ in range(GROUP_LOCK_STRIPES)]
        self.membership = MembershipCommands(app, accounts, self._turn)

    def _turn(self, group_id: UUID) -> threading.Lock:
        return self._locks[hash(group_id) % GROUP_LOCK_STRIPES]

    def _group_for(self, group_id: UUID, actor: Actor) -> SmartChargingGroup:
        """The group, if the actor may act on it: a home user sees only his own groups."""
        group = self.app.group(group_id)
        if actor.role is Role.HOME_USER and group.home_user_id != actor.user_id:
            raise NotFound(f"group {group_id} not found")
        return group

    def _change(
        self,
        group_id: UUID,
        actor: Actor,
        change: Callable[[SmartChargingGroup], object],
        *,
        operator_only: bool = True,
    ) -> int | None:
        if operator_only:
            require_operator(actor)
        with self._turn(group_id):
            return self.app.change(lambda: self._group_for(group_id, actor), change)

    # --- the group -----------------------------------------------------------------------

    def create_group(
        self,
        *,
        name: str,
        time_zone: str,
        actor: Actor,
        description: str = "",
        algorithm: str = "consumer_tou",
        home_user_id: UUID | None = None,
        invite_email: str | None = None,
        evse_ids: Sequence[UUID] = (),
        exclusion_windows: Sequence[ExclusionWindow] = (),
        random_delay: bool = False,
    ) -> tuple[UUID, int | None]:
        """Create a group with its home user and EVSEs in one atomic save.

        The home user is `home_user_id`, or the account of `invite_email`: an e-mail
        without one is invited in the same save, and its one mail names the group."""
        require_operator(actor)
        if home_user_id is not None and invite_email is not None:
            raise InvalidInput("home_user_email: give the home user's id or e-mail, not both")

        def command() -> tuple[UUID, int | None]:
            group = SmartChargingGroup.create(name, description, algorithm, time_zone, actor)
            if exclusion_windows:
                group.set_exclusion_times(list(exclusion_windows), actor)
            group.set_random_delay(random_delay, actor)
            joining = self.membership.joining(home_user_id, invite_email, actor, group.name)
            if joining is not None:
                self.membership.join(group, joining.user, actor)
            evses = [self.app.evse(evse_id) for evse_id in dict.fromkeys(evse_ids)]
            for evse in evses:
                evse.assign_to(group.id, actor)
                group.add_evse(evse.id, actor)
            return group.id, self.membership.commit(joining, group, *evses)

        return self.app.retrying(command)

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

        return self._change(group_id, actor, change)

    def delete_group(self, group_id: UUID, actor: Actor) -> int | None:
        """Deleting a group releases its EVSEs (saved with it) and its home user."""
        require_operator(actor)

        def command() -> int | None:
            group = self.app.group(group_id)
            evses = [self.app.evse(evse_id) for evse_id in group.evse_ids]
            for evse in evses:
                evse.release(group.id, actor)
            group.delete(actor)
            return self.app.commit(group, *evses)

        return self.app.retrying(command)

    # --- exclusion times (operator, or the group's home user) ------------------------------

    def set_exclusion_times(
        self, group_id: UUID, windows: Iterable[ExclusionWindow], actor: Actor
    ) -> int | None:
        """Replace the group's exclusion times."""
        windows = list(windows)
        return self._change(
            group_id, actor, lambda g: g.set_exclusion_times(windows, actor), operator_only=False
        )

    def add_exclusion_window(
        self, group_id: UUID, window: ExclusionWindow, actor: Actor
    ) -> int | None:
        """One more window, added to the group's windows as they are now (no lost update)."""
        return self._change(
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

        return self._change(group_id, actor, change, operator_only=False)

    def change_exclusion_window(
        self, group_id: UUID, old: ExclusionWindow, new: ExclusionWindow, actor: Actor
    ) -> int | None:
        """Change one window in place, in one save: the charger never sees the group without
        it, as it would between a removal and an addition. Refused if `old` is no longer
        there (changed or removed meanwhile)."""

        def change(group: SmartChargingGroup) -> None:
            windows = list(group.exclusion_windows)
            if old not in windows:
                raise Conflict("this exclusion time was removed or changed meanwhile")
            windows[windows.index(old)] = new
            group.set_exclusion_times(windows, actor)

        return self._change(group_id, actor, change, operator_only=False)

    # --- priority charge (operator, or the group's home user) ------------------------------

    def start_priority_charge(
        self,
        group_id: UUID,
        actor: Actor,
        *,
        duration: timedelta | None = None,
        ends_at: datetime | None = None,
    ) -> int | None:
        """Full power from now until `ends_at` (or for `duration`, or the default duration)."""
        now = self.app.clock()
        until = priority_charge_end(
            now, duration=duration, ends_at=ends_at, default=self.app.priority_default
        )
        return self._change(
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
        now = self.app.clock()
        return self._change(
            group_id,
            actor,
            lambda g: g.stop_priority_charge(now, reason, actor),
            operator_only=False,
        )

    # --- the home user: membership.py -----------------------------------------------------

    def add_home_user(self, group_id: UUID, user_id: UUID, actor: Actor) -> int | None:
        return self.membership.add_home_user(group_id, user_id, actor)

    def invite_home_user(self, group_id: UUID, email: str, actor: Actor) -> int | None:
        return self.membership.invite_home_user(group_id, email, actor)

    def remove_home_user(self, group_id: UUID, user_id: UUID, actor: Actor) -> int | None:
        return self.membership.remove_home_user(group_id, user_id, actor)
