"""/docs in a real browser (headless Chromium) that can reach nothing but this service: Swagger
UI draws the API and runs a request, and its Content-Security-Policy blocks nothing it needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
expect = sync_api.expect


@pytest.fixture
def page() -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_the_api_page_works_offline_within_its_policy(server: str, page: sync_api.Page) -> None:
    complaints: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda message: complaints.append(message.text))
    page.on("pageerror", lambda error: complaints.append(str(error)))

    def only_this_service(route: sync_api.Route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:  # as offline, or where the network reaches no CDN
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_service)
    page.goto(f"{server}/docs")

    expect(page.get_by_role("heading", name="Smart charging for home users")).to_be_visible()
    health = page.locator("#operations-health-healthz_healthz_get")
    health.locator("button.opblock-summary-control").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    expect(health.locator(".live-responses-table .response .response-col_status")).to_have_text(
        "200"
    )
    assert elsewhere == []
    assert complaints == []  # a CSP violation is reported on the console
