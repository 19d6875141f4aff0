"""Accounts: log in and out, who am I, and accepting an invitation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext
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
from api.ratelimit import TooManyAttempts
from api.sessions import Session
from domain.errors import WrongPassword
from domain.users import User

WRONG_LOGIN = "wrong e-mail or password"  # the same for every account that does not open

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
async def login(body: LoginIn, request: Request, response: Response, ctx: Context) -> SessionView:
    user = await sign_in(ctx, body.email, body.password, client_address(request))
    return await run_in_threadpool(start_session, ctx, response, user)


async def sign_in(ctx: ApiContext, email: str, password: str, address: str) -> User:
    """The user these open, under the throttle of password guesses; else 401, or 429 with
    Retry-After while this address has been guessing too much."""

    def attempt() -> User:
        user = ctx.service.accounts.authenticate(email, password)
        if user is None:
            raise WrongPassword(WRONG_LOGIN)
        return user

    try:
        return await ctx.throttle.guarded(email, address, attempt)
    except TooManyAttempts as refusal:
        raise too_many("failed logins", refusal) from None
    except WrongPassword:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG_LOGIN) from None


def too_many(what: str, refusal: TooManyAttempts) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many {what}; {refusal}",
        headers={"Retry-After": str(refusal.retry_after)},
    )


def start_session(ctx: ApiContext, response: Response, user: User) -> SessionView:
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
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    session: CurrentSession,
    ctx: Context,
    token: Annotated[str | None, Depends(session_token)],
) -> Response:
    await guarded_password_change(
        ctx, session, client_address(request), body.current_password, body.new_password
    )
    await run_in_threadpool(ctx.sessions.close_all, session.user_id, keep=token or "")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def guarded_password_change(
    ctx: ApiContext, session: Session, address: str, current: str, new: str
) -> None:
    """Changing a password is guessing the current one: throttled as logging in is, on the
    same counts. A wrong current password stays the domain's refusal (422)."""
    try:
        await ctx.throttle.guarded(
            session.email,
            address,
            lambda: ctx.service.accounts.change_password(session.user_id, current, new),
        )
    except TooManyAttempts as refusal:
        raise too_many("wrong passwords", refusal) from None


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
