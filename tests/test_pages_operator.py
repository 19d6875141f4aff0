"""Pages of the operator portal, as plain form posts (no JavaScript): users, the group
wizard, a group's page and the EVSE registry. Refusals come back as 4xx pages in words."""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mailcatcher import MailCatcher, invitation_token
from pages_kit import PageClient, error_text, evse, group, home_user, mails_to, text
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres


@pytest.fixture
def operator(server: str, operator_credentials: tuple[str, str]) -> Iterator[PageClient]:
    client = PageClient(server)
    client.log_in(*operator_credentials)
    yield client
    client.close()


# --- Admin -> Consumer portal -> Users --------------------------------------------------------


def test_invited_user_gets_the_mail_and_is_listed(
    operator: PageClient, smtp_server: MailCatcher
) -> None:
    answer = operator.post("/operator/users", {"email": "Dora@Example.com"})

    assert answer.status_code == 303
    page = operator.follow(answer)
    assert "Invitation sent to dora@example.com." in text(page)
    assert "dora@example.com invited" in text(page)
    assert "/invitation/" in smtp_server.wait_for("dora@example.com", "invited").get_content()


def test_invalid_email_is_refused_next_to_the_form_with_the_value_kept(
    operator: PageClient,
) -> None:
    operator.get("/operator/users")

    answer = operator.post("/operator/users", {"email": "not an e-mail"})

    assert answer.status_code == 422
    assert "is not an e-mail address" in error_text(answer)
    assert 'value="not an e-mail"' in answer.text


def test_user_with_an_account_cannot_be_invited_again(
    server: str, operator: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    home_user(server, operator_client, smtp_server, "eve@example.com", "eve-secret-1")
    operator.get("/operator/users")

    answer = operator.post("/operator/users", {"email": "eve@example.com"})

    assert answer.status_code == 409
    assert "eve@example.com already has an account" in error_text(answer)


def test_invitation_is_resent_revoked_and_sent_again(
    operator: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    user_id = operator_client.post(
        "/api/operator/users", json={"email": "finn@example.com"}
    ).json()["id"]
    first = invitation_token(smtp_server.wait_for("finn@example.com", "invited"))
    operator.get("/operator/users")

    resent = operator.post(f"/operator/users/{user_id}/resend")
    assert resent.status_code == 303
    assert "A new invitation was sent to finn@example.com" in text(operator.follow(resent))
    assert len(mails_to(smtp_server, "finn@example.com", count=2)) == 2
    assert operator.get(f"/invitation/{first}").status_code == 410

    revoked = operator.post(f"/operator/users/{user_id}/revoke")
    page = operator.follow(revoked)
    assert "finn@example.com can no longer use the consumer portal." in text(page)
    assert "finn@example.com revoked" in text(page)
    invited_again = operator.follow(operator.post(f"/operator/users/{user_id}/resend"))
    assert "finn@example.com invited" in text(invited_again)


# --- the "New group" wizard ------------------------------------------------------------------


def test_wizard_without_javascript_creates_the_group_and_mails_the_user(
    server: str, operator: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    home_user(server, operator_client, smtp_server, "gina@example.com", "gina-secret-quill-1")
    evse_id = evse(operator_client, "CP-GINA")
    steps = {
        "name": "Gina's garage",
        "description": "",
        "time_zone": "Europe/Berlin",
        "algorithm": "consumer_tou",
    }

    step2 = operator.get("/operator/groups/new", params={**steps, "step": 2})
    step3 = operator.get(
        "/operator/groups/new", params={**steps, "home_user_email": "gina@example.com", "step": 3}
    )
    step4 = operator.get(
        "/operator/groups/new",
        params={**steps, "home_user_email": "gina@example.com", "evse": evse_id, "step": 4},
    )
    saved = operator.post(
        "/operator/groups/new", {**steps, "home_user_email": "gina@example.com", "evse": evse_id}
    )

    assert "Step 2: Home user" in text(step2)
    assert "Step 3: EVSEs" in text(step3)
    assert "CP-GINA / connector 1" in text(step3)
    assert "Step 4: Review and save" in text(step4)
    assert "gina@example.com active — is told by e-mail" in text(step4)
    assert saved.status_code == 303
    page = operator.follow(saved)
    assert "Group “Gina's garage” created. gina@example.com is told by e-mail." in text(page)
    assert "CP-GINA / connector 1" in text(page)
    smtp_server.wait_for("gina@example.com", "Gina's garage")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "time_zone": "UTC"}, "Name: must not be empty."),
        ({"name": "x", "time_zone": ""}, "Choose the group's time zone"),
        ({"name": "x", "time_zone": "Mars/Olympus"}, "is not a known IANA time zone"),
        ({"name": "x", "time_zone": "UTC", "algorithm": "other"}, "Choose the algorithm"),
    ],
)
def test_wizard_step_one_refuses_bad_answers_in_words(
    operator: PageClient, fields: dict[str, str], message: str
) -> None:
    answer = operator.get("/operator/groups/new", params={**fields, "step": 2})

    assert answer.status_code == 422
    assert "Step 1: Name and time zone" in text(answer)
    assert message in error_text(answer)


def test_wizard_refuses_an_operator_as_home_user(
    operator: PageClient, operator_credentials: tuple[str, str]
) -> None:
    answer = operator.get(
        "/operator/groups/new",
        params={
            "name": "x",
            "time_zone": "UTC",
            "home_user_email": operator_credentials[0],
            "step": 3,
        },
    )

    assert answer.status_code == 422
    assert "Step 2: Home user" in text(answer)
    assert "operator@example.com is an operator's account, not a home user's." in error_text(answer)
    assert 'value="operator@example.com"' in answer.text


def test_wizard_refuses_an_evse_taken_meanwhile(
    operator: PageClient, operator_client: httpx.Client
) -> None:
    evse_id = evse(operator_client, "CP-TAKEN")
    group(operator_client, "First", evse_ids=[evse_id])
    operator.get("/operator/groups/new")

    answer = operator.post(
        "/operator/groups/new", {"name": "Second", "time_zone": "UTC", "evse": evse_id}
    )

    assert answer.status_code == 422
    assert "no longer free" in error_text(answer)


# --- the group page ----------------------------------------------------------------------------


def test_second_home_user_is_refused_with_the_one_user_rule(
    operator: PageClient, operator_client: httpx.Client
) -> None:
    for email in ("first@example.com", "second@example.com"):
        operator_client.post("/api/operator/users", json={"email": email})
    group_id = group(operator_client, "One user", home_user_email="first@example.com")["id"]
    operator.get(f"/operator/groups/{group_id}")

    answer = operator.post(
        f"/operator/groups/{group_id}/home-user", {"email": "second@example.com"}
    )

    assert answer.status_code == 409
    assert error_text(answer) == (
        "A consumer-configured ToU group has exactly one home user: remove first@example.com first."
    )
    assert 'value="second@example.com"' in answer.text


def test_home_user_is_removed_and_another_added(
    operator: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    first = operator_client.post("/api/operator/users", json={"email": "hal@example.com"}).json()
    operator_client.post("/api/operator/users", json={"email": "ida@example.com"})
    group_id = group(operator_client, "Changing hands", home_user_email="hal@example.com")["id"]
    operator.get(f"/operator/groups/{group_id}")

    removed = operator.post(
        f"/operator/groups/{group_id}/home-user/remove", {"user_id": first["id"]}
    )
    added = operator.post(f"/operator/groups/{group_id}/home-user", {"email": "ida@example.com"})
    unknown = operator.post(f"/operator/groups/{group_id}/home-user", {"email": "zed@example.com"})

    assert removed.status_code == 303
    assert added.status_code == 303
    assert "Home user: ida@example.com" in text(operator.follow(added))
    assert "ida@example.com invited" in text(operator.get(f"/operator/groups/{group_id}"))
    assert unknown.status_code == 422
    assert "No home user has the e-mail zed@example.com yet" in error_text(unknown)


def test_details_are_edited_and_an_empty_name_refused(
    operator: PageClient, operator_client: httpx.Client
) -> None:
    group_id = group(operator_client, "Old name")["id"]
    operator.get(f"/operator/groups/{group_id}")

    refused = operator.post(
        f"/operator/groups/{group_id}/details",
        {"name": " ", "description": "kept text", "time_zone": "UTC"},
    )
    saved = operator.post(
        f"/operator/groups/{group_id}/details",
        {"name": "New name", "description": "By the gate", "time_zone": "Asia/Tokyo"},
    )

    assert refused.status_code == 422
    assert "Name: must not be empty." in error_text(refused)
    assert "kept text" in refused.text
    page = operator.follow(saved)
    assert "New name" in text(page)
    assert "By the gate" in text(page)
    assert "time zone Asia/Tokyo" in text(page)
    assert "Renamed “Old name” → “New name”" in text(page)


def test_evses_are_added_and_removed_and_a_taken_one_refused(
    operator: PageClient, operator_client: httpx.Client
) -> None:
    free, taken = evse(operator_client, "CP-A"), evse(operator_client, "CP-B")
    group(operator_client, "Elsewhere", evse_ids=[taken])
    group_id = group(operator_client, "Here")["id"]
    operator.get(f"/operator/groups/{group_id}")

    added = operator.post(f"/operator/groups/{group_id}/evses", {"evse_id": free})
    refused = operator.post(f"/operator/groups/{group_id}/evses", {"evse_id": taken})
    removed = operator.post(f"/operator/groups/{group_id}/evses/{free}/remove")

    assert added.status_code == 303
    assert refused.status_code == 409
    assert (
        error_text(refused)
        == "CP-B connector 1 is already in the group “Elsewhere”: remove it there first."
    )
    assert removed.status_code == 303
    assert "No EVSE in this group yet." in text(operator.follow(removed))


def test_group_page_shows_evse_status_schedule_and_audit(
    operator: PageClient, operator_client: httpx.Client, runtime: Runtime
) -> None:
    evse_id = evse(operator_client, "CP-STATUS")
    group_id = group(
        operator_client,
        "Watched",
        evse_ids=[evse_id],
        exclusion_windows=[
            {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}
        ],
    )["id"]

    page = operator.get(f"/operator/groups/{group_id}")

    assert page.status_code == 200
    assert "CP-STATUS / connector 1" in text(page)
    assert "Offline · No charging session" in text(page)
    assert "Charging profile: no charging profile to send yet" in text(page)
    assert '<svg class="schedule"' in page.text
    assert 'class="bar exclusion"' in page.text
    assert "Mon–Fri 17:00–21:00" in text(page)
    assert "Group created" in text(page)
    assert "operator@example.com (operator)" in text(page)


def test_group_list_is_searchable(operator: PageClient, operator_client: httpx.Client) -> None:
    group(operator_client, "Alpha house")
    group(operator_client, "Beta flat")

    everything = operator.get("/operator/groups")
    found = operator.get("/operator/groups", params={"q": "beta"})

    assert "Alpha house" in text(everything)
    assert "Beta flat" in text(everything)
    assert "Beta flat" in text(found)
    assert "Alpha house" not in text(found)


def test_group_is_deleted_after_a_page_that_asks_first(
    operator: PageClient, operator_client: httpx.Client
) -> None:
    group_id = group(operator_client, "Short-lived", evse_ids=[evse(operator_client, "CP-SL")])[
        "id"
    ]
    page = operator.get(f"/operator/groups/{group_id}")
    assert f'href="/operator/groups/{group_id}/delete">Delete group…' in page.text

    asked = operator.get(f"/operator/groups/{group_id}/delete")
    unconfirmed = operator.post(f"/operator/groups/{group_id}/delete")
    still_there = operator.get(f"/operator/groups/{group_id}").status_code
    answer = operator.post(f"/operator/groups/{group_id}/delete", {"confirm": "yes"})

    assert asked.status_code == 200
    assert "Delete the group “Short-lived”?" in text(asked)
    assert "CP-SL / connector 1) are free again" in text(asked)
    assert unconfirmed.status_code == 200 and "Delete the group" in text(unconfirmed)
    assert still_there == 200
    assert "Group “Short-lived” deleted" in text(operator.follow(answer))
    assert operator.get(f"/operator/groups/{group_id}").status_code == 404


# --- the EVSE registry -------------------------------------------------------------------------


def test_evse_is_registered_and_a_duplicate_refused(operator: PageClient) -> None:
    operator.get("/operator/evses")
    fields = {
        "charge_point_id": "CP-NEW",
        "connector_id": "2",
        "max_current_a": "32",
        "phases": "1",
        "max_power_w": "",
    }

    registered = operator.follow(operator.post("/operator/evses", fields))
    duplicate = operator.post("/operator/evses", fields)
    not_a_number = operator.post("/operator/evses", {**fields, "max_current_a": "lots"})

    assert "CP-NEW connector 2 is registered." in text(registered)
    assert "CP-NEW / connector 2" in text(registered)
    assert duplicate.status_code == 409
    assert "already registered" in error_text(duplicate)
    assert not_a_number.status_code == 422
    assert error_text(not_a_number) == "Maximum current: “lots” is not a number."
    assert 'value="lots"' in not_a_number.text


def test_charger_password_is_set_through_the_service(
    operator: PageClient, runtime: Runtime
) -> None:
    operator.get("/operator/evses")

    short = operator.post(
        "/operator/chargers/password", {"charge_point_id": "CP-PW", "password": "x"}
    )
    answer = operator.post(
        "/operator/chargers/password",
        {"charge_point_id": "CP-PW", "password": "a-good-long-password"},
    )

    assert short.status_code == 422
    assert error_text(short).startswith("Password:")
    assert answer.status_code == 303
    assert runtime.service.chargers.verify_charger("CP-PW", "a-good-long-password")


def test_group_list_refreshes_while_open(
    operator: PageClient, operator_client: httpx.Client
) -> None:
    first = operator.get("/operator/groups/live").json()
    group(operator_client, "Arrived meanwhile")
    changed = operator.get("/operator/groups/live", params={"since": first["signature"]})
    found = operator.get("/operator/groups/live", params={"q": "nothing like it"}).json()

    assert "Arrived meanwhile" not in first["regions"]["groups"]
    assert "Arrived meanwhile" in changed.json()["regions"]["groups"]
    assert "No group matches" in found["regions"]["groups"]
