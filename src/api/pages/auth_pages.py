"""Logging in and out of either portal, and accepting an invitation (the link in the mail)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from api import accounts
from api.context import ApiContext
from api.deps import SESSION_COOKIE, Context
from domain.errors import DomainError, InvalidInput, InvitationInvalid
from domain.users import could_be_password, normalize_email

from .access import (
    CONSUMER,
    CSRF_FIELD,
    OPERATOR,
    FormRefused,
    PageUser,
    Portal,
    PortalForm,
    PortalPage,
    csrf_token,
    logged_in,
    portal_of,
    safe_next,
    same_origin,
    same_site_path,
)
from .form_input import FormFields, Posted, echo
from .formatting import sentence
from .messages import FormError, explain, in_words, status_of
from .rendering import page_context, redirect, render

router = APIRouter(include_in_schema=False)


def login_page(
    request: Request,
    ctx: ApiContext,
    portal: Portal,
    next_path: str,
    status_code: int = 200,
    error: str | None = None,
    email: str = "",
) -> Response:
    found = logged_in(request, ctx)
    if found is not None and error is None:
        return redirect(portal_of(found[0].role).home)
    context = page_context(
        portal,
        None,
        next=next_path,
        errors={"login": error} if error else {},
        values={"email": email},
    )
    return render(request, "login.html", context, status_code)


def login_refusal(email: str, password: str) -> str | None:
    """Why these cannot be a login, before any account is looked at, in words."""
    if not email.strip() or not password:
        return "Give your e-mail and password."
    try:
        normalize_email(email)
    except InvalidInput as refusal:
        return in_words(refusal)
    if not could_be_password(password):
        return "Wrong e-mail or password."
    return None


async def log_in(
    request: Request, ctx: ApiContext, portal: Portal, form: FormFields, next_path: str
) -> Response:
    """The JSON API's login (throttle, session cookie), answered with a redirect."""
    if not same_origin(request):
        raise FormRefused()
    email, password = form.text("email", "E-mail"), form.text("password", "Password")
    message = login_refusal(email, password)
    if message is not None:
        return await run_in_threadpool(
            login_page, request, ctx, portal, next_path, 422, message, echo(email, 254)
        )
    try:
        user = await accounts.sign_in(ctx, email, password, accounts.client_address(request))
    except HTTPException as refusal:
        return await run_in_threadpool(
            login_refused, request, ctx, portal, next_path, refusal, email
        )
    response = redirect(portal.home)
    session = await run_in_threadpool(accounts.start_session, ctx, response, user)
    response.headers["location"] = safe_next(next_path, portal_of(session.role))
    return response


def login_refused(
    request: Request,
    ctx: ApiContext,
    portal: Portal,
    next_path: str,
    refusal: HTTPException,
    email: str,
) -> Response:
    """The login page again, saying why; a 429 keeps its Retry-After."""
    message = sentence(str(refusal.detail))
    page = login_page(request, ctx, portal, next_path, refusal.status_code, message, email)
    page.headers.update(refusal.headers or {})
    return page


async def login_form(
    request: Request, ctx: ApiContext, portal: Portal, form: FormFields
) -> Response:
    """A login form as posted: any field sent twice or missing is said, not guessed at."""
    try:
        next_path = own_page(form.text("next", "Next", optional=True))
        return await log_in(request, ctx, portal, form, next_path)
    except FormError as error:
        email = form.typed("email")["email"][:254]
        return await run_in_threadpool(
            login_page, request, ctx, portal, "", 422, error.message, email
        )


def own_page(path: str) -> str:
    """A page of ours to go to after logging in; "" for anything else (another site, a path
    with control characters or of 5 KB), which the login page then does not carry along."""
    return same_site_path(path)


def log_out(request: Request, ctx: ApiContext, portal: Portal, sent: str) -> Response:
    found = logged_in(request, ctx)
    if found is not None:
        if not same_origin(request) or not hmac.compare_digest(sent, csrf_token(found[1])):
            raise FormRefused()
        ctx.sessions.close(found[1])
    response = redirect(portal.login_url, "You are logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/operator")
def operator_home() -> Response:
    return redirect(OPERATOR.home)


@router.get("/operator/login")
def operator_login_page(request: Request, ctx: Context) -> Response:
    return login_page(request, ctx, OPERATOR, own_page(request.query_params.get("next", "")))


@router.post("/operator/login")
async def operator_login(request: Request, ctx: Context, form: Posted) -> Response:
    return await login_form(request, ctx, OPERATOR, form)


@router.post("/operator/logout")
def operator_logout(request: Request, ctx: Context, form: Posted) -> Response:
    return log_out(request, ctx, OPERATOR, form.typed(CSRF_FIELD)[CSRF_FIELD])


@router.get("/login")
def consumer_login_page(request: Request, ctx: Context) -> Response:
    return login_page(request, ctx, CONSUMER, own_page(request.query_params.get("next", "")))


@router.post("/login")
async def consumer_login(request: Request, ctx: Context, form: Posted) -> Response:
    return await login_form(request, ctx, CONSUMER, form)


@router.post("/logout")
def consumer_logout(request: Request, ctx: Context, form: Posted) -> Response:
    return log_out(request, ctx, CONSUMER, form.typed(CSRF_FIELD)[CSRF_FIELD])


# --- changing one's password ----------------------------------------------------------------


def password_page(
    request: Request, user: PageUser, error: str | None = None, status_code: int = 200
) -> Response:
    context = page_context(user.portal, user, errors={"password": error} if error else {})
    return render(request, "password.html", context, status_code)


async def change_password(
    request: Request, ctx: ApiContext, user: PageUser, form: FormFields
) -> Response:
    """As the JSON API (throttled the same): the new password, and every other session of
    the user ends."""
    try:
        current = form.text("current_password", "Current password")
        new, repeat = form.text("new_password", "New password"), form.text("repeat", "Repeat")
        if new != repeat:
            raise FormError("The two new passwords are not the same.")
        address = accounts.client_address(request)
        await accounts.guarded_password_change(ctx, user.session, address, current, new)
    except (DomainError, FormError) as refusal:
        return password_page(request, user, explain(refusal), status_of(refusal))
    except HTTPException as refusal:  # too many wrong passwords
        page = password_page(request, user, sentence(str(refusal.detail)), refusal.status_code)
        page.headers.update(refusal.headers or {})
        return page
    await run_in_threadpool(ctx.sessions.close_all, user.session.user_id, keep=user.token)
    return redirect(user.portal.home, "Your password is changed; other logins of yours ended.")


def password(request: Request, user: PortalPage) -> Response:
    return password_page(request, user)


async def new_password(request: Request, ctx: Context, user: PortalForm, form: Posted) -> Response:
    return await change_password(request, ctx, user, form)


for portal in (OPERATOR, CONSUMER):
    router.add_api_route(f"{portal.root}/password", password, methods=["GET"])
    router.add_api_route(f"{portal.root}/password", new_password, methods=["POST"])


# --- the invitation link ---------------------------------------------------------------------


def invitation_page(
    request: Request, ctx: ApiContext, token: str, error: str | None = None, status_code: int = 200
) -> Response:
    try:
        invitation = ctx.service.accounts.invitation(token)
    except InvitationInvalid as refusal:
        return invitation_gone(request, refusal)
    context = page_context(
        CONSUMER,
        None,
        email=invitation.email,
        expires_at=invitation.expires_at,
        errors={"password": error} if error else {},
    )
    return render(request, "invitation.html", context, status_code)


def invitation_gone(request: Request, refusal: InvitationInvalid) -> Response:
    context = page_context(
        CONSUMER,
        None,
        title="This invitation link does not work",
        message=f"{in_words(refusal)} Ask your charge point operator to send you a new one.",
    )
    return render(request, "message.html", context, 410)


@router.get("/invitation/{token}")
def invitation(token: str, request: Request, ctx: Context) -> Response:
    return invitation_page(request, ctx, token)


@router.post("/invitation/{token}")
def accept_invitation(token: str, request: Request, ctx: Context, form: Posted) -> Response:
    if not same_origin(request):
        raise FormRefused()
    try:
        password, repeat = form.text("password", "Password"), form.text("repeat", "Repeat")
        if password != repeat:
            raise FormError("The two passwords are not the same.")
        user_id = ctx.service.accounts.accept_invitation(token, password)
    except (InvalidInput, FormError) as refusal:
        return invitation_page(request, ctx, token, explain(refusal), 422)
    except InvitationInvalid as refusal:
        return invitation_gone(request, refusal)
    ctx.caught_up(ctx.service.recorder.max_notification_id())
    response = redirect(CONSUMER.home, "Welcome! Your password is set and you are logged in.")
    accounts.open_session(ctx, response, ctx.service.user(user_id))
    return response
