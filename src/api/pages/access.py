"""Who may see a page: the two portals, the logged-in user, and forms protected from CSRF.

CSRF: the session cookie is already SameSite=Lax, so a browser does not send it
with a cross-site form POST. Lax alone leaves two gaps: a sibling subdomain is
"same-site" and may post with the cookie, and not every browser enforces
SameSite. So every form of a logged-in user also carries a token, an HMAC of
the session token: it needs no storage, dies with the session, and a page on
another origin cannot read it. Forms without a session (log in, accept an
invitation) have nothing worth forging but are still refused when the browser
says they came from another origin (the Origin header).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, unquote, urlsplit

from fastapi import Depends, Request

from api.deps import SESSION_COOKIE, Context, same_origin
from api.sessions import Session
from domain.actors import Actor, Role

CSRF_FIELD = "csrf_token"
MAX_NEXT_LENGTH = 500  # a page's path and query; anything longer is no link of ours


@dataclass(frozen=True)
class Portal:
    name: str
    title: str
    root: str
    role: Role
    home: str
    audience: str

    @property
    def login_url(self) -> str:
        return f"{self.root}/login"

    def group_url(self, group_id: object) -> str:
        return f"{self.root}/groups/{group_id}"

    def owns(self, path: str) -> bool:
        """Whether a local path belongs to this portal (where to land after logging in)."""
        in_operator = path == "/operator" or path.startswith("/operator/")
        return in_operator if self.role is Role.OPERATOR else not in_operator


OPERATOR = Portal(
    "operator", "Operator portal", "/operator", Role.OPERATOR, "/operator/groups", "operators"
)
CONSUMER = Portal("consumer", "Smart charging", "", Role.HOME_USER, "/", "home users")


def portal_of(role: str) -> Portal:
    return OPERATOR if role == Role.OPERATOR.value else CONSUMER


@dataclass(frozen=True)
class PageUser:
    session: Session
    token: str
    portal: Portal

    @property
    def actor(self) -> Actor:
        return Actor(self.session.user_id, Role(self.session.role))

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"smartcharge form", hashlib.sha256).hexdigest()


class LoginRequired(Exception):
    def __init__(self, portal: Portal, next_path: str):
        self.portal = portal
        self.next_path = next_path


class WrongPortal(Exception):
    def __init__(self, portal: Portal, session: Session, token: str):
        self.portal = portal
        self.session = session
        self.token = token


class FormRefused(Exception):
    """A form post that did not come from our own page (CSRF) or outlived its session."""


def logged_in(request: Request, ctx: Context) -> tuple[Session, str] | None:
    token = request.cookies.get(SESSION_COOKIE) or ""
    session = ctx.sessions.find(token, ctx.now()) if token else None
    return (session, token) if session else None


def _page_user(request: Request, ctx: Context, portal: Portal) -> PageUser:
    found = logged_in(request, ctx)
    if found is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(portal, path if request.method == "GET" else portal.home)
    session, token = found
    if session.role != portal.role.value:
        raise WrongPortal(portal, session, token)
    return PageUser(session, token, portal)


def portal_at(path: str) -> Portal:
    return OPERATOR if OPERATOR.owns(path) else CONSUMER


def operator_page(request: Request, ctx: Context) -> PageUser:
    return _page_user(request, ctx, OPERATOR)


def home_user_page(request: Request, ctx: Context) -> PageUser:
    return _page_user(request, ctx, CONSUMER)


async def check_form(request: Request, user: PageUser) -> None:
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not same_origin(request) or not isinstance(sent, str):
        raise FormRefused()
    if not hmac.compare_digest(sent, user.csrf):
        raise FormRefused()


async def operator_form(
    request: Request, user: Annotated[PageUser, Depends(operator_page)]
) -> PageUser:
    await check_form(request, user)
    return user


def portal_page(request: Request, ctx: Context) -> PageUser:
    """For the pages both portals have: the portal is the one the path is in."""
    return _page_user(request, ctx, portal_at(request.url.path))


async def portal_form(
    request: Request, user: Annotated[PageUser, Depends(portal_page)]
) -> PageUser:
    await check_form(request, user)
    return user


OperatorPage = Annotated[PageUser, Depends(operator_page)]
OperatorForm = Annotated[PageUser, Depends(operator_form)]
HomeUserPage = Annotated[PageUser, Depends(home_user_page)]
PortalPage = Annotated[PageUser, Depends(portal_page)]
PortalForm = Annotated[PageUser, Depends(portal_form)]


def safe_next(path: str | None, portal: Portal) -> str:
    """A local path of the portal to go to after logging in, never another site."""
    local = same_site_path(path or "")
    return local if local and portal.owns(urlsplit(local).path) else portal.home


# What a browser drops or reads as a separator in a URL, or a header cannot carry: a
# tab or line break in "/\t/evil.example" is removed (WHATWG URL: "//evil.example"),
# a line break ended the answer's headers, U+3000 could not be encoded (a 500).
_NOT_IN_A_PATH = ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp")
# Kept as they are when the path is made ASCII for the Location header.
_URL_SAFE = "/?#[]@!$&'()*+,;=:~%-._"


def same_site_path(path: str) -> str:
    """`path` as an ASCII path of this site (non-ASCII letters percent-encoded), or "" when it
    is anything else: not starting with exactly one "/", a backslash (browsers read it as
    "/"), a scheme or host, a control, format or space character, or over 500 characters.
    Each is checked again after percent-decoding (up to three rounds), so "/%2F%2Fevil"
    or "/%09/evil" are refused too, whatever decodes them later."""
    if not path or len(path) > MAX_NEXT_LENGTH:
        return ""
    seen = path
    for _ in range(3):
        if not _plain_local_path(seen):
            return ""
        decoded = unquote(seen)
        if decoded == seen:
            return quote(path, safe=_URL_SAFE)
        seen = decoded
    return ""  # still encoded after three rounds: no link of ours


def _plain_local_path(path: str) -> bool:
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return False
    if any(unicodedata.category(ch) in _NOT_IN_A_PATH for ch in path):
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc
