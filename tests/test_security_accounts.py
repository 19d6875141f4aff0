"""Account security, as an attacker tries it: each attack fails and leaves the stored state
as it was (real PostgreSQL, the real served API and pages, real SMTP).

- a storm of made-up invitation tokens hashes nothing; password hashes are bounded, and a
  storm of logins waiting for them leaves the thread pool to everyone else;
- guessing passwords is throttled per (account, address) and per address, also for a burst
  of parallel guesses, and slowed per account, parallel attempts taking turns, without
  locking the owner out; the counts are in PostgreSQL, shared by API processes and kept
  over a restart;
- a login does the same work whatever the account, and answers the same words;
- password changes are throttled as logins are;
- weak passwords are refused on every path that sets one, saying why;
- look-alike e-mails (another alphabet, invisible characters) make no look-alike accounts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.ratelimit import Admission, LoginThrottle, ThrottleLimits
from conftest import serving
from domain import passwords
from domain.actors import Actor
from domain.passwords import hashing_work
from faults_support import wait_until
from pages_kit import PageClient, error_text
from service_kit import bearer, home_user
from smartcharge.database import Database
from smartcharge.limits_storage import PostgresLimitsStorage, limits_uri
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

PASSWORD = "anna-secret-1"
OPERATOR = ("operator@example.com", "operator-password")
ATTACKERS = [f"127.0.0.{n}" for n in range(2, 7)]  # five addresses of the loopback network
OWNER_ADDRESS = "127.0.0.9"
# A made-up token of the right shape: what a storm of guesses sends.
MADE_UP_TOKEN = "x" * 43


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The defaults, but an account's progressive delay capped at 50 ms so the tests are quick
    (the delay's growth is shown on the throttle itself)."""
    return settings.model_copy(update={"login_delay_max_seconds": 0.05})


@contextmanager
def client_at(base_url: str, address: str) -> Iterator[httpx.Client]:
    """An HTTP client whose requests come from `address` (any 127.x.y.z is this machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base_url, transport=transport, timeout=30) as client:
        yield client


def log_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"email": email, "password": password})


class StoredState:
    """The event store's position and the open sessions: what an attack must not change."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.before = self.now()

    def now(self) -> tuple[int | None, int]:
        sessions = self.runtime.sessions
        with sessions.datastore.get_connection() as conn:
            row = conn.execute(f"SELECT count(*) AS n FROM {sessions.table}").fetchone()
        return self.runtime.service.recorder.max_notification_id(), int(row["n"])

    def unchanged(self) -> bool:
        return self.now() == self.before


def assert_throttled(answer: httpx.Response, words: str) -> None:
    assert answer.status_code == 429, answer.text
    assert words in answer.json()["detail"]
    assert 1 <= int(answer.headers["Retry-After"]) <= 15 * 60


# --- 1. made-up invitation tokens hash nothing; hashes are bounded -----------------------


def test_a_storm_of_made_up_invitation_tokens_hashes_no_password(
    runtime: Runtime, server: str
) -> None:
    state = StoredState(runtime)
    hashes_before = hashing_work().hashes

    def accept(n: int) -> httpx.Response:
        token = f"{MADE_UP_TOKEN[:-4]}{n:04d}"
        return httpx.post(
            f"{server}/api/invitations/{token}/accept",
            json={"password": "a-good-long-password-1"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=16) as pool:  # 120 requests, 16 at a time
        answers = list(pool.map(accept, range(120)))

    assert {answer.status_code for answer in answers} == {410}
    assert answers[0].json()["detail"] == "this invitation link is not valid"
    assert hashing_work().hashes == hashes_before
    assert state.unchanged()


def test_the_invitation_page_refuses_a_made_up_token_without_hashing(
    runtime: Runtime, server: str
) -> None:
    state = StoredState(runtime)
    hashes_before = hashing_work().hashes
    browser = PageClient(server)
    try:
        answer = browser.post(
            f"/invitation/{MADE_UP_TOKEN}",
            {"password": "a-good-long-password-1", "repeat": "a-good-long-password-1"},
            csrf=False,
        )
    finally:
        browser.close()

    assert answer.status_code == 410
    assert "This invitation link does not work" in answer.text
    assert hashing_work().hashes == hashes_before
    assert state.unchanged()


def test_a_used_invitation_is_refused_without_hashing_the_new_password(
    runtime: Runtime, server: str
) -> None:
    _, token = runtime.service.accounts.invite_home_user("anna@example.com", Actor.system())
    first = httpx.post(f"{server}/api/invitations/{token}/accept", json={"password": PASSWORD})
    assert first.status_code == 200, first.text
    state = StoredState(runtime)
    hashes_before = hashing_work().hashes

    again = httpx.post(
        f"{server}/api/invitations/{token}/accept", json={"password": "a-good-long-password-1"}
    )

    assert again.status_code == 410
    assert "already used" in again.json()["detail"]
    assert hashing_work().hashes == hashes_before
    assert state.unchanged()
    relogin = httpx.post(
        f"{server}/api/auth/login", json={"email": "anna@example.com", "password": PASSWORD}
    )
    assert relogin.status_code == 200


def test_concurrent_logins_hash_at_most_the_bound_at_once(
    settings: Settings, database: Database
) -> None:
    """Twelve logins at once: each is verified, never more than three at a time. (Each is
    counted while in flight: more than the (account, address) limit at once would be 429.)"""
    bounded = settings.model_copy(
        update={"password_hash_concurrency": 3, "login_attempts_per_account_address": 12}
    )
    runtime = Runtime(bounded, database).start()
    try:
        home_user(runtime, "anna@example.com", PASSWORD)
        before = hashing_work()
        with serving(runtime.api) as url, ThreadPoolExecutor(max_workers=12) as pool:
            client = httpx.Client(base_url=url, timeout=60)
            answers = list(
                pool.map(lambda _: log_in(client, "anna@example.com", PASSWORD), range(12))
            )
            client.close()
        after = hashing_work()
    finally:
        runtime.close()

    assert [answer.status_code for answer in answers] == [200] * 12
    assert after.verifications - before.verifications == 12
    assert after.most_at_once <= 3


def test_a_storm_of_logins_waiting_for_a_hash_leaves_the_thread_pool_to_others(
    settings: Settings, database: Database
) -> None:
    """One hash at a time, held by the test (as a long hash would hold it), and 60 logins
    in flight: they wait on the event loop, not in the 40 worker threads, so a bystander's
    sync route answers before any login is done; then every login gets in, one by one."""
    stormy = settings.model_copy(
        update={
            "password_hash_concurrency": 1,
            "login_attempts_per_account_address": 100,
            "login_attempts_per_address": 100,
        }
    )
    runtime = Runtime(stormy, database).start()
    try:
        anna = home_user(runtime, "anna@example.com", PASSWORD)
        before = hashing_work()
        with (
            serving(runtime.api) as url,
            httpx.Client(base_url=url, timeout=120) as client,
            ThreadPoolExecutor(max_workers=60) as pool,
        ):
            slot = passwords._bound.slot(verifying=True)  # the process's one hash slot
            slot.__enter__()
            try:
                storm = [
                    pool.submit(log_in, client, "anna@example.com", PASSWORD) for _ in range(60)
                ]
                wait_until(lambda: hashing_work().waiting == 59, 60, "59 logins queued")
                with bearer(runtime, url, anna) as bystander:
                    answered = bystander.get("/api/auth/me")
                storm_done_first = [login for login in storm if login.done()]
            finally:
                slot.__exit__(None, None, None)
            answers = [login.result() for login in storm]
        after = hashing_work()
    finally:
        runtime.close()

    assert answered.status_code == 200 and answered.json()["email"] == "anna@example.com"
    assert storm_done_first == []
    assert [answer.status_code for answer in answers] == [200] * 60
    assert after.verifications - before.verifications == 60 + 1  # the test's own slot too
    assert after.most_at_once == 1


# --- 2. guessing is throttled without locking the owner out -------------------------------


def test_the_owner_logs_in_from_her_address_after_an_attackers_50_failures(
    runtime: Runtime, server: str
) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    state = StoredState(runtime)
    for address in ATTACKERS:  # 5 addresses x 10 wrong passwords
        with client_at(server, address) as attacker:
            for n in range(10):
                assert log_in(attacker, "anna@example.com", f"guess-{n}").status_code == 401

    with client_at(server, ATTACKERS[0]) as attacker:
        refused = log_in(attacker, "anna@example.com", PASSWORD)  # even the right one
    assert_throttled(refused, "too many failed logins")
    assert state.unchanged()
    assert runtime.context.throttle.failures("anna@example.com") == 50

    with client_at(server, OWNER_ADDRESS) as owner:
        assert log_in(owner, "anna@example.com", PASSWORD).status_code == 200


def test_an_address_that_guesses_many_accounts_is_refused_for_all_of_them(
    runtime: Runtime, server: str
) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    state = StoredState(runtime)
    limit = runtime.settings.login_attempts_per_address
    with client_at(server, ATTACKERS[0]) as attacker:
        for n in range(limit):
            assert log_in(attacker, f"someone-{n}@example.com", "guess-1").status_code == 401
        refused = log_in(attacker, "anna@example.com", PASSWORD)

    assert_throttled(refused, "too many failed logins")
    assert state.unchanged()
    with client_at(server, OWNER_ADDRESS) as owner:
        assert log_in(owner, "anna@example.com", PASSWORD).status_code == 200


def guess_in_parallel(client: httpx.Client, guesses: list[tuple[str, str]]) -> Counter[int]:
    """Every guess sent at once (one thread each): the answers' status codes, counted."""
    with ThreadPoolExecutor(max_workers=len(guesses)) as pool:
        answers = list(pool.map(lambda guess: log_in(client, *guess), guesses))
    return Counter(answer.status_code for answer in answers)


def test_a_burst_of_parallel_guesses_checks_at_most_the_limit_of_the_address_on_the_account(
    runtime: Runtime, server: str
) -> None:
    """40 wrong passwords for one account from one address, all at once: each is counted
    before it is checked, so no more than the limit are checked however they interleave."""
    home_user(runtime, "anna@example.com", PASSWORD)
    state = StoredState(runtime)
    limit = runtime.settings.login_attempts_per_account_address
    before = hashing_work().verifications

    with client_at(server, ATTACKERS[0]) as attacker:
        guesses = [("anna@example.com", f"guess-{n}") for n in range(40)]
        answers = guess_in_parallel(attacker, guesses)
        refused = log_in(attacker, "anna@example.com", PASSWORD)

    checked = hashing_work().verifications - before
    assert 1 <= answers[401] <= limit
    assert answers[401] + answers[429] == 40
    assert checked == answers[401]
    assert runtime.context.throttle.failures("anna@example.com") == answers[401]
    assert_throttled(refused, "too many failed logins")
    assert state.unchanged()
    with client_at(server, OWNER_ADDRESS) as owner:
        assert log_in(owner, "anna@example.com", PASSWORD).status_code == 200


def test_a_burst_of_parallel_guesses_over_many_accounts_checks_at_most_the_address_limit(
    runtime: Runtime, server: str
) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    state = StoredState(runtime)
    limit = runtime.settings.login_attempts_per_address
    before = hashing_work().verifications

    with client_at(server, ATTACKERS[0]) as attacker:
        guesses = [(f"someone-{n}@example.com", "guess-1") for n in range(limit + 30)]
        answers = guess_in_parallel(attacker, guesses)
        refused = log_in(attacker, "anna@example.com", PASSWORD)

    assert answers == Counter({401: limit, 429: 30})
    assert hashing_work().verifications - before == limit
    assert_throttled(refused, "too many failed logins")
    assert state.unchanged()
    with client_at(server, OWNER_ADDRESS) as owner:
        assert log_in(owner, "anna@example.com", PASSWORD).status_code == 200


def test_a_household_behind_one_address_that_logs_in_all_day_is_never_refused(
    settings: Settings, database: Database
) -> None:
    """Successful logins do not use up the address's budget: with room for three failures,
    six logins of the household's two accounts get in, and the failures still count."""
    strict = settings.model_copy(update={"login_attempts_per_address": 3})
    runtime = Runtime(strict, database).start()
    try:
        home_user(runtime, "anna@example.com", PASSWORD)
        home_user(runtime, "ben@example.com", PASSWORD)
        with serving(runtime.api) as url, client_at(url, OWNER_ADDRESS) as home:
            logins = [log_in(home, f"{who}@example.com", PASSWORD) for who in ["anna", "ben"] * 3]
            typos = [log_in(home, "ben@example.com", f"typo-{n}") for n in range(3)]
            refused = log_in(home, "anna@example.com", PASSWORD)
    finally:
        runtime.close()

    assert [answer.status_code for answer in logins] == [200] * 6
    assert [answer.status_code for answer in typos] == [401] * 3
    assert_throttled(refused, "too many failed logins")


def test_the_login_page_refuses_a_throttled_address_with_retry_after(
    runtime: Runtime, server: str
) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    with client_at(server, ATTACKERS[0]) as attacker:
        for n in range(runtime.settings.login_attempts_per_account_address):
            log_in(attacker, "anna@example.com", f"guess-{n}")
        state = StoredState(runtime)
        page = attacker.post("/login", data={"email": "anna@example.com", "password": PASSWORD})

    assert page.status_code == 429
    assert "Too many failed logins" in error_text(page)
    assert int(page.headers["Retry-After"]) >= 1
    assert "set-cookie" not in page.headers
    assert state.unchanged()


class Seconds:
    """Seconds since the epoch, moved by the test: the throttle's and its storage's clock."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
def storage_at(database: Database, seconds: Seconds) -> Iterator[PostgresLimitsStorage]:
    """The counts' storage on the test's schema, on the test's clock."""
    storage = PostgresLimitsStorage(
        limits_uri(database), schema=str(database.schema), clock=seconds
    )
    storage.create_tables()
    yield storage
    storage.close()


def test_the_delay_grows_with_an_accounts_failures_and_stops_at_its_cap(
    storage_at: PostgresLimitsStorage, seconds: Seconds
) -> None:
    """Worked out, not waited for: 1 s, 2 s, 4 s ... at most 5 s, from any address, and
    never a refusal for an address that has not been failing."""
    limits = ThrottleLimits(delay_after=2, first_delay=1.0, max_delay=5.0)
    throttle = LoginThrottle(storage_at, limits, seconds)
    delays = []
    for n in range(7):
        admission = throttle.admission("anna@example.com", ATTACKERS[n % len(ATTACKERS)])
        delays.append(admission)
        seconds.now += admission.delay  # held, then checked: wrong
        throttle.failed("anna@example.com", ATTACKERS[n % len(ATTACKERS)])

    assert [admission.delay for admission in delays] == pytest.approx([0, 0, 1, 2, 4, 5, 5])
    assert {admission.retry_after for admission in delays} == {0}
    assert throttle.failures("ANNA@example.com") == 7  # one account, however it is spelled


def test_parallel_attempts_on_a_guessed_account_take_turns_and_the_owner_waits_the_cap_at_most(
    storage_at: PostgresLimitsStorage, seconds: Seconds
) -> None:
    """Five addresses that failed once each attack again at the same instant: their checks
    are spaced as the delay says, as if they came one after another; beyond the cap they
    are refused. The owner, from an address that has not failed, waits the cap at most."""
    throttle = LoginThrottle(
        storage_at, ThrottleLimits(delay_after=5, first_delay=1.0, max_delay=3.0), seconds
    )
    for address in ATTACKERS:
        assert throttle.admission("anna@example.com", address) == Admission()
        throttle.failed("anna@example.com", address)

    burst = [throttle.admission("anna@example.com", address) for address in ATTACKERS]
    owner = throttle.admission("anna@example.com", OWNER_ADDRESS)

    assert [admission.delay for admission in burst[:3]] == pytest.approx([1, 2, 3])
    assert [admission.retry_after for admission in burst[3:]] == [1, 1]
    assert owner == Admission(delay=3.0)
    seconds.now += 1  # a turn later, the queue has room for one more
    assert throttle.admission("anna@example.com", ATTACKERS[3]).delay == pytest.approx(3)


def test_the_counts_are_shared_by_two_api_processes_and_kept_over_a_restart(
    settings: Settings, database: Database
) -> None:
    first, second = Runtime(settings, database).start(), Runtime(settings, database).start()
    try:
        home_user(first, "anna@example.com", PASSWORD)
        with serving(first.api) as url_a, client_at(url_a, ATTACKERS[0]) as attacker:
            for n in range(settings.login_attempts_per_account_address):
                assert log_in(attacker, "anna@example.com", f"guess-{n}").status_code == 401
        with serving(second.api) as url_b, client_at(url_b, ATTACKERS[0]) as attacker:
            assert_throttled(log_in(attacker, "anna@example.com", PASSWORD), "failed logins")
    finally:
        first.close()
        second.close()

    restarted = Runtime(settings, database).start()
    try:
        with serving(restarted.api) as url:
            with client_at(url, ATTACKERS[0]) as attacker:
                assert_throttled(log_in(attacker, "anna@example.com", PASSWORD), "failed logins")
            with client_at(url, OWNER_ADDRESS) as owner:
                assert log_in(owner, "anna@example.com", PASSWORD).status_code == 200
    finally:
        restarted.close()


# --- 3. a login does the same work, and says the same, whatever the account ---------------


@pytest.fixture
def accounts_of_every_kind(runtime: Runtime) -> dict[str, str]:
    """One e-mail per kind of account a login may name."""
    home_user(runtime, "active@example.com", PASSWORD)
    home_user(runtime, "invited@example.com", None)
    revoked = home_user(runtime, "revoked@example.com", PASSWORD)
    runtime.service.accounts.revoke_user(revoked, Actor.system())
    return {
        "unknown": "nobody@example.com",
        "invited": "invited@example.com",
        "revoked": "revoked@example.com",
        "active": "active@example.com",
    }


def test_every_login_verifies_one_password_and_answers_the_same_whatever_the_account(
    runtime: Runtime, server: str, accounts_of_every_kind: dict[str, str]
) -> None:
    verifications, answers = {}, {}
    with client_at(server, OWNER_ADDRESS) as client:
        for kind, email in accounts_of_every_kind.items():
            before = hashing_work().verifications
            # the revoked account's former password, a wrong one for the others
            answer = log_in(client, email, PASSWORD if kind == "revoked" else "wrong-password-1")
            verifications[kind] = hashing_work().verifications - before
            answers[kind] = (answer.status_code, answer.text)

    assert verifications == dict.fromkeys(accounts_of_every_kind, 1)
    assert set(answers.values()) == {(401, '{"detail":"wrong e-mail or password"}')}


def test_the_login_page_answers_the_same_whatever_the_account(
    runtime: Runtime, server: str, accounts_of_every_kind: dict[str, str]
) -> None:
    answers = set()
    with client_at(server, OWNER_ADDRESS) as client:
        for email in accounts_of_every_kind.values():
            before = hashing_work().verifications
            page = client.post("/login", data={"email": email, "password": "wrong-password-1"})
            assert hashing_work().verifications - before == 1
            answers.add((page.status_code, error_text(page)))

    assert answers == {(401, "Wrong e-mail or password.")}


# --- 4. password changes are throttled as logins are -------------------------------------


def test_guessing_the_current_password_is_throttled_and_changes_nothing(
    runtime: Runtime, server: str
) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    with client_at(server, ATTACKERS[0]) as thief:  # holds Anna's session, not her password
        token = log_in(thief, "anna@example.com", PASSWORD).json()["token"]
        thief.headers["Authorization"] = f"Bearer {token}"
        state = StoredState(runtime)
        for n in range(runtime.settings.login_attempts_per_account_address):
            wrong = thief.post(
                "/api/auth/password",
                json={"current_password": f"guess-{n}", "new_password": "thief-owns-it-now-1"},
            )
            assert wrong.status_code == 422
            assert "not your current password" in wrong.json()["detail"]
        refused = thief.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": "thief-owns-it-now-1"},
        )

    assert_throttled(refused, "too many wrong passwords")
    assert state.unchanged()
    with client_at(server, OWNER_ADDRESS) as owner:
        assert log_in(owner, "anna@example.com", PASSWORD).status_code == 200
        assert log_in(owner, "anna@example.com", "thief-owns-it-now-1").status_code == 401


def test_the_password_page_is_throttled_too(runtime: Runtime, server: str) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    browser = PageClient(server)
    try:
        browser.log_in("anna@example.com", PASSWORD, portal="")
        browser.get("/password")
        for n in range(runtime.settings.login_attempts_per_account_address):
            browser.post("/password", change(f"guess-{n}", "thief-owns-it-now-1"))
        state = StoredState(runtime)
        page = browser.post("/password", change(PASSWORD, "thief-owns-it-now-1"))
    finally:
        browser.close()

    assert page.status_code == 429
    assert "Too many wrong passwords" in error_text(page)
    assert state.unchanged()
    assert runtime.service.accounts.authenticate("anna@example.com", PASSWORD) is not None


def change(current: str, new: str) -> dict[str, str]:
    return {"current_password": current, "new_password": new, "repeat": new}


# --- 5. weak passwords are refused on every path, saying why -----------------------------

WEAK = ["12345678", "1234567890", "password123", "anna@example.com"]


@pytest.mark.parametrize("weak", WEAK)
def test_accepting_an_invitation_with_a_weak_password_is_refused(
    runtime: Runtime, server: str, weak: str
) -> None:
    _, token = runtime.service.accounts.invite_home_user("anna@example.com", Actor.system())
    state = StoredState(runtime)

    answer = httpx.post(f"{server}/api/invitations/{token}/accept", json={"password": weak})

    assert answer.status_code == 422
    assert "password" in answer.text and ("at least 10" in answer.text or "guess" in answer.text)
    assert state.unchanged()
    assert httpx.get(f"{server}/api/invitations/{token}").status_code == 200  # still usable


def test_the_invitation_page_says_why_a_password_is_too_weak(runtime: Runtime, server: str) -> None:
    _, token = runtime.service.accounts.invite_home_user("anna@example.com", Actor.system())
    state = StoredState(runtime)
    browser = PageClient(server)
    try:
        page = browser.post(
            f"/invitation/{token}", {"password": "1234567890", "repeat": "1234567890"}, csrf=False
        )
    finally:
        browser.close()

    assert page.status_code == 422
    assert "too easy to guess" in error_text(page)
    assert "common password" in error_text(page)  # zxcvbn's own words
    assert state.unchanged()


def test_changing_to_a_weak_password_is_refused_and_the_old_one_still_works(
    runtime: Runtime, server: str
) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    with client_at(server, OWNER_ADDRESS) as anna:
        token = log_in(anna, "anna@example.com", PASSWORD).json()["token"]
        anna.headers["Authorization"] = f"Bearer {token}"
        state = StoredState(runtime)
        answer = anna.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": "anna@example.com"},
        )
        assert answer.status_code == 422
        assert "too easy to guess" in answer.json()["detail"]
        assert state.unchanged()
        assert log_in(anna, "anna@example.com", PASSWORD).status_code == 200


def test_the_password_page_refuses_a_weak_new_password(runtime: Runtime, server: str) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    browser = PageClient(server)
    try:
        browser.log_in("anna@example.com", PASSWORD, portal="")
        browser.get("/password")
        state = StoredState(runtime)
        page = browser.post("/password", change(PASSWORD, "qwertyuiop"))
    finally:
        browser.close()

    assert page.status_code == 422
    assert "too easy to guess" in error_text(page)
    assert state.unchanged()


def run_operator_add(tmp_path: Path, email: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMARTCHARGE_DATA_DIR": str(tmp_path / "var")}
    env.pop("SMARTCHARGE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "smartcharge.cli", "operator", "add", email],
        input=f"{password}\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_operator_add_refuses_a_weak_password_before_starting_anything(tmp_path: Path) -> None:
    answer = run_operator_add(tmp_path, "ops@example.com", "1234567890")

    assert answer.returncode == 2, answer.stderr
    assert answer.stderr.startswith("smartcharge: refused: password: too easy to guess.")
    assert not (tmp_path / "var").exists(), "no database was started"


# --- 6. look-alike e-mails ----------------------------------------------------------------

LOOK_ALIKES = {
    "Cyrillic a in the name": ("ann\u0430@example.com", "mixes alphabets (Cyrillic, Latin)"),
    "Cyrillic a in the domain": ("anna@ex\u0430mple.com", "mixes alphabets (Cyrillic, Latin)"),
    "Greek o in the name": ("j\u03bfhn@example.com", "mixes alphabets (Greek, Latin)"),
    "zero-width space": ("an\u200bna@example.com", "invisible character (U+200B"),
    "zero-width joiner": ("anna\u200d@example.com", "invisible character (U+200D"),
    "soft hyphen": ("an\u00adna@example.com", "invisible character (U+00AD"),
    "right-to-left mark": ("anna@example\u200f.com", "invisible character (U+200F"),
}


@pytest.mark.parametrize("case", LOOK_ALIKES, ids=list(LOOK_ALIKES))
def test_a_look_alike_email_is_refused_with_the_reason(
    runtime: Runtime, operator_client: httpx.Client, case: str
) -> None:
    email, reason = LOOK_ALIKES[case]
    state = StoredState(runtime)

    answer = operator_client.post("/api/operator/users", json={"email": email})

    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["detail"]
    assert state.unchanged()


def test_operator_add_refuses_a_look_alike_email(tmp_path: Path) -> None:
    answer = run_operator_add(tmp_path, "ops@ex\u0430mple.com", "operator-password-7")

    assert answer.returncode == 2, answer.stderr
    assert "mixes alphabets" in answer.stderr
    assert not (tmp_path / "var").exists()


def test_full_width_and_other_spellings_find_the_existing_account(
    runtime: Runtime, server: str, operator_client: httpx.Client
) -> None:
    home_user(runtime, "anna@example.com", PASSWORD)
    state = StoredState(runtime)

    again = operator_client.post(
        "/api/operator/users", json={"email": "\uff21\uff4e\uff4e\uff41@example.com"}
    )

    assert again.status_code == 409  # full-width ANNA is anna: no second account
    assert "anna@example.com already has an account" in again.json()["detail"]
    assert state.unchanged()
    with client_at(server, OWNER_ADDRESS) as anna:
        for spelling in ("  Anna@EXAMPLE.com ", "\uff41\uff4e\uff4e\uff41@example.com"):
            assert log_in(anna, spelling, PASSWORD).status_code == 200


def test_a_script_of_its_own_is_an_address_of_its_own(
    runtime: Runtime, operator_client: httpx.Client
) -> None:
    """Not mixing is fine: an address wholly in Cyrillic, or Japanese with Latin."""
    for email in ("\u0430\u043d\u043d\u0430@example.com", "山田たろう@example.jp"):
        answer = operator_client.post("/api/operator/users", json={"email": email})
        assert answer.status_code == 201, answer.text
        assert answer.json()["email"] == email


# --- the PostgreSQL storage behind the counts, through the `limits` library ---------------


@pytest.fixture
def limits_storage(database: Database) -> Iterator[Any]:
    from limits.storage import storage_from_string

    from smartcharge.limits_storage import limits_uri

    storage = storage_from_string(limits_uri(database), schema=str(database.schema))
    storage.create_tables()  # type: ignore[union-attr]
    yield storage
    storage.close()  # type: ignore[union-attr]


def test_the_storage_keeps_a_moving_window_for_the_limits_library(limits_storage: Any) -> None:
    from limits import RateLimitItemPerMinute
    from limits.strategies import MovingWindowRateLimiter

    window = MovingWindowRateLimiter(limits_storage)
    three = RateLimitItemPerMinute(3)

    assert [window.hit(three, "k") for _ in range(4)] == [True, True, True, False]
    assert not window.test(three, "k")
    assert window.test(three, "other")
    stats = window.get_window_stats(three, "k")
    assert stats.remaining == 0 and stats.reset_time > limits_storage.clock()
    window.clear(three, "k")
    assert window.hit(three, "k")


def test_the_storage_keeps_fixed_window_counters(limits_storage: Any) -> None:
    from limits import RateLimitItemPerMinute
    from limits.strategies import FixedWindowRateLimiter

    fixed = FixedWindowRateLimiter(limits_storage)
    two = RateLimitItemPerMinute(2)

    assert [fixed.hit(two, "k") for _ in range(3)] == [True, True, False]
    assert fixed.get_window_stats(two, "k").remaining == 0
    assert limits_storage.reset() >= 1
    assert fixed.hit(two, "k")


def test_racing_hits_from_two_processes_never_exceed_the_limit(
    limits_storage: Any, database: Database
) -> None:
    """Two storages (two connection pools, as two API processes have), 40 hits at once on
    a window of 5: exactly 5 are taken."""
    from limits import RateLimitItemPerMinute
    from limits.strategies import MovingWindowRateLimiter

    from smartcharge.limits_storage import PostgresLimitsStorage, limits_uri

    other = PostgresLimitsStorage(limits_uri(database), schema=str(database.schema))
    try:
        windows = [MovingWindowRateLimiter(limits_storage), MovingWindowRateLimiter(other)]
        five = RateLimitItemPerMinute(5)

        def hit(n: int) -> bool:
            return windows[n % 2].hit(five, "raced")

        with ThreadPoolExecutor(max_workers=8) as pool:
            taken = list(pool.map(hit, range(40)))
    finally:
        other.close()

    assert taken.count(True) == 5
