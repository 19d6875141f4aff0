"""A ChargingProfile on the wire: the SetChargingProfile payloads of OCPP 1.6, 2.0.1 and
2.1, and the value read back from a 1.6 payload (what a charger, e.g. the demo's, holds).

The value (`domain/charging_profiles.py`) knows nothing of OCPP's field names;
this is the one place that does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.charging_profiles import ChargingProfile, ChargingSchedulePeriod


def format_utc(instant: datetime) -> str:
    """ISO 8601 in UTC with a Z (OCPP 1.6 §3.14 recommends UTC); whole seconds."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _period(period: ChargingSchedulePeriod) -> dict[str, Any]:
    payload: dict[str, Any] = {"startPeriod": period.start_period, "limit": period.limit}
    if period.number_phases is not None:
        payload["numberPhases"] = period.number_phases
    return payload


def _schedule(profile: ChargingProfile) -> dict[str, Any]:
    """OCPP 1.6 §7.13 ChargingSchedule (2.0.1 adds only an id)."""
    schedule: dict[str, Any] = {}
    if profile.duration is not None:
        schedule["duration"] = profile.duration
    if profile.start_schedule is not None:
        schedule["startSchedule"] = format_utc(profile.start_schedule)
    schedule["chargingRateUnit"] = profile.rate_unit
    schedule["chargingSchedulePeriod"] = [_period(period) for period in profile.periods]
    return schedule


def _profile(profile: ChargingProfile) -> dict[str, Any]:
    """The fields OCPP 1.6 §7.8 and 2.0.1 ChargingProfileType share."""
    payload: dict[str, Any] = {
        "stackLevel": profile.stack_level,
        "chargingProfilePurpose": profile.purpose,
        "chargingProfileKind": profile.kind,
    }
    if profile.recurrency_kind is not None:
        payload["recurrencyKind"] = profile.recurrency_kind
    if profile.valid_from is not None:
        payload["validFrom"] = format_utc(profile.valid_from)
    if profile.valid_to is not None:
        payload["validTo"] = format_utc(profile.valid_to)
    return payload


class NotForThisVersion(ValueError):
    """A profile that uses what only OCPP 2.1 has (useLocalTime, randomizedDelay, the
    PriorityCharging purpose): an older charger would read it as something else, so it is
    never rendered for one (delivery records Error)."""


def _only_before_21(profile: ChargingProfile, version: str) -> None:
    if profile.use_local_time or profile.randomized_delay or profile.purpose != "TxDefaultProfile":
        raise NotForThisVersion(f"profile {profile.profile_id} needs OCPP 2.1, not {version}")


def ocpp16_payload(profile: ChargingProfile, connector_id: int) -> dict[str, Any]:
    """The SetChargingProfile.req payload: {"connectorId", "csChargingProfiles"} (§7.8)."""
    _only_before_21(profile, "1.6")
    body = {"chargingProfileId": profile.profile_id, **_profile(profile)}
    body["chargingSchedule"] = _schedule(profile)
    return {"connectorId": connector_id, "csChargingProfiles": body}


def ocpp201_payload(profile: ChargingProfile, evse_id: int) -> dict[str, Any]:
    """The 2.0.1 SetChargingProfileRequest payload: {"evseId", "chargingProfile"}.

    In 2.0.1 `chargingSchedule` is a list of schedules, each with an id; ours
    has one, numbered like the profile.
    """
    _only_before_21(profile, "2.0.1")
    body = {"id": profile.profile_id, **_profile(profile)}
    body["chargingSchedule"] = [{"id": profile.profile_id, **_schedule(profile)}]
    return {"evseId": evse_id, "chargingProfile": body}


def ocpp21_payload(profile: ChargingProfile, evse_id: int) -> dict[str, Any]:
    """The 2.1 SetChargingProfileRequest payload: 2.0.1's, and in the schedule

    - `useLocalTime` (2.1 ChargingScheduleType: "disregard time zone offset in dateTime
      fields of ChargingScheduleType and use unqualified local time at Charging Station"):
      startSchedule is then written with a Z, its digits being the local wall-clock time;
    - `randomizedDelay` ("the start of each ChargingSchedulePeriodType is delayed by a
      randomly chosen number of seconds between 0 and randomizedDelay"; only for TxProfile
      and TxDefaultProfile).
    """
    body = {"id": profile.profile_id, **_profile(profile)}
    schedule = {"id": profile.profile_id, **_schedule(profile)}
    if profile.use_local_time:
        schedule["useLocalTime"] = True
        if profile.start_schedule is not None:  # its own digits: the offset is disregarded
            schedule["startSchedule"] = profile.start_schedule.strftime("%Y-%m-%dT%H:%M:%SZ")
    if profile.randomized_delay:
        if profile.purpose != "TxDefaultProfile":
            raise NotForThisVersion("randomizedDelay is only for TxProfile and TxDefaultProfile")
        schedule["randomizedDelay"] = profile.randomized_delay
    body["chargingSchedule"] = [schedule]
    return {"evseId": evse_id, "chargingProfile": body}


def _ocpp_instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def profile_from_ocpp16(payload: dict[str, Any]) -> ChargingProfile:
    """A charger's reading of SetChargingProfile's csChargingProfiles (OCPP 1.6 §7.8)."""
    schedule = payload["chargingSchedule"]
    return ChargingProfile(
        profile_id=int(payload["chargingProfileId"]),
        stack_level=int(payload["stackLevel"]),
        purpose=payload["chargingProfilePurpose"],
        kind=payload["chargingProfileKind"],
        recurrency_kind=payload.get("recurrencyKind"),
        valid_from=_ocpp_instant(payload.get("validFrom")),
        valid_to=_ocpp_instant(payload.get("validTo")),
        rate_unit=schedule["chargingRateUnit"],
        start_schedule=_ocpp_instant(schedule.get("startSchedule")),
        duration=schedule.get("duration"),
        periods=tuple(
            ChargingSchedulePeriod(
                int(period["startPeriod"]), float(period["limit"]), period.get("numberPhases")
            )
            for period in schedule["chargingSchedulePeriod"]
        ),
    )
