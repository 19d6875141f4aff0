"""Request dependencies: the context, the logged-in user and the role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.context import ApiContext
from api.edge import SESSION_COOKIE, EdgeSettings, from_own_site
from api.sessions import Session
from domain.actors import Actor, Role

_bearer = HTTPBearer(auto_error=False, description="the token returned by POST /api/auth/login")


def context(request: Request) -> ApiContext:
    return request.app.state.context  # type: ignore[no-any-return]


Context = Annotated[ApiContext, Depends(context)]


def session_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return request.cookies.get(SESSION_COOKIE)


def same_origin(request: Request) -> bool:
    """False when the browser names another site in Origin or Referer. A request that
    names none and carries the session cookie never gets here (`edge.SameSiteWrites`)."""
    edge: EdgeSettings = getattr(request.app.state, "edge", EdgeSettings())
    return from_own_site(request.headers, edge.public_origin)


def current_session(ctx: Context, token: Annotated[str | None, Depends(session_token)]) -> Session:
    session = ctx.sessions.find(token, ctx.now()) if token else None
    if session is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "log in first: send the session cookie or 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # A change made with the cookie came from our own site: edge.SameSiteWrites checked.
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


def operator(session: CurrentSession) -> Actor:
    if session.role != Role.OPERATOR.value:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this is for operators only")
    return Actor.operator(session.user_id)


def home_user(session: CurrentSession) -> Actor:
    if session.role != Role.HOME_USER.value:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this is the consumer portal's API for home users; operators use /api/operator",
        )
    return Actor.home_user(session.user_id)


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def json_bodies_only(request: Request) -> None:
    """A body must be JSON: anything else is 415, not a puzzling "should be an object"."""
    content_type = request.headers.get("content-type", "")
    if is_json(content_type) or not await request.body():
        return
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        f"Content-Type: the body must be application/json, not {content_type or 'unnamed'}",
    )


OperatorActor = Annotated[Actor, Depends(operator)]
HomeUserActor = Annotated[Actor, Depends(home_user)]
