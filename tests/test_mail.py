"""Mails are a reaction to recorded events: every path sends the same mail exactly once, also
when the process stops right after the command, and when the SMTP server is away for a while.

"Exactly once" is checked with a marker: a later mail to someone else is waited for; the
follower writes mails in the order of their events and the sender sends them in that order,
so whatever the action would have sent has arrived by then.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from conftest import free_port, login, serving
from domain.actors import SYSTEM, Actor
from faults_support import wait_until
from mailcatcher import MailCatcher, invitation_token
from pages_kit import PageClient
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

INVITED = "invited"
ADDED = "now in the smart charging group"


def mails(smtp: MailCatcher, to: str, subject_contains: str = "") -> list[EmailMessage]:
    return [
        m
        for m in list(smtp.messages)
        if to.lower() in str(m["To"]).lower() and subject_contains in str(m["Subject"])
    ]


def settled(smtp: MailCatcher, service_invite: httpx.Client | Runtime) -> None:
    """Every mail of the actions so far has arrived: a marker invitation sent after them has."""
    marker = f"marker-{uuid.uuid4().hex[:8]}@example.com"
    if isinstance(service_invite, Runtime):
        service_invite.service.accounts.invite_home_user(marker, SYSTEM)
    else:
        assert service_invite.post("/api/operator/users", json={"email": marker}).is_success
    smtp.wait_for(marker, INVITED, timeout=20)


def invite(client: httpx.Client, email: str) -> str:
    answer = client.post("/api/operator/users", json={"email": email})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def active(client: httpx.Client, smtp: MailCatcher, email: str) -> str:
    """A home user who has accepted the invitation and set a password."""
    user_id = invite(client, email)
    token = invitation_token(smtp.wait_for(email, INVITED))
    accepted = httpx.post(
        f"{client.base_url}/api/invitations/{token}/accept", json={"password": "quill-pw-" + email}
    )
    assert accepted.status_code == 200, accepted.text
    return user_id


@pytest.fixture
def operator(server: str, operator_credentials: tuple[str, str]) -> Iterator[PageClient]:
    client = PageClient(server)
    client.log_in(*operator_credentials)
    yield client
    client.close()


# --- each path, one mail ------------------------------------------------------------------------


def test_an_invitation_by_the_api_sends_one_mail_whose_link_works(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    invite(operator_client, "Ann@Example.com")

    token = invitation_token(smtp_server.wait_for("ann@example.com", INVITED))
    accepted = httpx.post(
        f"{server}/api/invitations/{token}/accept", json={"password": "ann-pw-1-quill"}
    )
    settled(smtp_server, operator_client)

    assert accepted.status_code == 200, accepted.text
    assert len(mails(smtp_server, "ann@example.com")) == 1


def test_an_invitation_by_the_page_sends_one_mail(
    operator: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    operator.get("/operator/users")
    answer = operator.post("/operator/users", {"email": "bea@example.com"})

    assert answer.status_code == 303
    smtp_server.wait_for("bea@example.com", INVITED)
    settled(smtp_server, operator_client)
    assert len(mails(smtp_server, "bea@example.com")) == 1


def test_a_resent_invitation_sends_one_new_mail_and_the_old_link_stops_working(
    server: str,
    operator: PageClient,
    operator_client: httpx.Client,
    smtp_server: MailCatcher,
) -> None:
    user_id = invite(operator_client, "cid@example.com")
    first = invitation_token(smtp_server.wait_for("cid@example.com", INVITED))

    by_api = operator_client.post(f"/api/operator/users/{user_id}/resend")
    operator.get("/operator/users")
    by_page = operator.post(f"/operator/users/{user_id}/resend")
    settled(smtp_server, operator_client)

    assert by_api.status_code == 200 and by_page.status_code == 303
    sent = mails(smtp_server, "cid@example.com", INVITED)
    tokens = [invitation_token(m) for m in sent]
    assert len(tokens) == 3 and len(set(tokens)) == 3 and tokens[0] == first
    assert httpx.get(f"{server}/api/invitations/{first}").status_code != 200
    assert httpx.get(f"{server}/api/invitations/{tokens[-1]}").status_code == 200


def test_a_group_made_with_its_home_user_by_the_api_sends_one_mail(
    operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    active(operator_client, smtp_server, "dan@example.com")
    body = {"name": "Dan's", "time_zone": "UTC", "home_user_email": "DAN@example.com"}

    assert operator_client.post("/api/operator/groups", json=body).status_code == 201
    settled(smtp_server, operator_client)

    (mail,) = mails(smtp_server, "dan@example.com", ADDED)
    assert "Dan's" in str(mail["Subject"])


def test_a_group_made_by_the_api_inviting_a_new_home_user_sends_one_mail_that_sets_the_password(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    body = {
        "name": "Nia's",
        "time_zone": "UTC",
        "home_user_email": "nia@example.com",
        "invite_home_user": True,
    }

    made = operator_client.post("/api/operator/groups", json=body)
    settled(smtp_server, operator_client)

    assert made.status_code == 201, made.text
    assert made.json()["home_user"]["status"] == "invited"
    (mail,) = mails(smtp_server, "nia@example.com")
    assert "invited" in str(mail["Subject"]) and "Nia's" in str(mail["Subject"])
    assert "Nia's" in mail.get_content()
    token = invitation_token(mail)
    accepted = httpx.post(
        f"{server}/api/invitations/{token}/accept", json={"password": "nia-pw-quill-9"}
    )
    assert accepted.status_code == 200, accepted.text


def test_an_invited_home_user_added_to_a_group_gets_no_second_mail(
    operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    invite(operator_client, "ola@example.com")
    body = {"name": "Ola", "time_zone": "UTC", "home_user_email": "ola@example.com"}

    assert operator_client.post("/api/operator/groups", json=body).status_code == 201
    settled(smtp_server, operator_client)

    (mail,) = mails(smtp_server, "ola@example.com")
    assert INVITED in str(mail["Subject"])


def test_a_home_user_set_by_the_api_is_mailed_once_and_not_again_when_set_again(
    operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    user_id = active(operator_client, smtp_server, "eve@example.com")
    group = operator_client.post("/api/operator/groups", json={"name": "Eve", "time_zone": "UTC"})
    path = f"/api/operator/groups/{group.json()['id']}/home-user"

    assert operator_client.put(path, json={"email": "eve@example.com"}).status_code == 200
    assert operator_client.put(path, json={"user_id": user_id}).status_code == 200  # no change
    settled(smtp_server, operator_client)

    assert len(mails(smtp_server, "eve@example.com", ADDED)) == 1


def test_a_home_user_set_by_the_page_is_mailed_once(
    operator: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    active(operator_client, smtp_server, "fay@example.com")
    group = operator_client.post("/api/operator/groups", json={"name": "Fay", "time_zone": "UTC"})
    group_id = group.json()["id"]
    operator.get(f"/operator/groups/{group_id}")

    answer = operator.post(f"/operator/groups/{group_id}/home-user", {"email": "fay@example.com"})

    assert answer.status_code == 303
    settled(smtp_server, operator_client)
    assert len(mails(smtp_server, "fay@example.com", "'Fay'")) == 1


def test_a_group_made_by_the_wizard_mails_its_home_user_once(
    operator: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    active(operator_client, smtp_server, "gus@example.com")
    operator.get("/operator/groups/new")

    answer = operator.post(
        "/operator/groups/new",
        {"name": "Gus", "time_zone": "UTC", "home_user_email": "gus@example.com"},
    )

    assert answer.status_code == 303, answer.text[:500]
    settled(smtp_server, operator_client)
    assert len(mails(smtp_server, "gus@example.com", "'Gus'")) == 1


# --- across a stop and a restart ----------------------------------------------------------------


def test_mails_of_commands_recorded_just_before_a_stop_are_sent_once_after_the_restart(
    settings: Settings, database: Database, smtp_server: MailCatcher
) -> None:
    # A process that records and stops before its mail follower has run at all (started,
    # so its outbox exists: a new outbox begins after the events already recorded).
    first = Runtime(settings, database).start()
    try:
        operator = Actor.operator(
            first.service.accounts.add_operator("op@example.com", "op-pw-123-quill", SYSTEM)
        )
        # A group made inviting its new home user, and an active home user's new group.
        first.service.groups.create_group(
            name="Hal", time_zone="UTC", actor=operator, invite_email="hal@example.com"
        )
        _, token = first.service.accounts.invite_home_user("ivy@example.com", operator)
        ivy = first.service.accounts.accept_invitation(token, "ivy-password-7")
        first.service.groups.create_group(
            name="Ivy", time_zone="UTC", actor=operator, home_user_id=ivy
        )
    finally:
        first.close()

    second = Runtime(settings, database).start()
    try:
        second.start_mail()
        token = invitation_token(smtp_server.wait_for("hal@example.com", "'Hal'", timeout=20))
        smtp_server.wait_for("ivy@example.com", ADDED, timeout=20)
        assert second.service.accounts.accept_invitation(token, "hal-password-7")
        sent = second.mail.outbox.mails()
    finally:
        second.close()

    third = Runtime(settings, database).start()
    try:
        third.start_mail()
        settled(smtp_server, third)
    finally:
        third.close()
    assert len(mails(smtp_server, "hal@example.com")) == 1
    assert len(mails(smtp_server, "ivy@example.com")) == 2  # the invitation, then the group
    # Once sent, a mail's body (an invitation's holds its link) is no longer kept.
    assert {(m["recipient"], m["body"]) for m in sent} == {
        ("hal@example.com", None),
        ("ivy@example.com", None),
    }


@pytest.fixture
def smtp_away(tmp_path: Path, settings: Settings) -> Iterator[tuple[Settings, SmtpSwitch]]:
    switch = SmtpSwitch()
    yield settings.model_copy(update={"smtp_port": switch.port}), switch
    switch.stop()


class SmtpSwitch:
    """A real SMTP server on a port of its own, stopped at first, that can be started later."""

    def __init__(self) -> None:
        self.catcher = MailCatcher()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.catcher, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def test_with_smtp_down_the_command_answers_and_the_mail_goes_once_smtp_is_back(
    smtp_away: tuple[Settings, SmtpSwitch], database: Database
) -> None:
    settings, smtp = smtp_away
    runtime = Runtime(settings, database).start()
    try:
        runtime.service.accounts.add_operator("op@example.com", "op-pw-123-quill", SYSTEM)
        with serving(runtime.api) as url, login(url, "op@example.com", "op-pw-123-quill") as client:
            answer = client.post("/api/operator/users", json={"email": "ida@example.com"})
            assert answer.status_code == 201, answer.text
            failed = wait_until(
                lambda: [m for m in runtime.mail.outbox.mails() if m["last_error"]], 20, "a try"
            )
            assert failed[0]["recipient"] == "ida@example.com" and failed[0]["sent_at"] is None
            health = httpx.get(f"{url}/healthz")
            assert health.status_code == 200  # the service works; an operator should look
            assert (health.json()["status"], health.json()["failing_mails"]) == ("degraded", 1)

            smtp.start()
            token = invitation_token(smtp.catcher.wait_for("ida@example.com", INVITED, 30))
            settled(smtp.catcher, client)
            assert httpx.get(f"{url}/healthz").json()["failing_mails"] == 0
            assert httpx.get(f"{url}/api/invitations/{token}").status_code == 200
    finally:
        runtime.close()
    assert len(mails(smtp.catcher, "ida@example.com")) == 1


def test_a_mail_not_yet_sent_when_the_process_stops_is_sent_by_the_next(
    smtp_away: tuple[Settings, SmtpSwitch], database: Database
) -> None:
    settings, smtp = smtp_away
    first = Runtime(settings, database).start()
    try:
        first.start_mail()
        first.service.accounts.invite_home_user("jo@example.com", SYSTEM)
        wait_until(lambda: first.mail.outbox.mails(), 20, "the mail in the outbox")
    finally:
        first.close()

    smtp.start()
    second = Runtime(settings, database).start()
    try:
        second.start_mail()
        smtp.catcher.wait_for("jo@example.com", INVITED, 30)
        settled(smtp.catcher, second)
    finally:
        second.close()
    assert len(mails(smtp.catcher, "jo@example.com")) == 1


# --- what it cannot do --------------------------------------------------------------------------


def test_an_invitation_whose_token_was_not_kept_is_stuck_and_the_next_is_mailed(
    settings: Settings, database: Database, smtp_server: MailCatcher
) -> None:
    runtime = Runtime(settings, database).start()
    try:
        runtime.service.accounts.invite_home_user("kim@example.com", SYSTEM)
        position = runtime.service.recorder.max_notification_id()
        tokens = runtime.mail.outbox.tables.invitation_tokens
        with runtime.mail.outbox.datastore.transaction(commit=True) as curs:
            curs.execute(f"DELETE FROM {tokens}")  # as if an older version had recorded it

        runtime.start_mail()
        settled(smtp_server, runtime)

        (stuck,) = runtime.context.view.faults.open_stuck_events()
        assert (stuck["follower"], stuck["position"]) == ("mail", position)
        assert "resend the invitation" in stuck["error"]
        health = runtime.context.health().body
        assert health["followers"]["mail"]["state"] == "following"
        assert health["followers"]["mail"]["stuck"] == 1
    finally:
        runtime.close()
    assert mails(smtp_server, "kim@example.com") == []


def test_healthz_lists_the_mail_follower(server: str) -> None:
    body = httpx.get(f"{server}/healthz").json()

    assert body["followers"]["mail"]["state"] == "following"
