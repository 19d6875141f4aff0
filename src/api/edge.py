"""The HTTP edge: what every request passes before any route sees it.

Outermost first:

1. `SecurityHeaders` (`api/security_headers.py`) on every answer, refusals included;
2. `BodyLimit` (`api/body_limit.py`): bodies over the cap are refused before they are read;
3. `SameSiteWrites` (here): a change made with the session cookie must say it comes from
   our own site;
4. `ApiQueryText` (here): the JSON API's query parameters hold no control characters.

Each answers in the JSON API's error shape (`{"detail": ...}`) and says what was wrong.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers, QueryParams
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimit
from api.security_headers import ONE_YEAR, SecurityHeaders

SESSION_COOKIE = "smartcharge_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writes that do not act with the session, whatever cookie comes along: logging in, asking
# for and using a reset link, accepting an invitation (a password or the link's token is
# what counts). An API client keeping cookies may log in again without naming an origin;
# the pages among them check Origin and Referer themselves (`deps.same_origin`).
SESSIONLESS_WRITES = re.compile(
    r"/(operator/)?(login|forgot-password)"
    r"|/api/auth/(login|password-reset)"
    r"|/(api/)?(invitations?|password-resets?)/[^/]+(/accept)?"
)


@dataclass(frozen=True)
class EdgeSettings:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # The origin users reach the portals at (scheme://host[:port]), when a proxy in front
    # gives us another Host: requests from it count as our own site.
    public_origin: str = ""
    hsts_seconds: int = ONE_YEAR


def origin_of(url: str) -> str:
    """scheme://host[:port] of an absolute URL, lower case; "" for anything else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an invalid IPv6 literal, say
        return ""
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def claimed_origin(headers: Mapping[str, str]) -> str | None:
    """Where the browser says the request comes from: Origin, else the Referer's origin
    ("null" when either names none we can read); None when neither header is sent."""
    origin = headers.get("origin")
    if origin is not None:
        return origin_of(origin) or "null"
    referer = headers.get("referer")
    if referer is not None:
        return origin_of(referer) or "null"
    return None


def is_own_origin(origin: str, headers: Mapping[str, str], public_origin: str = "") -> bool:
    """Our host as the browser addressed it (the Host header), or the configured public
    origin. The host decides: behind a proxy that ends TLS the scheme we see may differ."""
    if origin == "null":
        return False
    if public_origin and origin == public_origin.lower():
        return True
    return urlsplit(origin).netloc == headers.get("host", "").lower()


def from_own_site(headers: Mapping[str, str], public_origin: str = "") -> bool:
    """False when the browser names another site (or an opaque one); True when it names
    ours or says nothing (for requests without a session: the login form)."""
    origin = claimed_origin(headers)
    return origin is None or is_own_origin(origin, headers, public_origin)


def has_session_cookie(headers: Headers) -> bool:
    """Read as the app reads cookies (Starlette's browser-like parser), so a request the
    app would take as logged in is never taken here as without a session."""
    return any(cookie_parser(header).get(SESSION_COOKIE) for header in headers.getlist("cookie"))


def is_bearer(headers: Headers) -> bool:
    """Authenticated by a bearer token, which the app then uses instead of the cookie (a
    page cannot add this header to a request to another site without CORS, which we do
    not allow)."""
    return headers.get("authorization", "").lower().startswith("bearer ")


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)


class SameSiteWrites:
    """A POST, PUT, PATCH or DELETE carrying the session cookie must name our own site in
    Origin (or, if a browser left it out, Referer); with neither it is refused too.

    The cookie is SameSite=Lax, which lets a sibling subdomain's page post with it and is
    not enforced by every browser; a cross-site `POST /api/auth/logout` worked, and an
    empty-body POST without Origin started a priority charge. Every browser sends Origin
    on a POST (fetch or form), so our own pages and scripts pass. Requests with an
    Authorization header (API clients with a bearer token) carry no ambient credential
    and pass, as do requests without the cookie (the login form itself). The HTML forms
    keep their CSRF tokens (`api/pages/access.py`) as a second check.
    """

    def __init__(self, app: ASGIApp, public_origin: str = ""):
        self.app = app
        self.public_origin = public_origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self.problem(scope) if scope["type"] == "http" else None
        if problem is None:
            await self.app(scope, receive, send)
        else:
            await refuse(scope, receive, send, 403, problem)

    def problem(self, scope: Scope) -> str | None:
        if scope["method"] in SAFE_METHODS or SESSIONLESS_WRITES.fullmatch(scope["path"]):
            return None
        headers = Headers(scope=scope)
        if is_bearer(headers) or not has_session_cookie(headers):
            return None
        origin = claimed_origin(headers)
        if origin is None:
            return (
                "a change made with the session cookie must say where it comes from "
                "(an Origin or Referer header, as browsers send); send one, or use "
                "'Authorization: Bearer <token>'"
            )
        if not is_own_origin(origin, headers, self.public_origin):
            return f"a page of another site ({origin}) may not act with your session"
        return None


def control_character_problem(params: QueryParams) -> tuple[str, str] | None:
    """The first query parameter (name, value) holding a control character."""
    for name, value in params.multi_items():
        for text in (name, value):
            if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
                return name, value
    return None


class ApiQueryText:
    """No control character (NUL, tab, line breaks, C1) in a JSON API query parameter:
    no stored text holds one, so a search for it can only fail, and PostgreSQL refused a
    NUL with its own message. Refused with 422 in the API's error shape, naming the
    parameter. The pages check their own query text and answer in words."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/api/"):
            found = control_character_problem(QueryParams(scope.get("query_string", b"")))
            if found is not None:
                await self.refuse(scope, receive, send, *found)
                return
        await self.app(scope, receive, send)

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, name: str, value: str
    ) -> None:
        field = name[:40]
        shown = f"must not contain control characters such as NUL (got {value[:40]!r})"
        body = {
            "detail": f"{field}: {shown}",
            "errors": [
                {"field": field, "location": "query", "message": shown, "type": "value_error"}
            ],
        }
        await JSONResponse(body, status_code=422)(scope, receive, send)


def install(app: FastAPI, settings: EdgeSettings) -> None:
    """add_middleware puts each in front of those added before it: the last is outermost."""
    app.state.edge = settings
    app.add_middleware(ApiQueryText)
    app.add_middleware(SameSiteWrites, public_origin=settings.public_origin)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, hsts_seconds=settings.hsts_seconds)
