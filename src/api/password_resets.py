"""A forgotten password over the JSON API: ask for a link by e-mail, set a new password with it.

Asking answers 202 with the same words whatever the e-mail (no account discovery): only an
account that may log in gets a mail, at most three an hour. The mail is a reaction to the
recorded `PasswordReset.Asked` (projections/mails.py); its token never reaches a log line
here. Setting the new password ends every session of the account.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel

from api.context import ApiContext
from api.deps import Context, json_bodies_only
from api.models import ERROR_RESPONSES, Email, NewPassword, Strict
from domain.password_resets import RESET_VALIDITY
from domain.users import normalize_email

MINUTES = int(RESET_VALIDITY.total_seconds() // 60)
ASKED = (
    "if this e-mail belongs to an account that can log in, a mail with a link to set a new "
    f"password is on its way; the link works once, for {MINUTES} minutes"
)

router = APIRouter(
    prefix="/api",
    tags=["accounts"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(json_bodies_only)],
)


class PasswordResetAskIn(Strict):
    email: Email


class PasswordResetAskedView(BaseModel):
    detail: str


class PasswordResetLinkView(BaseModel):
    email: str
    expires_at: datetime


class PasswordResetIn(Strict):
    password: NewPassword


def ask_reset(ctx: ApiContext, email: str) -> None:
    """A malformed e-mail is refused (422: it says nothing of any account); any other gets
    the same answer, whether or not a link was recorded for it."""
    ctx.service.password_resets.ask_password_reset(normalize_email(email))


def set_new_password(ctx: ApiContext, token: str, password: str) -> UUID:
    """The new password, then every session of the account ends (a thief's too)."""
    user_id = ctx.service.password_resets.reset_password(token, password)
    ctx.sessions.close_all(user_id)
    return user_id


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Forgot my password: mail a one-time link (the same answer for any e-mail)",
)
def ask_password_reset(body: PasswordResetAskIn, ctx: Context) -> PasswordResetAskedView:
    ask_reset(ctx, body.email)
    return PasswordResetAskedView(detail=ASKED)


@router.get("/password-resets/{token}", summary="Check a password-reset link")
def password_reset_link(token: str, ctx: Context) -> PasswordResetLinkView:
    reset, _ = ctx.service.password_resets.reset_link(token)
    return PasswordResetLinkView(email=reset.email, expires_at=reset.expires_at)


@router.post(
    "/password-resets/{token}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the link; every session of the account ends",
)
def reset_password(token: str, body: PasswordResetIn, ctx: Context) -> Response:
    set_new_password(ctx, token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
