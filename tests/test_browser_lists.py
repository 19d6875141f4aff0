"""The operator's long lists in Chromium, on a database of thousands: 2,000 groups, 2,000 home
users and 2,000 EVSEs (seed_kit, in seconds). The operator finds a group by search, pages
through the list, filters the groups with a charger offline or a priority charge running,
reads the users page's counts, and adds an EVSE to a group by searching for it; on a 360 px
phone the list fits its screen.
"""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

import re

import pytest

from browser_kit import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    chromium,
    expect,
    log_in,
    seeded_fixture,
    sync_api,
)
from seed_kit import Households, SeededService

HOUSEHOLDS = Households()  # groups 0..99 have an EVSE each, 3 of them offline, 2 priority

pytestmark = [*BROWSER_MARKS, pytest.mark.slow]
browser = chromium
seeded = seeded_fixture("lists", HOUSEHOLDS)


def group_links(page: sync_api.Page) -> sync_api.Locator:
    return page.locator("[data-live-region=groups] tbody td:first-child > a")


def test_an_operator_finds_pages_filters_and_adds_among_thousands(
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    server, operator_credentials, h = seeded.url, seeded.operator, seeded.households
    page = browser.new_context(**DESKTOP).new_page()
    page.goto(f"{server}/operator/groups")
    log_in(page, *operator_credentials)
    expect(page.locator("#groups-count")).to_have_text(
        "2,000 groups; this page shows 100, by name."
    )

    # Found by search: one group, and the filters count within the search.
    page.get_by_label("Search by name or home user").fill("eva.1234@")
    page.get_by_role("button", name="Search").click()
    expect(group_links(page)).to_have_text(["Home 1234"])
    expect(page.locator("#groups-count")).to_have_text("1 group match “eva.1234@”.")

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
        f"All 2,000 Invited {h.invited:,} Active {h.active} Revoked {h.revoked}"
    )
    statuses.get_by_role("link", name=re.compile("^Active")).click()
    expect(page.locator("#users-count")).to_have_text(f"{h.active} active home users.")
    expect(statuses).to_contain_text(f"Revoked {h.revoked}")
    expect(page.get_by_text(h.email(1999))).to_have_count(0)

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
