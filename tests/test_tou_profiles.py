"""Charging profiles on the wire: OCPP 1.6 and 2.0.1 payloads, checked against the schemas."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from chargers.profile_payloads import format_utc, ocpp16_payload, ocpp201_payload
from domain.charging_profiles import PRIORITY_ROLE, ChargingProfile, ChargingSchedulePeriod, role_of
from domain.evse_limits import EvseLimits
from domain.exclusion_times import ExclusionWindow
from scheduler.profiles import ChargerLimits, EvseSpec, round_limit
from scheduler.tou import GroupInput, desired_profiles
from tou_strategies import charger_limits, evse_specs, groups, nows, time_zones

EXAMPLES = int(os.environ.get("TOU_EXAMPLES", 500))
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
EVSE = EvseSpec(UUID(int=1), 1, EvseLimits(16.37, 3, None))
RUNNING = GroupInput(
    "America/New_York",
    (ExclusionWindow(("mon", "sun"), 17 * 60, 21 * 60),),
    random_delay=True,
    priority_started_at=datetime(2025, 1, 15, 9, 0, tzinfo=UTC),
    priority_ends_at=datetime(2025, 1, 15, 23, 30, tzinfo=UTC),
)
NOW = datetime(2025, 1, 15, 12, 34, 56, 789, tzinfo=UTC)


def validator(version: str, name: str) -> Draft4Validator:
    """The schema shipped with the ocpp package, read the way that package reads it.

    The ocpp package parses SetChargingProfile's numbers as Decimal, because the
    1.6 schema's `multipleOf: 0.1` fails binary floats such as 16.3.
    """
    text = resources.files("ocpp").joinpath(version, "schemas", name).read_text("utf-8-sig")
    return Draft4Validator(json.loads(text, parse_float=Decimal))


OCPP16 = validator("v16", "SetChargingProfile.json")
OCPP201 = validator("v201", "SetChargingProfileRequest.json")


def as_sent(payload: dict[str, Any]) -> Any:
    """The payload after a trip through JSON, numbers as the ocpp package reads them."""
    return json.loads(json.dumps(payload), parse_float=Decimal)


def instants_in(payload: Any) -> list[str]:
    if isinstance(payload, dict):
        return [
            value
            for key, item in payload.items()
            for value in ([item] if key in ("validFrom", "validTo", "startSchedule") else [])
            + instants_in(item)
        ]
    if isinstance(payload, list):
        return [value for item in payload for value in instants_in(item)]
    return []


DEFAULT_CHARGER = ChargerLimits()


def by_role(profiles: tuple[ChargingProfile, ...]) -> dict[int, ChargingProfile]:
    return {role_of(profile.profile_id): profile for profile in profiles}


def running_profiles(charger: ChargerLimits = DEFAULT_CHARGER) -> tuple[ChargingProfile, ...]:
    return desired_profiles(RUNNING, [EVSE], charger, NOW).profiles_for(EVSE.evse_id)


@pytest.mark.parametrize("charger", [ChargerLimits(), ChargerLimits(max_periods=2)])
def test_timestamps_are_utc_with_z(charger: ChargerLimits) -> None:
    payloads = [ocpp16_payload(p, 1) for p in running_profiles(charger)]
    payloads += [ocpp201_payload(p, 1) for p in running_profiles(charger)]
    stamps = [stamp for payload in payloads for stamp in instants_in(payload)]
    assert len(stamps) >= 6
    assert all(UTC_Z.match(stamp) for stamp in stamps), stamps


def test_format_utc_converts_any_offset() -> None:
    amsterdam = datetime(2025, 7, 1, 2, 0, tzinfo=UTC).astimezone(RUNNING.zone)
    assert format_utc(amsterdam) == "2025-07-01T02:00:00Z"


def test_limits_are_multiples_of_a_tenth() -> None:
    amps = ocpp16_payload(running_profiles()[0], 1)["csChargingProfiles"]["chargingSchedule"]
    assert {period["limit"] for period in amps["chargingSchedulePeriod"]} == {0.0, 16.3}
    watts = running_profiles(ChargerLimits(rate_units=("W",)))[0]
    assert {period.limit for period in watts.periods} == {0.0, 11295.3}  # 16.37 A x 3 x 230 V
    assert round_limit(16.4) == 16.4
    assert round_limit(0.1 + 0.2) == 0.3
    assert ChargingSchedulePeriod(0, 7.25).limit == 7.2


@pytest.mark.parametrize("charger", [ChargerLimits(), ChargerLimits(max_periods=2)])
def test_payloads_validate_against_ocpp16_schema(charger: ChargerLimits) -> None:
    for profile in running_profiles(charger):
        OCPP16.validate(as_sent(ocpp16_payload(profile, EVSE.connector_id)))


@pytest.mark.parametrize("charger", [ChargerLimits(), ChargerLimits(max_periods=2)])
def test_payloads_validate_against_ocpp201_schema(charger: ChargerLimits) -> None:
    for profile in running_profiles(charger):
        OCPP201.validate(as_sent(ocpp201_payload(profile, EVSE.connector_id)))


def test_ocpp16_payload_reads_like_the_spec_example() -> None:
    exclusion = ocpp16_payload(running_profiles()[0], 3)
    assert exclusion["connectorId"] == 3
    profile = exclusion["csChargingProfiles"]
    assert profile["chargingProfileId"] == running_profiles()[0].profile_id
    assert (profile["chargingProfileKind"], profile["recurrencyKind"]) == ("Recurring", "Weekly")
    assert profile["chargingSchedule"]["chargingSchedulePeriod"][0]["startPeriod"] == 0
    assert "transactionId" not in profile
    assert "minChargingRate" not in profile["chargingSchedule"]


def test_ocpp201_schedule_is_a_list_with_an_id() -> None:
    priority = ocpp201_payload(by_role(running_profiles())[PRIORITY_ROLE], 2)
    assert priority["evseId"] == 2
    (schedule,) = priority["chargingProfile"]["chargingSchedule"]
    assert schedule["id"] == priority["chargingProfile"]["id"]
    assert priority["chargingProfile"]["validTo"] == "2025-01-15T23:30:00Z"


def make_profile(**changes: Any) -> ChargingProfile:
    fields: dict[str, Any] = {
        "profile_id": 1,
        "stack_level": 1,
        "purpose": "TxDefaultProfile",
        "kind": "Absolute",
        "recurrency_kind": None,
        "valid_from": None,
        "valid_to": None,
        "rate_unit": "A",
        "start_schedule": datetime(2025, 1, 1, tzinfo=UTC),
        "duration": None,
        "periods": (ChargingSchedulePeriod(0, 16.0), ChargingSchedulePeriod(60, 0.0)),
    }
    return ChargingProfile(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"periods": (ChargingSchedulePeriod(10, 16.0),)}, "start at 0"),
        ({"periods": ()}, "start at 0"),
        (
            {"periods": (ChargingSchedulePeriod(0, 1.0), ChargingSchedulePeriod(0, 2.0))},
            "increase",
        ),
        ({"duration": 60}, "within the duration"),
        ({"start_schedule": datetime(2025, 1, 1)}, "no UTC offset"),
        ({"valid_to": datetime(2025, 1, 1, 0, 0, 0, 5, tzinfo=UTC)}, "whole second"),
        ({"kind": "Recurring"}, "recurrency_kind"),
        ({"start_schedule": None}, "needs one"),
    ],
)
def test_a_malformed_profile_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_profile(**changes)


def test_charger_limits_are_checked() -> None:
    assert ChargerLimits(rate_units=(" w",)).rate_units == ("W",)
    for bad in ({"rate_units": ()}, {"rate_units": ("kW",)}, {"max_periods": 0}):
        with pytest.raises(ValueError):
            ChargerLimits(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="priority"):
        ChargerLimits(max_stack_level=0)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), time_zone=time_zones, evse=evse_specs(), charger=charger_limits)
def test_every_payload_validates_against_both_schemas(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone))
    for profile in desired_profiles(group, [evse], charger, now).profiles_for(evse.evse_id):
        v16 = ocpp16_payload(profile, evse.connector_id)
        v201 = ocpp201_payload(profile, evse.connector_id)
        OCPP16.validate(as_sent(v16))
        OCPP201.validate(as_sent(v201))
        assert all(UTC_Z.match(stamp) for stamp in instants_in(v16) + instants_in(v201))
        assert profile.stack_level <= charger.max_stack_level
        assert profile.start_schedule is not None
        # From now, or from where a profile sent ahead of time starts to be valid.
        begins = max(now, profile.valid_from or now)
        assert profile.start_schedule <= begins < profile.start_schedule + timedelta(days=7)
