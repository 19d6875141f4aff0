"""A forgotten password over the JSON API: ask for a link by e-mail, set a new password with it.

Asking answers 202 with the same words whatever the e-mail (no account discovery): only an
account that may log in gets a mail, at most three an hour. The answer does the same work
for every e-mail — the e-mail's form, then the throttle of asking (per address and per
e-mail, 429 beyond it) — and the link is recorded after the answer is sent, so its timing
does not tell whether the e-mail has an account. The mail is a reaction to the recorded
`PasswordReset.Asked` (projections/mails.py); its token never reaches a log line here.
Setting the new password ends every session of the account.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel

from api.accounts import client_address, too_many
from api.context import ApiContext
from api.deps import Context, json_bodies_only
from api.models import ERROR_RESPONSES, Email, NewPassword, Strict
from api.ratelimit import TooManyAttempts
from domain.password_resets import RESET_VALIDITY
from domain.users import normalize_email

log = logging.getLogger(__name__)

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


@dataclass
class ResetAsks:
    """The asks this process answered and the ones whose recording is done since: counted
    so tests can wait for the work after the answer, instead of timing it."""

    answered: int = 0
    done: int = 0


_asks = ResetAsks()
_asks_lock = threading.Lock()


def reset_asks() -> ResetAsks:
    with _asks_lock:
        return ResetAsks(_asks.answered, _asks.done)


def ask_reset(ctx: ApiContext, email: str, address: str) -> Callable[[], None]:
    """What to do once the answer is sent. A malformed e-mail is refused (422: it says
    nothing of any account), and so is an address or an e-mail that asked too often (429,
    whatever the e-mail's account); any other gets the same answer, whether or not a link
    is recorded for it."""
    normalized = normalize_email(email)
    ctx.throttle.reset_asks.ask(normalized, address)
    with _asks_lock:
        _asks.answered += 1
    return partial(record_ask, ctx, normalized)


def record_ask(ctx: ApiContext, email: str) -> None:
    """Record a link for the e-mail's account if it gets one. After the answer, nobody is
    left to tell of a failure but the log."""
    try:
        ctx.service.password_resets.ask_password_reset(email)
    except Exception:
        log.exception("a password-reset link asked for could not be recorded")
    finally:
        with _asks_lock:
            _asks.done += 1


def asked_too_often(refusal: TooManyAttempts) -> HTTPException:
    return too_many("asks for a password-reset link from here or for this e-mail", refusal)


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
def ask_password_reset(
    body: PasswordResetAskIn, request: Request, ctx: Context, after: BackgroundTasks
) -> PasswordResetAskedView:
    try:
        after.add_task(ask_reset(ctx, body.email, client_address(request)))
    except TooManyAttempts as refusal:
        raise asked_too_often(refusal) from None
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
