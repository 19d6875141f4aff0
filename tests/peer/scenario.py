"""What the gateway tests share: a registered charger, profiles, waiting on the database."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from domain.actors import Actor
from domain.charging_profiles import (
    COVER_ROLE,
    EXCLUSION_ROLE,
    PRIORITY_ROLE,
    ChargingProfile,
    ChargingSchedulePeriod,
    managed_profile_ids,
    profile_id,
)
from domain.evse_limits import EvseLimits
from smartcharge.runtime import Runtime

T = TypeVar("T")
PASSWORD = "charger-secret-0001"
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
AMSTERDAM_MONDAY = datetime(2030, 1, 7, 1, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


def register(runtime: Runtime, charge_point_id: str, connectors: int = 1) -> list[UUID]:
    """EVSEs on the charger's connectors, and its password; the read models caught up."""
    evse_ids = []
    for connector in range(1, connectors + 1):
        evse_id, _ = runtime.service.evses.register_evse(
            charge_point_id, connector, Actor.system(), EvseLimits(max_current_a=16, phases=3)
        )
        evse_ids.append(evse_id)
    position = runtime.service.chargers.set_charger_password(
        charge_point_id, PASSWORD, Actor.system()
    )
    assert runtime.context.view.wait_for(position, timeout=10)
    return evse_ids


def weekly(
    profile_id: int, stack_level: int, start: datetime, *periods: ChargingSchedulePeriod
) -> ChargingProfile:
    """A TxDefaultProfile in A at `stack_level` that repeats `periods` every week from
    `start`, valid always."""
    return ChargingProfile(
        profile_id=profile_id,
        stack_level=stack_level,
        purpose="TxDefaultProfile",
        kind="Recurring",
        recurrency_kind="Weekly",
        valid_from=None,
        valid_to=None,
        rate_unit="A",
        start_schedule=start,
        duration=604_800,
        periods=periods,
    )


def exclusion(
    connector: int = 1, limit: float = 16.0, start: datetime = AMSTERDAM_MONDAY
) -> ChargingProfile:
    """Weekly, no charging from 16 to 20 hours after `start`, `limit` A otherwise: by default
    17:00-21:00 on Mondays, the start given in Amsterdam time."""
    return weekly(
        profile_id(connector, EXCLUSION_ROLE),
        1,
        start,
        ChargingSchedulePeriod(0, limit, 3),
        ChargingSchedulePeriod(57_600, 0.0, 3),
        ChargingSchedulePeriod(72_000, limit, 3),
    )


def cover(connector: int = 1, limit: float = 16.0) -> ChargingProfile:
    """Beneath the exclusion profile: no charging 15:00-20:00 UTC on Mondays (17:00-21:00
    in Amsterdam, in summer and in winter)."""
    return weekly(
        profile_id(connector, COVER_ROLE),
        0,
        datetime(2030, 1, 7, 15, 0, tzinfo=UTC),
        ChargingSchedulePeriod(0, 0.0, 3),
        ChargingSchedulePeriod(18_000, limit, 3),
    )


def priority(connector: int = 1) -> ChargingProfile:
    start = datetime.now(UTC).replace(microsecond=0)
    return ChargingProfile(
        profile_id=profile_id(connector, PRIORITY_ROLE),
        stack_level=2,
        purpose="TxDefaultProfile",
        kind="Absolute",
        recurrency_kind=None,
        valid_from=start,
        valid_to=start + timedelta(hours=2),
        rate_unit="A",
        start_schedule=start,
        duration=7200,
        periods=(ChargingSchedulePeriod(0, 16.0, 3),),
    )


def desire(runtime: Runtime, evse_id: UUID, *profiles: ChargingProfile) -> None:
    runtime.service.deliveries.desire_profiles(evse_id, profiles, "test")


async def wait_until(check: Callable[[], T], timeout: float = 10.0) -> T:
    """Poll a condition on the database until it holds (or fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {check}")
        await asyncio.sleep(0.02)


def every_answer(status: str, **by_id: str) -> dict[str, str]:
    """An answer for each of our ids on connector 1, set or cleared: `status`, or that of
    its id in `by_id` (`every_answer("Accepted", **{"1011": "Rejected"})`)."""
    return {str(i): by_id.get(str(i), status) for i in managed_profile_ids(1)}


# Of our ids on a connector, those a delivery of the exclusion profile and the cover clears
# on a new connection: the priority profile's and those of the exclusion profiles of later
# offset periods.
CLEARED_BESIDE = len(managed_profile_ids(1)) - 2


def answers(runtime: Runtime, evse_id: UUID) -> dict[str, Any]:
    row = runtime.context.queries.evse(evse_id)
    assert row is not None
    return {k: v["status"] for k, v in row["status"]["answers"].items()}


def charger_row(runtime: Runtime, charge_point_id: str) -> dict[str, Any]:
    row = runtime.context.queries.charger(charge_point_id)
    assert row is not None
    return row


def by_profile_id(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SetChargingProfile payloads in the order of their ids: what a charger ends up holding,
    whatever order the calls came in (the gateway sets from the highest stack level down)."""

    def profile_id(payload: dict[str, Any]) -> int:
        profile = payload.get("csChargingProfiles") or payload["chargingProfile"]
        return int(profile.get("chargingProfileId", profile.get("id")))

    return sorted(payloads, key=profile_id)


def assert_wire_rules(payload: dict[str, Any]) -> None:
    """Timestamps in UTC with Z, limits in tenths, never a ChargePointMaxProfile."""
    profile = payload.get("csChargingProfiles") or payload["chargingProfile"]
    assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
    schedules = profile["chargingSchedule"]
    for schedule in schedules if isinstance(schedules, list) else [schedules]:
        assert UTC_Z.match(schedule["startSchedule"]), schedule["startSchedule"]
        for period in schedule["chargingSchedulePeriod"]:
            assert round(period["limit"] * 10) == pytest.approx(period["limit"] * 10)
    for name in ("validFrom", "validTo"):
        if name in profile:
            assert UTC_Z.match(profile[name]), profile[name]


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
