"""A forgotten password in either portal: "Forgot password?" on each login page asks for the
e-mail; the link in the mail opens a form for the new password (the JSON API's rules:
api/password_resets.py). The answer to asking is the same page whatever the e-mail."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.background import BackgroundTask

from api.accounts import client_address
from api.context import ApiContext
from api.deps import Context
from api.password_resets import MINUTES, ask_reset, asked_too_often, set_new_password
from api.ratelimit import TooManyAttempts
from domain.errors import InvalidInput, ResetLinkInvalid

from .access import CONSUMER, OPERATOR, FormRefused, Portal, portal_of, same_origin
from .form_input import FormFields, Posted
from .formatting import sentence
from .messages import FormError, explain, in_words
from .rendering import page_context, redirect, render

router = APIRouter(include_in_schema=False)


def forgot_page(
    request: Request, portal: Portal, error: str | None = None, email: str = "", code: int = 200
) -> Response:
    context = page_context(
        portal, None, errors={"email": error} if error else {}, values={"email": email}
    )
    return render(request, "forgot_password.html", context, code)


def asked_page(request: Request, portal: Portal) -> Response:
    context = page_context(
        portal,
        None,
        title="Check your mail",
        message="If this e-mail belongs to an account that can log in, a mail with a link to "
        f"set a new password is on its way. The link works once, for {MINUTES} minutes. "
        "No mail? Check the address, or ask your charge point operator.",
        link=(portal.login_url, "Back to log in"),
    )
    return render(request, "message.html", context)


def ask(request: Request, ctx: ApiContext, portal: Portal, form: FormFields) -> Response:
    if not same_origin(request):
        raise FormRefused()
    try:
        email = form.text("email", "E-mail")
        if not email.strip():
            raise FormError("Give the e-mail address you log in with.")
        record = ask_reset(ctx, email, client_address(request))
    except (InvalidInput, FormError) as refusal:  # the address's form only, no account's state
        return forgot_page(request, portal, explain(refusal), form.typed("email")["email"], 422)
    except TooManyAttempts as refusal:  # the same for any e-mail, with or without an account
        return too_often_page(request, portal, refusal, form.typed("email")["email"])
    page = asked_page(request, portal)
    page.background = BackgroundTask(record)  # after the answer: its timing tells nothing
    return page


def too_often_page(
    request: Request, portal: Portal, refusal: TooManyAttempts, email: str
) -> Response:
    said = asked_too_often(refusal)
    page = forgot_page(request, portal, sentence(str(said.detail)), email, said.status_code)
    page.headers.update(said.headers or {})
    return page


def forgot_password(request: Request) -> Response:
    return forgot_page(request, OPERATOR if request.url.path.startswith("/operator") else CONSUMER)


def ask_link(request: Request, ctx: Context, form: Posted) -> Response:
    portal = OPERATOR if request.url.path.startswith("/operator") else CONSUMER
    return ask(request, ctx, portal, form)


for portal in (OPERATOR, CONSUMER):
    router.add_api_route(f"{portal.root}/forgot-password", forgot_password, methods=["GET"])
    router.add_api_route(f"{portal.root}/forgot-password", ask_link, methods=["POST"])


# --- the link in the mail --------------------------------------------------------------------


def reset_page(
    request: Request, ctx: ApiContext, token: str, error: str | None = None, code: int = 200
) -> Response:
    try:
        reset, user = ctx.service.password_resets.reset_link(token)
    except ResetLinkInvalid as refusal:
        return link_gone(request, refusal)
    context = page_context(
        portal_of(user.role.value),
        None,
        email=reset.email,
        expires_at=reset.expires_at,
        errors={"password": error} if error else {},
    )
    return render(request, "password_reset.html", context, code)


def link_gone(request: Request, refusal: ResetLinkInvalid) -> Response:
    context = page_context(
        CONSUMER,
        None,
        title="This link does not work",
        message=in_words(refusal),
        link=("/forgot-password", "Ask for a new link"),
    )
    return render(request, "message.html", context, 410)


@router.get("/password-reset/{token}")
def password_reset(token: str, request: Request, ctx: Context) -> Response:
    return reset_page(request, ctx, token)


@router.post("/password-reset/{token}")
def new_password(token: str, request: Request, ctx: Context, form: Posted) -> Response:
    if not same_origin(request):
        raise FormRefused()
    try:
        password, repeat = form.text("password", "Password"), form.text("repeat", "Repeat")
        if password != repeat:
            raise FormError("The two passwords are not the same.")
        user_id = set_new_password(ctx, token, password)
    except (InvalidInput, FormError) as refusal:
        return reset_page(request, ctx, token, explain(refusal), 422)
    except ResetLinkInvalid as refusal:
        return link_gone(request, refusal)
    portal = portal_of(ctx.service.user(user_id).role.value)
    notice = "Your new password is set and every login of yours ended: log in with it now."
    return redirect(portal.login_url, notice)
