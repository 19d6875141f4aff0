"""The HTTP edge refuses what the security review found getting through, on a real server:
oversized bodies, changes made with the session cookie from another site (or from nowhere),
control characters in the JSON API's query parameters; and every answer carries the
security headers, /docs included, whose Swagger UI comes from this service."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import uvicorn

from domain.actors import Actor
from edge_kit import (
    EVIL,
    PASSWORD,
    WINDOW,
    Service,
    chunked,
    nothing_recorded,
    request_head,
    send_raw,
    service,
)

__all__ = ["service"]  # the module's fixture, from the kit
pytestmark = pytest.mark.postgres

MiB = 1 << 20
PIECE = b"[" + b" " * (64 * 1024 - 1)  # the start of a JSON body that never ends


def refusal(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text[:300]
    detail = answer.json()["detail"]
    assert isinstance(detail, str)
    return detail


# --- 1. bodies over the cap, refused before they are read ---------------------------------


def test_a_200_mb_login_body_is_refused_from_its_length_before_it_is_read(
    service: Service,
) -> None:
    head = request_head(
        service.url,
        "POST",
        "/api/auth/login",
        {"Content-Type": "application/json", "Content-Length": str(200 * MiB)},
    )

    with nothing_recorded(service):
        answer = send_raw(service.url, head, [PIECE] * (200 * MiB // len(PIECE)))

    assert answer.status == 413
    assert b"larger than this service accepts (1 MiB)" in answer.body
    assert answer.sent < 200 * MiB  # answered long before the body could have arrived


def test_a_declared_length_over_the_cap_stops_even_a_route_that_reads_no_body(
    service: Service,
) -> None:
    """Revoking reads no body: Starlette's own limit would revoke first, then say 413."""
    _, token = service.runtime.service.accounts.invite_home_user("bob@example.com", Actor.system())
    bob = service.runtime.service.accounts.accept_invitation(token, "another-long-pass-9")
    service.runtime.context.caught_up(service.position())
    head = request_head(
        service.url,
        "POST",
        f"/api/operator/users/{bob}/revoke",
        {
            "Authorization": service.operator.headers["Authorization"],
            "Content-Length": str(2 * MiB),
        },
    )

    with nothing_recorded(service):
        answer = send_raw(service.url, head, [PIECE] * 32)

    assert answer.status == 413
    assert service.operator.get(f"/api/operator/users/{bob}").json()["status"] == "active"


def test_a_chunked_body_is_counted_as_it_arrives_and_refused_past_the_cap(
    service: Service,
) -> None:
    path = f"/api/operator/groups/{service.group_id}/exclusion-times"
    head = request_head(
        service.url,
        "PUT",
        path,
        {
            "Authorization": service.operator.headers["Authorization"],
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
    )
    before = service.group()["exclusion_windows"]

    with nothing_recorded(service):
        answer = send_raw(service.url, head, chunked([PIECE] * 160))  # 10 MiB offered

    assert answer.status == 413
    assert b"larger than this service accepts (1 MiB)" in answer.body
    assert service.group()["exclusion_windows"] == before


def test_a_chunked_body_under_the_cap_is_taken(service: Service) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"windows": [{"weekdays": ["tue"], '
        yield b'"start": "18:00", "end": "20:00"}]}'

    path = f"/api/operator/groups/{service.group_id}/exclusion-times"
    try:
        answer = service.operator.put(
            path, content=body(), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
        assert service.group()["exclusion_windows"][0]["weekdays"] == ["tue"]
    finally:
        service.operator.put(path, json={"windows": [WINDOW]}).raise_for_status()


# --- 3. changes made with the session cookie come from our own site -----------------------


def test_a_cross_site_logout_is_refused_and_the_session_lives_on(service: Service) -> None:
    with service.browser(service.anna_id) as browser:
        answer = browser.post("/api/auth/logout", headers={"Origin": EVIL})

        assert "another site (https://evil.example)" in refusal(answer, 403)
        assert browser.get("/api/auth/me").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "null"}, {"Referer": f"{EVIL}/page"}, {"Origin": EVIL, "Referer": "x"}],
    ids=["neither header", "opaque origin", "other site's referer", "other site's origin"],
)
def test_a_cookie_priority_charge_not_from_our_site_starts_nothing(
    service: Service, headers: dict[str, str]
) -> None:
    path = f"/api/me/groups/{service.group_id}/priority-charge"
    with service.browser(service.anna_id) as browser, nothing_recorded(service):
        answer = browser.post(path, headers=headers)

    detail = refusal(answer, 403)
    assert "Origin" in detail or "another site" in detail
    assert service.group()["priority_charge"] is None


def test_a_page_form_with_the_cookie_but_no_origin_is_refused(service: Service) -> None:
    path = f"/groups/{service.group_id}/priority-charge/start"
    with service.browser(service.anna_id) as browser, nothing_recorded(service):
        page = browser.get(f"/groups/{service.group_id}")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert token is not None
        answer = browser.post(path, data={"csrf_token": token.group(1), "minutes": ""})

    assert "must say where it comes from" in refusal(answer, 403)
    assert service.group()["priority_charge"] is None


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "own"}, {"Referer": "own/groups/x"}],
    ids=["own origin", "own referer without origin"],
)
def test_our_own_pages_still_act_with_the_cookie(service: Service, headers: dict[str, str]) -> None:
    sent = {name: value.replace("own", service.url) for name, value in headers.items()}
    path = f"/api/me/groups/{service.group_id}/priority-charge"
    with service.browser(service.anna_id) as browser:
        try:
            started = browser.post(path, headers=sent)
            assert started.status_code == 200, started.text
            assert service.group()["priority_charge"] is not None
        finally:
            assert browser.delete(path, headers=sent).status_code == 200


def test_bearer_clients_and_logging_in_need_no_origin(service: Service) -> None:
    login = {"email": "operator@example.com", "password": PASSWORD}
    logged_in = httpx.post(f"{service.url}/api/auth/login", json=login)
    form = httpx.post(f"{service.url}/operator/login", data=login)
    with service.browser(service.anna_id) as keeps_cookies:  # logging in again, as API clients do
        again = keeps_cookies.post("/api/auth/login", json=login)
    invited = service.operator.post("/api/operator/users", json={"email": "carl@example.com"})

    assert logged_in.status_code == 200 and again.status_code == 200
    assert form.status_code == 303 and form.headers["location"] == "/operator/groups"
    assert invited.status_code == 201, invited.text


# --- 4. no control characters in the JSON API's query parameters ---------------------------


@pytest.mark.parametrize("path", ["/api/operator/groups", "/api/operator/users"])
@pytest.mark.parametrize("typed", ["%00", "a%09b", "%0A", "%0D", "%1B[2J", "%7F", "%C2%85"])
def test_a_search_with_a_control_character_is_refused_in_words(
    service: Service, path: str, typed: str
) -> None:
    with nothing_recorded(service):
        answer = service.operator.get(f"{path}?limit=5&q={typed}")

    detail = refusal(answer, 422)
    assert detail.startswith("q: must not contain control characters")
    assert "PostgreSQL" not in answer.text and "psycopg" not in answer.text
    assert answer.json()["errors"][0]["location"] == "query"


def test_a_control_character_in_any_api_parameter_name_is_refused(service: Service) -> None:
    answer = service.operator.get("/api/operator/users/autocomplete?q=an&x%00y=1")

    assert "control characters" in refusal(answer, 422)
    assert service.operator.get("/api/operator/users/autocomplete?q=an").status_code == 200


# --- 6. security headers -------------------------------------------------------------------

SHARED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize("path", ["/api/auth/me", "/api/operator/groups", "/login", "/groups/x"])
def test_answers_carry_the_security_headers_and_are_not_stored(service: Service, path: str) -> None:
    with service.browser(service.anna_id) as browser:
        answer = browser.get(path)

    for name, value in SHARED.items():
        assert answer.headers[name] == value, name
    assert answer.headers["cache-control"] == "no-store"
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "strict-transport-security" not in answer.headers  # plain http


def test_refusals_carry_them_too_and_static_assets_may_be_cached(service: Service) -> None:
    refused = httpx.get(f"{service.url}/api/auth/me")
    script = httpx.get(f"{service.url}/static/portal.js")

    assert refused.status_code == 401 and refused.headers["x-frame-options"] == "DENY"
    assert script.status_code == 200 and "cache-control" not in script.headers
    assert script.headers["x-content-type-options"] == "nosniff"


@contextmanager
def served_with(app: Any, **config: Any) -> Iterator[str]:
    """The app on a uvicorn of its own, configured as `smartcharge serve` may be."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the HTTP server did not start"
            threading.Event().wait(0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_hsts_only_over_https_as_told_by_a_trusted_proxy(service: Service) -> None:
    behind_proxy = {"X-Forwarded-Proto": "https"}
    with served_with(service.runtime.api, forwarded_allow_ips="127.0.0.1") as trusted:
        over_https = httpx.get(f"{trusted}/login", headers=behind_proxy)
        over_http = httpx.get(f"{trusted}/login")
    with served_with(service.runtime.api, forwarded_allow_ips="192.0.2.1") as untrusted:
        forged = httpx.get(f"{untrusted}/login", headers=behind_proxy)

    assert over_https.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in over_http.headers
    assert "strict-transport-security" not in forged.headers


# --- 7. /docs works offline -----------------------------------------------------------------


def test_docs_page_loads_only_from_this_service(service: Service) -> None:
    page = httpx.get(f"{service.url}/docs")
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    references += re.findall(r"url: '([^']+)'", page.text)  # the OpenAPI document

    assert page.status_code == 200
    assert len(references) == 4, references  # script, stylesheet, icon, openapi.json
    for reference in references:
        address = urljoin(f"{service.url}/docs", reference)
        assert urlsplit(address).netloc == urlsplit(service.url).netloc, reference
        assert httpx.get(address).status_code == 200, reference


def test_docs_page_policy_allows_its_one_inline_script_by_hash(service: Service) -> None:
    page = httpx.get(f"{service.url}/docs")
    (script,) = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()

    policy = page.headers["content-security-policy"]
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    assert "unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert page.headers["x-frame-options"] == "DENY"
