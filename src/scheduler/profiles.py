"""Charging profiles as values, and their OCPP 1.6 / 2.0.1 wire forms.

The scheduler builds these; the gateway only renders and sends them. Nothing
here knows about groups or time zones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, Literal
from uuid import UUID

from domain.evse_limits import EvseLimits
from domain.evses import Evse

RateUnit = Literal["A", "W"]
ProfileKind = Literal["Absolute", "Recurring", "Relative"]
RecurrencyKind = Literal["Daily", "Weekly"]
ProfilePurpose = Literal["TxDefaultProfile"]

# OCPP 1.6 §7.14 / §7.13: limit and minChargingRate accept at most one digit fraction.
LIMIT_RESOLUTION = 0.1

# Profile ids are fixed per connector and role, so sending a profile again
# replaces the installed one instead of stacking a second copy next to it
# (OCPP 1.6 §3.13.2; OCPP 2.0.1 K01.FR.06 even rejects a profile with the same
# stack level and purpose but another id).
_PROFILE_ID_BASE = 1000
EXCLUSION_ROLE = 1
PRIORITY_ROLE = 2


def profile_id(connector_id: int, role: int) -> int:
    """The id of our profile with `role` on `connector_id`: 1011, 1012 on connector 1, ..."""
    if connector_id < 0 or not 0 < role < 10:
        raise ValueError(f"no profile id for connector {connector_id}, role {role}")
    return _PROFILE_ID_BASE + 10 * connector_id + role


def role_of(profile_id: int) -> int:
    """Which of our profiles an id names (EXCLUSION_ROLE or PRIORITY_ROLE)."""
    return (profile_id - _PROFILE_ID_BASE) % 10


def managed_profile_ids(connector_id: int) -> tuple[int, ...]:
    """All ids the scheduler may install on a connector: the gateway clears those not desired."""
    return (profile_id(connector_id, EXCLUSION_ROLE), profile_id(connector_id, PRIORITY_ROLE))


def round_limit(value: float) -> float:
    """Down to a multiple of 0.1, so a rounded maximum never exceeds the real one."""
    tenths = math.floor(value / LIMIT_RESOLUTION + 1e-9)
    return round(tenths * LIMIT_RESOLUTION, 1)


def format_utc(instant: datetime) -> str:
    """ISO 8601 in UTC with a Z (OCPP 1.6 §3.14 recommends UTC); whole seconds."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_instant(name: str, instant: datetime | None) -> None:
    if instant is None:
        return
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name}: {instant!r} has no UTC offset")
    if instant.microsecond:
        raise ValueError(f"{name}: {instant!r} is not a whole second")


@dataclass(frozen=True)
class ChargingSchedulePeriod:
    """OCPP 1.6 §7.14: from `start_period` seconds after the schedule's start, at most `limit`."""

    start_period: int
    limit: float
    number_phases: int | None = None

    def __post_init__(self) -> None:
        if self.start_period < 0:
            raise ValueError(f"start_period: {self.start_period} is negative")
        if self.limit < 0:
            raise ValueError(f"limit: {self.limit} is negative")
        object.__setattr__(self, "limit", round(float(self.limit), 1))

    def to_ocpp(self) -> dict[str, Any]:
        period: dict[str, Any] = {"startPeriod": self.start_period, "limit": self.limit}
        if self.number_phases is not None:
            period["numberPhases"] = self.number_phases
        return period


@dataclass(frozen=True)
class ChargingProfile:
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

    def __post_init__(self) -> None:
        for name in ("valid_from", "valid_to", "start_schedule"):
            _check_instant(name, getattr(self, name))
        if (self.kind == "Recurring") != (self.recurrency_kind is not None):
            raise ValueError("recurrency_kind: given exactly when the kind is Recurring")
        if self.kind != "Relative" and self.start_schedule is None:
            raise ValueError(f"start_schedule: an {self.kind} schedule needs one")
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

    def _schedule(self) -> dict[str, Any]:
        schedule: dict[str, Any] = {}
        if self.duration is not None:
            schedule["duration"] = self.duration
        if self.start_schedule is not None:
            schedule["startSchedule"] = format_utc(self.start_schedule)
        schedule["chargingRateUnit"] = self.rate_unit
        schedule["chargingSchedulePeriod"] = [period.to_ocpp() for period in self.periods]
        return schedule

    def _profile(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "stackLevel": self.stack_level,
            "chargingProfilePurpose": self.purpose,
            "chargingProfileKind": self.kind,
        }
        if self.recurrency_kind is not None:
            profile["recurrencyKind"] = self.recurrency_kind
        if self.valid_from is not None:
            profile["validFrom"] = format_utc(self.valid_from)
        if self.valid_to is not None:
            profile["validTo"] = format_utc(self.valid_to)
        return profile

    def to_ocpp16(self, connector_id: int) -> dict[str, Any]:
        """The SetChargingProfile.req payload: {"connectorId", "csChargingProfiles"} (§7.8)."""
        profile = {"chargingProfileId": self.profile_id, **self._profile()}
        profile["chargingSchedule"] = self._schedule()
        return {"connectorId": connector_id, "csChargingProfiles": profile}

    def to_ocpp201(self, evse_id: int) -> dict[str, Any]:
        """The 2.0.1 SetChargingProfileRequest payload: {"evseId", "chargingProfile"}.

        In 2.0.1 `chargingSchedule` is a list of schedules, each with an id; ours
        has one, numbered like the profile.
        """
        profile = {"id": self.profile_id, **self._profile()}
        profile["chargingSchedule"] = [{"id": self.profile_id, **self._schedule()}]
        return {"evseId": evse_id, "chargingProfile": profile}


@dataclass(frozen=True)
class ChargerLimits:
    """What a charger accepts (OCPP 1.6 §3.13.5 configuration keys).

    `rate_units` is ChargingScheduleAllowedChargingRateUnit, `max_periods`
    ChargingScheduleMaxPeriods, `max_stack_level` ChargeProfileMaxStackLevel.
    """

    rate_units: tuple[str, ...] = ("A", "W")
    max_periods: int = 24
    max_stack_level: int = 10

    def __post_init__(self) -> None:
        units = tuple(unit.strip().upper() for unit in self.rate_units)
        if not units or any(unit not in ("A", "W") for unit in units):
            raise ValueError(f"rate_units: {self.rate_units!r} must name A and/or W")
        object.__setattr__(self, "rate_units", units)
        if self.max_periods < 1:
            raise ValueError(f"max_periods: {self.max_periods} must be at least 1")
        if self.max_stack_level < 1:
            raise ValueError(
                f"max_stack_level: {self.max_stack_level} leaves no room for a priority profile"
            )


@dataclass(frozen=True)
class Rate:
    """The EVSE's maximum in the unit the schedule is written in."""

    unit: RateUnit
    limit: float
    number_phases: int | None


@dataclass(frozen=True)
class EvseSpec:
    evse_id: UUID
    connector_id: int
    limits: EvseLimits | None  # None: lost (see domain.evse_limits.recorded_limits)

    @classmethod
    def from_evse(cls, evse: Evse) -> EvseSpec:
        return cls(evse_id=evse.id, connector_id=evse.connector_id, limits=evse.limits)

    def rate(self, charger: ChargerLimits) -> Rate:
        """Amperes when the EVSE is rated by current and the charger takes A, else watts;
        amperes from the power when the charger takes only A (EvseLimits.max_current)."""
        limits = self.limits
        if limits is None:
            raise ValueError(f"EVSE {self.evse_id} has neither a current nor a power rating")
        if limits.max_current_a is not None and "A" in charger.rate_units:
            return Rate("A", round_limit(limits.max_current_a), limits.phases)
        if "W" in charger.rate_units:
            return Rate("W", round_limit(limits.max_power), limits.phases)
        return Rate("A", round_limit(limits.max_current), limits.phases)
