"""Both portals in a real browser (headless Chromium through Playwright), end to end, among the
2,000 other households of a seeded service (seed_kit).

The operator invites a home user, runs the group wizard with the e-mail
autocomplete (hundreds of addresses start as hers) and adds an EVSE found by its
charger id; the home user accepts the invitation from the mail (real SMTP), edits
the exclusion times and starts a priority charge; the operator's open group page
shows it without a reload. Screenshots of the main pages are saved;
`SMARTCHARGE_SCREENSHOTS=docs/screenshots` puts them where the README shows them.
"""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from browser_kit import BROWSER_MARKS, DESKTOP, chromium, expect, log_in, seeded_fixture, sync_api
from domain.actors import Actor
from domain.exclusion_times import ExclusionWindow
from mailcatcher import MailCatcher, invitation_token
from seed_kit import SeededService, scheduling
from smartcharge.runtime import Runtime

# Where the screenshots go: a folder of the test run's own, unless
# SMARTCHARGE_SCREENSHOTS names one (`SMARTCHARGE_SCREENSHOTS=docs/screenshots`
# refreshes the README's pictures), so a plain test run changes no tracked file.
SCREENSHOTS = Path(
    os.environ.get("SMARTCHARGE_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "smartcharge-screenshots"
)

pytestmark = [*BROWSER_MARKS, pytest.mark.slow]
browser = chromium
seeded = seeded_fixture("e2e")


def shot(page: sync_api.Page, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def operator_prepares(page: sync_api.Page, server: str, credentials: tuple[str, str]) -> None:
    """Log in, invite the home user, register two connectors of her charger."""
    page.goto(f"{server}/operator/groups")
    expect(page.get_by_role("heading", name="Log in to the operator portal")).to_be_visible()
    log_in(page, *credentials)
    expect(page.get_by_role("heading", name="Smart charging groups")).to_be_visible()

    page.get_by_role("link", name="Admin: users").click()
    page.get_by_label("Invite a home user by e-mail").fill("anna@example.com")
    page.get_by_role("button", name="Send invitation", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to anna@example.com")
    # Among 2,000 home users (200 of them anna.NNNN@) she is found by her address.
    page.get_by_label("E-mail starts with").fill("anna@")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name="anna@example.com")).to_be_visible()

    page.get_by_role("link", name="EVSEs").click()
    for connector in ("1", "2"):
        page.get_by_label("Charger id (as in its OCPP URL)").fill("CP-ANNA")
        page.get_by_label("Connector").fill(connector)
        page.get_by_label("Maximum current, A").fill("16")
        page.get_by_label("Phases").select_option("3")
        page.get_by_role("button", name="Register").click()
        expect(page.get_by_role("status")).to_contain_text(f"CP-ANNA connector {connector}")
    expect(page.locator("#evses-count")).to_contain_text("2,002 EVSEs")
    page.get_by_label("Charger id starts with").fill("CP-00")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#evses-count")).to_contain_text("100 EVSEs match")
    page.evaluate("document.getElementById('registered').scrollIntoView()")
    shot(page, "operator-evses", full_page=False)


def operator_runs_wizard(page: sync_api.Page) -> None:
    page.get_by_role("link", name="Smart charging groups").click()
    page.get_by_role("link", name="New group").click()
    page.get_by_label("Name").fill("Anna's home")
    page.get_by_label("Description").fill("Driveway charger, two connectors")
    page.get_by_label("Time zone").fill("Europe/Amsterdam")
    page.get_by_role("button", name="Next: home user").click()

    email = page.get_by_role("combobox", name=re.compile("home user's e-mail"))
    email.press_sequentially("anna", delay=50)
    expect(page.get_by_role("option").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"\d+ more — type more of the address"))).to_be_visible()
    shot(page, "wizard-step2-autocomplete", full_page=False)
    email.press_sequentially("@", delay=50)
    suggestion = page.get_by_role("option", name=re.compile("anna@example.com"))
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(email).to_have_value("anna@example.com")
    page.get_by_role("button", name="Next: EVSEs").click()

    page.get_by_label("Find free EVSEs").fill("cp-anna")
    page.get_by_role("button", name="Find").click()
    page.get_by_label("CP-ANNA / connector 1").check()
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_text("anna@example.com")).to_be_visible()
    page.get_by_role("button", name="Save group").click()
    expect(page.get_by_role("status")).to_contain_text("Group “Anna's home” created")

    page.get_by_label("Add an EVSE").fill("cp-anna/2")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("button", name="Add CP-ANNA / connector 2").click()
    expect(page.get_by_role("status")).to_contain_text("EVSE added")
    expect(page.locator("[data-live-region=evses]")).to_contain_text("CP-ANNA / connector 2")


def home_user_accepts(page: sync_api.Page, server: str, smtp_server: MailCatcher) -> None:
    # Her one mail is the invitation: added to the group before she set a password, she is
    # not sent a second one pointing at a login she cannot use yet.
    token = invitation_token(smtp_server.wait_for("anna@example.com", "invited"))
    page.goto(f"{server}/invitation/{token}")
    page.get_by_label("New password").fill("anna-secret-1")
    page.get_by_label("The same password again").fill("anna-secret-1")
    page.get_by_role("button", name="Set password and log in").click()
    expect(page.get_by_role("heading", name="My smart charging groups")).to_be_visible()
    expect(page.get_by_role("heading", name="Anna's home")).to_be_visible()


def home_user_edits_exclusion_times(page: sync_api.Page) -> None:
    page.get_by_role("link", name="Edit exclusion times").click()
    editor = page.locator("#add-window")
    editor.get_by_label("From").fill("17:00")
    editor.get_by_label("Until").fill("21:00")
    editor.get_by_role("button", name="Add exclusion time").click()
    expect(page.locator("#add-window .error")).to_have_text("Choose at least one day.")
    expect(page.locator("#add-window").get_by_label("From")).to_have_value("17:00")

    editor = page.locator("#add-window")
    editor.get_by_role("button", name="Weekdays").click()
    editor.get_by_role("button", name="Add exclusion time").click()
    expect(page.get_by_role("status")).to_contain_text("Exclusion time added: Mon–Fri 17:00–21:00")
    editor = page.locator("#add-window")
    editor.get_by_label("Sat").check()
    editor.get_by_label("From").fill("23:00")
    editor.get_by_label("Until").fill("07:00")
    editor.get_by_role("button", name="Add exclusion time").click()
    expect(page.locator("[data-live-region=exclusions]")).to_contain_text("Sat 23:00–07:00")
    page.locator("#exclusions").screenshot(path=str(SCREENSHOTS / "exclusion-editor.png"))


def home_user_starts_priority_charge(phone: sync_api.Page) -> None:
    phone.get_by_role("navigation", name="Main").get_by_role("link").first.click()
    phone.get_by_role("button", name="Start priority charge").click()
    expect(phone.get_by_role("status")).to_contain_text("Priority charge started")
    expect(phone.get_by_role("button", name="Stop priority charge")).to_be_visible()
    expect(phone.locator(".left")).to_contain_text("left")
    shot(phone, "consumer-my-groups")
    phone.get_by_role("link", name="Schedule").click()
    expect(phone.locator("svg.schedule rect.priority").first).to_be_visible()
    phone.locator("#schedule").screenshot(path=str(SCREENSHOTS / "schedule-chart.png"))


def operator_sees_it_without_reloading(operator: sync_api.Page) -> None:
    """The group page has been open all along: its live regions show the home user's change,
    and what the operator was typing meanwhile stays as it was."""
    state = operator.locator("[data-live-region=state]")
    expect(state).to_contain_text("Priority charge", timeout=15_000)
    audit = operator.locator("[data-live-region=audit]")
    expect(audit).to_contain_text("Priority charge started", timeout=15_000)
    expect(audit.get_by_role("row").nth(1)).to_contain_text("anna@example.com (home user)")
    expect(audit).to_contain_text("Exclusion time added")
    expect(operator.locator("[data-live-region=exclusions]")).to_contain_text("Sat 23:00–07:00")
    assert operator.evaluate("window.stillTheSamePage") is True
    expect(operator.locator("#add-window").get_by_label("From")).to_have_value("06:00")
    shot(operator, "operator-group")


def operator_opens_the_move_page(operator: sync_api.Page) -> None:
    """Moving her second connector to Ben's flat asks first; she keeps it (Cancel)."""
    operator.get_by_role("link", name="Anna's home").click()
    evse = operator.locator("li.evse", has_text="CP-ANNA / connector 2")
    evse.get_by_role("link", name="Move to group…").click()
    operator.get_by_label("Find the group by name or home user").fill("ben")
    operator.get_by_role("button", name="Search").click()
    operator.get_by_role("link", name="Ben's flat").click()
    expect(operator.get_by_role("heading", level=2)).to_have_text(
        "Move CP-ANNA / connector 2 to “Ben's flat”?"
    )
    shot(operator, "operator-evse-move", full_page=False)
    operator.get_by_role("link", name="Cancel").click()
    expect(operator.locator("li.evse")).to_have_count(2)


def more_groups(runtime: Runtime) -> None:
    """Two more groups, so the list looks like an operator's."""
    evenings = ExclusionWindow(("mon", "tue", "wed", "thu", "fri"), 17 * 60, 20 * 60)
    for name, zone in (("Ben's flat", "Europe/London"), ("Cleo's house", "America/New_York")):
        _, position = runtime.service.groups.create_group(
            name=name, time_zone=zone, actor=Actor.system(), exclusion_windows=[evenings]
        )
        runtime.context.caught_up(position)


def test_operator_and_home_user_in_the_browser(
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    server, runtime, smtp_server = seeded.url, seeded.runtime, seeded.smtp
    scheduling(runtime)  # desired profiles per EVSE, shown as the EVSE status
    operator = browser.new_context(**DESKTOP).new_page()
    operator_prepares(operator, server, seeded.operator)
    operator_runs_wizard(operator)
    operator.evaluate("window.stillTheSamePage = true")
    operator.locator("#add-window").get_by_label("From").fill("06:00")

    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    ).new_page()
    home_user_accepts(phone, server, smtp_server)
    home_user_edits_exclusion_times(phone)
    home_user_starts_priority_charge(phone)
    operator_sees_it_without_reloading(operator)

    more_groups(runtime)
    operator.get_by_role("link", name="Smart charging groups").first.click()
    expect(operator.locator("#groups-count")).to_contain_text("2,003 groups")
    annas = operator.get_by_role("row", name=re.compile("Anna's home"))
    expect(
        annas.get_by_role("cell", name="Priority charge: charging at full power")
    ).to_be_visible()
    shot(operator, "operator-groups", full_page=False)
    operator_opens_the_move_page(operator)


def test_home_user_who_forgot_the_password_sets_a_new_one_in_the_browser(
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    """From "Forgot password?" on the login page to the mail's link, the new password, and
    a login with it; the link then no longer works."""
    server, smtp_server = seeded.url, seeded.smtp
    accounts = seeded.runtime.service.accounts
    _, token = accounts.invite_home_user("rosa@example.com", Actor.system())
    accounts.accept_invitation(token, "violet-harbour-lantern-42")
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()

    page.goto(f"{server}/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("E-mail").fill("rosa@example.com")
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()

    mail = smtp_server.wait_for("rosa@example.com", "Set a new smart charging password")
    found = re.search(r"https?://\S+(/password-reset/[A-Za-z0-9_-]+)", mail.get_content())
    assert found, mail.get_content()
    page.goto(f"{server}{found.group(1)}")
    page.get_by_label("New password").fill("copper-meadow-whistle-77")
    page.get_by_label("The same password again").fill("copper-meadow-whistle-77")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status")).to_contain_text("Your new password is set")
    log_in(page, "rosa@example.com", "copper-meadow-whistle-77")
    expect(page.get_by_role("heading", name="My smart charging groups")).to_be_visible()

    page.goto(f"{server}{found.group(1)}")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    expect(page.get_by_text("this link was already used", exact=False)).to_be_visible()
    page.context.close()
