"""The security headers of every answer, built with the `secure` library.

Pages and JSON answers alike get a Content-Security-Policy the portals satisfy (their
scripts and styles come from /static only), no framing, no MIME sniffing, a referrer
kept on our own site, and `Cache-Control: no-store` (pages and answers hold personal
data; a shared computer's back button or a proxy must not show them again). HSTS only
on answers that went out over https: uvicorn takes the scheme from X-Forwarded-Proto
only when the proxy's address is trusted (`SMARTCHARGE_TRUSTED_PROXIES`), and a
browser ignores HSTS over plain http anyway.

A header the route already set wins (the /docs page's own policy, a live region's
cache rule); the public assets under /static may be cached.
"""

from __future__ import annotations

import secure
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ONE_YEAR = 365 * 24 * 3600
PUBLIC_ASSETS = ("/static/",)

PAGE_POLICY = (
    secure.ContentSecurityPolicy()
    .default_src("'self'")
    .img_src("'self'", "data:")
    .style_src("'self'")
    .script_src("'self'")
    .object_src("'none'")
    .frame_ancestors("'none'")
    .form_action("'self'")
    .base_uri("'none'")
)


def headers_for(https: bool, hsts_seconds: int = ONE_YEAR) -> secure.Secure:
    return secure.Secure(
        csp=PAGE_POLICY,
        xfo=secure.XFrameOptions().deny(),
        xcto=secure.XContentTypeOptions(),
        referrer=secure.ReferrerPolicy().same_origin(),
        cache=secure.CacheControl().no_store(),
        hsts=secure.StrictTransportSecurity().max_age(hsts_seconds) if https else None,
    )


class SecurityHeaders:
    """Pure ASGI: adds the headers to the start of each HTTP answer."""

    def __init__(self, app: ASGIApp, hsts_seconds: int = ONE_YEAR):
        self.app = app
        self.plain = headers_for(https=False).headers
        self.tls = headers_for(https=True, hsts_seconds=hsts_seconds).headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.tls if scope.get("scheme") == "https" else self.plain
        public = str(scope.get("path", "")).startswith(PUBLIC_ASSETS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name == "Cache-Control" and public:
                        continue
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
