"""ChargerCapabilities: what a charger says a charging profile may hold, made safe to use.

Chargers report these limits as text (OCPP 1.6 §9.4 configuration keys; 2.0.1
SmartChargingCtrlr variables), and real firmware reports nonsense: -1, 0,
"abc", 10^12, 2147483648, an empty unit list. A value that makes no sense is
never refused (the charger must keep being served) and never passed on (the
read models hold PostgreSQL integers; the scheduler needs at least one period
and one stack level): it is replaced by the value the scheduler assumes when a
charger says nothing, and a note says so, for the operator to see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.immutable import Immutable
from domain.values import clean_text

# The scheduler's assumptions for a charger that reports nothing (scheduler.profiles.
# ChargerLimits; a test keeps the two in step): 24 periods is what most chargers
# hold (a schedule per hour of a day); stack levels 1 and 2 are all the ToU
# algorithm uses, and 10 is a common firmware default.
DEFAULT_MAX_PERIODS = 24
DEFAULT_MAX_STACK_LEVEL = 10
DEFAULT_RATE_UNITS = ("A", "W")

# The most a charger can plausibly mean. OCPP 2.0.1's schema caps a schedule at
# 1024 periods (SetChargingProfileRequest, chargingSchedulePeriod maxItems); a
# 1.6 charger claiming more reports a sentinel or garbage, not memory it has.
MAX_PERIODS = 1024
# ChargeProfileMaxStackLevel is also the number of profiles the charger keeps per
# purpose (OCPP 1.6 §9.4.1): beyond a thousand that is no real charger's memory.
MAX_STACK_LEVEL = 1000
# MaxChargingProfilesInstalled (OCPP 1.6 §9.4.5; 2.0.1 SmartChargingCtrlr.Entries for
# ChargingProfiles): a charger holding none cannot be scheduled, and beyond this no firmware
# keeps that many. Not reported, or nonsense, is None: no limit known, as before it was read.
MAX_PROFILES = 10_000

# OCPP 1.6 §9.4.2 names the units 'Current' and 'Power'; 2.0.1's RateUnit says 'A' and 'W'.
RATE_UNIT_WORDS = {"current": "A", "power": "W", "a": "A", "w": "W"}
MAX_ZONE_NAME = 64  # the longest IANA name is 32 characters
NOTE_VALUE_LENGTH = 40  # how much of a nonsense value a note repeats
MAX_NOTE = 200


@dataclass(frozen=True)
class Reported:
    """One limit as the charger reported it: its key (in the charger's OCPP version's
    words) and its raw value, None when the charger did not report the key."""

    key: str
    value: object


@dataclass(frozen=True)
class ChargerCapabilities:
    """The limits the scheduler uses, each within its range, and notes on what was replaced.

    The last four only an OCPP 2.1 station tells (its device model); every other charger,
    and every event recorded before they were kept, has the defaults: no local time, no
    randomized delay, no PriorityCharging purpose, no clock zone known. `max_profiles` is
    the most profiles the charger keeps installed at a time; None where it did not say (or
    said nonsense), and in every event recorded before it was read.
    """

    max_periods: int = DEFAULT_MAX_PERIODS
    rate_units: tuple[str, ...] = DEFAULT_RATE_UNITS
    max_stack_level: int = DEFAULT_MAX_STACK_LEVEL
    notes: tuple[str, ...] = ()
    local_time: bool = False  # SmartChargingCtrlr.SupportsUseLocalTime
    randomized_delay: bool = False  # SmartChargingCtrlr.SupportsRandomizedDelay
    priority_charging: bool = False  # PriorityCharging in SupportedAdditionalPurposes
    clock_zone: str | None = None  # ClockCtrlr.TimeZone, an IANA name we know
    max_profiles: int | None = None  # MaxChargingProfilesInstalled

    @classmethod
    def from_charger(
        cls,
        max_periods: Reported,
        rate_units: Reported,
        max_stack_level: Reported,
        features: ChargerFeatures | None = None,
        max_profiles: Reported | None = None,
    ) -> ChargerCapabilities:
        notes: list[str] = []
        found = features or ChargerFeatures()
        return cls(
            max_periods=_count(max_periods, 1, MAX_PERIODS, DEFAULT_MAX_PERIODS, notes),
            rate_units=_units(rate_units, notes),
            max_stack_level=_stack_level(max_stack_level, notes),
            max_profiles=_profiles(max_profiles, notes),
            notes=tuple(notes),
            local_time=found.local_time,
            randomized_delay=found.randomized_delay,
            priority_charging=found.priority_charging,
            clock_zone=found.clock_zone,
        )

    def with_notes(self, notes: Iterable[str]) -> ChargerCapabilities:
        return replace(self, notes=tuple(notes))

    def features(self) -> ChargerFeatures:
        return ChargerFeatures(
            self.local_time, self.randomized_delay, self.priority_charging, self.clock_zone
        )

    @classmethod
    def recorded(
        cls,
        max_periods: object,
        rate_units: Iterable[str],
        max_stack_level: object,
        features: ChargerFeatures | None = None,
        max_profiles: object = None,
    ) -> ChargerCapabilities:
        """Usable limits from a CapabilitiesReported event, also one recorded before these
        checks existed (which may hold -1 or 2147483648): what was missing or out of range
        becomes the default, as it would be today."""
        return cls.from_charger(
            Reported("max_periods", max_periods),
            Reported("rate_units", ",".join(str(unit) for unit in rate_units) or None),
            Reported("max_stack_level", max_stack_level),
            features,
            Reported("max_profiles", max_profiles),
        )


@dataclass(frozen=True)
class ChargerFeatures(Immutable):
    """What an OCPP 2.1 station says of the 2.1 smart-charging fields (Part 2, appendix
    SmartChargingCtrlr; ClockCtrlr.TimeZone), read strictly: only a real "true" is a yes,
    and only a zone name zoneinfo knows is a zone."""

    local_time: bool = False
    randomized_delay: bool = False
    priority_charging: bool = False
    clock_zone: str | None = None

    @classmethod
    def from_station(
        cls,
        local_time: object,
        randomized_delay: object,
        purposes: object,
        clock_zone: object,
    ) -> ChargerFeatures:
        return cls(
            local_time=_yes(local_time),
            randomized_delay=_yes(randomized_delay),
            priority_charging="PriorityCharging" in _members(purposes),
            clock_zone=known_zone(clock_zone),
        )


def _yes(value: object) -> bool:
    """2.0.1 Part 2 §2.6: a boolean's value is "true" or "false" (case-insensitive)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _members(value: object) -> set[str]:
    """A MemberList: comma-separated (2.0.1 Part 2 §2.6)."""
    return {word.strip() for word in value.split(",")} if isinstance(value, str) else set()


def known_zone(value: object) -> str | None:
    """An IANA zone name zoneinfo knows ("Europe/Oslo"), else None: a station's free text
    ("CET", "+01:00", "", 300 characters) never becomes a zone we schedule in."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ZONE_NAME:
        return None
    name = value.strip()
    if not name or not name.isascii() or name.startswith("/") or ".." in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _shown(value: object) -> str:
    text = clean_text(value, NOTE_VALUE_LENGTH)
    return repr(text) if isinstance(value, str) else text


def _note(notes: list[str], reported: Reported, using: str) -> None:
    if reported.value is None:
        said = f"{clean_text(reported.key, 50)} not reported"
    else:
        said = f"reported {clean_text(reported.key, 50)} = {_shown(reported.value)}"
    notes.append(f"{said}; using {using}"[:MAX_NOTE])


def _whole_number(value: object) -> int | None:
    """The charger's number, read strictly: '24' or 24, not '24.0', 'abc' or True."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    digits = text.removeprefix("-").removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        return None  # a 20-digit number is no capability, and int() of 5000 digits is slow
    return int(text)


def _count(reported: Reported, lowest: int, highest: int, default: int, notes: list[str]) -> int:
    number = _whole_number(reported.value)
    if number is not None and lowest <= number <= highest:
        return number
    _note(notes, reported, str(default))
    return default


def _stack_level(reported: Reported, notes: list[str]) -> int:
    """0 is a real answer (one profile per purpose, OCPP 1.6 §9.4.1), but the ToU algorithm
    needs a level above its exclusion profile for the priority charge: 1 comes closest."""
    if _whole_number(reported.value) == 0:
        _note(notes, reported, "1")
        return 1
    return _count(reported, 1, MAX_STACK_LEVEL, DEFAULT_MAX_STACK_LEVEL, notes)


def _profiles(reported: Reported | None, notes: list[str]) -> int | None:
    """How many profiles the charger keeps installed, or None: not said (1.6 §9.4.5 makes the
    key required, but firmware leaves it out, and 2.0.1 stations rarely report it), or
    nonsense (noted). None keeps what the scheduler did before this was read."""
    if reported is None or reported.value is None:
        return None
    number = _whole_number(reported.value)
    if number is not None and 1 <= number <= MAX_PROFILES:
        return number
    _note(notes, reported, "no limit")
    return None


def _units(reported: Reported, notes: list[str]) -> tuple[str, ...]:
    """A comma-separated list of units (OCPP 1.6 §9.4.2); unknown words are left out."""
    words = reported.value.split(",") if isinstance(reported.value, str) else []
    known = [RATE_UNIT_WORDS.get(word.strip().lower()) for word in words if word.strip()]
    units = tuple(dict.fromkeys(unit for unit in known if unit is not None))
    if units and None not in known:
        return units
    using = ",".join(units or DEFAULT_RATE_UNITS)
    _note(notes, reported, using)
    return units or DEFAULT_RATE_UNITS
