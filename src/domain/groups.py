"""SmartChargingGroup: EVSEs, their home user, exclusion times and priority charge."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.errors import (
    Conflict,
    GroupAlreadyHasHomeUser,
    GroupDeleted,
    InvalidInput,
    UnknownTimeZone,
)
from domain.exclusion_times import ExclusionWindow, validate_windows
from domain.immutable import CopiedCheaply
from domain.priority_charge import PriorityCharge, PriorityEndReason, check_priority_window
from domain.values import checked_text

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_TIME_ZONE_LENGTH = 64  # the longest IANA name is about 32 characters
MAX_ALGORITHM_LENGTH = 40


class Algorithm(StrEnum):
    CONSUMER_TOU = "consumer_tou"


def validate_name(name: object) -> str:
    """A group's name as people read it in both portals: one line, trimmed, at most 100."""
    return checked_text("name", "" if name is None else name, MAX_NAME_LENGTH).strip()


def validate_description(description: object) -> str:
    """Free text for the operator's notes (a gate code, say): line breaks are kept."""
    return checked_text(
        "description", description, MAX_DESCRIPTION_LENGTH, allow_empty=True, multiline=True
    )


def validate_time_zone(time_zone: object) -> str:
    """An IANA time zone name such as Europe/Amsterdam."""
    try:
        name = checked_text(
            "time_zone", "" if time_zone is None else time_zone, MAX_TIME_ZONE_LENGTH
        )
    except InvalidInput as refusal:
        raise UnknownTimeZone(
            f"{refusal}; give an IANA time zone such as Europe/Amsterdam"
        ) from None
    if name != name.strip():
        raise UnknownTimeZone(f"time_zone: {name!r} is not an IANA time zone name")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError, OSError):
        raise UnknownTimeZone(
            f"time_zone: {name!r} is not a known IANA time zone (e.g. Europe/Amsterdam)"
        ) from None
    return name


def validate_algorithm(algorithm: object) -> Algorithm:
    known = {a.value: a for a in Algorithm}
    if isinstance(algorithm, str) and algorithm in known:
        return known[algorithm]
    checked_text("algorithm", algorithm, MAX_ALGORITHM_LENGTH)  # the message below shows it
    raise InvalidInput(f"algorithm: {algorithm!r} is not known; use one of: {', '.join(known)}")


class SmartChargingGroup(CopiedCheaply, Aggregate):
    """A ToU group: one home user, that user's EVSEs, and when they must not charge.

    Public methods check the rules and then call a private `@event` method, whose
    body is the state change; replaying events runs only those bodies.
    """

    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Created: ClassVar[type[Any]]
        Renamed: ClassVar[type[Any]]
        Described: ClassVar[type[Any]]
        TimeZoneChanged: ClassVar[type[Any]]
        ExclusionTimesSet: ClassVar[type[Any]]
        RandomDelaySet: ClassVar[type[Any]]
        HomeUserAdded: ClassVar[type[Any]]
        HomeUserRemoved: ClassVar[type[Any]]
        EvseAdded: ClassVar[type[Any]]
        EvseRemoved: ClassVar[type[Any]]
        PriorityChargeStarted: ClassVar[type[Any]]
        PriorityChargeEnded: ClassVar[type[Any]]
        Deleted: ClassVar[type[Any]]

    @event("Created")
    def __init__(
        self,
        name: str,
        description: str,
        algorithm: Algorithm,
        time_zone: str,
        actor: Actor,
    ):
        self.name = name
        self.description = description
        self.algorithm = Algorithm(algorithm)
        self.time_zone = time_zone
        self.home_user_id: UUID | None = None
        self.evse_ids: list[UUID] = []
        self.exclusion_windows: tuple[ExclusionWindow, ...] = ()
        self.random_delay = False
        self.priority: PriorityCharge | None = None
        self.deleted = False

    @classmethod
    def create(
        cls, name: str, description: str, algorithm: str, time_zone: str, actor: Actor
    ) -> SmartChargingGroup:
        return cls(
            name=validate_name(name),
            description=validate_description(description),
            algorithm=validate_algorithm(algorithm),
            time_zone=validate_time_zone(time_zone),
            actor=actor,
        )

    # --- details -----------------------------------------------------------------

    def rename(self, name: str, actor: Actor) -> None:
        self._check_exists()
        name = validate_name(name)
        if name != self.name:
            self._renamed(name=name, actor=actor)

    @event("Renamed")
    def _renamed(self, name: str, actor: Actor) -> None:
        self.name = name

    def describe(self, description: str, actor: Actor) -> None:
        self._check_exists()
        description = validate_description(description)
        if description != self.description:
            self._described(description=description, actor=actor)

    @event("Described")
    def _described(self, description: str, actor: Actor) -> None:
        self.description = description

    def change_time_zone(self, time_zone: str, actor: Actor) -> None:
        self._check_exists()
        time_zone = validate_time_zone(time_zone)
        if time_zone != self.time_zone:
            self._time_zone_changed(time_zone=time_zone, actor=actor)

    @event("TimeZoneChanged")
    def _time_zone_changed(self, time_zone: str, actor: Actor) -> None:
        self.time_zone = time_zone

    # --- exclusion times ---------------------------------------------------------

    def set_exclusion_times(self, windows: list[ExclusionWindow], actor: Actor) -> None:
        self._check_exists()
        windows_tuple = validate_windows(windows)
        if windows_tuple != self.exclusion_windows:
            self._exclusion_times_set(windows=list(windows_tuple), actor=actor)

    @event("ExclusionTimesSet")
    def _exclusion_times_set(self, windows: list[ExclusionWindow], actor: Actor) -> None:
        self.exclusion_windows = tuple(windows)

    def set_random_delay(self, enabled: bool, actor: Actor) -> None:
        self._check_exists()
        if not isinstance(enabled, bool):
            raise InvalidInput("random_delay: must be true or false")
        if enabled != self.random_delay:
            self._random_delay_set(enabled=enabled, actor=actor)

    @event("RandomDelaySet")
    def _random_delay_set(self, enabled: bool, actor: Actor) -> None:
        self.random_delay = enabled

    # --- home user: the one-user rule --------------------------------------------

    def add_home_user(self, user_id: UUID, actor: Actor, *, invited: bool = False) -> None:
        """Put the home user in the group; a second, different user is refused, never swapped in.

        `invited`: the user has an invitation and no password yet. The event says so, for
        the mail: such a user's one mail is the invitation, whose link sets the password,
        not a note about the group pointing at a login he cannot use yet."""
        self._check_exists()
        if self.home_user_id == user_id:
            return
        if self.home_user_id is not None and self.algorithm is Algorithm.CONSUMER_TOU:
            raise GroupAlreadyHasHomeUser(self.id, self.home_user_id)
        self._home_user_added(user_id=user_id, actor=actor, invited=invited)

    @event("HomeUserAdded")
    def _home_user_added(self, user_id: UUID, actor: Actor, invited: bool = False) -> None:
        # Events recorded before `invited` was kept replay with False (a mail was sent then).
        self.home_user_id = user_id

    def remove_home_user(self, user_id: UUID, actor: Actor) -> None:
        self._check_exists()
        if self.home_user_id != user_id:
            raise Conflict(f"user {user_id} is not this group's home user")
        self._home_user_removed(user_id=user_id, actor=actor)

    @event("HomeUserRemoved")
    def _home_user_removed(self, user_id: UUID, actor: Actor) -> None:
        self.home_user_id = None

    # --- EVSEs (the service saves the Evse aggregate in the same transaction) ----

    def add_evse(self, evse_id: UUID, actor: Actor, *, moved_from: UUID | None = None) -> None:
        """`moved_from`: the group it leaves in the same save, so the history says "moved"."""
        self._check_exists()
        if evse_id not in self.evse_ids:
            self._evse_added(evse_id=evse_id, actor=actor, moved_from=moved_from)

    @event("EvseAdded")
    def _evse_added(self, evse_id: UUID, actor: Actor, moved_from: UUID | None = None) -> None:
        # Events recorded before moves were said replay with None (added, not moved).
        self.evse_ids = [*self.evse_ids, evse_id]

    def remove_evse(self, evse_id: UUID, actor: Actor, *, moved_to: UUID | None = None) -> None:
        self._check_exists()
        if evse_id not in self.evse_ids:
            raise Conflict(f"EVSE {evse_id} is not in this group")
        self._evse_removed(evse_id=evse_id, actor=actor, moved_to=moved_to)

    @event("EvseRemoved")
    def _evse_removed(self, evse_id: UUID, actor: Actor, moved_to: UUID | None = None) -> None:
        self.evse_ids = [e for e in self.evse_ids if e != evse_id]

    # --- priority charge ---------------------------------------------------------

    def start_priority_charge(self, now: datetime, ends_at: datetime, actor: Actor) -> None:
        self._check_exists()
        check_priority_window(now, ends_at)
        self._priority_charge_started(started_at=now, ends_at=ends_at, actor=actor)

    @event("PriorityChargeStarted")
    def _priority_charge_started(
        self, started_at: datetime, ends_at: datetime, actor: Actor
    ) -> None:
        self.priority = PriorityCharge(started_at=started_at, ends_at=ends_at, started_by=actor)

    def stop_priority_charge(self, now: datetime, reason: PriorityEndReason, actor: Actor) -> bool:
        """Ends the priority charge; returns False (and records nothing) if none is running,
        or if it is not ended by this (PriorityCharge.ending)."""
        self._check_exists()
        ending = self.priority.ending(now, reason) if self.priority is not None else None
        if ending is None:
            return False
        ended_at, reason = ending
        self._priority_charge_ended(ended_at=ended_at, reason=reason, actor=actor)
        return True

    @event("PriorityChargeEnded")
    def _priority_charge_ended(
        self, ended_at: datetime, reason: PriorityEndReason, actor: Actor
    ) -> None:
        self.priority = None

    def active_priority(self, now: datetime) -> PriorityCharge | None:
        if self.priority is not None and self.priority.is_active(now):
            return self.priority
        return None

    # --- deletion ----------------------------------------------------------------

    def delete(self, actor: Actor) -> None:
        """Deleting releases the EVSEs and the home user as part of the same save."""
        self._check_exists()
        for evse_id in list(self.evse_ids):
            self._evse_removed(evse_id=evse_id, actor=actor)
        if self.home_user_id is not None:
            self._home_user_removed(user_id=self.home_user_id, actor=actor)
        self._deleted(actor=actor)

    @event("Deleted")
    def _deleted(self, actor: Actor) -> None:
        self.deleted = True
        self.priority = None

    def _check_exists(self) -> None:
        if self.deleted:
            raise GroupDeleted(f"group {self.id} was deleted")
