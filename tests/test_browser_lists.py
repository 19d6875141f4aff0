"""The operator's long lists in Chromium, on a database of thousands: 2,000 groups, 2,000 home
users and 2,000 EVSEs, seeded through the command service in a few threads. The operator
finds a group by search, pages through the list, filters the groups with a charger offline
or a priority charge running, reads the users page's counts, and adds an EVSE to a group by
searching for it; on a 360 px phone the list fits its screen.
"""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain.actors import Actor
from domain.evse_limits import EvseLimits
from smartcharge.runtime import Runtime

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
SIZE = 2_000
GROUPED = 100  # groups 0..99 have an EVSE each; the other EVSEs are free
OFFLINE = (3, 40, 77)  # groups whose charger is offline; the other grouped chargers are online
PRIORITY = (5, 6)  # groups with a priority charge running
ACTIVE = 10  # home users with a password; the others are invited
REVOKED = 4

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
expect = sync_api.expect


@pytest.fixture
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def seed(runtime: Runtime) -> None:
    """Home user i (invited) in group "Home i", EVSE CP-i in it for the first GROUPED and free
    after; chargers online for the grouped ones but OFFLINE's; a few active and revoked."""
    service, system = runtime.service, Actor.system()

    def one(index: int) -> UUID:
        user_id, _ = service.accounts.invite_home_user(f"user{index:04}@example.com", system)
        evse_id, _ = service.evses.register_evse(
            f"CP-{index:04}", 1, system, EvseLimits(max_current_a=16, phases=3)
        )
        group_id, _ = service.groups.create_group(
            name=f"Home {index:04}",
            time_zone="Europe/Amsterdam",
            actor=system,
            home_user_id=user_id,
            evse_ids=[evse_id] if index < GROUPED else [],
        )
        if index < GROUPED and index not in OFFLINE:
            service.chargers.set_charger_password(f"CP-{index:04}", "charger-key-00000001", system)
            service.chargers.charger_connected(f"CP-{index:04}", "gateway-1", "ocpp1.6")
        if index in PRIORITY:
            service.groups.start_priority_charge(group_id, system, duration=timedelta(hours=2))
        if index >= SIZE - REVOKED:
            service.accounts.revoke_user(user_id, system)
        return user_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(SIZE)))
    for index in range(ACTIVE):  # a password each: hashing is slow on purpose, so only ten
        _, token = service.accounts.invite_home_user(f"user{index:04}@example.com", system)
        service.accounts.accept_invitation(token, "home-user-password-1")
    assert runtime.context.view.wait_for(service.recorder.max_notification_id(), 60)


def log_in(page: sync_api.Page, email: str, password: str) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def group_links(page: sync_api.Page) -> sync_api.Locator:
    return page.locator("[data-live-region=groups] tbody td:first-child > a")


def test_an_operator_finds_pages_filters_and_adds_among_thousands(
    server: str,
    runtime: Runtime,
    operator_credentials: tuple[str, str],
    browser: sync_api.Browser,
) -> None:
    seed(runtime)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{server}/operator/groups")
    log_in(page, *operator_credentials)
    expect(page.locator("#groups-count")).to_have_text(
        "2,000 groups; this page shows 100, by name."
    )

    # Found by search: one group, and the filters count within the search.
    page.get_by_label("Search by name or home user").fill("user1234@")
    page.get_by_role("button", name="Search").click()
    expect(group_links(page)).to_have_text(["Home 1234"])
    expect(page.locator("#groups-count")).to_have_text("1 group match “user1234@”.")

    # Paging through all of them, and back.
    page.get_by_label("Search by name or home user").fill("")
    page.get_by_role("button", name="Search").click()
    expect(group_links(page).first).to_have_text("Home 0000")
    page.get_by_role("link", name="Next ›").click()
    expect(group_links(page).first).to_have_text("Home 0100")
    expect(group_links(page).last).to_have_text("Home 0199")
    page.get_by_role("link", name="Next ›").click()
    expect(group_links(page).first).to_have_text("Home 0200")
    page.get_by_role("link", name="‹ Previous").click()
    expect(group_links(page).first).to_have_text("Home 0100")

    # Filters with their counts; each row says why it is listed.
    filters = page.get_by_role("navigation", name="Show")
    expect(filters).to_contain_text("All groups 2,000")
    expect(filters).to_contain_text("Priority charge running 2")
    expect(filters).to_contain_text("A charger offline 3")
    filters.get_by_role("link", name=re.compile("A charger offline")).click()
    expect(group_links(page)).to_have_text(["Home 0003", "Home 0040", "Home 0077"])
    expect(page.locator(".flag-offline")).to_have_text(["1 charger offline"] * 3)
    expect(filters.get_by_role("link", name=re.compile("offline"))).to_have_attribute(
        "aria-current", "page"
    )
    filters.get_by_role("link", name=re.compile("Priority charge running")).click()
    expect(group_links(page)).to_have_text(["Home 0005", "Home 0006"])
    expect(page.locator(".flag-priority")).to_have_count(2)

    # The users page counts every home user, whichever status it shows.
    page.get_by_role("link", name="Admin: users").click()
    statuses = page.get_by_role("navigation", name="Status")
    expect(statuses).to_contain_text(
        f"All 2,000 Invited {SIZE - ACTIVE - REVOKED:,} Active {ACTIVE} Revoked {REVOKED}"
    )
    statuses.get_by_role("link", name=re.compile("^Active")).click()
    expect(page.locator("#users-count")).to_have_text(f"{ACTIVE} active home users.")
    expect(statuses).to_contain_text(f"Revoked {REVOKED}")
    expect(page.get_by_text("user1999@example.com")).to_have_count(0)

    # An EVSE found by its charger id among 1,900 free ones, and added.
    page.goto(f"{server}/operator/groups?q=Home+1500")
    page.get_by_role("link", name="Home 1500").click()
    adding = page.locator("#add-evse")
    expect(adding).to_contain_text("1,900 free EVSEs; the first 10:")
    expect(adding).to_contain_text("1,890 more — refine the search.")
    adding.get_by_label(re.compile("Add an EVSE")).fill("cp-150")
    adding.get_by_role("button", name="Find").click()
    expect(page.locator("#free-evses-count")).to_have_text("10 free EVSEs match “cp-150”:")
    page.get_by_role("button", name="Add CP-1500 / connector 1").click()
    expect(page.get_by_role("status")).to_contain_text("EVSE added to the group.")
    expect(page.locator("[data-live-region=evses]")).to_contain_text("CP-1500 / connector 1")
    expect(page.locator("#add-evse")).to_contain_text("1,899 free EVSEs")

    # On a phone the list, its filters and its pager fit the screen.
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{server}/operator/groups")
    log_in(phone, *operator_credentials)
    expect(phone.locator("#groups-count")).to_contain_text("2,000 groups")
    widths = phone.evaluate(
        "[...document.querySelectorAll('.filters, .pager, .search')]"
        ".map(e => e.getBoundingClientRect().right)"
    )
    assert max(widths) <= 360, widths
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
