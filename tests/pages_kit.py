"""What the page tests share: a browser-like HTTP client (cookies, CSRF field) and setup.

No tests here; the page tests import these helpers.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from mailcatcher import MailCatcher, invitation_token

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class PageClient:
    """Plain form posts and redirects as a browser without JavaScript makes them."""

    def __init__(self, base_url: str):
        # Every browser names the page's origin on a POST (fetch or form); a GET sending it
        # too changes nothing.
        origin = {"Origin": base_url.rstrip("/")}
        self.http = httpx.Client(
            base_url=base_url, follow_redirects=False, timeout=20, headers=origin
        )
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        answer = self.http.get(path, **kwargs)
        found = CSRF.search(answer.text)
        if found:
            self.csrf = found.group(1)
        return answer

    def post(
        self, path: str, data: dict[str, Any] | None = None, csrf: bool = True
    ) -> httpx.Response:
        fields = dict(data or {})
        if csrf:
            fields.setdefault("csrf_token", self.csrf)
        return self.http.post(path, data=fields)

    def follow(self, answer: httpx.Response) -> httpx.Response:
        assert answer.status_code == 303, (answer.status_code, answer.text[:500])
        return self.get(answer.headers["location"])

    def log_in(self, email: str, password: str, portal: str = "/operator") -> httpx.Response:
        answer = self.post(f"{portal}/login", {"email": email, "password": password}, csrf=False)
        assert answer.status_code == 303, answer.text[:500]
        return self.follow(answer)

    def close(self) -> None:
        self.http.close()


def text(answer: httpx.Response) -> str:
    """The page's text without tags, entities decoded, spaces collapsed."""
    without_tags = re.sub(r"<[^>]+>", " ", answer.text)
    return re.sub(r"\s+", " ", html.unescape(without_tags))


def error_text(answer: httpx.Response) -> str:
    found = re.findall(r'<p class="error" role="alert"[^>]*>(.*?)</p>', answer.text, re.S)
    return " ".join(html.unescape(each).strip() for each in found)


def mails_to(smtp: MailCatcher, email: str, count: int, timeout: float = 10.0) -> list[Any]:
    """Wait until `count` mails to `email` have arrived (a mail is sent after the answer)."""

    def arrived() -> list[Any]:
        return [m for m in smtp.messages if email in str(m["To"]).lower()]

    with smtp._arrived:  # the catcher's own condition, notified on every mail
        smtp._arrived.wait_for(lambda: len(arrived()) >= count, timeout=timeout)
    return arrived()


def home_user(
    server: str, operator: httpx.Client, smtp: MailCatcher, email: str, password: str
) -> None:
    """An active home user: invited through the API, invitation accepted through the API."""
    assert operator.post("/api/operator/users", json={"email": email}).status_code == 201
    token = invitation_token(smtp.wait_for(email, "invited"))
    accepted = httpx.post(f"{server}/api/invitations/{token}/accept", json={"password": password})
    assert accepted.status_code == 200, accepted.text


def evse(operator: httpx.Client, charge_point_id: str, connector_id: int = 1) -> str:
    answer = operator.post(
        "/api/operator/evses",
        json={
            "charge_point_id": charge_point_id,
            "connector_id": connector_id,
            "max_current_a": 16,
            "phases": 3,
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def group(operator: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "time_zone": "Europe/Amsterdam", **fields}
    answer = operator.post("/api/operator/groups", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())
