"""ProfileDelivery: per EVSE, the charging profiles it should hold, what the charger answered,
and its charging sessions.

The scheduler records the desired profiles; the gateway holding the charger's
connection sends them and records each answer. Profiles are kept as plain
dicts (the scheduler's own value type, serialised), so the domain stays free
of OCPP.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.errors import InvalidInput
from domain.values import MAX_INT32, checked_int, clean_text

ANSWERS = ("Accepted", "Rejected", "NotSupported", "Timeout", "Error", "Offline")
# OCPP 2.0.1 TransactionType.transactionId: identifierString, at most 36 characters.
MAX_TRANSACTION_ID = 36


def transaction_key(value: object) -> int | str:
    """A charger's transaction id as we keep it.

    OCPP 1.6 ids are integers (§6.46, assigned by us, 1 to 2^31-1): one outside the
    32-bit range no charger can have been given is refused (InvalidInput). OCPP
    2.0.1 ids are the station's text: cleaned, never refused, so a station with
    odd firmware keeps charging (a NUL would not fit in a read model's text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return checked_int("transactionId", value, -MAX_INT32 - 1, MAX_INT32)
    if isinstance(value, str):
        return clean_text(value, MAX_TRANSACTION_ID)
    raise InvalidInput("transactionId: must be a whole number or text")


def delivery_id_for(evse_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"/evses/{evse_id}/delivery")


class ProfileDelivery(Aggregate):
    if TYPE_CHECKING:  # the event classes @event makes at run time, named for type checkers
        Started: ClassVar[type[Any]]
        ProfilesDesired: ClassVar[type[Any]]
        ProfileAnswered: ClassVar[type[Any]]
        RetryRequested: ClassVar[type[Any]]
        SessionStarted: ClassVar[type[Any]]
        SessionStopped: ClassVar[type[Any]]

    @event("Started")
    def __init__(self, evse_id: UUID, charge_point_id: str, connector_id: int):
        self.evse_id = evse_id
        self.charge_point_id = charge_point_id
        self.connector_id = connector_id
        self.desired: list[dict[str, Any]] = []
        self.desired_version = 0
        self.answers: dict[int, dict[str, Any]] = {}
        self.transaction_id: int | str | None = None
        self.session_started_at: datetime | None = None

    @staticmethod
    def create_id(evse_id: UUID) -> UUID:
        return delivery_id_for(evse_id)

    # --- desired profiles (the scheduler) ------------------------------------------------

    def desire(self, profiles: list[dict[str, Any]], reason: str, actor: Actor) -> bool:
        """Record the wanted profiles; returns False (and records nothing) when unchanged,
        since every write wears the charger's flash memory."""
        if profiles == self.desired:
            return False
        self._desired(profiles=profiles, reason=reason, actor=actor)
        return True

    @event("ProfilesDesired")
    def _desired(self, profiles: list[dict[str, Any]], reason: str, actor: Actor) -> None:
        self.desired = profiles
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
        unaccepted = [self.answers.get(p["profile_id"], {}) for p in self.unaccepted()]
        return min((answer.get("attempts", 0) for answer in unaccepted), default=0)

    def unaccepted(self) -> list[dict[str, Any]]:
        """Desired profiles the charger has not (yet) accepted."""
        return [
            profile
            for profile in self.desired
            if self.answers.get(profile["profile_id"], {}).get("status") != "Accepted"
        ]

    # --- charging sessions ----------------------------------------------------------------

    def start_session(self, transaction_id: object, at: datetime, actor: Actor) -> None:
        transaction_id = transaction_key(transaction_id)
        if self.transaction_id != transaction_id:
            self._session_started(transaction_id=transaction_id, at=at, actor=actor)

    @event("SessionStarted")
    def _session_started(self, transaction_id: int | str, at: datetime, actor: Actor) -> None:
        self.transaction_id = transaction_id
        self.session_started_at = at

    def stop_session(self, transaction_id: object, at: datetime, actor: Actor) -> bool:
        if transaction_id is not None:
            transaction_id = transaction_key(transaction_id)
        if self.transaction_id is None:
            return False
        if transaction_id is not None and transaction_id != self.transaction_id:
            return False
        self._session_stopped(transaction_id=self.transaction_id, at=at, actor=actor)
        return True

    @event("SessionStopped")
    def _session_stopped(self, transaction_id: int | str, at: datetime, actor: Actor) -> None:
        self.transaction_id = None
        self.session_started_at = None
