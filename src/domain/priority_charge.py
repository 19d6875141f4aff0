"""Priority charge: the home user's "charge at full power now", whatever the exclusions say.

It runs from its start until its end time; it ends earlier when its user (or an operator)
stops it or when the car's charging session ends. The group records it
(SmartChargingGroup.start_priority_charge / stop_priority_charge); the algorithm turns it
into a priority profile the charger ends by itself at the end time (its validTo).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.actors import Actor
from domain.errors import InvalidInput
from domain.immutable import Immutable

# A charger keeps a priority profile's validTo even while offline: a day is the longest we send.
MAX_PRIORITY_MINUTES = 24 * 60


class PriorityEndReason(StrEnum):
    STOPPED = "stopped"  # the user or the operator pressed Stop
    EXPIRED = "expired"  # its end time passed
    SESSION_ENDED = "session_ended"  # the car was unplugged


def priority_charge_runs(
    started_at: datetime | None, ends_at: datetime | None, at: datetime
) -> bool:
    """Whether a priority charge runs at `at`: from its start until, not at, its end. The one
    answer, for the aggregate, the algorithm (which profile to send) and the API's views."""
    if ends_at is None or at >= ends_at:
        return False
    return started_at is None or started_at <= at


@dataclass(frozen=True)
class PriorityCharge(Immutable):
    """A priority charge its group holds: from `started_at` until `ends_at`."""

    started_at: datetime
    ends_at: datetime
    started_by: Actor

    def is_active(self, now: datetime) -> bool:
        return priority_charge_runs(self.started_at, self.ends_at, now)

    def ending(
        self, now: datetime, reason: PriorityEndReason
    ) -> tuple[datetime, PriorityEndReason] | None:
        """When and why a stop asked at `now` for `reason` ends this charge; None if it does not.

        One whose end time has passed ends as expired at its end time, whoever asks, so the
        history says what really happened; the expiry asked before the end ends nothing.
        """
        if now >= self.ends_at:
            return self.ends_at, PriorityEndReason.EXPIRED
        if reason is PriorityEndReason.EXPIRED:
            return None
        return now, reason


def check_priority_window(now: datetime, ends_at: datetime) -> None:
    """A priority charge started `now` must end later, both instants with a UTC offset."""
    # The offset check comes first: comparing naive with aware times raises TypeError.
    if now.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("ends_at: must carry a UTC offset")
    if ends_at <= now:
        raise InvalidInput("ends_at: must be in the future")


def priority_charge_end(
    now: datetime,
    *,
    duration: timedelta | None = None,
    ends_at: datetime | None = None,
    default: timedelta,
) -> datetime:
    """When a priority charge started `now` ends: at `ends_at`, after `duration`, else after
    the default; never more than MAX_PRIORITY_MINUTES ahead."""
    longest = timedelta(minutes=MAX_PRIORITY_MINUTES)
    if duration is not None and ends_at is not None:
        raise InvalidInput("give duration_minutes or ends_at, not both")
    if ends_at is None:
        duration = default if duration is None else duration
        if not isinstance(duration, timedelta) or duration <= timedelta(0):
            raise InvalidInput("duration_minutes: must be at least 1 minute")
        if duration > longest:
            raise InvalidInput(f"duration_minutes: at most {MAX_PRIORITY_MINUTES // 60} hours")
        return now + duration
    if not isinstance(ends_at, datetime):
        raise InvalidInput("ends_at: must be a date and time")
    if ends_at.tzinfo is None:
        raise InvalidInput("ends_at: must carry a UTC offset")
    if ends_at - now > longest:
        raise InvalidInput(f"ends_at: at most {MAX_PRIORITY_MINUTES // 60} hours from now")
    return ends_at
