"""What the browser stories share: Chromium and its flags, the marks that skip a story where
Chromium is missing, the browser fixture, the viewports, logging in and a seeded service.

No tests here; the browser test modules import these helpers. Importing this module skips
the importing test module where Playwright is not installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seed_kit import Households, SeededService, seeded_service
from smartcharge.database import Database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 360, "height": 780}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

# A browser story's marks (a module adds `pytest.mark.slow` where it is): it needs PostgreSQL
# and is skipped where Chromium is missing.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
expect = sync_api.expect


@pytest.fixture
def chromium() -> Iterator[sync_api.Browser]:
    """Headless Chromium, for the test's contexts and pages; closed afterwards. A module
    takes it as its `browser` fixture (`browser = chromium`)."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def seeded_fixture(name: str, households: Households | None = None) -> Callable[..., Any]:
    """A module's `seeded` fixture: one seeded service (seed_kit) for the module's stories,
    in a folder named `name`; each story has people of its own."""

    @pytest.fixture(scope="module")
    def seeded(
        postgres_server: Database, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[SeededService]:
        with seeded_service(postgres_server, tmp_path_factory.mktemp(name), households) as service:
            yield service

    return seeded


def log_in(page: sync_api.Page, email: str, password: str) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
