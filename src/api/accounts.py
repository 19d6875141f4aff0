"""Accounts: log in and out, who am I, and accepting an invitation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from api.deps import SESSION_COOKIE, Context, CurrentSession, json_bodies_only, session_token
from api.models import (
    ERROR_RESPONSES,
    AcceptInvitationIn,
    InvitationView,
    LoginIn,
    MeView,
    PasswordChangeIn,
    SessionView,
)
from domain.users import User

router = APIRouter(
    prefix="/api",
    tags=["accounts"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(json_bodies_only)],
)


def open_session(ctx: Context, response: Response, user: User) -> SessionView:
    token = ctx.sessions.open(user.id, ctx.now())
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ctx.sessions.lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookies,
        path="/",
    )
    return SessionView(token=token, user_id=user.id, email=user.email, role=user.role.value)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/auth/login", summary="Log in: a session cookie for browsers, a bearer token for APIs"
)
def login(body: LoginIn, request: Request, response: Response, ctx: Context) -> SessionView:
    address = client_address(request)
    wait = ctx.limiter.retry_after(body.email, address)
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins; try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    user = ctx.service.accounts.authenticate(body.email, body.password)
    if user is None:
        ctx.limiter.failed(body.email, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong e-mail or password")
    ctx.limiter.succeeded(body.email)
    ctx.caught_up(ctx.service.recorder.max_notification_id())  # e.g. a just-accepted invitation
    return open_session(ctx, response, user)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(ctx: Context, token: Annotated[str | None, Depends(session_token)]) -> Response:
    """Ends the session of the cookie or of the bearer token, whichever the request carries."""
    if token:
        ctx.sessions.close(token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", summary="Who is logged in")
def me(session: CurrentSession) -> MeView:
    return MeView(user_id=session.user_id, email=session.email, role=session.role)


@router.post(
    "/auth/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change my password (other sessions of mine are logged out)",
)
def change_password(
    body: PasswordChangeIn,
    session: CurrentSession,
    ctx: Context,
    token: Annotated[str | None, Depends(session_token)],
) -> Response:
    ctx.service.accounts.change_password(session.user_id, body.current_password, body.new_password)
    ctx.sessions.close_all(session.user_id, keep=token or "")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/invitations/{token}", summary="Check an invitation link")
def invitation(token: str, ctx: Context) -> InvitationView:
    found = ctx.service.accounts.invitation(token)
    return InvitationView(email=found.email, expires_at=found.expires_at)


@router.post("/invitations/{token}/accept", summary="Accept the invitation and set a password")
def accept_invitation(
    token: str, body: AcceptInvitationIn, response: Response, ctx: Context
) -> SessionView:
    user_id = ctx.service.accounts.accept_invitation(token, body.password)
    ctx.caught_up(ctx.service.recorder.max_notification_id())
    return open_session(ctx, response, ctx.service.user(user_id))
