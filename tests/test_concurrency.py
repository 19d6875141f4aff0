"""Races on real PostgreSQL: the domain rules hold when many commands arrive at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from domain.actors import Actor
from domain.errors import ConcurrentChange, EvseInAnotherGroup, GroupAlreadyHasHomeUser
from domain.evse_limits import EvseLimits
from domain.service import SmartCharging

pytestmark = pytest.mark.postgres

THREADS = 20


def race(commands: list[Callable[[], Any]]) -> list[Any]:
    """Run the commands on threads released at the same instant; return result or exception."""
    barrier = threading.Barrier(len(commands))
    results: list[Any] = [None] * len(commands)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = commands[index]()
        except Exception as error:  # collected and asserted on by the caller
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(commands))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_home_users_racing_for_one_group_exactly_one_wins(
    stored_app: SmartCharging, stored_operator: Actor
) -> None:
    group_id, _ = stored_app.groups.create_group(
        name="Home", time_zone="Europe/Amsterdam", actor=stored_operator
    )
    users = [
        stored_app.accounts.invite_home_user(f"user{i}@example.com", stored_operator)[0]
        for i in range(THREADS)
    ]

    results = race(
        [lambda u=u: stored_app.groups.add_home_user(group_id, u, stored_operator) for u in users]
    )

    winners = [u for u, r in zip(users, results, strict=True) if not isinstance(r, Exception)]
    refusals = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, GroupAlreadyHasHomeUser | ConcurrentChange) for r in refusals)
    assert stored_app.group(group_id).home_user_id == winners[0]
    added = [e for e in stored_app.events.get(group_id) if type(e).__name__ == "HomeUserAdded"]
    assert [e.user_id for e in added] == winners


def test_one_evse_assigned_to_twenty_groups_exactly_one_wins(
    stored_app: SmartCharging, stored_operator: Actor
) -> None:
    evse_id, _ = stored_app.evses.register_evse(
        "CP-RACE", 1, stored_operator, EvseLimits(max_current_a=16, phases=3)
    )
    groups = [
        stored_app.groups.create_group(name=f"Group {i}", time_zone="UTC", actor=stored_operator)[0]
        for i in range(THREADS)
    ]

    results = race(
        [lambda g=g: stored_app.evses.add_evse(g, evse_id, stored_operator) for g in groups]
    )

    winners = [g for g, r in zip(groups, results, strict=True) if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(
        isinstance(r, EvseInAnotherGroup | ConcurrentChange)
        for r in results
        if isinstance(r, Exception)
    )
    assert stored_app.evse(evse_id).group_id == winners[0]
    holding = [g for g in groups if evse_id in stored_app.group(g).evse_ids]
    assert holding == winners


def test_no_event_is_lost_when_twenty_users_edit_at_once(
    stored_app: SmartCharging, stored_operator: Actor
) -> None:
    """Twenty different groups edited concurrently: every change is stored, in order."""
    from domain.exclusion_times import parse_windows

    groups = [
        stored_app.groups.create_group(
            name=f"G{i}", time_zone="Europe/Amsterdam", actor=stored_operator
        )[0]
        for i in range(THREADS)
    ]
    windows = parse_windows([{"weekdays": ["mon"], "start": "17:00", "end": "21:00"}])

    results = race(
        [
            lambda g=g: stored_app.groups.set_exclusion_times(g, windows, stored_operator)
            for g in groups
        ]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert all(stored_app.group(g).exclusion_windows == windows for g in groups)
    notifications = stored_app.recorder.select_notifications(start=1, limit=1000)
    edits = [n for n in notifications if n.topic.endswith("ExclusionTimesSet")]
    assert sorted(n.originator_id for n in edits) == sorted(groups)
    positions = [n.id for n in notifications]
    assert positions == sorted(set(positions))


def test_concurrent_edits_of_one_group_are_all_kept(
    stored_app: SmartCharging, stored_operator: Actor
) -> None:
    """Racing renames of one group: each is retried on fresh state, none is lost."""
    group_id, _ = stored_app.groups.create_group(
        name="Start", time_zone="UTC", actor=stored_operator
    )
    names = [f"Name {i}" for i in range(THREADS)]

    results = race(
        [lambda n=n: stored_app.groups.edit_group(group_id, stored_operator, name=n) for n in names]
    )

    succeeded = [n for n, r in zip(names, results, strict=True) if not isinstance(r, Exception)]
    assert all(isinstance(r, ConcurrentChange) for r in results if isinstance(r, Exception))
    renamed = [e.name for e in stored_app.events.get(group_id) if type(e).__name__ == "Renamed"]
    assert sorted(renamed) == sorted(succeeded)
    assert stored_app.group(group_id).name == renamed[-1]


def test_windows_added_at_once_by_two_portals_are_all_kept(
    stored_app: SmartCharging, stored_operator: Actor
) -> None:
    """Adding a window reads the group's windows inside the command, so none is lost; and
    more changes at once than a command has retries do not make one of them give up."""
    from domain.exclusion_times import ExclusionWindow

    group_id, _ = stored_app.groups.create_group(
        name="Tabs", time_zone="UTC", actor=stored_operator
    )
    windows = [ExclusionWindow(("mon",), hour * 60, hour * 60 + 30) for hour in range(THREADS)]

    results = race(
        [
            lambda w=w: stored_app.groups.add_exclusion_window(group_id, w, stored_operator)
            for w in windows
        ]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(stored_app.group(group_id).exclusion_windows, key=lambda w: w.start) == windows
