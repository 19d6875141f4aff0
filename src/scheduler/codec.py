"""Charging profiles as plain dicts, the form the domain's events keep them in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.profiles import ChargingProfile, ChargingSchedulePeriod

PERIOD_SECONDS = {"Daily": 86_400, "Weekly": 604_800}


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def profile_to_dict(profile: ChargingProfile) -> dict[str, Any]:
    return {
        "profile_id": profile.profile_id,
        "stack_level": profile.stack_level,
        "purpose": profile.purpose,
        "kind": profile.kind,
        "recurrency_kind": profile.recurrency_kind,
        "valid_from": _instant(profile.valid_from),
        "valid_to": _instant(profile.valid_to),
        "rate_unit": profile.rate_unit,
        "start_schedule": _instant(profile.start_schedule),
        "duration": profile.duration,
        "periods": [
            [period.start_period, period.limit, period.number_phases] for period in profile.periods
        ],
    }


def profile_from_dict(data: dict[str, Any]) -> ChargingProfile:
    return ChargingProfile(
        profile_id=int(data["profile_id"]),
        stack_level=int(data["stack_level"]),
        purpose=data["purpose"],
        kind=data["kind"],
        recurrency_kind=data["recurrency_kind"],
        valid_from=_parse(data["valid_from"]),
        valid_to=_parse(data["valid_to"]),
        rate_unit=data["rate_unit"],
        start_schedule=_parse(data["start_schedule"]),
        duration=data["duration"],
        periods=tuple(
            ChargingSchedulePeriod(int(start), float(limit), phases)
            for start, limit, phases in data["periods"]
        ),
    )


def same_recurring_schedule(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two Recurring profiles make the charger do exactly the same.

    A recurring profile computed a week later starts a week later: it is the same
    schedule, and sending it again would only wear the charger's flash memory.
    """
    period = PERIOD_SECONDS.get(new.get("recurrency_kind") or "")
    if period is None or old.get("recurrency_kind") != new.get("recurrency_kind"):
        return False
    rest = ("start_schedule",)
    if {k: v for k, v in old.items() if k not in rest} != {
        k: v for k, v in new.items() if k not in rest
    }:
        return False
    old_start, new_start = _parse(old["start_schedule"]), _parse(new["start_schedule"])
    if old_start is None or new_start is None:
        return False
    return (new_start - old_start).total_seconds() % period == 0


def stable(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`new`, keeping each old profile that is the same recurring schedule as its successor."""
    by_id = {profile["profile_id"]: profile for profile in old}
    kept = []
    for profile in new:
        previous = by_id.get(profile["profile_id"])
        if previous is not None and same_recurring_schedule(previous, profile):
            kept.append(previous)
        else:
            kept.append(profile)
    return kept


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
