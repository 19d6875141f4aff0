"""The schedule preview over HTTP: both portals see the same coming days, in local time."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from conftest import login
from mailcatcher import MailCatcher, invitation_token

pytestmark = pytest.mark.postgres

EVENING = {
    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "start": "17:00",
    "end": "21:00",
}


def test_preview_shows_exclusions_in_local_time_for_operator_and_home_user(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
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
    exclusions = [i for i in intervals if i["reason"] == "exclusion"]
    assert len(exclusions) in (7, 8)  # every evening of the coming week
    for interval in exclusions:
        start = datetime.fromisoformat(interval["start_local"])
        end = datetime.fromisoformat(interval["end_local"])
        assert start.utcoffset() == timedelta(hours=5, minutes=30)
        assert interval["limit"] == 0
        if start != datetime.fromisoformat(intervals[0]["start_local"]):
            assert (start.hour, start.minute) == (17, 0)
        assert (end.hour, end.minute) == (21, 0)
    assert {i["limit"] for i in intervals if i["reason"] == "free"} == {32}
    assert seen_by_kate["evses"][0]["intervals"][1:3] == intervals[1:3]


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
