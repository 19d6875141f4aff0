"""/docs in a real browser (headless Chromium) that can reach nothing but this service: Swagger
UI draws the API and runs a request, and its Content-Security-Policy blocks nothing it needs."""

from __future__ import annotations

import pytest

from browser_kit import BROWSER_MARKS, chromium, expect, sync_api

pytestmark = [*BROWSER_MARKS]
browser = chromium


@pytest.fixture
def page(browser: sync_api.Browser) -> sync_api.Page:
    return browser.new_page()


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
