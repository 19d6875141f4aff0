"""The consumer-configured ToU algorithm: group state and a clock in, desired profiles out.

Pure: no I/O, and `now` is always a parameter. Per EVSE it gives

- the *exclusion profile*: a TxDefaultProfile, limit 0 inside the group's
  exclusion windows and the EVSE's maximum outside. Normally Recurring Weekly;
  Recurring Daily or Absolute when the charger cannot hold that many periods.
  It ends by itself where it would stop being right (validTo): a recurring one at
  the zone's next UTC offset change, where it would be an hour off, an Absolute one
  where its periods end; the scheduler sends the next one before or then.
- a recurring one is *pre-staged*: beside it, at stack levels of their own, the
  exclusion profiles of the offset periods after it (validFrom at each change,
  validTo at the next), as many as the charger's stack levels allow
  (`stack_levels.py`), so a charger offline at a change still switches then.
- the *cover* (`cover.py`), at stack level 0, when the last exclusion profile can
  end (Absolute, or a zone with DST) while there are exclusions: what a charger
  offline past that end follows, a recurring superset of the exclusions that never
  runs out.
- the *priority profile*, while a priority charge runs: a TxDefaultProfile above
  them all, at the maximum, that ends by itself at the end time.

no more of them than the charger keeps installed (MaxChargingProfilesInstalled,
`profile_budget.py`: the periods sent ahead give way first, the cover never where it is
needed),

and `next_change`: when the scheduler must compute and send them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.charging_profiles import (
    COVER_ROLE,
    ChargingProfile,
    RecurrencyKind,
    profile_id,
)
from domain.exclusion_times import ExclusionWindow
from domain.groups import SmartChargingGroup
from domain.priority_charge import priority_charge_runs
from scheduler.cover import cover_schedule, zone_offsets
from scheduler.local_time import local_time_profiles
from scheduler.profile_budget import fitted
from scheduler.profiles import (
    ChargerLimits,
    EvseSpec,
    Rate,
    full_power_profile,
    schedule_periods,
)
from scheduler.stack_levels import StackLevels, stack_levels
from scheduler.utc_offsets import OffsetPeriod, local_midnight, local_week_start, offset_periods
from scheduler.week_pattern import DAY, WEEK, Step, WeekPattern

RANDOM_DELAY_MAX_SECONDS = 600
# An Absolute fallback looks this far ahead, and is refreshed this long before it runs out.
ABSOLUTE_HORIZON = timedelta(days=8)
ABSOLUTE_REFRESH_MARGIN = timedelta(hours=6)
# A DST night re-issues every group of a zone at the same instant, and many groups share
# their windows: each distinct pattern, and each distinct recurring profile, is worked
# out once. The cached values are immutable, so groups may share them.
PATTERN_CACHE_SIZE = 8192


def random_delay_seconds(evse_id: UUID) -> int:
    """A fixed offset in [0, 600] s for this EVSE, so EVSEs do not all start at once.

    Hashed rather than read from the uuid's bytes: uuid versions fix some bits.
    """
    digest = hashlib.sha256(evse_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") % (RANDOM_DELAY_MAX_SECONDS + 1)


@lru_cache(maxsize=PATTERN_CACHE_SIZE)
def week_pattern(windows: tuple[ExclusionWindow, ...], delay: int) -> WeekPattern:
    return WeekPattern.from_windows(windows, delay)


@dataclass(frozen=True)
class GroupInput:
    """What the algorithm needs to know about a smart charging group."""

    time_zone: str
    exclusion_windows: tuple[ExclusionWindow, ...] = ()
    random_delay: bool = False
    priority_ends_at: datetime | None = None
    priority_started_at: datetime | None = None

    def __post_init__(self) -> None:
        ZoneInfo(self.time_zone)  # fails early on an unknown zone
        object.__setattr__(self, "exclusion_windows", tuple(self.exclusion_windows))

    @classmethod
    def from_group(cls, group: SmartChargingGroup) -> GroupInput:
        priority = group.priority
        return cls(
            time_zone=group.time_zone,
            exclusion_windows=tuple(group.exclusion_windows),
            random_delay=group.random_delay,
            priority_ends_at=priority.ends_at if priority else None,
            priority_started_at=priority.started_at if priority else None,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def priority_active(self, now: datetime) -> bool:
        return priority_charge_runs(self.priority_started_at, self.priority_ends_at, now)

    def pattern_for(self, evse_id: UUID) -> WeekPattern:
        delay = random_delay_seconds(evse_id) if self.random_delay else 0
        return week_pattern(self.exclusion_windows, delay)

    def priority_changes(self, now: datetime) -> list[datetime]:
        """When the priority charge starts or ends, if that is still to come."""
        moments = (self.priority_started_at, self.priority_ends_at)
        if not priority_charge_runs(None, self.priority_ends_at, now):  # over, or none
            return []
        return [moment for moment in moments if moment is not None and moment > now]


@dataclass(frozen=True)
class DesiredSchedule:
    """The profiles each EVSE should have now, and when to compute them again.

    The profiles an EVSE does not get (the priority profile when none runs)
    should be cleared; `domain.charging_profiles.managed_profile_ids` names them all.
    """

    profiles: Mapping[UUID, tuple[ChargingProfile, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    next_change: datetime | None = None

    def profiles_for(self, evse_id: UUID) -> tuple[ChargingProfile, ...]:
        return self.profiles[evse_id]


def desired_profiles(
    group: GroupInput,
    evses: Sequence[EvseSpec],
    charger: ChargerLimits | Mapping[UUID, ChargerLimits],
    now: datetime,
) -> DesiredSchedule:
    """The desired profiles of every EVSE of `group` at `now`.

    `charger` is one set of limits for all EVSEs, or the limits per EVSE id.
    Each EVSE's profiles come in this order: the exclusion profiles, of the offset
    period in force first (left out while a priority charge takes its stack level), the
    priority profile, the cover.
    `next_change` is the earliest of: the zone's next UTC offset change (while a
    Recurring profile is in use), an Absolute profile's refresh time, and the
    priority charge's end; None if nothing is due.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now: {now!r} has no UTC offset")
    now = now.astimezone(UTC)
    profiles: dict[UUID, tuple[ChargingProfile, ...]] = {}
    changes = group.priority_changes(now)
    for evse in evses:
        limits = charger if isinstance(charger, ChargerLimits) else charger[evse.evse_id]
        profiles[evse.evse_id], change = _evse_profiles(group, evse, limits, now)
        if change is not None:
            changes.append(change)
    return DesiredSchedule(MappingProxyType(profiles), min(changes, default=None))


def _evse_profiles(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, now: datetime
) -> tuple[tuple[ChargingProfile, ...], datetime | None]:
    in_local_time = local_time_profiles(group, evse, charger, now)  # OCPP 2.1
    if in_local_time is not None:
        # One exclusion profile that never ends, and perhaps the priority: where only one
        # fits, the priority gives way (profile_budget.py).
        local, none = in_local_time
        return local[: charger.max_profiles], none
    exclusions, change = exclusion_profiles(group, evse, charger, now)
    priority = priority_profile(group, evse, charger, now) if group.priority_active(now) else None
    levels = stack_levels(charger)
    # OCPP 1.6 §3.13.2: a profile at a stack level another holds replaces it.
    shares_level = priority is not None and levels.priority == levels.exclusion
    # Without windows, a charger holding nothing charges freely, as the rule says: no cover.
    excluding = bool(group.pattern_for(evse.evse_id).excluded)
    fit = fitted(exclusions, priority, shares_level, excluding, charger.max_profiles)
    profiles = fit.exclusions + ((fit.priority,) if fit.priority is not None else ())
    if fit.cover:
        profiles += (cover_profile(group, evse, charger, now),)
    return profiles, change


def exclusion_profiles(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, now: datetime
) -> tuple[tuple[ChargingProfile, ...], datetime | None]:
    """The exclusion profiles, of the offset period in force first, and the time they must
    be replaced by.

    Without exclusion windows this is still sent, as one period at the maximum:
    it has the exclusion profile's id and stack level, so it replaces a profile
    left from earlier windows (OCPP 1.6 §3.13.2), even on a charger that was
    offline when the windows were removed; clearing would need the gateway to
    know what is installed.
    """
    pattern, zone = group.pattern_for(evse.evse_id), group.zone
    recurring = _recurring_steps(pattern, charger)
    if recurring is None:
        # In real local time already: nothing to stage (its refresh reaches further).
        absolute, refresh = absolute_exclusion_profile(pattern, zone, evse, charger, now)
        return (absolute,), refresh
    kind, steps = recurring
    levels = stack_levels(charger)
    rate = evse.rate(charger)
    # A recurring schedule repeats on a fixed UTC period (OCPP 1.6 §7.37; see the DST
    # note in §3.13.7): it matches local time only while one offset holds, so each
    # period's profile is valid from the change that begins it to the next, at its own
    # stack level; a charger offline past the last falls back on the cover.
    if len(steps) == 1:  # the same at every offset (no windows, or all day): for good
        periods: tuple[OffsetPeriod, ...] = (OffsetPeriod(0, None, None),)
    else:
        periods = offset_periods(zone, now, levels.slots)
    profiles = tuple(
        _period_exclusion(evse.connector_id, rate, levels, (kind, steps), zone, period, now)
        for period in periods
    )
    return profiles, periods[0].end


def _period_exclusion(
    connector_id: int,
    rate: Rate,
    levels: StackLevels,
    recurring: tuple[RecurrencyKind, tuple[Step, ...]],
    zone: ZoneInfo,
    period: OffsetPeriod,
    now: datetime,
) -> ChargingProfile:
    """One offset period's recurring exclusion profile, its schedule started at local
    midnight (Monday's, when Weekly) at that period's offset: from `now` for the period in
    force, from its first instant for one to come. Computed again later, the same profile
    but for a start whole weeks (days) on, which the delivery keeps as unchanged."""
    kind, steps = recurring
    at = now if period.start is None or period.start <= now else period.start
    start = local_week_start(zone, at) if kind == "Weekly" else local_midnight(zone, at)
    length = WEEK if kind == "Weekly" else DAY
    slot = levels.slot(period.number)
    return ChargingProfile(
        profile_id=levels.exclusion_id(connector_id, slot),
        stack_level=levels.exclusions[slot],
        purpose="TxDefaultProfile",
        kind="Recurring",
        recurrency_kind=kind,
        valid_from=period.start,
        valid_to=period.end,
        rate_unit=rate.unit,
        start_schedule=start,
        duration=length,
        periods=schedule_periods(steps, rate),
    )


@lru_cache(maxsize=PATTERN_CACHE_SIZE)
def _recurring_steps(
    pattern: WeekPattern, charger: ChargerLimits
) -> tuple[RecurrencyKind, tuple[Step, ...]] | None:
    """Weekly if it fits ChargingScheduleMaxPeriods, else Daily if every day is alike."""
    week = pattern.week_steps()
    if len(week) <= charger.max_periods:
        return "Weekly", tuple(week)
    if pattern.repeats_daily() and len(day := pattern.day_steps()) <= charger.max_periods:
        return "Daily", tuple(day)
    return None


def absolute_exclusion_profile(
    pattern: WeekPattern, zone: ZoneInfo, evse: EvseSpec, charger: ChargerLimits, now: datetime
) -> tuple[ChargingProfile, datetime]:
    """From now, as many periods as the charger holds, in real local time (DST included).

    Its duration ends where the next period would start, so the charger never
    applies a limit we did not mean; it must be refreshed before then. validTo ends it
    there too: the charger then falls back on the cover beneath (OCPP 1.6 §3.13.2 decides
    by validity; §5.16.4's fall back after a duration is said only of recurring ones).
    """
    start = now.replace(microsecond=0)
    horizon = int(ABSOLUTE_HORIZON.total_seconds())
    steps = pattern.steps_in_utc(zone, start, start + ABSOLUTE_HORIZON)
    covered = steps[: charger.max_periods]
    end = steps[len(covered)][0] if len(steps) > len(covered) else horizon
    rate, levels = evse.rate(charger), stack_levels(charger)
    profile = ChargingProfile(
        profile_id=levels.exclusion_id(evse.connector_id, 0),
        stack_level=levels.exclusion,
        purpose="TxDefaultProfile",
        kind="Absolute",
        recurrency_kind=None,
        valid_from=None,
        valid_to=start + timedelta(seconds=end),
        rate_unit=rate.unit,
        start_schedule=start,
        duration=end,
        periods=schedule_periods(covered, rate),
    )
    # A refresh within the last covered period always reaches further; before
    # the second period starts it would not (with one period, only `end` can).
    margin = int(ABSOLUTE_REFRESH_MARGIN.total_seconds())
    refresh = max(end - margin, covered[1][0] if len(covered) > 1 else end)
    return profile, start + timedelta(seconds=refresh)


def cover_profile(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, now: datetime
) -> ChargingProfile:
    """The cover (`cover.py`): the exclusions at every offset the zone takes in the coming
    year, in as many periods as the charger holds; the same schedule whenever computed."""
    pattern = group.pattern_for(evse.evse_id)
    schedule = cover_schedule(pattern, zone_offsets(group.zone, now), charger.max_periods)
    rate = evse.rate(charger)
    return ChargingProfile(
        profile_id=profile_id(evse.connector_id, COVER_ROLE),
        stack_level=stack_levels(charger).cover,
        purpose="TxDefaultProfile",
        kind="Recurring",
        recurrency_kind=schedule.kind,
        valid_from=None,
        valid_to=None,
        rate_unit=rate.unit,
        start_schedule=schedule.start_before(now),
        duration=schedule.length,
        periods=schedule_periods(schedule.steps, rate),
    )


def priority_profile(
    group: GroupInput, evse: EvseSpec, charger: ChargerLimits, now: datetime
) -> ChargingProfile | None:
    """Full power from the priority charge's start until its end, in whole seconds
    (`profiles.full_power_profile`); None when less than a whole second of it is left.

    Absolute rather than Relative: a Relative schedule starts with the charging
    session, which the charger decides; ours is tied to the clock. The start is rounded
    down, the second the user pressed the button: rounded up, the charge would not yet
    run when the page answers the press.
    """
    assert group.priority_ends_at is not None
    window = (group.priority_started_at or now, group.priority_ends_at, now)
    rate = evse.rate(charger)
    return full_power_profile(evse.connector_id, rate, window, stack_levels(charger).priority)
