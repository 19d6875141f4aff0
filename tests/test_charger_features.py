"""What an OCPP 2.1 station tells of 2.1's smart-charging fields, and events from before."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chargers.v21 import capabilities_from
from domain.actors import Actor
from domain.capabilities import ChargerFeatures, known_zone
from domain.charge_points import ChargePoint

SYSTEM = Actor.system()


def result(component: str, name: str, value: object, status: str = "Accepted") -> dict[str, Any]:
    return {
        "attribute_status": status,
        "attribute_value": value,
        "component": {"name": component},
        "variable": {"name": name},
    }


def test_a_21_station_that_says_yes_gets_local_time_delay_priority_and_its_zone() -> None:
    found = capabilities_from(
        [
            result("SmartChargingCtrlr", "PeriodsPerSchedule", "48"),
            result("SmartChargingCtrlr", "SupportsUseLocalTime", "True"),
            result("SmartChargingCtrlr", "SupportsRandomizedDelay", "true"),
            result(
                "SmartChargingCtrlr",
                "SupportedAdditionalPurposes",
                "LocalGeneration,PriorityCharging",
            ),
            result("ClockCtrlr", "TimeZone", "Europe/Oslo"),
        ]
    )
    assert found.max_periods == 48
    assert found.features() == ChargerFeatures(True, True, True, "Europe/Oslo")


def test_what_a_station_does_not_know_or_says_oddly_is_a_no() -> None:
    found = capabilities_from(
        [
            result("SmartChargingCtrlr", "SupportsUseLocalTime", None, "UnknownVariable"),
            result("SmartChargingCtrlr", "SupportsRandomizedDelay", "1"),
            result("SmartChargingCtrlr", "SupportedAdditionalPurposes", "Priority"),
            # the variable's name under another component says nothing
            result("OtherCtrlr", "SupportsUseLocalTime", "true"),
            result("ClockCtrlr", "TimeZone", "+01:00"),
        ]
    )
    assert found.features() == ChargerFeatures()


@given(st.one_of(st.none(), st.text(max_size=80), st.integers(), st.booleans()))
def test_no_text_a_station_sends_becomes_a_zone_unless_zoneinfo_knows_it(value: object) -> None:
    zone = known_zone(value)
    assert zone is None or (isinstance(value, str) and zone == value.strip())


def test_features_are_recorded_with_the_capabilities_and_replayed() -> None:
    charger = ChargePoint.register("CP-21", "hash", SYSTEM)
    found = capabilities_from([result("ClockCtrlr", "TimeZone", "Europe/London")])
    charger.report_capabilities(found, SYSTEM)
    (created, reported) = charger.collect_events()
    assert reported.clock_zone == "Europe/London"
    replayed: Any = reported.mutate(created.mutate(None))
    assert replayed.capabilities() == found


def test_capabilities_recorded_before_21_replay_without_its_features() -> None:
    charger = ChargePoint.register("CP-OLD", "hash", SYSTEM)
    charger._capabilities_reported(
        max_periods=12, rate_units=["A"], actor=SYSTEM, max_stack_level=3
    )
    (created, old) = charger.collect_events()
    new_fields = ("local_time", "randomized_delay", "priority_charging", "clock_zone")
    before = object.__new__(type(old))
    before.__dict__.update({k: v for k, v in old.__dict__.items() if k not in new_fields})

    replayed: Any = before.mutate(created.mutate(None))

    assert replayed.max_periods == 12
    assert replayed.capabilities().features() == ChargerFeatures()
