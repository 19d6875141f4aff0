"""kill -9 of `smartcharge serve` while home users send commands and chargers are connected.

After a restart: every command that got a 2xx is in the event store and in the read
models, no event is projected twice, and every charger, reconnected, holds the
profiles its EVSE should hold as the event store records them.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from domain.groups import SmartChargingGroup as G
from domain.service import SmartCharging
from faults_support import (
    Home,
    KeptCharger,
    ServeProcess,
    holds_desired,
    login,
    pause,
    positions,
    seed_homes,
    until,
    window,
)
from smartcharge.database import Database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HOMES = 4
ACKS_BEFORE_KILL = 24
ACKS_AFTER_RESTART = 3  # per home user
FINAL_MINUTE = 1000  # the last edit's window starts here; the load's windows start earlier
# The event classes the @event decorator makes, which type checkers do not see.
EXCLUSION_TIMES_SET: Any = G.ExclusionTimesSet  # type: ignore[attr-defined]
PRIORITY_CHARGE_STARTED: Any = G.PriorityChargeStarted  # type: ignore[attr-defined]


@dataclass
class Sent:
    home: int
    kind: str  # "exclusion" (value: the window's start minute), "priority" (minutes), "stop"
    value: int
    status: int | None = None  # None: no answer (the service was killed or down)

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def command(home: Home, n: int) -> tuple[Sent, str, str, dict[str, Any] | None]:
    """The n-th command of a home user: edit the exclusion times, start, stop priority."""
    path = f"/api/me/groups/{home.group_id}"
    assert n < FINAL_MINUTE
    body: dict[str, Any]
    if n % 3 == 0:
        body = {"windows": [window(n)]}
        return Sent(home.index, "exclusion", n), "PUT", f"{path}/exclusion-times", body
    if n % 3 == 1:
        body = {"duration_minutes": 10 + n}
        return Sent(home.index, "priority", 10 + n), "POST", f"{path}/priority-charge", body
    return Sent(home.index, "stop", n), "DELETE", f"{path}/priority-charge", None


async def press(
    client: httpx.AsyncClient, home: Home, sent: list[Sent], stop: asyncio.Event
) -> None:
    n = 0
    while not stop.is_set():
        one, method, path, body = command(home, n)
        try:
            one.status = (await client.request(method, path, json=body)).status_code
            n += 1
        except httpx.TransportError:
            await pause(stop, 0.05)  # no answer: send the same again, as a browser would
        sent.append(one)


def acknowledged(sent: list[Sent], home: int | None = None) -> int:
    return sum(1 for s in sent if s.acknowledged and home in (None, s.home))


# --- what the event store and the read models hold ----------------------------------------


def rows(database: Database, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(database.conninfo(), row_factory=dict_row) as conn:
        return conn.execute(sql.format(schema=database.schema), params).fetchall()


def duration_minutes(started_at: Any, ends_at: Any) -> float:
    return (ends_at - started_at).total_seconds() / 60


def from_events(events: list[Any]) -> tuple[list[str], list[float]]:
    """The edits' window starts and the priority charges' minutes, as recorded."""
    edits = [
        window(e.windows[0].start)["start"] for e in events if isinstance(e, EXCLUSION_TIMES_SET)
    ]
    priorities = [
        duration_minutes(e.started_at, e.ends_at)
        for e in events
        if isinstance(e, PRIORITY_CHARGE_STARTED)
    ]
    return edits, priorities


def from_audit(audit: list[dict[str, Any]]) -> tuple[list[str], list[float]]:
    """The same, as the audit log (a read model) shows them."""
    edits = [a["new_value"][0]["start"] for a in audit if a["action"] == "exclusion_times_set"]
    priorities = [
        duration_minutes(
            *(datetime.fromisoformat(a["new_value"][k]) for k in ("started_at", "ends_at"))
        )
        for a in audit
        if a["action"] == "priority_charge_started"
    ]
    return edits, priorities


def check_home(app: SmartCharging, database: Database, home: Home, sent: list[Sent]) -> None:
    events = list(app.events.get(home.group_id))
    where = positions(app)
    audit = rows(
        database,
        'SELECT * FROM "{schema}".rm_audit_log WHERE group_id = %s ORDER BY position',
        home.group_id,
    )
    # Each of the group's events is in its audit log once, at its own position.
    assert [a["position"] for a in audit] == sorted(
        where[(e.originator_id, e.originator_version)] for e in events
    )
    edits, priorities = from_events(events)
    assert from_audit(audit) == (edits, priorities)
    for s in (s for s in sent if s.home == home.index and s.acknowledged):
        if s.kind == "exclusion":
            assert window(s.value)["start"] in edits, f"acknowledged {s} is not recorded"
        elif s.kind == "priority":
            assert s.value in priorities, f"acknowledged {s} is not recorded"
    (group,) = rows(database, 'SELECT * FROM "{schema}".rm_groups WHERE id = %s', home.group_id)
    assert group["version"] == events[-1].originator_version  # every event applied, once
    assert group["exclusion_windows"] == [
        w.to_dict() for w in app.group(home.group_id).exclusion_windows
    ]


def check_no_row_twice(database: Database) -> None:
    assert not rows(
        database,
        'SELECT position, seq FROM "{schema}".rm_audit_log GROUP BY 1, 2 HAVING count(*) > 1',
    )
    assert not rows(database, 'SELECT id FROM "{schema}".rm_groups GROUP BY id HAVING count(*) > 1')
    assert not rows(database, 'SELECT id FROM "{schema}".rm_evses GROUP BY id HAVING count(*) > 1')


# --- what the chargers hold ----------------------------------------------------------------


# --- the story ------------------------------------------------------------------------------


@dataclass
class Run:
    service: ServeProcess
    app: SmartCharging
    homes: list[Home]
    chargers: list[KeptCharger]
    clients: list[httpx.AsyncClient]
    sent: list[Sent]


async def kill_under_load_and_restart(run: Run) -> list[int]:
    """Returns, per charger, the number of its connections made before the kill."""
    stop = asyncio.Event()
    users = [
        asyncio.create_task(press(client, home, run.sent, stop))
        for client, home in zip(run.clients, run.homes, strict=True)
    ]
    await until(lambda: acknowledged(run.sent) >= ACKS_BEFORE_KILL, 60, "load before the kill")
    await asyncio.to_thread(run.service.kill)
    before = [len(charger.sessions) for charger in run.chargers]
    print(f"killed after {acknowledged(run.sent)} acknowledged commands")
    started = time.monotonic()
    await asyncio.to_thread(run.service.start)
    print(f"restarted: answering HTTP after {time.monotonic() - started:.1f} s")
    restarted_at = len(run.sent)
    await until(
        lambda: all(
            acknowledged(run.sent[restarted_at:], home.index) >= ACKS_AFTER_RESTART
            for home in run.homes
        ),
        60,
        "commands acknowledged after the restart",
    )
    stop.set()
    await asyncio.gather(*users)
    return before


async def scenario(run: Run) -> None:
    stop_chargers = asyncio.Event()
    keepers = [asyncio.create_task(c.keep_connected(stop_chargers)) for c in run.chargers]
    try:
        await until(lambda: all(c.set_profiles() for c in run.chargers), 30, "first profiles")
        before = await kill_under_load_and_restart(run)
        for client, home in zip(run.clients, run.homes, strict=True):
            last = await client.put(
                f"/api/me/groups/{home.group_id}/exclusion-times",
                json={"windows": [window(FINAL_MINUTE + home.index)]},
            )
            assert last.status_code == 200, last.text
            run.sent.append(Sent(home.index, "exclusion", FINAL_MINUTE + home.index, 200))
        started = time.monotonic()
        for home, charger, since in zip(run.homes, run.chargers, before, strict=True):
            await until(
                functools.partial(holds_desired, run.app, home, charger, since),
                30,
                f"{home.charge_point_id} holding its desired profiles",
            )
        took = time.monotonic() - started
        print(f"every charger held its desired profiles {took:.2f} s after the last edits")
    finally:
        stop_chargers.set()
        await asyncio.gather(*keepers)
        for client in run.clients:
            await client.aclose()


def test_a_killed_service_loses_no_acknowledged_command_and_chargers_get_their_profiles(
    database: Database, tmp_path: Path
) -> None:
    app = SmartCharging(env=database.eventsourcing_env())
    homes = seed_homes(app, HOMES, "kill")
    service = ServeProcess(database, tmp_path, ocpp_call_timeout="3")
    try:
        service.start()
        run = Run(
            service,
            app,
            homes,
            [KeptCharger(service.ocpp, home.charge_point_id) for home in homes],
            [login(service.http, home.email) for home in homes],
            [],
        )
        asyncio.run(scenario(run))
        answered = sum(1 for s in run.sent if s.status is not None)
        print(
            f"{len(run.sent)} commands sent, {answered} answered, "
            f"{acknowledged(run.sent)} acknowledged"
        )
        for home in homes:
            check_home(app, database, home, run.sent)
        check_no_row_twice(database)
    except BaseException:
        print(service.log_tail())
        raise
    finally:
        service.stop()
        app.close()
