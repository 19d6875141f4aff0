"""ChargingProfile: what an EVSE's charger is told it may draw, and when.

A frozen value, checked when it is made, whatever makes it: the scheduler's
algorithm, an event replayed from the store, a charger's copy read back. The
scheduler builds them, ProfileDelivery records the ones each EVSE should hold,
the gateway turns them into OCPP payloads (`chargers/profile_payloads.py`).
The fields follow OCPP 1.6 §7.8 and §7.13 (the same in 2.0.1), but nothing here
speaks the wire form.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal

from domain.immutable import Immutable

RateUnit = Literal["A", "W"]
ProfileKind = Literal["Absolute", "Recurring", "Relative"]
RecurrencyKind = Literal["Daily", "Weekly"]
# PriorityCharging (OCPP 2.1) only for a station that supports it (scheduler/local_time.py).
ProfilePurpose = Literal["TxDefaultProfile", "PriorityCharging"]

# OCPP 1.6 §7.37: a Recurring schedule starts again every day or every week.
RECURRENCE_SECONDS = {"Daily": 86_400, "Weekly": 604_800}

# Profile ids are fixed per connector and role, so sending a profile again
# replaces the installed one instead of stacking a second copy next to it
# (OCPP 1.6 §3.13.2; OCPP 2.0.1 K01.FR.06 even rejects a profile with the same
# stack level and purpose but another id).
_PROFILE_ID_BASE = 1000
EXCLUSION_ROLE = 1
PRIORITY_ROLE = 2
# Beneath the exclusion profile: what the charger follows once that one runs out while it
# is offline (scheduler/cover.py).
COVER_ROLE = 3
# The exclusion profiles of the UTC offset periods after the one in force, sent ahead of
# time (scheduler/stack_levels.py): each offset period's profile takes the role of its
# number modulo len(EXCLUSION_ROLES), so a period keeps its id whenever it is worked out,
# and the period new at the end takes the id of the one that has just ended.
EXCLUSION_ROLES = (EXCLUSION_ROLE, 4, 5)
ROLES = (EXCLUSION_ROLE, PRIORITY_ROLE, COVER_ROLE, *EXCLUSION_ROLES[1:])


def profile_id(connector_id: int, role: int) -> int:
    """The id of our profile with `role` on `connector_id`: 1011, 1012 on connector 1, ..."""
    if connector_id < 0 or not 0 < role < 10:
        raise ValueError(f"no profile id for connector {connector_id}, role {role}")
    return _PROFILE_ID_BASE + 10 * connector_id + role


def role_of(profile_id: int) -> int:
    """Which of our profiles an id names (one of ROLES)."""
    return (profile_id - _PROFILE_ID_BASE) % 10


def is_exclusion(profile_id: int) -> bool:
    """Whether the id names an exclusion profile, of the offset period in force or a later one."""
    return role_of(profile_id) in EXCLUSION_ROLES


def managed_profile_ids(connector_id: int) -> tuple[int, ...]:
    """All ids the scheduler may install on a connector: the gateway clears those not desired."""
    return tuple(profile_id(connector_id, role) for role in ROLES)


def cover_prevails_from(profiles: Iterable[ChargingProfile]) -> datetime | None:
    """When a charger holding `profiles`, and nothing newer, falls back on the cover: once
    every other of them has ended (validTo; OCPP 1.6 §3.13.2), the exclusion profiles sent
    ahead for the offset periods to come included (each valid from where the one before
    it ends). Until then it does exactly what the rule says, after it what the cover
    allows (less, never more). None: never (no cover, or a profile above it that never
    ends)."""
    held = list(profiles)
    if not any(role_of(profile.profile_id) == COVER_ROLE for profile in held):
        return None
    ends = [profile.valid_to for profile in held if role_of(profile.profile_id) != COVER_ROLE]
    if not ends or any(end is None for end in ends):
        return None
    return max(end for end in ends if end is not None)


def _check_instant(name: str, instant: datetime | None) -> None:
    if instant is None:
        return
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name}: {instant!r} has no UTC offset")
    if instant.microsecond:
        raise ValueError(f"{name}: {instant!r} is not a whole second")


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


@dataclass(frozen=True)
class ChargingSchedulePeriod(Immutable):
    """OCPP 1.6 §7.14: from `start_period` seconds after the schedule's start, at most `limit`."""

    start_period: int
    limit: float
    number_phases: int | None = None

    def __post_init__(self) -> None:
        if self.start_period < 0:
            raise ValueError(f"start_period: {self.start_period} is negative")
        if self.limit < 0:
            raise ValueError(f"limit: {self.limit} is negative")
        # OCPP 1.6 §7.14: a limit has at most one digit after the point.
        object.__setattr__(self, "limit", round(float(self.limit), 1))


@lru_cache(maxsize=65536)
def schedule_period(
    start_period: int, limit: float, number_phases: int | None
) -> ChargingSchedulePeriod:
    """A period, made once for its values: every event read back holds a few dozen, and
    most are alike (a whole fleet's limits start on quarter hours), so followers and
    loads decoding them share the values instead of checking each again."""
    return ChargingSchedulePeriod(start_period, limit, number_phases)


@dataclass(frozen=True)
class ChargingProfile(Immutable):
    """One charging profile with its single schedule (OCPP 1.6 §7.8, §7.13)."""

    profile_id: int
    stack_level: int
    purpose: ProfilePurpose
    kind: ProfileKind
    recurrency_kind: RecurrencyKind | None
    valid_from: datetime | None
    valid_to: datetime | None
    rate_unit: RateUnit
    start_schedule: datetime | None
    duration: int | None
    periods: tuple[ChargingSchedulePeriod, ...]
    min_charging_rate: None = None
    # OCPP 2.1 ChargingScheduleType (only a 2.1 station gets them, scheduler/local_time.py):
    # with use_local_time the schedule's instants are read on the station's wall clock, so
    # start_schedule's wall-clock time counts and its offset does not (validFrom and validTo
    # are the profile's, and stay instants); randomized_delay delays each period's start
    # by a random 0 to that many seconds.
    use_local_time: bool = False
    randomized_delay: int = 0

    def __post_init__(self) -> None:
        for name in ("valid_from", "valid_to", "start_schedule"):
            _check_instant(name, getattr(self, name))
        if self.randomized_delay < 0:
            raise ValueError(f"randomized_delay: {self.randomized_delay} is negative")
        if (self.kind == "Recurring") != (self.recurrency_kind is not None):
            raise ValueError("recurrency_kind: given exactly when the kind is Recurring")
        if self.kind != "Relative" and self.start_schedule is None:
            raise ValueError(f"start_schedule: an {self.kind} schedule needs one")
        object.__setattr__(self, "periods", tuple(self.periods))
        self._check_periods()

    def _check_periods(self) -> None:
        starts = [period.start_period for period in self.periods]
        # OCPP 1.6 §7.13: the first period SHALL start at 0.
        if not starts or starts[0] != 0:
            raise ValueError("periods: the first period must start at 0")
        if any(later <= earlier for earlier, later in pairwise(starts)):
            raise ValueError("periods: start periods must increase")
        if self.duration is not None and starts[-1] >= self.duration:
            raise ValueError("periods: every period must start within the duration")

    def same_recurring_schedule(self, other: ChargingProfile) -> bool:
        """Whether `other` makes the charger do exactly what this Recurring profile does.

        A recurring profile computed a week later starts a week later: it is the same
        schedule, and sending it again would only wear the charger's flash memory.
        """
        period = RECURRENCE_SECONDS.get(self.recurrency_kind or "")
        if period is None or other.recurrency_kind != self.recurrency_kind:
            return False
        if self.start_schedule is None or other.start_schedule is None:
            return False
        if self._all_but_start() != other._all_but_start():
            return False
        return (other.start_schedule - self.start_schedule).total_seconds() % period == 0

    def _all_but_start(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "start_schedule")

    def to_dict(self) -> dict[str, Any]:
        """The shape events recorded before this value existed, and the read model, keep."""
        return {
            "profile_id": self.profile_id,
            "stack_level": self.stack_level,
            "purpose": self.purpose,
            "kind": self.kind,
            "recurrency_kind": self.recurrency_kind,
            "valid_from": _iso(self.valid_from),
            "valid_to": _iso(self.valid_to),
            "rate_unit": self.rate_unit,
            "start_schedule": _iso(self.start_schedule),
            "duration": self.duration,
            "periods": [[p.start_period, p.limit, p.number_phases] for p in self.periods],
        } | self._ocpp21_dict()

    def _ocpp21_dict(self) -> dict[str, Any]:
        """Only where set: other profiles keep the shape recorded before 2.1's fields."""
        extra: dict[str, Any] = {}
        if self.use_local_time:
            extra["use_local_time"] = True
        if self.randomized_delay:
            extra["randomized_delay"] = self.randomized_delay
        return extra

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChargingProfile:
        """From `to_dict`'s shape; ValueError, KeyError or TypeError where it does not hold."""
        return cls(
            profile_id=int(data["profile_id"]),
            stack_level=int(data["stack_level"]),
            purpose=data["purpose"],
            kind=data["kind"],
            recurrency_kind=data["recurrency_kind"],
            valid_from=_instant(data["valid_from"]),
            valid_to=_instant(data["valid_to"]),
            rate_unit=data["rate_unit"],
            start_schedule=_instant(data["start_schedule"]),
            duration=data["duration"],
            periods=tuple(
                schedule_period(int(start), float(limit), phases)
                for start, limit, phases in data["periods"]
            ),
            use_local_time=bool(data.get("use_local_time", False)),
            randomized_delay=int(data.get("randomized_delay", 0)),
        )


def stable_profiles(
    old: Iterable[ChargingProfile], new: Sequence[ChargingProfile]
) -> tuple[ChargingProfile, ...]:
    """`new`, keeping each old profile that is the same recurring schedule as its successor,
    so that a schedule recomputed a week later is not recorded (nor sent) again."""
    by_id = {profile.profile_id: profile for profile in old}
    kept = []
    for profile in new:
        previous = by_id.get(profile.profile_id)
        if previous is not None and previous.same_recurring_schedule(profile):
            kept.append(previous)
        else:
            kept.append(profile)
    return tuple(kept)


def recorded_profiles(data: Iterable[dict[str, Any]]) -> tuple[ChargingProfile, ...]:
    """Profiles as events recorded them before this value existed (plain dicts), each made
    into the value. One that does not hold (recorded past the checks by a bug) is left out
    rather than making its EVSE's delivery unloadable: the charger is then told to clear
    it, and the scheduler's next computation records what the EVSE should hold."""
    profiles = []
    for item in data:
        try:
            profiles.append(ChargingProfile.from_dict(item))
        except (ValueError, KeyError, TypeError):
            continue
    return tuple(profiles)
