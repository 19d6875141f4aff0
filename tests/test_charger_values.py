"""What a charger sends, as the domain keeps it: text cleaned, numbers in range, nonsense
capabilities replaced by the scheduler's defaults with a note saying so."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actors import SYSTEM
from domain.capabilities import (
    DEFAULT_MAX_PERIODS,
    DEFAULT_MAX_STACK_LEVEL,
    DEFAULT_RATE_UNITS,
    ChargerCapabilities,
    Reported,
)
from domain.charge_points import ChargePoint, reported_connector
from domain.charging_sessions import transaction_key
from domain.errors import InvalidInput
from domain.values import clean_text
from scheduler.profiles import ChargerLimits


def reported(periods: object = "24", units: object = "Current", stack: object = "8") -> Any:
    return ChargerCapabilities.from_charger(
        Reported("ChargingScheduleMaxPeriods", periods),
        Reported("ChargingScheduleAllowedChargingRateUnit", units),
        Reported("ChargeProfileMaxStackLevel", stack),
    )


# --- charger text ---------------------------------------------------------------------------


def test_charger_text_loses_nul_and_controls_and_keeps_the_rest() -> None:
    assert clean_text("Acme\x00 Power\x1b\x7f", 50) == "Acme Power"
    assert clean_text("  Wallbox  ", 50) == "Wallbox"
    assert clean_text(None, 50) == ""
    assert clean_text(42, 50) == "42"


def test_a_lone_utf16_half_becomes_the_replacement_character() -> None:
    assert clean_text("1.0\ud800", 50) == "1.0\ufffd"
    clean_text("\udfff" * 3, 50).encode("utf-8")  # PostgreSQL text takes it


def test_a_16_kb_value_is_cut_to_its_bound() -> None:
    assert clean_text("x" * 16_384, 50) == "x" * 50


@given(st.text(), st.integers(min_value=1, max_value=100))
def test_clean_text_fits_every_store_and_is_stable(text: str, limit: int) -> None:
    kept = clean_text(text, limit)
    assert len(kept) <= limit and "\x00" not in kept
    kept.encode("utf-8")
    assert clean_text(kept, limit) == kept


# --- numbers from chargers ------------------------------------------------------------------


def test_connector_0_is_the_charger_itself_and_1000_the_last_connector() -> None:
    assert reported_connector(0) == 0  # OCPP 1.6 §4.9: the main controller
    assert reported_connector(1000) == 1000
    for nonsense in (-1, 1001, 10**12, True, 1.0, "1", None):
        with pytest.raises(InvalidInput, match="connectorId"):
            reported_connector(nonsense)
    with pytest.raises(InvalidInput):
        reported_connector(0, whole_charger=False)  # §6.45 StartTransaction: connectorId > 0


def test_transaction_ids_are_cleaned_text_or_32_bit_numbers() -> None:
    assert transaction_key("TX\x00-7") == "TX-7"
    assert transaction_key("T" * 100) == "T" * 36
    assert transaction_key(2**31 - 1) == 2**31 - 1
    assert transaction_key(-1) == -1  # odd, but a 32-bit number: it just matches nothing
    nonsense: object
    for nonsense in (2**31, -(2**40), True, 1.5, None, {}):
        with pytest.raises(InvalidInput, match="transactionId"):
            transaction_key(nonsense)


# --- capabilities ---------------------------------------------------------------------------


def test_the_defaults_are_the_schedulers() -> None:
    limits = ChargerLimits()
    assert (
        limits.max_periods,
        limits.rate_units,
        limits.max_stack_level,
    ) == (DEFAULT_MAX_PERIODS, DEFAULT_RATE_UNITS, DEFAULT_MAX_STACK_LEVEL)


def test_sensible_capabilities_are_kept_without_notes() -> None:
    found = reported("48", "Power, Current", "8")
    assert found == ChargerCapabilities(48, ("W", "A"), 8, ())


@pytest.mark.parametrize("periods", ["-1", "0", "abc", "", "24.0", str(10**12), "9" * 5000])
def test_nonsense_periods_become_24_with_a_note(periods: str) -> None:
    found = reported(periods=periods)
    assert found.max_periods == 24
    (note,) = found.notes
    assert note.startswith("reported ChargingScheduleMaxPeriods = '") and note.endswith(
        "; using 24"
    )
    assert len(note) < 200


def test_the_issues_charger_is_noted_in_words() -> None:
    found = reported(periods="-1", stack="2147483648")
    assert (found.max_periods, found.max_stack_level) == (24, 10)
    assert found.notes == (
        "reported ChargingScheduleMaxPeriods = '-1'; using 24",
        "reported ChargeProfileMaxStackLevel = '2147483648'; using 10",
    )


def test_stack_level_0_leaves_room_for_no_priority_profile_and_becomes_1() -> None:
    found = reported(stack="0")
    assert found.max_stack_level == 1
    assert found.notes == ("reported ChargeProfileMaxStackLevel = '0'; using 1",)
    assert reported(stack="-5").max_stack_level == 10


def test_unknown_or_missing_rate_units_fall_back_with_a_note() -> None:
    assert reported(units="").rate_units == ("A", "W")
    assert reported(units="Watts").notes == (
        "reported ChargingScheduleAllowedChargingRateUnit = 'Watts'; using A,W",
    )
    assert reported(units="Current,Amps").rate_units == ("A",)
    assert reported(units=None).notes == (
        "ChargingScheduleAllowedChargingRateUnit not reported; using A,W",
    )


def test_notes_hold_no_nul_and_no_16_kb_value() -> None:
    found = reported(periods="\x00\ud800" + "x" * 16_384)
    (note,) = found.notes
    assert "\x00" not in note and len(note) < 200
    note.encode("utf-8")
    assert reported(periods=10**5000).notes == (
        "reported ChargingScheduleMaxPeriods = (a number too long to show); using 24",
    )


@given(st.one_of(st.none(), st.text(), st.integers()), st.one_of(st.none(), st.text()))
def test_whatever_is_reported_the_scheduler_can_use_it(periods: object, stack: object) -> None:
    found = reported(periods=periods, units=stack, stack=stack)
    ChargerLimits(found.rate_units, found.max_periods, found.max_stack_level)
    assert 1 <= found.max_periods <= 1024 and 1 <= found.max_stack_level <= 1000
    json.dumps(found.notes).encode("utf-8")


# --- the charger aggregate ------------------------------------------------------------------


def test_capabilities_are_recorded_once_with_their_notes() -> None:
    charger = ChargePoint.register("CP-1", "hash", SYSTEM)
    charger.report_capabilities(reported(periods="-1"), SYSTEM)
    charger.report_capabilities(reported(periods="-1"), SYSTEM)
    events = [
        e for e in charger.collect_events() if isinstance(e, ChargePoint.CapabilitiesReported)
    ]
    assert len(events) == 1
    assert events[0].notes == ["reported ChargingScheduleMaxPeriods = '-1'; using 24"]
    assert charger.capability_notes == tuple(events[0].notes)


def test_an_event_recorded_before_the_checks_still_replays_into_usable_limits() -> None:
    """Older events have no notes and may hold -1 or 2147483648 as they were sent."""
    charger = ChargePoint.register("CP-OLD", "hash", SYSTEM)
    charger._capabilities_reported(
        max_periods=-1, rate_units=[], actor=SYSTEM, max_stack_level=2147483648
    )
    (created, old) = charger.collect_events()
    state = {k: v for k, v in old.__dict__.items() if k != "notes"}
    without_notes = object.__new__(type(old))
    without_notes.__dict__.update(state)
    assert not hasattr(without_notes, "notes")

    replayed: Any = without_notes.mutate(created.mutate(None))

    assert (replayed.max_periods, replayed.rate_units, replayed.max_stack_level) == (
        24,
        ("A", "W"),
        10,
    )
    assert replayed.capability_notes == ()


def test_boot_text_is_cleaned_and_status_words_too() -> None:
    charger = ChargePoint.register("CP-1", "hash", SYSTEM)
    charger.boot("Acme\x00", "M" * 16_384, None, SYSTEM)
    charger.report_status(0, "Avail\x00able", "Weird\ud800", _now(), SYSTEM)
    booted: Any
    status: Any
    booted, status = charger.collect_events()[1:]
    assert (booted.vendor, booted.model, booted.firmware) == ("Acme", "M" * 50, "")
    assert (status.connector_id, status.status, status.error_code) == (
        0,
        "Available",
        "Weird\ufffd",
    )
    with pytest.raises(InvalidInput):
        charger.report_status(1001, "Available", None, _now(), SYSTEM)
    assert charger.collect_events() == []


def _now() -> datetime:
    return datetime(2030, 1, 7, tzinfo=UTC)


# --- how many profiles a charger keeps installed --------------------------------------------


def with_profiles(value: object) -> ChargerCapabilities:
    return ChargerCapabilities.from_charger(
        Reported("ChargingScheduleMaxPeriods", "24"),
        Reported("ChargingScheduleAllowedChargingRateUnit", "Current"),
        Reported("ChargeProfileMaxStackLevel", "8"),
        max_profiles=Reported("MaxChargingProfilesInstalled", value),
    )


def test_max_charging_profiles_installed_is_kept_when_it_makes_sense() -> None:
    assert with_profiles("3").max_profiles == 3
    assert with_profiles(" 1 ").max_profiles == 1
    assert with_profiles("3").notes == ()


@pytest.mark.parametrize("value", ["0", "-1", "abc", "3.0", "", "2147483648", True])
def test_a_nonsense_max_charging_profiles_installed_means_no_limit_with_a_note(
    value: object,
) -> None:
    found = with_profiles(value)
    assert found.max_profiles is None
    (note,) = found.notes
    assert note.startswith("reported MaxChargingProfilesInstalled = ")
    assert note.endswith("; using no limit")


def test_a_charger_that_does_not_say_how_many_profiles_it_keeps_gets_no_limit_and_no_note() -> None:
    assert (with_profiles(None).max_profiles, with_profiles(None).notes) == (None, ())
    assert reported().max_profiles is None


def test_the_profile_limit_is_recorded_and_an_event_without_it_replays_as_no_limit() -> None:
    charger = ChargePoint.register("CP-FEW", "hash", SYSTEM)
    charger.report_capabilities(with_profiles("2"), SYSTEM)
    created, found = charger.collect_events()
    assert found.max_profiles == 2
    assert charger.capabilities() == with_profiles("2")

    state = {k: v for k, v in found.__dict__.items() if k != "max_profiles"}
    older = object.__new__(type(found))
    older.__dict__.update(state)
    replayed: Any = older.mutate(created.mutate(None))
    assert replayed.max_profiles is None
    assert replayed.capabilities().max_stack_level == 8


# --- what the gateway skips -------------------------------------------------------------------

CHARGER_WORDS = st.one_of(
    st.sampled_from(["Available", "Charging", "Faulted", "ABB", "Terra AC", "1.0.0"]),
    st.text(max_size=60),
    st.none(),
    st.integers(),
)
REPORTS = st.one_of(
    st.tuples(st.just("boot"), CHARGER_WORDS, CHARGER_WORDS, CHARGER_WORDS),
    st.tuples(st.just("status"), st.integers(0, 3), CHARGER_WORDS, CHARGER_WORDS),
    st.tuples(
        st.just("capabilities"),
        st.sampled_from(["24", "5", "0"]),
        st.sampled_from(["Current", "Power"]),
        st.sampled_from(["8", "2"]),
    ),
)


@given(st.lists(REPORTS, max_size=12))
def test_the_facts_a_connection_keeps_say_what_the_charger_would_record(
    reports: list[tuple[Any, ...]],
) -> None:
    """The gateway sends no command for a report its kept facts call old: they must say
    "new" exactly when the charger's aggregate records an event for it."""
    charger = ChargePoint.register("CP-FACTS", "hash", SYSTEM)
    charger.collect_events()
    at = datetime(2026, 12, 6, tzinfo=UTC)
    for kind, *told in reports:
        facts = charger.facts()
        if kind == "boot":
            new = facts.boot_is_new(*told)
            charger.boot(*told, SYSTEM)
        elif kind == "status":
            connector, status, error = told
            new = facts.status_is_new(connector, status)
            charger.report_status(connector, status, error, at, SYSTEM)
        else:
            found = reported(*told)
            new = facts.capabilities_are_new(found)
            charger.report_capabilities(found, SYSTEM)
        assert bool(charger.collect_events()) == new, (kind, told)
