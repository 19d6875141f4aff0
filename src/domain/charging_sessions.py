"""Charging sessions: a car plugged in and charging at an EVSE, from its charger's
transaction start until its stop.

A session's end also ends its group's priority charge (DESIGN.md: "It ends ... when
the session stops"). ProfileDelivery records the sessions of its EVSE (SessionStarted,
SessionStopped); the rules for which transaction starts or stops one are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidInput
from domain.immutable import Immutable
from domain.values import MAX_INT32, checked_int, clean_text

# OCPP 2.0.1 TransactionType.transactionId: identifierString, at most 36 characters.
MAX_TRANSACTION_ID = 36

TransactionKey = int | str


def transaction_key(value: object) -> TransactionKey:
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


@dataclass(frozen=True)
class ChargingSession(Immutable):
    """The session running at an EVSE: its charger's transaction, since when."""

    transaction_id: TransactionKey
    started_at: datetime

    def is_ended_by(self, transaction_id: TransactionKey | None) -> bool:
        """A stop naming another transaction is not this session's end (a late stop of an
        earlier session, say); one naming none ends whatever runs."""
        return transaction_id is None or transaction_id == self.transaction_id


def starts_a_session(running: ChargingSession | None, transaction_id: TransactionKey) -> bool:
    """Whether a transaction's start begins a new session: a charger repeats the start of
    the one running (2.0.1 TransactionEvent Updated after a reconnect), which is no news."""
    return running is None or running.transaction_id != transaction_id
