"""The whole story over HTTP, against real PostgreSQL and a real SMTP server."""

from __future__ import annotations

import httpx
import pytest

from conftest import login
from mailcatcher import MailCatcher, invitation_token

pytestmark = pytest.mark.postgres

EVENING = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}
NIGHT = {"weekdays": ["sat"], "start": "23:00", "end": "07:00"}


def register_evse(client: httpx.Client, charge_point_id: str = "CP-HOME-1") -> str:
    answer = client.post(
        "/api/operator/evses",
        json={
            "charge_point_id": charge_point_id,
            "connector_id": 1,
            "max_current_a": 16,
            "phases": 3,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_operator_invites_user_who_edits_exclusion_times_that_operator_sees(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    evse_id = register_evse(operator_client)

    created = operator_client.post(
        "/api/operator/groups",
        json={
            "name": "Anna's home",
            "time_zone": "Europe/Amsterdam",
            "algorithm": "consumer_tou",
            "home_user_email": "Anna@Example.com",
            "invite_home_user": True,
            "evse_ids": [evse_id],
            "exclusion_windows": [EVENING],
        },
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["home_user"]["email"] == "anna@example.com"
    assert group["home_user"]["status"] == "invited"
    assert group["evse_ids"] == [evse_id]

    # One mail: the invitation, naming the group; its link sets the password.
    mail = smtp_server.wait_for("anna@example.com", "Anna's home")
    assert "invited" in str(mail["Subject"])
    token = invitation_token(mail)

    assert httpx.get(f"{server}/api/invitations/{token}").json()["email"] == "anna@example.com"
    accepted = httpx.post(
        f"{server}/api/invitations/{token}/accept", json={"password": "anna-secret-1"}
    )
    assert accepted.status_code == 200, accepted.text
    again = httpx.post(f"{server}/api/invitations/{token}/accept", json={"password": "other-pass"})
    assert again.status_code == 410

    with login(server, "ANNA@example.com", "anna-secret-1") as anna:
        mine = anna.get("/api/me/groups").json()
        assert [g["name"] for g in mine] == ["Anna's home"]
        edited = anna.put(
            f"/api/me/groups/{group['id']}/exclusion-times", json={"windows": [EVENING, NIGHT]}
        )
        assert edited.status_code == 200, edited.text

    seen = operator_client.get(f"/api/operator/groups/{group['id']}/exclusion-times").json()
    assert seen["windows"] == [EVENING, NIGHT]
    audit = operator_client.get(f"/api/operator/groups/{group['id']}/audit").json()
    latest = audit[0]
    assert latest["action"] == "exclusion_times_set"
    assert latest["actor_email"] == "anna@example.com"
    assert latest["actor_role"] == "home_user"
    assert latest["old_value"] == [EVENING]
    assert latest["new_value"] == [EVENING, NIGHT]


def test_second_home_user_is_refused_with_409_naming_the_first(
    operator_client: httpx.Client,
) -> None:
    for email in ("first@example.com", "second@example.com"):
        operator_client.post("/api/operator/users", json={"email": email})
    group = operator_client.post(
        "/api/operator/groups",
        json={"name": "One user", "time_zone": "UTC", "home_user_email": "first@example.com"},
    ).json()

    refused = operator_client.put(
        f"/api/operator/groups/{group['id']}/home-user", json={"email": "second@example.com"}
    )

    assert refused.status_code == 409
    assert "first@example.com" in refused.json()["detail"]
    assert refused.json()["current_home_user"]["email"] == "first@example.com"
    after = operator_client.get(f"/api/operator/groups/{group['id']}").json()
    assert after["home_user"]["email"] == "first@example.com"


def test_priority_charge_started_by_user_shows_for_operator(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    operator_client.post("/api/operator/users", json={"email": "bob@example.com"})
    token = invitation_token(smtp_server.wait_for("bob@example.com", "invited"))
    httpx.post(f"{server}/api/invitations/{token}/accept", json={"password": "bob-secret-1"})
    group = operator_client.post(
        "/api/operator/groups",
        json={"name": "Bob", "time_zone": "America/New_York", "home_user_email": "bob@example.com"},
    ).json()

    with login(server, "bob@example.com", "bob-secret-1") as bob:
        started = bob.post(
            f"/api/me/groups/{group['id']}/priority-charge", json={"duration_minutes": 45}
        )
        assert started.status_code == 200, started.text
        assert started.json()["priority_charge"] is not None

        seen = operator_client.get(f"/api/operator/groups/{group['id']}").json()
        assert seen["priority_charge"]["started_by_role"] == "home_user"

        stopped = bob.delete(f"/api/me/groups/{group['id']}/priority-charge")
        assert stopped.json()["priority_charge"] is None
    assert (
        operator_client.get(f"/api/operator/groups/{group['id']}").json()["priority_charge"] is None
    )


def test_operator_changes_the_one_time_password_and_other_sessions_end(
    server: str, operator_client: httpx.Client, operator_credentials: tuple[str, str]
) -> None:
    email, password = operator_credentials
    with login(server, email, password) as other_device:
        wrong = operator_client.post(
            "/api/auth/password",
            json={"current_password": "not-it-at-all", "new_password": "a-new-password"},
        )
        assert wrong.status_code == 422
        assert "current_password" in wrong.json()["detail"]

        changed = operator_client.post(
            "/api/auth/password",
            json={"current_password": password, "new_password": "a-new-password"},
        )

        assert changed.status_code == 204
        assert operator_client.get("/api/auth/me").status_code == 200
        assert other_device.get("/api/auth/me").status_code == 401
    old = httpx.post(f"{server}/api/auth/login", json={"email": email, "password": password})
    assert old.status_code == 401
    with login(server, email, "a-new-password") as again:
        assert again.get("/api/auth/me").json()["email"] == email


def test_a_page_of_another_site_cannot_act_with_the_session_cookie(
    server: str, operator_credentials: tuple[str, str]
) -> None:
    email, password = operator_credentials
    with httpx.Client(base_url=server) as browser:
        logged_in = browser.post("/api/auth/login", json={"email": email, "password": password})
        assert logged_in.is_success
        forged = browser.post(
            "/api/operator/users",
            json={"email": "victim@example.com"},
            headers={"Origin": "https://evil.example"},
        )
        assert forged.status_code == 403
        assert browser.get("/api/operator/users").json() == []
        own = browser.post(
            "/api/operator/users",
            json={"email": "friend@example.com"},
            headers={"Origin": server},
        )
        assert own.status_code == 201


def test_the_operator_pages_through_groups_by_name(operator_client: httpx.Client) -> None:
    names = [f"Home {letter}" for letter in "edcbagf"]
    for name in names:
        operator_client.post("/api/operator/groups", json={"name": name, "time_zone": "UTC"})

    first = operator_client.get("/api/operator/groups?limit=3").json()
    second = operator_client.get(f"/api/operator/groups?limit=3&after={first[-1]['id']}").json()
    third = operator_client.get(f"/api/operator/groups?limit=3&after={second[-1]['id']}").json()

    seen = [g["name"] for g in [*first, *second, *third]]
    assert seen == sorted(names)
    assert operator_client.get("/api/operator/groups?after=not-an-id").status_code == 422
