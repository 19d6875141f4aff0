"""In Chromium: the operator moves Anna's EVSE to Bob's group, from Anna's group page, among the
2,000 other households of a seeded service (seed_kit), hundreds of them a "bob"'s."""

from __future__ import annotations

import re

import pytest

from browser_kit import BROWSER_MARKS, DESKTOP, chromium, expect, log_in, seeded_fixture, sync_api
from domain.actors import Actor
from domain.evse_limits import EvseLimits
from seed_kit import SeededService
from smartcharge.runtime import Runtime

pytestmark = [*BROWSER_MARKS, pytest.mark.slow]
browser = chromium
seeded = seeded_fixture("move")


def two_homes(runtime: Runtime) -> str:
    """Anna's home with her charger, Bob's with his; Anna's group's id."""
    service, system = runtime.service, Actor.system()
    annas, _ = service.evses.register_evse("CP-ANNA", 1, system, EvseLimits(16, 3))
    bobs, _ = service.evses.register_evse("CP-BOB", 1, system, EvseLimits(16, 3))
    anna, _ = service.groups.create_group(
        name="Anna's home", time_zone="Europe/Amsterdam", actor=system, evse_ids=[annas]
    )
    _, position = service.groups.create_group(
        name="Bob's home", time_zone="Europe/Amsterdam", actor=system, evse_ids=[bobs]
    )
    runtime.context.caught_up(position)
    return str(anna)


def test_the_operator_moves_annas_evse_to_bobs_group(
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    server = seeded.url
    annas_group = two_homes(seeded.runtime)
    page = browser.new_context(**DESKTOP).new_page()
    page.goto(f"{server}/operator/groups/{annas_group}")
    log_in(page, *seeded.operator)

    page.locator("li.evse", has_text="CP-ANNA").get_by_role("link", name="Move to group…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Move CP-ANNA / connector 1 to another group"
    )
    # "bob" finds the first of hundreds (bob.0001@example.com's "Home 0001", ...): more of
    # the name finds his.
    page.get_by_label("Find the group by name or home user").fill("bob")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("type more of the name to find another")).to_be_visible()
    choices = page.get_by_role("list", name="Groups to move it to").get_by_role("link")
    expect(choices.first).to_have_text("Bob's home")
    expect(choices.nth(1)).to_have_text("Home 0001")
    page.get_by_label("Find the group by name or home user").fill("Bob's home")
    page.get_by_role("button", name="Search").click()
    expect(choices).to_have_text(["Bob's home"])
    page.get_by_role("link", name="Bob's home").click()
    expect(page.get_by_role("heading", level=2)).to_have_text(
        "Move CP-ANNA / connector 1 to “Bob's home”?"
    )
    page.get_by_role("button", name="Move to “Bob's home”").click()

    expect(page).to_have_url(re.compile(r"/operator/groups/[0-9a-f-]+#evses$"))
    expect(page.get_by_role("status")).to_contain_text(
        "CP-ANNA / connector 1 moved from “Anna's home” to “Bob's home”."
    )
    expect(page.locator("li.evse")).to_have_count(2)
    expect(page.get_by_text("CP-ANNA / connector 1, from “Anna's home”")).to_be_visible()
    page.goto(f"{server}/operator/groups/{annas_group}")
    expect(page.locator("li.evse")).to_have_count(0)
    expect(page.get_by_text("CP-ANNA / connector 1, to “Bob's home”")).to_be_visible()
