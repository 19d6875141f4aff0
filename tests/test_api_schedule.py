"""The schedule preview over HTTP: both portals see the same coming days, in local time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from conftest import login
from mailcatcher import MailCatcher, invitation_token
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

EVENING = {
    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "start": "17:00",
    "end": "21:00",
}
KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def now() -> datetime:
    return datetime(2025, 3, 4, 10, 0, tzinfo=KOLKATA)


@pytest.fixture
def runtime(settings: Settings, database: Database, now: datetime) -> Iterator[Runtime]:
    """The service on a stopped clock: the preview starts at `now`, whatever the time of day."""
    running = Runtime(settings, database, clock=lambda: now).start()
    yield running
    running.close()


def evenings(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Every 17:00-21:00 (Kolkata) between `start` and `end`, cut where they cut it."""
    found = []
    day: date = start.astimezone(KOLKATA).date()
    while (begin := datetime.combine(day, time(17), KOLKATA)) < end:
        finish = datetime.combine(day, time(21), KOLKATA)
        if finish > start:
            found.append((max(begin, start), min(finish, end)))
        day += timedelta(days=1)
    return found


def instants(interval: dict[str, Any], side: str) -> datetime:
    """The interval's start or end, checked to be the same instant in UTC and local time."""
    utc = datetime.fromisoformat(interval[f"{side}_utc"])
    local = datetime.fromisoformat(interval[f"{side}_local"])
    assert local == utc
    assert local.utcoffset() == timedelta(hours=5, minutes=30)
    return local


@pytest.mark.parametrize(
    "now",
    [
        datetime(2025, 3, 4, 10, 0, tzinfo=KOLKATA),  # a morning: seven whole evenings ahead
        datetime(2025, 3, 4, 17, 0, tzinfo=KOLKATA),  # as an evening begins
        datetime(2025, 3, 4, 18, 40, tzinfo=KOLKATA),  # in an evening: cut at both ends
    ],
    ids=["morning", "evening-begins", "in-the-evening"],
)
def test_preview_shows_exclusions_in_local_time_for_operator_and_home_user(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher, now: datetime
) -> None:
    operator_client.post("/api/operator/users", json={"email": "kate@example.com"})
    token = invitation_token(smtp_server.wait_for("kate@example.com", "invited"))
    httpx.post(f"{server}/api/invitations/{token}/accept", json={"password": "kate-secret-1"})
    evse = operator_client.post(
        "/api/operator/evses",
        json={"charge_point_id": "CP-KATE", "connector_id": 1, "max_current_a": 32, "phases": 1},
    ).json()
    group = operator_client.post(
        "/api/operator/groups",
        json={
            "name": "Kate",
            "time_zone": "Asia/Kolkata",
            "home_user_email": "kate@example.com",
            "evse_ids": [evse["id"]],
            "exclusion_windows": [EVENING],
        },
    ).json()

    seen_by_operator = operator_client.get(f"/api/operator/groups/{group['id']}/schedule").json()
    with login(server, "kate@example.com", "kate-secret-1") as kate:
        seen_by_kate = kate.get(f"/api/me/groups/{group['id']}/schedule?days=3").json()

    intervals = seen_by_operator["evses"][0]["intervals"]
    bounds = [(instants(i, "start"), instants(i, "end")) for i in intervals]
    # The week from now, without gaps; every evening 17:00-21:00 local, the first and the
    # last cut where the week begins and ends.
    assert bounds[0][0] == now and bounds[-1][1] == now + timedelta(days=7)
    assert all(end == start for (_, end), (start, _) in pairwise(bounds))
    exclusions = [b for b, i in zip(bounds, intervals, strict=True) if i["reason"] == "exclusion"]
    assert exclusions == evenings(now, now + timedelta(days=7))
    assert {i["limit"] for i in intervals if i["reason"] == "exclusion"} == {0}
    assert {i["limit"] for i in intervals if i["reason"] == "free"} == {32}
    # Kate asked for three days: the same intervals, the last one cut at her horizon.
    *kates, kates_last = seen_by_kate["evses"][0]["intervals"]
    assert kates == intervals[: len(kates)]
    assert kates_last["start_utc"] == intervals[len(kates)]["start_utc"]
    assert instants(kates_last, "end") == now + timedelta(days=3)


def test_preview_of_another_users_group_is_not_found(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    operator_client.post("/api/operator/users", json={"email": "lee@example.com"})
    token = invitation_token(smtp_server.wait_for("lee@example.com", "invited"))
    httpx.post(f"{server}/api/invitations/{token}/accept", json={"password": "lee-secret-1"})
    other = operator_client.post(
        "/api/operator/groups", json={"name": "Not Lee's", "time_zone": "UTC"}
    ).json()

    with login(server, "lee@example.com", "lee-secret-1") as lee:
        assert lee.get(f"/api/me/groups/{other['id']}/schedule").status_code == 404
