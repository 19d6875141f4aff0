"""Past one machine: two `smartcharge serve` processes on one database.

Home users' commands go through both APIs, each charger is held by one of the two
gateways; nothing is lost or recorded twice, every charger gets its profiles, and when
the process leading the scheduler is killed the other one takes the lead.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.groups import SmartChargingGroup as G
from domain.service import SmartCharging
from faults_support import (
    Home,
    KeptCharger,
    ServeProcess,
    holds_desired,
    login,
    notifications,
    seed_homes,
    until,
    wait_until,
    window,
)
from smartcharge.database import Database
from test_faults_kill import check_no_row_twice, rows

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HOMES = 4
EDITS = 12  # per home user, alternately through each API
LEADS = "this process leads the scheduler"
EXCLUSION_TIMES_SET: Any = G.ExclusionTimesSet  # type: ignore[attr-defined]


async def edit_through_both(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], home: Home, first_minute: int
) -> list[int]:
    """EDITS edits of the home user's exclusion times, every other one through each API;
    the window starts (in minutes) of those acknowledged."""
    acknowledged = []
    for n in range(EDITS):
        minute = first_minute + n
        answer = await clients[n % 2].put(
            f"/api/me/groups/{home.group_id}/exclusion-times", json={"windows": [window(minute)]}
        )
        assert answer.status_code == 200, answer.text
        acknowledged.append(minute)
    return acknowledged


def recorded_edits(app: SmartCharging, home: Home) -> list[str]:
    events = app.events.get(home.group_id)
    return [
        window(e.windows[0].start)["start"] for e in events if isinstance(e, EXCLUSION_TIMES_SET)
    ]


def check_recorded_once(
    app: SmartCharging, database: Database, home: Home, acknowledged: list[int]
) -> None:
    """Every acknowledged edit is an event once, in order, and in the read models."""
    assert recorded_edits(app, home) == [window(m)["start"] for m in acknowledged]
    (group,) = rows(database, 'SELECT * FROM "{schema}".rm_groups WHERE id = %s', home.group_id)
    assert group["exclusion_windows"] == [window(acknowledged[-1])]


def check_every_event_projected_once(app: SmartCharging, database: Database, home: Home) -> None:
    """The read models, kept by both processes, hold each of the group's events once, at its
    own position: neither follower missed one or projected one twice."""
    where = {(n.originator_id, n.originator_version): n.id for n in notifications(app)}
    events = list(app.events.get(home.group_id))
    audit = rows(
        database,
        'SELECT position FROM "{schema}".rm_audit_log WHERE group_id = %s ORDER BY position',
        home.group_id,
    )
    assert [a["position"] for a in audit] == [
        where[(e.originator_id, e.originator_version)] for e in events
    ]


def leader_of(services: list[ServeProcess]) -> ServeProcess:
    leaders = [s for s in services if LEADS in s.log_path.read_text(errors="replace")]
    assert len(leaders) == 1, "exactly one process leads the scheduler"
    return leaders[0]


async def all_hold_desired(
    app: SmartCharging, homes: list[Home], chargers: list[KeptCharger], since: list[int]
) -> None:
    for home, charger, first in zip(homes, chargers, since, strict=True):
        await until(
            functools.partial(holds_desired, app, home, charger, first),
            60,
            f"{home.charge_point_id} holding its desired profiles",
        )


async def story(
    app: SmartCharging, database: Database, homes: list[Home], services: list[ServeProcess]
) -> None:
    # Chargers spread over both gateways; home users log in at one API, use both.
    chargers = [KeptCharger(services[h.index % 2].ocpp, h.charge_point_id) for h in homes]
    clients = [(login(services[0].http, h.email), login(services[1].http, h.email)) for h in homes]
    stop = asyncio.Event()
    keepers = [asyncio.create_task(c.keep_connected(stop)) for c in chargers]
    try:
        acknowledged = await asyncio.gather(
            *(edit_through_both(c, h, 60 * h.index) for c, h in zip(clients, homes, strict=True))
        )
        await all_hold_desired(app, homes, chargers, [0] * len(homes))
        for home, minutes in zip(homes, acknowledged, strict=True):
            check_recorded_once(app, database, home, minutes)

        leader = leader_of(services)
        survivor = services[1 - services.index(leader)]
        await asyncio.to_thread(leader.kill)
        await asyncio.to_thread(
            wait_until,
            lambda: LEADS in survivor.log_path.read_text(errors="replace"),
            30,
            "the surviving process leading the scheduler",
        )
        # The killed gateway's chargers reconnect to the survivor, as behind a balancer.
        since = [len(c.sessions) - 1 for c in chargers]
        for charger in chargers:
            charger.url = survivor.ocpp
        at_survivor = [c[services.index(survivor)] for c in clients]
        for client, home in zip(at_survivor, homes, strict=True):
            answer = await client.put(
                f"/api/me/groups/{home.group_id}/exclusion-times",
                json={"windows": [window(1000 + home.index)]},
            )
            assert answer.status_code == 200, answer.text
        # Profiles for the edits made after the kill: worked out by the new leader.
        await all_hold_desired(app, homes, chargers, since)
    finally:
        stop.set()
        await asyncio.gather(*keepers)
        for pair in clients:
            for client in pair:
                await client.aclose()


def test_two_serve_processes_share_one_database_and_the_scheduler_lead_moves_on_a_kill(
    database: Database, tmp_path: Path
) -> None:
    app = SmartCharging(env=database.eventsourcing_env())
    homes = seed_homes(app, HOMES, "scale")
    services = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        services.append(ServeProcess(database, tmp_path / name, ocpp_call_timeout="3"))
    try:
        for service in services:
            service.start()
        asyncio.run(story(app, database, homes, services))
        for home in homes:
            check_every_event_projected_once(app, database, home)
        check_no_row_twice(database)
    except BaseException:
        for service in services:
            print(service.log_tail())
        raise
    finally:
        for service in services:
            service.stop()
        app.close()
