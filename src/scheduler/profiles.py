"""What a charging profile is built for: the charger's limits and the EVSE's rate.

The profiles themselves are domain values (`domain/charging_profiles.py`); the
algorithm (`tou.py`) builds them from a group and these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from domain.charging_profiles import (
    PRIORITY_ROLE,
    ChargingProfile,
    ChargingSchedulePeriod,
    ProfilePurpose,
    RateUnit,
    profile_id,
)
from domain.evse_limits import EvseLimits
from domain.evses import Evse

# OCPP 1.6 §7.14 / §7.13: limit and minChargingRate accept at most one digit fraction.
LIMIT_RESOLUTION = 0.1


def round_limit(value: float) -> float:
    """Down to a multiple of 0.1, so a rounded maximum never exceeds the real one."""
    tenths = math.floor(value / LIMIT_RESOLUTION + 1e-9)
    return round(tenths * LIMIT_RESOLUTION, 1)


@dataclass(frozen=True)
class ChargerLimits:
    """What a charger accepts (OCPP 1.6 §3.13.5 configuration keys; 2.1's device model).

    `rate_units` is ChargingScheduleAllowedChargingRateUnit, `max_periods`
    ChargingScheduleMaxPeriods, `max_stack_level` ChargeProfileMaxStackLevel, `max_profiles`
    MaxChargingProfilesInstalled (§9.4.5; None: not known, and no bound is assumed).
    """

    rate_units: tuple[str, ...] = ("A", "W")
    max_periods: int = 24
    max_stack_level: int = 10
    # OCPP 2.1 (domain.capabilities.ChargerFeatures; scheduler/local_time.py): the zone the
    # station reads useLocalTime schedules in (None: it does not take them, or its zone is
    # unknown), and whether it takes randomizedDelay and the PriorityCharging purpose.
    local_time_zone: str | None = None
    randomized_delay: bool = False
    priority_charging: bool = False
    max_profiles: int | None = None

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
        if self.max_profiles is not None and self.max_profiles < 1:
            raise ValueError(f"max_profiles: {self.max_profiles} must be at least 1")


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


def schedule_periods(
    steps: Iterable[tuple[int, bool]], rate: Rate
) -> tuple[ChargingSchedulePeriod, ...]:
    """A period per step: 0 where it is excluded, the EVSE's maximum elsewhere."""
    return tuple(
        ChargingSchedulePeriod(second, 0.0 if excluded else rate.limit, rate.number_phases)
        for second, excluded in steps
    )


def floor_second(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(microsecond=0)


def full_power_profile(
    connector_id: int,
    rate: Rate,
    window: tuple[datetime, datetime, datetime],
    stack_level: int,
    purpose: ProfilePurpose = "TxDefaultProfile",
) -> ChargingProfile | None:
    """Full power from `started` until `ends`, `window` = (started, ends, now); None when
    less than a whole second of it is left.

    Absolute, tied to the clock; validTo ends it on the charger itself, even if the backend
    is unreachable then; validFrom is the start (in the past) so re-sending gives the same
    profile, without the gap a future validFrom would cause (OCPP 1.6 §3.13.2). Both are
    whole seconds (OCPP 1.6 §3.15 lets fractions be left out): the end rounded down, so the
    charger never charges at full power past it, into an exclusion time, say; the start
    down too, the second the user pressed the button."""
    started, ends, now = window
    start, end = floor_second(started), floor_second(ends)
    if end <= max(start, floor_second(now)):
        return None
    return ChargingProfile(
        profile_id=profile_id(connector_id, PRIORITY_ROLE),
        stack_level=stack_level,
        purpose=purpose,
        kind="Absolute",
        recurrency_kind=None,
        valid_from=start,
        valid_to=end,
        rate_unit=rate.unit,
        start_schedule=start,
        duration=int((end - start).total_seconds()),
        periods=(ChargingSchedulePeriod(0, rate.limit, rate.number_phases),),
    )
