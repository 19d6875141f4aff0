"""A forgotten password, end to end on a real server, PostgreSQL and SMTP server: the same
answer for every e-mail, a mail only to an account that can log in, a link that works once,
for 30 minutes, and only while it is the latest; using it ends every session."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import UUID

import httpx
import psycopg
import pytest

from api.password_resets import reset_asks
from conftest import login, serving
from domain.actors import Actor
from domain_strategies import ManualClock
from faults_support import wait_until
from mailcatcher import MailCatcher
from pages_kit import PageClient, error_text, text
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

ANNA, OLD, NEW = "anna@example.com", "violet-harbour-lantern-42", "copper-meadow-whistle-77"
SUBJECT = "Set a new smart charging password"
ASKED = (
    "if this e-mail belongs to an account that can log in, a mail with a link to set a new "
    "password is on its way; the link works once, for 30 minutes"
)


@pytest.fixture
def clock() -> ManualClock:
    """The service's clock from now on, moved by the test (the links' 30 minutes, the
    hourly limit)."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def service_runtime(
    settings: Settings, database: Database, clock: ManualClock
) -> Iterator[Runtime]:
    running = Runtime(settings, database, clock=clock).start()
    yield running
    running.close()


@pytest.fixture
def base(service_runtime: Runtime) -> Iterator[str]:
    with serving(service_runtime.api) as url:
        yield url


@pytest.fixture
def anna(service_runtime: Runtime) -> UUID:
    """An active home user."""
    accounts = service_runtime.service.accounts
    _, token = accounts.invite_home_user(ANNA, Actor.system())
    return accounts.accept_invitation(token, OLD)


def ask(base: str, email: str) -> httpx.Response:
    return httpx.post(f"{base}/api/auth/password-reset", json={"email": email})


def link_token(message: EmailMessage) -> str:
    found = re.search(r"/password-reset/([A-Za-z0-9_-]+)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def asked_link(base: str, smtp: MailCatcher, email: str) -> str:
    before = len(reset_mails(smtp, email))
    assert ask(base, email).status_code == 202
    with smtp._arrived:  # the catcher's own condition, notified on every mail
        smtp._arrived.wait_for(lambda: len(reset_mails(smtp, email)) > before, timeout=10)
    return link_token(reset_mails(smtp, email)[-1])


def wait_for_reset_mails(smtp: MailCatcher, email: str, count: int) -> list[EmailMessage]:
    with smtp._arrived:
        smtp._arrived.wait_for(lambda: len(reset_mails(smtp, email)) >= count, timeout=10)
    return reset_mails(smtp, email)


def reset_mails(smtp: MailCatcher, email: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if email in str(m["To"]) and SUBJECT in str(m["Subject"])]


def logs_in(base: str, email: str, password: str) -> bool:
    answer = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": password})
    return answer.status_code == 200


def set_password(base: str, token: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}/api/password-resets/{token}", json={"password": password})


# --- the link works, once ---------------------------------------------------------------------


def test_link_in_the_mail_sets_a_new_password_and_ends_every_session(
    base: str, anna: UUID, smtp_server: MailCatcher
) -> None:
    with login(base, ANNA, OLD) as logged_in:
        token = asked_link(base, smtp_server, ANNA)
        page = PageClient(base)
        try:
            form = page.get(f"/password-reset/{token}")
            assert form.status_code == 200 and ANNA in text(form)
            answer = page.post(f"/password-reset/{token}", {"password": NEW, "repeat": NEW})
            assert answer.status_code == 303 and answer.headers["location"] == "/login"
            assert "Your new password is set" in text(page.follow(answer))
        finally:
            page.close()

        assert logged_in.get("/api/auth/me").status_code == 401
    assert not logs_in(base, ANNA, OLD)
    assert logs_in(base, ANNA, NEW)


def test_link_cannot_be_used_twice(base: str, anna: UUID, smtp_server: MailCatcher) -> None:
    token = asked_link(base, smtp_server, ANNA)
    assert set_password(base, token, NEW).status_code == 204

    again = set_password(base, token, "silver-canyon-pebble-31")

    assert again.status_code == 410
    assert again.json()["detail"] == "this link was already used; ask for a new one if need be"
    assert logs_in(base, ANNA, NEW) and not logs_in(base, ANNA, "silver-canyon-pebble-31")


def test_link_expires_after_30_minutes(
    base: str, anna: UUID, smtp_server: MailCatcher, clock: ManualClock
) -> None:
    token = asked_link(base, smtp_server, ANNA)
    clock.advance(timedelta(minutes=29, seconds=59))
    assert httpx.get(f"{base}/api/password-resets/{token}").status_code == 200
    clock.advance(timedelta(seconds=1))

    answer = set_password(base, token, NEW)
    page = httpx.get(f"{base}/password-reset/{token}")

    assert answer.status_code == 410 and "expired" in answer.json()["detail"]
    assert page.status_code == 410 and "This link has expired" in text(page)
    assert logs_in(base, ANNA, OLD) and not logs_in(base, ANNA, NEW)


def test_a_newer_link_voids_the_older(base: str, anna: UUID, smtp_server: MailCatcher) -> None:
    older = asked_link(base, smtp_server, ANNA)
    newer = asked_link(base, smtp_server, ANNA)

    refused = set_password(base, older, NEW)

    assert refused.status_code == 410 and "a newer one was asked for" in refused.json()["detail"]
    assert logs_in(base, ANNA, OLD)
    assert set_password(base, newer, NEW).status_code == 204


def test_a_password_changed_meanwhile_voids_the_link(
    base: str, anna: UUID, smtp_server: MailCatcher
) -> None:
    token = asked_link(base, smtp_server, ANNA)
    with login(base, ANNA, OLD) as logged_in:
        changed = logged_in.post(
            "/api/auth/password", json={"current_password": OLD, "new_password": NEW}
        )
        assert changed.status_code == 204, changed.text

    assert set_password(base, token, "silver-canyon-pebble-31").status_code == 410
    assert logs_in(base, ANNA, NEW)


# --- no account discovery, no flood -------------------------------------------------------


def test_same_answer_for_every_email_and_a_mail_only_to_an_active_account(
    base: str, anna: UUID, service_runtime: Runtime, smtp_server: MailCatcher
) -> None:
    accounts = service_runtime.service.accounts
    accounts.invite_home_user("invited@example.com", Actor.system())
    revoked, _ = accounts.invite_home_user("revoked@example.com", Actor.system())
    accounts.revoke_user(revoked, Actor.system())
    accounts.add_operator("ops@example.com", "operator-password", Actor.system())
    off = accounts.add_operator("off@example.com", "amber-falcon-orchard-19", Actor.system())
    service_runtime.service.operators.disable_operator(off, Actor.system())
    others = ["nobody@example.com", "invited@example.com", "revoked@example.com", "off@example.com"]

    answers = [ask(base, email) for email in [*others, ANNA]]
    pages = [forgot_page_answer(base, email) for email in [*others, ANNA]]

    assert {(a.status_code, a.json()["detail"]) for a in answers} == {(202, ASKED)}
    assert len({(p.status_code, text(p).replace(email, "")) for p, email in pages}) == 1
    assert len(wait_for_reset_mails(smtp_server, ANNA, 2)) == 2  # asked last, sent in order
    outbox = service_runtime.mail.outbox.mails()
    assert [row["recipient"] for row in outbox if row["subject"] == SUBJECT] == [ANNA] * 2
    assert not [email for email in others if reset_mails(smtp_server, email)]


def forgot_page_answer(base: str, email: str) -> tuple[httpx.Response, str]:
    answer = httpx.post(f"{base}/forgot-password", data={"email": email})
    return answer, email


def test_at_most_three_links_an_hour_per_account(
    base: str, anna: UUID, service_runtime: Runtime, smtp_server: MailCatcher, clock: ManualClock
) -> None:
    answers = [ask(base, ANNA) for _ in range(5)]

    assert {answer.status_code for answer in answers} == {202}  # the same answer, no mail

    assert len(wait_for_reset_mails(smtp_server, ANNA, 3)) == 3
    # The last two, refused by the hour's limit, are decided after their answers: before
    # the clock moves on, or they would be in the next hour.
    wait_until(lambda: reset_asks().done >= reset_asks().answered, 10, "every ask decided")
    clock.advance(timedelta(minutes=61))
    asked_link(base, smtp_server, ANNA)  # an hour on, one more
    mails = service_runtime.mail.outbox.mails()
    assert sum(1 for row in mails if row["subject"] == SUBJECT) == 4


def test_the_token_is_in_no_event_no_audit_entry_and_gone_once_mailed(
    base: str, anna: UUID, service_runtime: Runtime, smtp_server: MailCatcher, database: Database
) -> None:
    token = asked_link(base, smtp_server, ANNA)
    recorder = service_runtime.service.recorder

    stored = recorder.select_notifications(1, 10_000)
    audit = service_runtime.context.queries.audit_for_user(anna)

    assert "password_reset_asked" in [row["action"] for row in audit]
    assert not [n for n in stored if token.encode() in bytes(n.state)]
    assert token not in str(audit)
    with psycopg.connect(database.conninfo()) as conn:
        kept = conn.execute(f'SELECT count(*) FROM "{database.schema}".password_reset_tokens')
        assert kept.fetchone() == (0,)

    def reset_mail_sent() -> list[dict[str, object]]:
        rows = service_runtime.mail.outbox.mails()
        return [row for row in rows if row["subject"] == SUBJECT and row["sent_at"]]

    # The sender marks the mail sent just after the SMTP server took it.
    sent = wait_until(reset_mail_sent, 10, "the reset mail marked sent")
    assert [row["body"] for row in sent] == [None]  # its body, with the link, dropped


ACCESS_LOG_PROBE = """
import logging, uvicorn
from smartcharge.access_log import hide_link_tokens
hide_link_tokens()
uvicorn.Config("api.app:create_app", log_level="info")  # configures logging as `serve` does
access = logging.getLogger("uvicorn.access")
access.info('%s - "%s %s HTTP/%s" %d', "1.2.3.4", "GET", "/password-reset/s3cr3t?x=1", "1.1", 200)
access.info('%s - "%s %s HTTP/%s" %d', "1.2.3.4", "POST", "/invitation/abc_DEF", "1.1", 303)
"""


def test_access_log_hides_link_tokens() -> None:
    # In a process of its own: uvicorn's logging configuration is the whole process's.
    probe = subprocess.run(
        [sys.executable, "-c", ACCESS_LOG_PROBE], capture_output=True, text=True, timeout=60
    )

    logged = probe.stdout + probe.stderr
    assert probe.returncode == 0, logged
    assert "s3cr3t" not in logged and "abc_DEF" not in logged
    assert "/password-reset/…?x=1" in logged and "/invitation/…" in logged


# --- refusals: a clear answer, nothing changed -------------------------------------------------


def test_a_malformed_email_is_refused_in_words_and_records_nothing(
    base: str, anna: UUID, service_runtime: Runtime
) -> None:
    before = service_runtime.service.recorder.max_notification_id()

    answer = ask(base, "anna@")
    page = httpx.post(f"{base}/forgot-password", data={"email": "anna@"})
    empty = httpx.post(f"{base}/operator/forgot-password", data={"email": " "})

    assert answer.status_code == 422 and "is not an e-mail address" in answer.json()["detail"]
    assert page.status_code == 422 and "is not an e-mail address" in error_text(page)
    assert empty.status_code == 422
    assert error_text(empty) == "Give the e-mail address you log in with."
    assert service_runtime.service.recorder.max_notification_id() == before


@pytest.mark.parametrize(
    "token",
    ["made-up-token", "x" * 5000, "%C3%A9t%C3%A9", "%00"],
    ids=["made up", "5 KB", "é", "NUL"],
)
def test_a_link_that_is_no_link_of_ours_is_gone(base: str, token: str) -> None:
    api = set_password(base, token, NEW)
    page = httpx.get(f"{base}/password-reset/{token}")

    assert api.status_code == 410 and api.json()["detail"] == "this link is not valid"
    assert page.status_code == 410 and "Ask for a new link" in text(page)


def test_a_weak_or_mistyped_password_shows_the_form_again_and_the_link_still_works(
    base: str, anna: UUID, smtp_server: MailCatcher
) -> None:
    token = asked_link(base, smtp_server, ANNA)
    page = PageClient(base)
    try:
        weak = page.post(
            f"/password-reset/{token}", {"password": "password12", "repeat": "password12"}
        )
        mistyped = page.post(f"/password-reset/{token}", {"password": NEW, "repeat": NEW + "x"})
        forged = page.http.post(
            f"/password-reset/{token}",
            data={"password": NEW, "repeat": NEW},
            headers={"Origin": "https://evil.example"},
        )
    finally:
        page.close()

    assert weak.status_code == 422 and "too easy to guess" in error_text(weak)
    assert mistyped.status_code == 422
    assert error_text(mistyped) == "The two passwords are not the same."
    assert forged.status_code == 403
    assert logs_in(base, ANNA, OLD)
    assert set_password(base, token, NEW).status_code == 204  # still the one usable link


def test_a_link_of_an_operator_disabled_since_no_longer_works(
    base: str, service_runtime: Runtime, smtp_server: MailCatcher
) -> None:
    accounts = service_runtime.service.accounts
    accounts.add_operator("ops@example.com", "operator-password", Actor.system())
    bea = accounts.add_operator("bea@example.com", "amber-falcon-orchard-19", Actor.system())
    token = asked_link(base, smtp_server, "bea@example.com")

    service_runtime.service.operators.disable_operator(bea, Actor.system())

    assert set_password(base, token, NEW).status_code == 410
    assert not service_runtime.service.user(bea).may_log_in


def test_both_login_pages_link_to_forgot_password(base: str) -> None:
    for portal in ("", "/operator"):
        login_page = httpx.get(f"{base}{portal}/login")
        assert f'href="{portal}/forgot-password"' in login_page.text
        assert httpx.get(f"{base}{portal}/forgot-password").status_code == 200
