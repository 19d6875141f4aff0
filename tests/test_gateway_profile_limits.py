"""What a charger can hold, on the wire: the scheduler and the gateway running, real
PostgreSQL and websockets, the `ocpp` library's chargers keeping their profiles as chargers
do.

- An OCPP 1.6 charger reporting MaxChargingProfilesInstalled 2 never holds more: the
  exclusion profile and the cover, and during a priority charge the priority and the cover.
- An OCPP 2.0.1 station enforcing K01.FR.06 (a profile at the stack level and purpose of
  another id is refused) whose ProfileStackLevel changes while a priority charge runs
  refuses no call, and ends up holding exactly the desired profiles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from domain.actors import Actor
from domain.exclusion_times import parse_windows
from peer.ocpp_chargers import Holding16, Installed, Session, Strict201, open_charger
from peer.scenario import PASSWORD, answers, charger_row, register, wait_until
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

EVENING = [{"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}]


@pytest.fixture
def runtime(settings: Settings, database: Database) -> Iterator[Runtime]:
    running = Runtime(settings, database).start()
    running.gateway.start()
    scheduler = running.start_scheduler()
    scheduler.leader_poll_seconds = 0.1
    assert scheduler.is_leader.wait(10)
    yield running
    running.close()


def evening_group(runtime: Runtime, evse_id: UUID) -> tuple[UUID, Actor]:
    service = runtime.service
    operator = Actor.operator(
        service.accounts.add_operator("ops@example.com", "ops-password-7", Actor.system())
    )
    group_id, _ = service.groups.create_group(
        name="Home", time_zone="Europe/Amsterdam", actor=operator, evse_ids=[evse_id]
    )
    service.groups.set_exclusion_times(group_id, parse_windows(EVENING), operator)
    return group_id, operator


def holds_exactly_the_desired(runtime: Runtime, evse_id: UUID, installed: Installed) -> bool:
    """The charger holds the desired profiles (ids and stack levels), each answered Accepted."""
    desired = runtime.service.delivery(evse_id).desired
    found = answers(runtime, evse_id)
    wanted = {str(p.profile_id) for p in desired}
    accepted = {i for i, status in found.items() if status == "Accepted"}
    return (
        installed.levels() == {p.profile_id: p.stack_level for p in desired} and wanted <= accepted
    )


def priority_held(runtime: Runtime, evse_id: UUID) -> bool:
    return any(p.profile_id % 10 == 2 for p in runtime.service.delivery(evse_id).desired)


def test_a_16_charger_keeping_two_profiles_is_sent_no_more(runtime: Runtime) -> None:
    (evse_id,) = register(runtime, "CP-FEW")
    service = runtime.service

    async def scenario() -> None:
        session = await open_charger(runtime.gateway.url, "CP-FEW", PASSWORD, kind=Holding16)
        charger = session.charger
        await charger.call(
            call16.BootNotification(charge_point_vendor="Acme", charge_point_model="M")
        )
        await wait_until(lambda: charger_row(runtime, "CP-FEW")["max_profiles"] == 2)

        group_id, operator = await asyncio.to_thread(evening_group, runtime, evse_id)
        await wait_until(lambda: len(service.delivery(evse_id).desired) == 2)
        await wait_until(lambda: holds_exactly_the_desired(runtime, evse_id, charger.installed))
        assert sorted(p.profile_id for p in service.delivery(evse_id).desired) == [1011, 1013]

        # A priority charge takes the exclusion profile's place; the cover stays beneath.
        await asyncio.to_thread(
            service.groups.start_priority_charge, group_id, operator, duration=timedelta(hours=2)
        )
        await wait_until(lambda: priority_held(runtime, evse_id))
        await wait_until(lambda: holds_exactly_the_desired(runtime, evse_id, charger.installed))
        assert sorted(charger.installed.profiles) == [1012, 1013]

        await asyncio.to_thread(service.groups.stop_priority_charge, group_id, operator)
        await wait_until(lambda: not priority_held(runtime, evse_id))
        await wait_until(lambda: holds_exactly_the_desired(runtime, evse_id, charger.installed))
        assert sorted(charger.installed.profiles) == [1011, 1013]

        assert charger.installed.refused == []
        assert charger.installed.most_held <= 2
        await session.close()

    asyncio.run(scenario())


def station(installed: Installed, stack_level: str) -> type[Strict201]:
    """The station as it comes back (after an upgrade, say): its profiles kept, its
    ProfileStackLevel `stack_level`."""
    return type("Station", (Strict201,), {"keeps": installed, "stack_level": stack_level})


async def connect_and_boot(runtime: Runtime, installed: Installed, stack_level: str) -> Session:
    session = await open_charger(
        runtime.gateway.url,
        "CS-LEVELS",
        PASSWORD,
        "ocpp2.0.1",
        kind=station(installed, stack_level),
    )
    await session.charger.call(
        call201.BootNotification(
            charging_station={"model": "Wallbox", "vendor_name": "Acme"}, reason="FirmwareUpdate"
        )
    )
    level = int(stack_level)
    await wait_until(lambda: charger_row(runtime, "CS-LEVELS")["max_stack_level"] == level)
    return session


def test_a_201_station_whose_stack_levels_change_in_a_priority_charge_refuses_no_call(
    runtime: Runtime,
) -> None:
    (evse_id,) = register(runtime, "CS-LEVELS")
    service = runtime.service
    installed = Installed(strict=True)

    async def scenario() -> None:
        session = await connect_and_boot(runtime, installed, "2")
        group_id, operator = await asyncio.to_thread(evening_group, runtime, evse_id)
        await asyncio.to_thread(
            service.groups.start_priority_charge, group_id, operator, duration=timedelta(hours=3)
        )
        await wait_until(lambda: priority_held(runtime, evse_id))
        await wait_until(lambda: holds_exactly_the_desired(runtime, evse_id, installed))
        assert installed.levels()[1012] == 2  # the priority above the one exclusion profile

        # Upgraded, with more stack levels: the periods to come are sent ahead, and the
        # priority moves above them, off the level one of them takes.
        await session.close()
        session = await connect_and_boot(runtime, installed, "10")
        await wait_until(lambda: len(service.delivery(evse_id).desired) == 5)
        await wait_until(lambda: holds_exactly_the_desired(runtime, evse_id, installed))
        assert installed.levels()[1012] == 4

        # Back to fewer: the periods sent ahead go, and the priority moves down.
        await session.close()
        session = await connect_and_boot(runtime, installed, "2")
        await wait_until(lambda: len(service.delivery(evse_id).desired) == 3)
        await wait_until(lambda: holds_exactly_the_desired(runtime, evse_id, installed))
        assert installed.levels()[1012] == 2

        assert installed.refused == []
        await session.close()

    asyncio.run(scenario())
