"""The two portals as server-rendered pages: plain HTML forms, a little script, one stylesheet.

Pages call the same command service, read models and shared group actions as
the JSON API; they differ from it only in speaking HTML and redirects.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from api import errors

from . import (
    auth_pages,
    consumer_pages,
    group_forms,
    operator_accounts,
    operator_evses,
    operator_health,
    operator_move,
    operator_pages,
    operator_users,
    operator_wizard,
    password_reset_pages,
)
from .access import FormRefused, LoginRequired, PageUser, WrongPortal, portal_at, portal_of
from .formatting import sentence
from .group_panels import PageNotFound
from .messages import label
from .rendering import STATIC_DIR, page_context, redirect, render


async def login_required(request: Request, error: Exception) -> Response:
    assert isinstance(error, LoginRequired)
    return redirect(f"{error.portal.login_url}?next={quote(error.next_path, safe='/')}")


async def wrong_portal(request: Request, error: Exception) -> Response:
    assert isinstance(error, WrongPortal)
    own = portal_of(error.session.role)
    context = page_context(
        own,
        PageUser(error.session, error.token, own),
        title=f"This page is for {error.portal.audience}",
        message=f"You are logged in as {error.session.email}, one of the {own.audience}.",
        link=(own.home, f"Go to the pages for {own.audience}"),
    )
    return render(request, "message.html", context, 403)


async def form_refused(request: Request, error: Exception) -> Response:
    context = page_context(
        portal_at(request.url.path),
        None,
        title="This form could not be sent",
        message="It came from another site, or from a page older than your login. "
        "Go back, reload the page and try again.",
    )
    return render(request, "message.html", context, 403)


async def page_not_found(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageNotFound)
    portal = portal_at(request.url.path)
    context = page_context(
        portal, None, title="Not found", message=error.message, link=(portal.home, "Back")
    )
    return render(request, "message.html", context, 404)


async def malformed_request(request: Request, error: Exception) -> Response:
    """A page's path or form the handler could not even be called with (a group id that is
    no id, say): the JSON API answers in JSON, a page in words."""
    assert isinstance(error, RequestValidationError)
    if request.url.path.startswith("/api/"):
        return await errors.malformed_request(request, error)
    problems = [errors.field_error(each) for each in error.errors()]
    portal = portal_at(request.url.path)
    context = page_context(
        portal,
        None,
        title="This form could not be used" if request.method == "POST" else "Not a page here",
        message=" ".join(sentence(f"{label(p['field'])}: {p['message']}") for p in problems),
        link=(portal.home, "Back"),
    )
    return render(request, "message.html", context, 422)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(WrongPortal, wrong_portal)
    app.add_exception_handler(FormRefused, form_refused)
    app.add_exception_handler(PageNotFound, page_not_found)
    app.add_exception_handler(RequestValidationError, malformed_request)
    app.include_router(auth_pages.router)
    app.include_router(password_reset_pages.router)
    app.include_router(operator_users.router)
    app.include_router(operator_accounts.router)
    app.include_router(operator_wizard.router)  # before /operator/groups/{group_id}
    app.include_router(operator_pages.router)
    app.include_router(operator_evses.router)
    app.include_router(operator_move.router)
    app.include_router(operator_health.router)
    app.include_router(consumer_pages.router)
    app.include_router(group_forms.router)
