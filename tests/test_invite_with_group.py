"""A new home user is invited where the group is made or changed: the wizard, the group page
and the JSON API invite an e-mail without an account in the same save, and that user gets
one mail, the invitation naming the group, whose link sets the password. The group page
resends a pending invitation (the old link stops working) or says why it cannot."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.actors import Actor
from domain.errors import EmailAlreadyRegistered, InvalidInput
from domain.service import SmartCharging
from domain.users import Invitation, user_id_for
from mailcatcher import MailCatcher, invitation_token
from pages_kit import PageClient, error_text, home_user, text

# --- the command service -------------------------------------------------------------------


def events_of(app: SmartCharging) -> list[Any]:
    return [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=1, limit=10_000)
    ]


def test_a_group_made_for_a_new_email_invites_it_in_the_same_save(
    app: SmartCharging, operator: Actor
) -> None:
    group_id, position = app.groups.create_group(
        name="Nora's home", time_zone="Europe/Oslo", actor=operator, invite_email="Nora@Example.com"
    )

    user = app.user(user_id_for("nora@example.com"))
    assert app.group(group_id).home_user_id == user.id
    assert user.status == "invited" and user.invitation_id is not None
    issued = app.load(Invitation, user.invitation_id, "invitation")
    assert issued.email == "nora@example.com"
    events = events_of(app)
    assert position == len(events)  # one save: group, account and invitation together
    (added,) = [e for e in events if type(e).__name__ == "HomeUserAdded"]
    assert added.invited is True
    (invitation,) = [e for e in events if isinstance(e, Invitation.Issued)]
    assert invitation.group_name == "Nora's home"


def test_a_known_home_user_is_added_without_a_new_invitation(
    app: SmartCharging, operator: Actor
) -> None:
    _, token = app.accounts.invite_home_user("olga@example.com", operator)
    olga = app.accounts.accept_invitation(token, "violet-harbour-lantern-42")
    app.accounts.invite_home_user("pia@example.com", operator)

    app.groups.create_group(
        name="Olga", time_zone="UTC", actor=operator, invite_email="olga@example.com"
    )
    app.groups.create_group(
        name="Pia", time_zone="UTC", actor=operator, invite_email="pia@example.com"
    )

    events = events_of(app)
    assert len([e for e in events if isinstance(e, Invitation.Issued)]) == 2  # the first two only
    added = {e.user_id: e.invited for e in events if type(e).__name__ == "HomeUserAdded"}
    assert added == {olga: False, user_id_for("pia@example.com"): True}


def test_an_operator_or_a_revoked_account_is_refused_and_nothing_is_stored(
    app: SmartCharging, operator: Actor
) -> None:
    app.accounts.add_operator("ops@example.com", "violet-harbour-lantern-42", operator)
    revoked, _ = app.accounts.invite_home_user("rex@example.com", operator)
    app.accounts.revoke_user(revoked, operator)
    before = len(events_of(app))

    for email in ("ops@example.com", "rex@example.com"):
        with pytest.raises(InvalidInput):
            app.groups.create_group(name="x", time_zone="UTC", actor=operator, invite_email=email)

    assert len(events_of(app)) == before


def test_the_group_page_invites_into_an_existing_group(app: SmartCharging, operator: Actor) -> None:
    group_id, _ = app.groups.create_group(name="Quinn", time_zone="UTC", actor=operator)

    app.groups.invite_home_user(group_id, "quinn@example.com", operator)

    user = app.user(user_id_for("quinn@example.com"))
    assert app.group(group_id).home_user_id == user.id
    invitation = app.load(Invitation, user.invitation_id, "invitation")
    assert invitation.check_usable(app.clock()) is None


def test_resending_from_the_group_names_it_and_voids_the_old_link(
    app: SmartCharging, operator: Actor
) -> None:
    group_id, _ = app.groups.create_group(
        name="Rosa", time_zone="UTC", actor=operator, invite_email="rosa@example.com"
    )
    user_id = user_id_for("rosa@example.com")
    first = app.user(user_id).invitation_id

    token = app.accounts.resend_invitation(user_id, operator, group_id)

    assert app.accounts.invitation(token).user_id == user_id
    assert app.load(Invitation, first, "invitation").withdrawn
    latest = [e for e in events_of(app) if isinstance(e, Invitation.Issued)][-1]
    assert latest.group_name == "Rosa"


def test_resending_to_a_user_who_set_a_password_says_why_not(
    app: SmartCharging, operator: Actor
) -> None:
    _, token = app.accounts.invite_home_user("sam@example.com", operator)
    sam = app.accounts.accept_invitation(token, "violet-harbour-lantern-42")
    group_id, _ = app.groups.create_group(
        name="Sam", time_zone="UTC", actor=operator, home_user_id=sam
    )

    with pytest.raises(EmailAlreadyRegistered, match="login page mails a new one"):
        app.accounts.resend_invitation(sam, operator, group_id)


# --- the pages and the API, with real mail ---------------------------------------------------


def mails(smtp: MailCatcher, to: str) -> list[Any]:
    return [m for m in list(smtp.messages) if to in str(m["To"]).lower()]


def settled(smtp: MailCatcher, operator: httpx.Client) -> None:
    """Every mail of the actions so far has arrived: a marker invitation made after them
    has (the outbox is written and sent in the order of the events)."""
    marker = f"marker-{uuid.uuid4().hex[:8]}@example.com"
    assert operator.post("/api/operator/users", json={"email": marker}).is_success
    smtp.wait_for(marker, "invited", timeout=20)


@pytest.fixture
def operator_page(server: str, operator_credentials: tuple[str, str]) -> Iterator[PageClient]:
    client = PageClient(server)
    client.log_in(*operator_credentials)
    yield client
    client.close()


WIZARD = {
    "name": "Tara's home",
    "time_zone": "Europe/Dublin",
    "home_user_email": "tara@example.com",
}


@pytest.mark.postgres
def test_the_wizard_takes_a_new_email_and_says_it_will_invite_it(
    operator_page: PageClient,
) -> None:
    review = operator_page.get("/operator/groups/new", params={**WIZARD, "step": 4})

    assert review.status_code == 200, error_text(review)
    assert "tara@example.com new — no account yet: saving the group invites them" in text(review)


@pytest.mark.postgres
def test_the_wizard_invites_the_new_home_user_with_one_mail_whose_link_sets_the_password(
    server: str,
    operator_page: PageClient,
    operator_client: httpx.Client,
    smtp_server: MailCatcher,
) -> None:
    operator_page.get("/operator/groups/new")

    saved = operator_page.post("/operator/groups/new", WIZARD)

    assert saved.status_code == 303, error_text(saved)
    page = operator_page.follow(saved)
    assert "tara@example.com is invited by e-mail; the mail's link sets the password" in text(page)
    assert "tara@example.com invited" in text(page)
    settled(smtp_server, operator_client)
    (mail,) = mails(smtp_server, "tara@example.com")
    assert "Tara's home" in str(mail["Subject"]) and "Tara's home" in mail.get_content()
    link = httpx.get(f"{server}/invitation/{invitation_token(mail)}")
    assert link.status_code == 200 and "Set password and log in" in link.text


@pytest.mark.postgres
def test_two_wizards_saving_the_same_new_email_at_once_invite_it_once(
    server: str,
    operator_credentials: tuple[str, str],
    operator_client: httpx.Client,
    smtp_server: MailCatcher,
) -> None:
    answers: list[int] = []

    def save(name: str) -> None:
        client = PageClient(server)
        client.log_in(*operator_credentials)
        client.get("/operator/groups/new")
        fields = {"name": name, "time_zone": "UTC", "home_user_email": "uma@example.com"}
        answers.append(client.post("/operator/groups/new", fields).status_code)
        client.close()

    threads = [threading.Thread(target=save, args=(f"Uma {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    settled(smtp_server, operator_client)

    assert answers == [303, 303]
    assert len(mails(smtp_server, "uma@example.com")) == 1


@pytest.mark.postgres
def test_the_group_page_offers_to_invite_an_unknown_email_and_does_so_once_asked(
    operator_page: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    group_id = operator_client.post(
        "/api/operator/groups", json={"name": "Vera", "time_zone": "UTC"}
    ).json()["id"]
    operator_page.get(f"/operator/groups/{group_id}")

    asked = operator_page.post(
        f"/operator/groups/{group_id}/home-user", {"email": "vera@example.com"}
    )
    invited = operator_page.post(
        f"/operator/groups/{group_id}/home-user", {"email": "vera@example.com", "invite": "yes"}
    )

    assert asked.status_code == 422
    assert "No home user has the e-mail vera@example.com yet" in error_text(asked)
    assert "Invite vera@example.com by e-mail" in text(asked)
    assert invited.status_code == 303
    assert "vera@example.com is the home user now and is invited by e-mail" in text(
        operator_page.follow(invited)
    )
    settled(smtp_server, operator_client)
    (mail,) = mails(smtp_server, "vera@example.com")
    assert "'Vera'" in str(mail["Subject"])


@pytest.mark.postgres
def test_the_group_page_resends_a_pending_invitation_and_the_old_link_stops_working(
    server: str, operator_page: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    body = {**WIZARD, "name": "Wes", "home_user_email": "wes@example.com", "invite_home_user": True}
    group_id = operator_client.post("/api/operator/groups", json=body).json()["id"]
    first = invitation_token(smtp_server.wait_for("wes@example.com", "invited"))
    page = operator_page.get(f"/operator/groups/{group_id}")
    assert "Resend invitation" in page.text

    resent = operator_page.post(f"/operator/groups/{group_id}/home-user/resend")

    assert resent.status_code == 303
    assert "the link in the earlier mail no longer works" in text(operator_page.follow(resent))
    settled(smtp_server, operator_client)
    latest = mails(smtp_server, "wes@example.com")[-1]
    assert "'Wes'" in str(latest["Subject"])
    assert httpx.get(f"{server}/api/invitations/{first}").status_code == 410
    fresh = invitation_token(latest)
    assert httpx.get(f"{server}/api/invitations/{fresh}").status_code == 200


@pytest.mark.postgres
def test_resending_to_a_home_user_with_a_password_is_refused_in_words(
    server: str, operator_page: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    home_user(server, operator_client, smtp_server, "xan@example.com", "xan-secret-quill-1")
    body = {"name": "Xan", "time_zone": "UTC", "home_user_email": "xan@example.com"}
    group_id = operator_client.post("/api/operator/groups", json=body).json()["id"]
    page = operator_page.get(f"/operator/groups/{group_id}")
    assert "Resend invitation" not in page.text

    refused = operator_page.post(f"/operator/groups/{group_id}/home-user/resend")
    by_api = operator_client.post(f"/api/operator/groups/{group_id}/home-user/resend")

    assert refused.status_code == 409
    assert "has already accepted the invitation" in error_text(refused)
    assert by_api.status_code == 409 and "login page mails a new one" in by_api.json()["detail"]


@pytest.mark.postgres
def test_the_api_refuses_an_unknown_email_unless_asked_to_invite_it(
    operator_client: httpx.Client,
) -> None:
    body = {"name": "Yara", "time_zone": "UTC", "home_user_email": "yara@example.com"}

    refused = operator_client.post("/api/operator/groups", json=body)
    made = operator_client.post("/api/operator/groups", json={**body, "invite_home_user": True})

    assert refused.status_code == 422
    assert "send invite_home_user: true" in refused.json()["detail"]
    assert made.status_code == 201
    assert made.json()["home_user"] == {
        "id": made.json()["home_user"]["id"],
        "email": "yara@example.com",
        "status": "invited",
    }
    group_id = made.json()["id"]
    put = operator_client.put(
        f"/api/operator/groups/{group_id}/home-user",
        json={"email": "zed@example.com", "invite": True},
    )
    assert put.status_code == 409  # one home user per group, whoever is invited
    assert operator_client.get("/api/operator/users", params={"q": "zed"}).json() == []
