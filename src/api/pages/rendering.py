"""Templates, the context every page shares, and redirects that carry a one-time notice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from . import formatting
from .access import CSRF_FIELD, PageUser, Portal
from .exclusion_form import window_key

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = API_DIR / "templates"
STATIC_DIR = API_DIR / "static"
NOTICE_COOKIE = "smartcharge_notice"

# Security headers (CSP, no framing, no-store …) are added to every answer at the edge
# (api/security_headers.py).

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals.update(
    csrf_field=CSRF_FIELD,
    local=formatting.local,
    clock=formatting.clock,
    duration=formatting.duration,
    weekdays_text=formatting.weekdays_text,
    window_text=formatting.window_text,
    windows_text=formatting.windows_text,
    merged_windows_text=formatting.merged_windows_text,
    effective_windows_text=formatting.effective_windows_text,
    window_key=window_key,
    role_words=formatting.role_words,
    day_names=formatting.DAY_NAMES,
)


def page_context(portal: Portal, user: PageUser | None, **values: Any) -> dict[str, Any]:
    return {"portal": portal, "user": user, "errors": {}, "values": {}, **values}


def fragment(name: str, context: dict[str, Any]) -> str:
    return environment.get_template(name).render(context)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    notice = request.cookies.get(NOTICE_COOKIE)
    shared = {
        "notice": unquote(notice) if notice else None,
        "attention": _attention(request, context),
    }
    html = fragment(name, {**shared, **context})
    response = HTMLResponse(html, status_code=status_code)
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def _attention(request: Request, context: dict[str, Any]) -> int:
    """For operators, on every page: how many stuck events and failing groups wait for a look."""
    portal, user = context.get("portal"), context.get("user")
    if user is None or getattr(portal, "name", None) != "operator":
        return 0
    return int(request.app.state.context.view.faults.open_count())


def live_answer(signature: str, since: str, regions: Callable[[], dict[str, str]]) -> Response:
    """A page's live regions as HTML in JSON, or 204 when nothing changed since `since`."""
    if since and since[:64] == signature:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return JSONResponse(
        {"signature": signature, "regions": regions()}, headers={"Cache-Control": "no-store"}
    )


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    """303 See Other: the browser GETs the next page, so reloading never re-posts a form."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(
            NOTICE_COOKIE, quote(notice), max_age=60, httponly=True, samesite="lax", path="/"
        )
    return response
