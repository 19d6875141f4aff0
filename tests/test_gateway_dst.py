"""A DST change on the wire: an OCPP 1.6 charger (the `ocpp` library's, real websockets,
real PostgreSQL, the scheduler and the gateway running) is sent the exclusion profile for
after the change the day before, valid from the change, at a stack level above the one
that ends there; after the change it is sent only the period new at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from chargers.profile_payloads import ocpp16_payload
from domain.actors import Actor
from domain.exclusion_times import parse_windows
from peer.ocpp_chargers import open_charger
from peer.scenario import PASSWORD, answers, assert_wire_rules, register, wait_until
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

EVENING = [{"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}]
# Saturday noon; Amsterdam changes to summer time on Sunday 31 March 2030, 01:00 UTC.
SATURDAY = datetime(2030, 3, 30, 12, tzinfo=UTC)
CHANGE = "2030-03-31T01:00:00Z"


class Clock:
    """The service's time, moved by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(SATURDAY)


@pytest.fixture
def runtime(settings: Settings, database: Database, clock: Clock) -> Iterator[Runtime]:
    running = Runtime(settings, database, clock=clock).start()
    running.gateway.start()
    scheduler = running.start_scheduler()
    scheduler.leader_poll_seconds = 0.1
    assert scheduler.is_leader.wait(10)
    yield running
    running.close()


def evening_group(runtime: Runtime, charge_point_id: str) -> tuple[UUID, UUID]:
    (evse_id,) = register(runtime, charge_point_id)
    service = runtime.service
    operator = Actor.operator(
        service.accounts.add_operator("ops@example.com", "ops-password-7", Actor.system())
    )
    group_id, _ = service.groups.create_group(
        name="Home", time_zone="Europe/Amsterdam", actor=operator, evse_ids=[evse_id]
    )
    service.groups.set_exclusion_times(group_id, parse_windows(EVENING), operator)
    return group_id, evse_id


def profile_of(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["csChargingProfiles"]  # type: ignore[no-any-return]


def all_accepted(runtime: Runtime, evse_id: UUID, count: int) -> bool:
    found = answers(runtime, evse_id)
    return len(found) == count and set(found.values()) == {"Accepted"}


def test_a_16_charger_gets_the_profile_for_after_the_dst_change_the_day_before(
    runtime: Runtime, clock: Clock
) -> None:
    group_id, evse_id = evening_group(runtime, "CP-DST")
    service = runtime.service

    async def scenario() -> None:
        # The exclusion profiles of this offset period and the two after it, and the cover.
        await wait_until(lambda: len(service.delivery(evse_id).desired) == 4)
        desired = service.delivery(evse_id).desired
        session = await open_charger(runtime.gateway.url, "CP-DST", PASSWORD)
        sent = await session.charger.expect_set_profiles(4)
        assert sorted(map(str, sent)) == sorted(str(ocpp16_payload(p, 1)) for p in desired)
        for payload in sent:
            assert_wire_rules(payload)
        ending = next(profile_of(p) for p in sent if profile_of(p).get("validTo") == CHANGE)
        after = next(profile_of(p) for p in sent if profile_of(p).get("validFrom") == CHANGE)
        assert after["stackLevel"] > ending["stackLevel"]
        assert after["chargingProfileId"] != ending["chargingProfileId"]
        # Monday 00:00 CEST, an hour earlier in UTC than Monday 00:00 CET.
        assert after["chargingSchedule"]["startSchedule"] == "2030-03-24T22:00:00Z"
        assert ending["chargingSchedule"]["startSchedule"] == "2030-03-24T23:00:00Z"
        await wait_until(lambda: all_accepted(runtime, evse_id, 5))  # and 1012 cleared

        # Past the change, the scheduler works it out again: of the profile just ended's id
        # and stack level, the period after the last one sent; nothing else is sent.
        before = len(session.charger.log)
        clock.now = datetime(2030, 3, 31, 1, 0, 30, tzinfo=UTC)
        await asyncio.to_thread(runtime.scheduler.recompute, group_id, "the DST change")
        new = profile_of(await session.charger.expect("SetChargingProfile"))
        assert (new["validFrom"], new["validTo"]) == (
            "2031-03-30T01:00:00Z",
            "2031-10-26T01:00:00Z",
        )
        assert (new["chargingProfileId"], new["stackLevel"]) == (
            ending["chargingProfileId"],
            ending["stackLevel"],
        )
        await wait_until(lambda: all_accepted(runtime, evse_id, 4))
        assert [received.action for received in session.charger.log[before:]] == [
            "SetChargingProfile"
        ]
        await session.close()

    asyncio.run(scenario())
