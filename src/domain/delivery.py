"""ProfileDelivery: per EVSE, the charging profiles it should hold, what the charger answered,
and its charging sessions.

The scheduler records the desired profiles (ChargingProfile values); the gateway
holding the charger's connection sends them and records each answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.charging_profiles import ChargingProfile, recorded_profiles, stable_profiles
from domain.charging_sessions import (
    ChargingSession,
    TransactionKey,
    starts_a_session,
    transaction_key,
)
from domain.immutable import CopiedCheaply
from domain.values import IDS_REMEMBERED, clean_text

ANSWERS = ("Accepted", "Rejected", "NotSupported", "Timeout", "Error", "Offline")


def _profiles_from_dicts(state: dict[str, Any]) -> None:
    """Upcast: events recorded before ChargingProfile was a domain value kept plain dicts."""
    state["profiles"] = recorded_profiles(state["profiles"])


@lru_cache(maxsize=IDS_REMEMBERED)
def delivery_id_for(evse_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"/evses/{evse_id}/delivery")


class ProfileDelivery(CopiedCheaply, Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Started: ClassVar[type[Any]]
        ProfileAnswered: ClassVar[type[Any]]
        RetryRequested: ClassVar[type[Any]]
        SessionStarted: ClassVar[type[Any]]
        SessionStopped: ClassVar[type[Any]]

    @event("Started")
    def __init__(self, evse_id: UUID, charge_point_id: str, connector_id: int):
        self.evse_id = evse_id
        self.charge_point_id = charge_point_id
        self.connector_id = connector_id
        self.desired: tuple[ChargingProfile, ...] = ()
        self.desired_version = 0
        self.answers: dict[int, dict[str, Any]] = {}
        self.session: ChargingSession | None = None

    @staticmethod
    def create_id(evse_id: UUID) -> UUID:
        return delivery_id_for(evse_id)

    # --- desired profiles (the scheduler) ------------------------------------------------

    class ProfilesDesired(Aggregate.Event):
        profiles: tuple[ChargingProfile, ...]
        reason: str
        actor: Actor

        class_version = 2
        upcast_v1_v2 = staticmethod(_profiles_from_dicts)

    def desire(self, profiles: Iterable[ChargingProfile], reason: str, actor: Actor) -> bool:
        """Record the wanted profiles; returns False (and records nothing) when unchanged,
        since every write wears the charger's flash memory. A recurring profile that
        repeats the one desired (a week later, say) keeps the one desired."""
        wanted = stable_profiles(self.desired, tuple(profiles))
        if wanted == self.desired:
            return False
        self._desired(profiles=wanted, reason=reason, actor=actor)
        return True

    @event(ProfilesDesired)
    def _desired(self, profiles: tuple[ChargingProfile, ...], reason: str, actor: Actor) -> None:
        self.desired = tuple(profiles)  # a list once the event has been through JSON
        self.desired_version += 1
        self.answers = {}

    # --- the charger's answers (the gateway) ---------------------------------------------

    def answer(
        self, profile_id: int, desired_version: int, status: str, at: datetime, actor: Actor
    ) -> bool:
        """Record the charger's answer to sending one desired profile (or clearing one).

        An answer for an older version of the desired profiles is dropped: it says
        nothing about what the charger should hold now.
        """
        if desired_version != self.desired_version:
            return False
        self._answered(
            profile_id=profile_id,
            desired_version=desired_version,
            status=status if status in ANSWERS else clean_text(status, 20) or "Error",
            at=at,
            actor=actor,
        )
        return True

    @event("ProfileAnswered")
    def _answered(
        self, profile_id: int, desired_version: int, status: str, at: datetime, actor: Actor
    ) -> None:
        attempts = self.answers.get(profile_id, {}).get("attempts", 0) + 1
        self.answers = {
            **self.answers,
            profile_id: {"status": status, "at": at, "attempts": attempts},
        }

    def request_retry(self, attempt: int, actor: Actor) -> None:
        """Ask the gateway to send the unaccepted profiles again (the scheduler's retry timer)."""
        if self.unaccepted():
            self._retry_requested(
                desired_version=self.desired_version, attempt=attempt, actor=actor
            )

    @event("RetryRequested")
    def _retry_requested(self, desired_version: int, attempt: int, actor: Actor) -> None:
        pass

    def attempts(self) -> int:
        """How many times the least-tried unaccepted profile was answered."""
        unaccepted = [self.answers.get(p.profile_id, {}) for p in self.unaccepted()]
        return min((answer.get("attempts", 0) for answer in unaccepted), default=0)

    def unaccepted(self) -> tuple[ChargingProfile, ...]:
        """Desired profiles the charger has not (yet) accepted."""
        return tuple(
            profile
            for profile in self.desired
            if self.answers.get(profile.profile_id, {}).get("status") != "Accepted"
        )

    # --- charging sessions (domain/charging_sessions.py) ----------------------------------

    def start_session(self, transaction_id: object, at: datetime, actor: Actor) -> None:
        key = transaction_key(transaction_id)
        if starts_a_session(self.session, key):
            self._session_started(transaction_id=key, at=at, actor=actor)

    @event("SessionStarted")
    def _session_started(self, transaction_id: TransactionKey, at: datetime, actor: Actor) -> None:
        self.session = ChargingSession(transaction_id=transaction_id, started_at=at)

    def stop_session(self, transaction_id: object, at: datetime, actor: Actor) -> bool:
        """Ends the running session if the stop names it (or no transaction); returns False,
        recording nothing, otherwise."""
        key = None if transaction_id is None else transaction_key(transaction_id)
        if self.session is None or not self.session.is_ended_by(key):
            return False
        self._session_stopped(transaction_id=self.session.transaction_id, at=at, actor=actor)
        return True

    @event("SessionStopped")
    def _session_stopped(self, transaction_id: TransactionKey, at: datetime, actor: Actor) -> None:
        self.session = None
