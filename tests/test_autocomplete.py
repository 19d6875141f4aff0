"""The home-user autocomplete of the wizard and the group page, on real PostgreSQL.

It finds a home user by any part of the address ("berg", "home.example"), puts the
addresses that start with what was typed first, says how many more match than it shows,
and refuses what no one types (NUL, 16 KB) in words.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from domain.actors import Actor
from pages_kit import PageClient
from smartcharge.database import Database
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

OPERATOR = Actor.system()
WAIT = 10.0  # seconds; a bound for waits on conditions, never a pause
HOME = [f"user{n:02d}@home.example" for n in range(1, 23)]  # 22 addresses at one domain
PEOPLE = [
    "anna.berg@example.com",
    "berg@example.org",
    "isberg@example.net",
    "bob@home.example.org",
    "home.example@mail.example",
    "carla@example.com",
]


@pytest.fixture
def directory(runtime: Runtime) -> list[str]:
    for email in HOME + PEOPLE:
        runtime.service.accounts.invite_home_user(email, OPERATOR)
    gone, _ = runtime.service.accounts.invite_home_user("bergen.gone@example.com", OPERATOR)
    runtime.service.accounts.revoke_user(gone, OPERATOR)
    runtime.service.accounts.add_operator("berg.operator@example.com", "operator-pass-1", OPERATOR)
    position = runtime.service.recorder.max_notification_id()
    assert runtime.context.view.wait_for(position, WAIT)
    return HOME + PEOPLE


def complete(client: httpx.Client, typed: str) -> tuple[list[str], int]:
    answer = client.get("/api/operator/users/autocomplete", params={"q": typed})
    assert answer.status_code == 200, answer.text
    return [user["email"] for user in answer.json()], int(answer.headers["X-Total-Count"])


def test_a_part_of_the_address_finds_the_home_user(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    found, total = complete(operator_client, "berg")

    # Starting with it first, then anywhere in code-point order; no revoked user, no operator.
    assert found == ["berg@example.org", "anna.berg@example.com", "isberg@example.net"]
    assert total == 3


def test_the_domain_finds_everyone_there_and_says_how_many_more(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    found, total = complete(operator_client, "HOME.example")

    assert found[0] == "home.example@mail.example"  # the one that starts with it
    assert found[1:] == ["bob@home.example.org", *HOME[:8]]
    assert total == 24  # 22 at home.example, bob's, and the one starting with it


def test_one_or_two_letters_match_the_start_only(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    assert complete(operator_client, "be") == (["berg@example.org"], 1)
    assert complete(operator_client, "is") == (["isberg@example.net"], 1)
    assert complete(operator_client, "zz") == ([], 0)


def test_like_wildcards_are_literal_inside_an_address(
    operator_client: httpx.Client, directory: list[str]
) -> None:
    assert complete(operator_client, "%berg") == ([], 0)
    assert complete(operator_client, "r_2") == ([], 0)


@pytest.mark.parametrize(
    "typed",
    ["an\x00na", "x" * 16 * 1024],
    ids=["NUL", "16 KB"],
)
def test_what_no_one_types_is_refused_in_words(
    operator_client: httpx.Client, directory: list[str], typed: str
) -> None:
    answer = operator_client.get("/api/operator/users/autocomplete", params={"q": typed})

    assert 400 <= answer.status_code < 500, answer.status_code
    assert answer.text.strip()
    if answer.status_code == 422:
        assert "q" in str(answer.json()["detail"])


def test_the_search_uses_the_trigram_index(runtime: Runtime, database: Database) -> None:
    with psycopg.connect(database.conninfo(), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{database.schema}", public')
        conn.execute("SET enable_seqscan = off")  # a tiny table: make the planner show its index
        plan = conn.execute(
            "EXPLAIN SELECT id FROM rm_users WHERE email LIKE '%home.exa%'"
        ).fetchall()
    assert "rm_users_email_trgm" in " ".join(row[0] for row in plan)


@pytest.fixture
def pages(server: str, operator_credentials: tuple[str, str]) -> Iterator[PageClient]:
    client = PageClient(server)
    client.log_in(*operator_credentials)
    yield client
    client.close()


def test_the_wizard_and_the_group_page_have_room_to_say_how_many_more(
    pages: PageClient, runtime: Runtime
) -> None:
    group_id, position = runtime.service.groups.create_group(
        name="Empty home", time_zone="Europe/Amsterdam", actor=OPERATOR
    )
    runtime.context.caught_up(position)

    group_page = pages.get(f"/operator/groups/{group_id}")
    wizard = pages.get(
        "/operator/groups/new", params={"step": "2", "name": "New", "time_zone": "UTC"}
    )

    assert 'data-autocomplete="/api/operator/users/autocomplete"' in group_page.text
    assert 'id="home-user-email-more" aria-live="polite"' in group_page.text
    assert wizard.status_code == 200
    assert 'id="home_user_email-more" aria-live="polite"' in wizard.text
