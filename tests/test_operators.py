"""Operator accounts: disabled and enabled again, from the JSON API, the portal's Operators
page and the command line. A disabled operator cannot log in (the same answer as a wrong
password) and is logged out at once; nobody disables themselves or the last operator."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from uuid import UUID

import httpx
import pytest

from conftest import login
from domain.actors import Actor, Role
from domain.errors import Conflict
from domain.operator_roster import LastOperator
from domain.passwords import hash_password
from domain.service import SmartCharging
from domain.users import User
from pages_kit import PageClient, error_text, text
from smartcharge.database import Database
from smartcharge.runtime import Runtime

OPS, OPS_PASSWORD = "operator@example.com", "operator-password"
BEA, BEA_PASSWORD = "bea@example.com", "amber-falcon-orchard-19"
WRONG_LOGIN = {"detail": "wrong e-mail or password"}


def log_in(server: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{server}/api/auth/login", json={"email": email, "password": password})


@pytest.fixture
def bea(runtime: Runtime, operator_credentials: tuple[str, str]) -> UUID:
    """A second operator, so that the first is not the last one."""
    return runtime.service.accounts.add_operator(BEA, BEA_PASSWORD, Actor.system())


@pytest.fixture
def bea_client(server: str, bea: UUID) -> Iterator[httpx.Client]:
    with login(server, BEA, BEA_PASSWORD) as client:
        yield client


def status_of(operator_client: httpx.Client, email: str) -> str:
    listed = operator_client.get("/api/operator/operators").json()
    return str(next(row["status"] for row in listed if row["email"] == email))


# --- the domain: the rules -------------------------------------------------------------------


def test_nobody_disables_themselves_or_the_last_operator() -> None:
    service = SmartCharging(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ann = service.accounts.add_operator("ann@example.com", OPS_PASSWORD, Actor.system())
    bob = service.accounts.add_operator("bob@example.com", BEA_PASSWORD, Actor.system())

    with pytest.raises(Conflict, match="your own account"):
        service.operators.disable_operator(ann, Actor.operator(ann))
    service.operators.disable_operator(bob, Actor.operator(ann))
    # Bob's own command to disable Ann, had it raced Ann's, runs again on the fresh roster:
    with pytest.raises(LastOperator):
        service.operators.disable_operator(ann, Actor.operator(bob))

    assert not service.user(ann).disabled and service.user(bob).disabled
    assert service.operators.roster(Actor.system()).enabled == {ann}


def test_operators_recorded_before_the_roster_count_when_it_is_first_made() -> None:
    """A store whose operators were added before the roster existed: it is made from them."""
    service = SmartCharging(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ids = []
    for email in ("ann@example.com", "bob@example.com"):
        user = User.register(email, Role.OPERATOR, Actor.system())  # as an older version did
        user.set_password(hash_password(OPS_PASSWORD), Actor.system())
        service.save(user)
        ids.append(user.id)
    ann, bob = ids

    service.operators.disable_operator(bob, Actor.operator(ann))

    with pytest.raises(LastOperator):
        service.operators.disable_operator(ann, Actor.system())
    assert service.operators.roster(Actor.system()).enabled == {ann}
    assert service.accounts.authenticate("bob@example.com", OPS_PASSWORD) is None


# --- the JSON API ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_disabled_operator_is_logged_out_and_cannot_log_in(
    server: str, operator_client: httpx.Client, bea: UUID, bea_client: httpx.Client
) -> None:
    assert bea_client.get("/api/auth/me").status_code == 200

    answer = operator_client.post(f"/api/operator/operators/{bea}/disable")

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "disabled"
    assert bea_client.get("/api/auth/me").status_code == 401  # the session ended at once
    refused = log_in(server, BEA, BEA_PASSWORD)
    assert (refused.status_code, refused.json()) == (401, WRONG_LOGIN)
    wrong = log_in(server, "operator@example.com", "not-the-password-at-all")
    assert (wrong.status_code, wrong.json()) == (401, WRONG_LOGIN)  # the same answer
    actions = operator_client.get(f"/api/operator/users/{bea}/audit").json()
    assert actions[0]["action"] == "disabled" and actions[0]["actor_email"] == OPS


@pytest.mark.postgres
def test_enabled_operator_logs_in_again(
    server: str, operator_client: httpx.Client, bea: UUID
) -> None:
    operator_client.post(f"/api/operator/operators/{bea}/disable")

    answer = operator_client.post(f"/api/operator/operators/{bea}/enable")

    assert answer.status_code == 200 and answer.json()["status"] == "active"
    assert log_in(server, BEA, BEA_PASSWORD).status_code == 200


@pytest.mark.postgres
def test_disabling_yourself_is_refused_and_you_stay_logged_in(
    operator_client: httpx.Client, bea: UUID
) -> None:
    me = operator_client.get("/api/auth/me").json()["user_id"]

    answer = operator_client.post(f"/api/operator/operators/{me}/disable")

    assert answer.status_code == 409
    assert "your own account" in answer.json()["detail"]
    assert status_of(operator_client, OPS) == "active"
    assert operator_client.get("/api/auth/me").status_code == 200


@pytest.mark.postgres
def test_home_user_or_nobody_cannot_disable_an_operator(
    server: str, runtime: Runtime, operator_client: httpx.Client, bea: UUID
) -> None:
    _, token = runtime.service.accounts.invite_home_user("hugo@example.com", Actor.system())
    runtime.service.accounts.accept_invitation(token, "quiet-river-basket-58")

    with login(server, "hugo@example.com", "quiet-river-basket-58") as hugo:
        as_home_user = hugo.post(f"/api/operator/operators/{bea}/disable")
    nobody = httpx.post(f"{server}/api/operator/operators/{bea}/disable")

    assert as_home_user.status_code == 403 and nobody.status_code == 401
    assert status_of(operator_client, BEA) == "active"


@pytest.mark.postgres
def test_a_home_user_is_no_operator_to_disable(
    operator_client: httpx.Client, runtime: Runtime
) -> None:
    user_id, _ = runtime.service.accounts.invite_home_user("hugo@example.com", Actor.system())

    answer = operator_client.post(f"/api/operator/operators/{user_id}/disable")

    assert answer.status_code == 404
    assert operator_client.get(f"/api/operator/users/{user_id}").json()["status"] == "invited"


# --- the Operators page ----------------------------------------------------------------------


@pytest.fixture
def ops_page(server: str, operator_credentials: tuple[str, str]) -> Iterator[PageClient]:
    page = PageClient(server)
    page.log_in(*operator_credentials)
    yield page
    page.close()


@pytest.mark.postgres
def test_operators_page_lists_operators_and_disables_one(
    ops_page: PageClient, bea: UUID, bea_client: httpx.Client, operator_client: httpx.Client
) -> None:
    listed = ops_page.get("/operator/operators")
    assert 'href="/operator/operators"' in listed.text  # in the portal's navigation
    assert f"{OPS} (you)" in text(listed) and BEA in text(listed)
    assert f"/operator/operators/{bea}/disable" in listed.text

    answer = ops_page.post(f"/operator/operators/{bea}/disable")

    page = ops_page.follow(answer)
    assert f"{BEA} can no longer log in" in text(page)
    assert f"/operator/operators/{bea}/enable" in page.text
    assert bea_client.get("/api/auth/me").status_code == 401
    enabled = ops_page.follow(ops_page.post(f"/operator/operators/{bea}/enable"))
    assert f"{BEA} can log in again." in text(enabled)
    assert status_of(operator_client, BEA) == "active"


@pytest.mark.postgres
def test_operators_page_refuses_disabling_yourself(
    ops_page: PageClient, bea: UUID, operator_client: httpx.Client
) -> None:
    me = operator_client.get("/api/auth/me").json()["user_id"]
    listed = ops_page.get("/operator/operators")
    assert f"/operator/operators/{me}/disable" not in listed.text  # no button for oneself

    answer = ops_page.post(f"/operator/operators/{me}/disable")  # the form made by hand

    assert answer.status_code == 409
    assert error_text(answer) == "You cannot disable your own account; ask another operator."
    assert status_of(operator_client, OPS) == "active"


@pytest.mark.postgres
def test_operators_page_form_without_csrf_token_is_refused(
    ops_page: PageClient, bea: UUID, operator_client: httpx.Client
) -> None:
    ops_page.get("/operator/operators")

    answer = ops_page.post(f"/operator/operators/{bea}/disable", csrf=False)

    assert answer.status_code == 403
    assert status_of(operator_client, BEA) == "active"


# --- the command line ------------------------------------------------------------------------


def cli(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SMARTCHARGE_DATABASE_URL": database.conninfo(),
        "SMARTCHARGE_DATABASE_SCHEMA": str(database.schema),
    }
    return subprocess.run(
        [sys.executable, "-m", "smartcharge.cli", "operator", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.postgres
def test_command_line_disables_and_enables_an_operator_but_never_the_last(
    server: str, database: Database, operator_client: httpx.Client, bea_client: httpx.Client
) -> None:
    disabled = cli(database, "disable", BEA)

    assert (disabled.returncode, disabled.stdout) == (0, f"operator {BEA} disabled\n")
    assert bea_client.get("/api/auth/me").status_code == 401
    assert log_in(server, BEA, BEA_PASSWORD).status_code == 401

    last = cli(database, "disable", OPS)
    assert last.returncode == 1
    assert last.stderr.strip().endswith("enable or add another one first"), last.stderr
    assert operator_client.get("/api/auth/me").status_code == 200  # still logged in

    unknown = cli(database, "enable", "nobody@example.com")
    assert unknown.returncode == 1 and "no operator has the e-mail" in unknown.stderr

    enabled = cli(database, "enable", BEA)
    assert enabled.returncode == 0, enabled.stderr
    assert log_in(server, BEA, BEA_PASSWORD).status_code == 200
