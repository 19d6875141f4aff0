"""Asking for a password-reset link, as an attacker tries it (real server, PostgreSQL and
SMTP server): the answer does the same work whatever the e-mail, so neither its words nor
its timing tell which e-mails have an account; an address or an e-mail that asks too often
is refused (429) the same way with or without an account, and nothing more is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import httpx
import psycopg
import pytest

from api.password_resets import reset_asks
from api.ratelimit import ThrottleLimits
from domain.actors import Actor
from domain.passwords import hashing_work
from faults_support import wait_until
from mailcatcher import MailCatcher
from pages_kit import error_text, text
from service_kit import home_user
from smartcharge.database import Database
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

ANNA = "anna@example.com"
SUBJECT = "Set a new smart charging password"
ASKED = (
    "if this e-mail belongs to an account that can log in, a mail with a link to set a new "
    "password is on its way; the link works once, for 30 minutes"
)


def ask(base: str, email: str, address: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=address)  # any 127.x.y.z is this machine
    with httpx.Client(base_url=base, transport=transport, timeout=20) as client:
        return client.post("/api/auth/password-reset", json={"email": email})


def ask_on_the_page(base: str, email: str) -> httpx.Response:
    return httpx.post(f"{base}/forgot-password", data={"email": email}, timeout=20)


def asks_recorded() -> None:
    """Wait until every ask answered so far has been acted on (that is done after the answer)."""
    wait_until(lambda: reset_asks().done >= reset_asks().answered, 10, "the asks recorded")


def reset_mails(smtp: MailCatcher, email: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if email in str(m["To"]) and SUBJECT in str(m["Subject"])]


def wait_for_reset_mails(smtp: MailCatcher, email: str, count: int) -> list[EmailMessage]:
    return wait_until(
        lambda: len(reset_mails(smtp, email)) >= count and reset_mails(smtp, email),
        10,
        f"{count} reset mails to {email}",
    )


def position(runtime: Runtime) -> int | None:
    return runtime.service.recorder.max_notification_id()


@contextmanager
def event_store_locked(runtime: Runtime, database: Database) -> Iterator[None]:
    """The event store's table locked for writing, as the store itself locks it for each
    commit: while it is held nothing can be recorded (reads go on)."""
    table = runtime.service.recorder.events_table_name  # type: ignore[attr-defined]
    with psycopg.connect(database.conninfo()) as conn, conn.transaction():
        conn.execute(f'LOCK TABLE "{database.schema}"."{table}" IN EXCLUSIVE MODE')
        yield


@pytest.fixture
def kinds(runtime: Runtime) -> dict[str, str]:
    """One e-mail per kind of account an ask may name."""
    accounts = runtime.service.accounts
    home_user(runtime, ANNA, "violet-harbour-lantern-42")
    home_user(runtime, "invited@example.com", None)
    accounts.add_operator("ops@example.com", "operator-password", Actor.system())
    off = accounts.add_operator("off@example.com", "amber-falcon-orchard-19", Actor.system())
    runtime.service.operators.disable_operator(off, Actor.system())
    return {
        "unknown": "nobody@example.com",
        "invited": "invited@example.com",
        "disabled": "off@example.com",
        "active": ANNA,
    }


def test_the_answer_does_the_same_work_for_every_kind_of_account(
    runtime: Runtime,
    server: str,
    smtp_server: MailCatcher,
    database: Database,
    kinds: dict[str, str],
) -> None:
    """Unknown, invited, disabled and active: the same status and words, each answered while
    nothing can be recorded (so none waited for a recording), none hashing anything; the
    link is recorded, for the active account only, once the answers are out."""
    asks_recorded()
    before, hashed = position(runtime), hashing_work()

    with event_store_locked(runtime, database):
        answers = {kind: ask(server, email) for kind, email in kinds.items()}
        pages = {kind: ask_on_the_page(server, email) for kind, email in kinds.items()}
        recorded_meanwhile = position(runtime)

    assert {(a.status_code, a.text) for a in answers.values()} == {(202, f'{{"detail":"{ASKED}"}}')}
    assert len({(p.status_code, text(p)) for p in pages.values()}) == 1
    assert pages["active"].status_code == 200 and "Check your mail" in text(pages["active"])
    assert recorded_meanwhile == before
    assert (hashing_work().hashes, hashing_work().verifications) == (
        hashed.hashes,
        hashed.verifications,
    )
    assert len(wait_for_reset_mails(smtp_server, ANNA, 2)) == 2  # the API's ask and the page's
    asks_recorded()
    assert not [
        email for email in kinds.values() if email != ANNA and reset_mails(smtp_server, email)
    ]


def test_an_address_asking_too_often_is_refused_and_nothing_more_is_recorded(
    runtime: Runtime, server: str, smtp_server: MailCatcher, kinds: dict[str, str]
) -> None:
    limit = ThrottleLimits().reset_asks_per_address
    answers = [ask(server, f"someone-{n}@example.com") for n in range(limit)]
    asks_recorded()
    before = position(runtime)

    refused = ask(server, ANNA)
    page = ask_on_the_page(server, ANNA)

    assert {answer.status_code for answer in answers} == {202}
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("too many asks for a password-reset link")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    assert error_text(page).startswith("Too many asks for a password-reset link")
    asks_recorded()
    assert position(runtime) == before
    assert reset_mails(smtp_server, ANNA) == []
    # Another address still gets its link: the refusal was this address's.
    assert ask(server, ANNA, "127.0.0.9").status_code == 202
    assert len(wait_for_reset_mails(smtp_server, ANNA, 1)) == 1


def test_one_email_asked_for_too_often_is_refused_the_same_with_or_without_an_account(
    runtime: Runtime, server: str, kinds: dict[str, str]
) -> None:
    limit = ThrottleLimits().reset_asks_per_email
    refusals = []
    for email, address in [(ANNA, "127.0.0.2"), ("nobody@example.com", "127.0.0.3")]:
        answers = [ask(server, email, address) for _ in range(limit)]
        assert {answer.status_code for answer in answers} == {202}
        asks_recorded()
        before = position(runtime)
        refused = ask(server, email.upper(), "127.0.0.4")  # from elsewhere, spelled otherwise
        asks_recorded()
        assert position(runtime) == before
        seconds = refused.headers["Retry-After"]  # a second apart, maybe: not a difference
        refusals.append((refused.status_code, refused.json()["detail"].replace(seconds, "N")))

    assert refusals[0] == refusals[1]
    assert refusals[0][0] == 429 and "for this e-mail" in refusals[0][1]
