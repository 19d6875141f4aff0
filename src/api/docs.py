"""The OpenAPI page (/docs) with Swagger UI served by this service, not from a CDN.

FastAPI's default /docs loads Swagger UI from a CDN: offline, or where the portals'
network may not reach it, the page stays blank, and a CDN's script would run with the
API's origin. The assets come from the `fastapi-offline` package (a maintained copy of
Swagger UI 5, which reads OpenAPI 3.1) and are served under /static/docs; the page is
FastAPI's own `get_swagger_ui_html` (its documented self-hosting recipe). Its one
inline script is allowed by its hash in the page's Content-Security-Policy, so the
policy needs no 'unsafe-inline' for scripts.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/static/docs"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def script_hashes(html: str) -> list[str]:
    """CSP source expressions for each inline script of `html` (CSP 3 §8.4: hash of the
    script's text exactly as between the tags)."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(html)
    ]


def docs_policy(html: str) -> str:
    """The page's own policy: the shared one, with its inline script allowed by hash."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {' '.join(script_hashes(html))}",
            "style-src 'self'",  # Swagger UI styles its elements through the DOM, which CSP allows
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ]
    )


def docs_page(app: FastAPI, root: str = "") -> HTMLResponse:
    """`root`: the path the service is mounted at behind a proxy (ASGI root_path)."""
    page = get_swagger_ui_html(
        openapi_url=root + (app.openapi_url or "/openapi.json"),
        title=f"{app.title} - API",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=None,
    )
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(html)})


def install(app: FastAPI) -> None:
    """Before the pages' /static mount, which would otherwise take /static/docs."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return docs_page(app, request.scope.get("root_path", ""))
