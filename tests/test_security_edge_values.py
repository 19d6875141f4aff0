"""The edge's values: the page after logging in is only ever one of ours, the JSON API takes
no lenient values (nor the forms full-width digits), and no link token is left where others
can read it: mails in the outbox folder, uvicorn's access log."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.pages.access import CONSUMER, OPERATOR, safe_next
from domain.actors import Actor
from edge_kit import PASSWORD, WINDOW, Service, nothing_recorded, service
from faults_support import ServeProcess, wait_until
from pages_kit import PageClient, error_text
from smartcharge.database import Database

__all__ = ["service"]  # the module's fixture, from the kit
pytestmark = pytest.mark.postgres

SITE = "portal.test"

# --- 2. where the login sends the browser ------------------------------------------------

HOSTILE_STARTS = [
    "//", "/\\", "\\", "/\t/", "/\n/", "\t//", " //", "/\u3000/", "/%2F", "/%2f%2F", "/%5C",
    "/%09/", "/%252F%252F", "/%25252F/", "https://", "http:", "javascript:", "HTTPS:\\\\",
    "///", "/.//", "/\r\n/", "/\x00/", "%2F%2F", "/\u2028/", "/\u200b/", "/\x85/",
]  # fmt: skip
HOSTS = ["evil.example", "evil.example/operator/groups", "", "@evil.example", "groups/1"]
hostile_next = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda start, host, rest: start + host + rest,
        st.sampled_from(HOSTILE_STARTS),
        st.sampled_from(HOSTS),
        st.text(max_size=10),
    ),
    st.builds(lambda path, rest: path + rest, st.sampled_from(["/", "/operator/"]), st.text()),
)


def host_a_browser_reaches(location: str) -> str:
    """As a browser reads a Location (WHATWG URL): leading and trailing C0 controls and
    spaces stripped, tabs and line breaks removed, a backslash taken for a slash."""
    cleaned = location.strip("".join(map(chr, range(0x21))))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    return urlsplit(urljoin(f"http://{SITE}/operator/login", cleaned)).netloc


def assert_same_site_path(location: str) -> None:
    assert location.isascii() and location.isprintable(), location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert host_a_browser_reaches(location) == SITE, location
    assert host_a_browser_reaches(unquote(location)) == SITE, location


@settings(max_examples=2000, deadline=None)
@given(hostile_next, st.sampled_from([OPERATOR, CONSUMER]))
def test_the_next_page_is_always_a_path_of_this_site(typed: str, portal: Any) -> None:
    assert_same_site_path(safe_next(typed, portal))


@given(st.from_regex(r"/operator/[a-z0-9_-]{0,12}(/[a-z0-9_-]{1,12}){0,3}", fullmatch=True))
def test_a_page_of_the_portal_is_kept(path: str) -> None:
    assert safe_next(path, OPERATOR) == path


def log_in_with_next(service: Service, typed: str) -> httpx.Response:
    form = {"email": "operator@example.com", "password": PASSWORD, "next": typed}
    return httpx.post(f"{service.url}/operator/login", data=form)


@pytest.mark.parametrize(
    ("typed", "location"),
    [
        ("/\t/evil.example", "/operator/groups"),  # was //evil.example in the browser
        ("/operator/evses\n/x", "/operator/groups"),  # dropped the connection
        ("/operator/\u3000", "/operator/groups"),  # was a 500
        ("/operator/groups?q=\u0917", "/operator/groups?q=%E0%A4%97"),  # a 500 too
        ("/operator/evses#connectors", "/operator/evses#connectors"),
    ],
)
def test_the_login_answers_a_hostile_next_with_a_page_of_ours(
    service: Service, typed: str, location: str
) -> None:
    answer = log_in_with_next(service, typed)

    assert answer.status_code == 303
    assert answer.headers["location"] == location


@pytest.mark.parametrize("typed", ["/%2F%2Fevil.example", "/%5Cevil.example", "/%252F/evil"])
def test_an_encoded_way_to_another_site_is_no_page_of_ours(service: Service, typed: str) -> None:
    form = {"email": "anna@example.com", "password": PASSWORD, "next": typed}
    answer = httpx.post(f"{service.url}/login", data=form)  # the consumer portal: "/" is hers

    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=hostile_next)
def test_every_login_lands_on_this_site(service: Service, typed: str) -> None:
    answer = log_in_with_next(service, typed)

    assert answer.status_code == 303, answer.text[:200]
    assert_same_site_path(answer.headers["location"])


# --- 5. strict values in the JSON API, ASCII digits in the forms ----------------------------


def charge_points(service: Service) -> set[str]:
    return {evse["charge_point_id"] for evse in service.operator.get("/api/operator/evses").json()}


EVSE = {"charge_point_id": "CP-STRICT", "connector_id": 1, "max_current_a": 16, "phases": 3}
LENIENT_EVSES = [
    pytest.param({"max_current_a": 1e-320}, "max_current_a", id="subnormal current"),
    pytest.param({"max_current_a": 0.01}, "max_current_a", id="below the step"),
    pytest.param({"max_current_a": 16.05}, "max_current_a", id="finer than 0.1 A"),
    pytest.param({"max_current_a": "16"}, "max_current_a", id="current as text"),
    pytest.param({"connector_id": "1"}, "connector_id", id="connector as text"),
    pytest.param({"connector_id": True}, "connector_id", id="connector as true"),
    pytest.param({"connector_id": 1.0}, "connector_id", id="connector as 1.0"),
    pytest.param({"phases": True}, "phases", id="phases as true"),
    pytest.param({"phases": 3.0}, "phases", id="phases as 3.0"),
    pytest.param({"max_current_a": None, "max_power_w": 0.5}, "max_power_w", id="half a watt"),
]


@pytest.mark.parametrize(("change", "field"), LENIENT_EVSES)
def test_a_lenient_evse_value_is_refused_naming_the_field(
    service: Service, change: dict[str, Any], field: str
) -> None:
    with nothing_recorded(service):
        answer = service.operator.post("/api/operator/evses", json={**EVSE, **change})

    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(f"{field}: ")
    assert "CP-STRICT" not in charge_points(service)


def test_a_current_in_steps_of_a_tenth_is_taken(service: Service) -> None:
    created = service.operator.post(
        "/api/operator/evses", json={**EVSE, "charge_point_id": "CP-TENTH", "max_current_a": 16.1}
    )

    assert created.status_code == 201, created.text
    assert created.json()["max_current_a"] == 16.1
    service.operator.delete(f"/api/operator/evses/{created.json()['id']}").raise_for_status()


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "exclusion-times", {"windows": [{**WINDOW, "start": "1\uff17:00"}]}, "start"),
        ("PUT", "exclusion-times", {"windows": [{**WINDOW, "end": "\u0662\u0661:00"}]}, "end"),
        ("POST", "priority-charge", {"duration_minutes": True}, "duration_minutes"),
        ("POST", "priority-charge", {"duration_minutes": "60"}, "duration_minutes"),
        ("PATCH", "", {"random_delay": 1}, "random_delay"),
        ("PATCH", "", {"random_delay": "true"}, "random_delay"),
    ],
    ids=["full-width 7", "Arabic-Indic 21", "true minutes", "text minutes", "1 for yes", "text"],
)
def test_a_lenient_group_value_is_refused_and_the_group_kept(
    service: Service, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = service.group()
    url = f"/api/operator/groups/{service.group_id}/{path}".rstrip("/")

    with nothing_recorded(service):
        answer = service.operator.request(method, url, json=body)

    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"]
    assert service.group() == before


def test_a_new_group_with_a_number_for_yes_is_refused(service: Service) -> None:
    body = {"name": "Lenient", "time_zone": "UTC", "random_delay": 1}

    with nothing_recorded(service):
        answer = service.operator.post("/api/operator/groups", json=body)

    assert answer.status_code == 422 and "random_delay" in answer.json()["detail"]


@contextmanager
def page_client(service: Service, user_id: Any, page: str) -> Iterator[PageClient]:
    """A browser without JavaScript, logged in, with the CSRF token of `page`."""
    client = PageClient(service.url)
    client.http.cookies.set("smartcharge_session", service.session(user_id))
    try:
        assert client.get(page).status_code == 200
        yield client
    finally:
        client.close()


def test_the_exclusion_form_refuses_full_width_digits(service: Service) -> None:
    page = f"/groups/{service.group_id}"
    before = service.group()["exclusion_windows"]
    with page_client(service, service.anna_id, page) as anna, nothing_recorded(service):
        answer = anna.post(
            f"{page}/exclusion-times/add",
            {"days": ["tue"], "start": "\uff11\uff17:00", "end": "21:00"},
        )

    assert answer.status_code == 422
    assert "is not a time of day" in error_text(answer)
    assert service.group()["exclusion_windows"] == before


def test_the_evse_form_refuses_full_width_digits(service: Service) -> None:
    typed = {"charge_point_id": "CP-FORM", "connector_id": "\uff11", "phases": "3"}
    with (
        page_client(service, service.operator_id, "/operator/evses") as operator,
        nothing_recorded(service),
    ):
        answer = operator.post("/operator/evses", {**typed, "max_current_a": "16"})
        current = operator.post(
            "/operator/evses", {**typed, "connector_id": "1", "max_current_a": "\uff11\uff16"}
        )

    assert answer.status_code == 422 and "is not a whole number" in error_text(answer)
    assert current.status_code == 422 and "is not a number" in error_text(current)
    assert "CP-FORM" not in charge_points(service)


# --- 8. link tokens: not readable from the outbox folder, not in the access log ---------------


def test_outbox_mails_are_readable_by_the_service_user_only(service: Service) -> None:
    """No SMTP server is set for this service: the invitation goes to the outbox folder."""
    folder = service.runtime.settings.outbox_dir
    before = set(folder.glob("*.eml")) if folder.exists() else set()
    previous = os.umask(0o022)  # the usual umask, which left them readable by everybody
    try:
        service.runtime.service.accounts.invite_home_user("dora@example.com", Actor.system())
        (mail,) = wait_until(
            lambda: [m for m in set(folder.glob("*.eml")) - before if b"dora@" in m.read_bytes()],
            10,
            "the invitation written to the outbox",
        )
    finally:
        os.umask(previous)

    assert stat.S_IMODE(mail.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert b"/invitation/" in mail.read_bytes()


def test_the_access_log_of_serve_keeps_no_link_token(database: Database, tmp_path: Path) -> None:
    """`smartcharge serve` in a process of its own: uvicorn's logging is the process's."""
    secret = "Zq9-secret_T0ken"
    paths = [
        f"/invitation/{secret}",
        f"/api/invitations/{secret}",
        f"/password-reset/{secret}?from=mail",
        f"/api/password-resets/{secret}",
        f"/healthz?token={secret}&x=1",
    ]
    serve = ServeProcess(database, tmp_path)
    try:
        serve.start()
        for path in paths:
            httpx.get(serve.http + path)
        # Asked one after another, each logged as it is answered: the last comes last.
        wait_until(lambda: "/healthz?token=" in serve.log_tail(), 10, "the last access line")
    finally:
        serve.stop()

    logged = serve.log_path.read_text()
    assert secret not in logged
    assert "/invitation/… " in logged and "/password-reset/…?from=mail" in logged
    assert "/api/password-resets/… " in logged and "/healthz?token=…&x=1" in logged
