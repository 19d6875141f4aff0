"""Pages: logging in and out, who may see which portal, CSRF, and the invitation link."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from mailcatcher import MailCatcher, invitation_token
from pages_kit import PageClient, error_text, group, home_user, text

pytestmark = pytest.mark.postgres

OPERATOR_PAGES = ["/operator/groups", "/operator/users", "/operator/evses", "/operator/groups/new"]
CONSUMER_PAGES = ["/"]


@pytest.fixture
def browser(server: str) -> Iterator[PageClient]:
    client = PageClient(server)
    yield client
    client.close()


@pytest.fixture
def anna(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> Iterator[PageClient]:
    home_user(server, operator_client, smtp_server, "anna@example.com", "anna-secret-1")
    client = PageClient(server)
    client.log_in("anna@example.com", "anna-secret-1", portal="")
    yield client
    client.close()


@pytest.mark.parametrize("path", [*OPERATOR_PAGES, *CONSUMER_PAGES])
def test_logged_out_visitor_is_sent_to_the_portals_login(browser: PageClient, path: str) -> None:
    answer = browser.get(path)

    assert answer.status_code == 303
    login = "/operator/login" if path.startswith("/operator") else "/login"
    assert answer.headers["location"] == f"{login}?next={path}"


def test_group_pages_of_both_portals_need_a_login(
    browser: PageClient, operator_client: httpx.Client
) -> None:
    group_id = group(operator_client, "Somewhere")["id"]

    for path in (f"/operator/groups/{group_id}", f"/groups/{group_id}", f"/groups/{group_id}/live"):
        answer = browser.get(path)
        assert answer.status_code == 303, path
        assert "login?next=" in answer.headers["location"]


def test_operator_logs_in_and_lands_where_he_wanted(
    browser: PageClient, operator_credentials: tuple[str, str]
) -> None:
    email, password = operator_credentials
    answer = browser.post(
        "/operator/login",
        {"email": email, "password": password, "next": "/operator/evses"},
        csrf=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/operator/evses"
    page = browser.follow(answer)
    assert page.status_code == 200
    assert "EVSE registry" in text(page)
    assert "HttpOnly" in answer.headers["set-cookie"]
    assert "samesite=lax" in answer.headers["set-cookie"].lower()


def test_login_never_redirects_to_another_site(
    browser: PageClient, operator_credentials: tuple[str, str]
) -> None:
    email, password = operator_credentials
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = browser.post(
            "/operator/login", {"email": email, "password": password, "next": target}, csrf=False
        )
        assert answer.headers["location"] == "/operator/groups"


def test_wrong_password_is_refused_on_the_page_with_the_email_kept(
    browser: PageClient, operator_credentials: tuple[str, str]
) -> None:
    answer = browser.post(
        "/operator/login", {"email": operator_credentials[0], "password": "wrong"}, csrf=False
    )

    assert answer.status_code == 401
    assert error_text(answer) == "Wrong e-mail or password."
    assert f'value="{operator_credentials[0]}"' in answer.text
    assert "set-cookie" not in answer.headers


def test_operator_pages_refuse_a_home_user(anna: PageClient) -> None:
    answer = anna.get("/operator/groups")

    assert answer.status_code == 403
    assert "This page is for operators" in text(answer)
    assert "anna@example.com" in text(answer)


def test_consumer_pages_refuse_an_operator(
    browser: PageClient, operator_credentials: tuple[str, str]
) -> None:
    browser.log_in(*operator_credentials)

    answer = browser.get("/")

    assert answer.status_code == 403
    assert "This page is for home users" in text(answer)


def test_home_user_logging_in_at_the_operator_portal_lands_in_his_own(
    server: str, anna: PageClient
) -> None:
    other = PageClient(server)
    answer = other.post(
        "/operator/login", {"email": "anna@example.com", "password": "anna-secret-1"}, csrf=False
    )
    other.close()
    assert answer.headers["location"] == "/"


def test_form_without_the_csrf_token_is_refused(
    browser: PageClient, operator_credentials: tuple[str, str], smtp_server: MailCatcher
) -> None:
    browser.log_in(*operator_credentials)

    forged = browser.post("/operator/users", {"email": "x@example.com"}, csrf=False)
    wrong = browser.post("/operator/users", {"email": "x@example.com", "csrf_token": "0" * 64})

    assert forged.status_code == 403
    assert wrong.status_code == 403
    assert "This form could not be sent" in text(forged)
    assert "x@example.com" not in text(browser.get("/operator/users"))


def test_form_from_another_origin_is_refused_even_with_a_token(
    browser: PageClient, operator_credentials: tuple[str, str]
) -> None:
    browser.log_in(*operator_credentials)

    answer = browser.http.post(
        "/operator/users",
        data={"email": "x@example.com", "csrf_token": browser.csrf},
        headers={"Origin": "https://evil.example"},
    )

    assert answer.status_code == 403


def test_logout_ends_the_session(
    browser: PageClient, operator_credentials: tuple[str, str]
) -> None:
    browser.log_in(*operator_credentials)

    answer = browser.post("/operator/logout")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/operator/login"
    assert browser.get("/operator/groups").status_code == 303


def test_invitation_link_sets_the_password_and_logs_in(
    browser: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    operator_client.post("/api/operator/users", json={"email": "ben@example.com"})
    token = invitation_token(smtp_server.wait_for("ben@example.com", "invited"))

    page = browser.get(f"/invitation/{token}")
    assert page.status_code == 200
    assert "ben@example.com" in text(page)
    different = browser.post(
        f"/invitation/{token}", {"password": "ben-secret-1", "repeat": "ben-secret-2"}, csrf=False
    )
    short = browser.post(
        f"/invitation/{token}", {"password": "short", "repeat": "short"}, csrf=False
    )
    accepted = browser.post(
        f"/invitation/{token}", {"password": "ben-secret-1", "repeat": "ben-secret-1"}, csrf=False
    )

    assert different.status_code == 422
    assert error_text(different) == "The two passwords are not the same."
    assert short.status_code == 422
    assert "at least 10 characters" in error_text(short)
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/"
    assert "My smart charging groups" in text(browser.follow(accepted))


def test_used_invitation_link_says_it_no_longer_works(
    browser: PageClient, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    operator_client.post("/api/operator/users", json={"email": "cleo@example.com"})
    token = invitation_token(smtp_server.wait_for("cleo@example.com", "invited"))
    browser.post(
        f"/invitation/{token}", {"password": "cleo-secret-7", "repeat": "cleo-secret-7"}, csrf=False
    )

    again = browser.get(f"/invitation/{token}")
    unknown = browser.get("/invitation/not-a-token")

    assert again.status_code == 410
    assert "Ask your charge point operator" in text(again)
    assert unknown.status_code == 410


def test_pages_are_not_cached_and_may_not_be_framed(
    browser: PageClient, operator_credentials: tuple[str, str]
) -> None:
    page = browser.log_in(*operator_credentials)

    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert re.search(r'<script src="/static/portal.js" defer></script>', page.text)
    assert browser.get("/static/style.css").status_code == 200


def test_password_is_changed_and_other_logins_end(
    server: str, browser: PageClient, anna: PageClient
) -> None:
    browser.log_in("anna@example.com", "anna-secret-1", portal="")
    anna.get("/password")

    wrong = anna.post(
        "/password",
        {"current_password": "nope", "new_password": "anna-secret-2", "repeat": "anna-secret-2"},
    )
    different = anna.post(
        "/password",
        {"current_password": "anna-secret-1", "new_password": "anna-secret-2", "repeat": "x"},
    )
    changed = anna.post(
        "/password",
        {
            "current_password": "anna-secret-1",
            "new_password": "anna-secret-2",
            "repeat": "anna-secret-2",
        },
    )

    assert wrong.status_code == 422
    assert error_text(wrong) == "Current password: that is not your current password."
    assert error_text(different) == "The two new passwords are not the same."
    assert changed.status_code == 303
    assert "Your password is changed" in text(anna.follow(changed))
    assert browser.get("/").status_code == 303  # the other login ended
    fresh = PageClient(server)
    assert fresh.log_in("anna@example.com", "anna-secret-2", portal="").status_code == 200
    fresh.close()


def test_operator_changes_his_password_in_his_portal(
    browser: PageClient, operator_credentials: tuple[str, str]
) -> None:
    browser.log_in(*operator_credentials)

    page = browser.get("/operator/password")

    assert page.status_code == 200
    assert 'action="/operator/password"' in page.text
