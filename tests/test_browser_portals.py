"""The portals in Chromium as an operator and a home user live in them, one story each:

- an operator makes a group for someone without an account: the wizard invites her, the group
  page resends the invitation, and her one mail's link sets her password and opens her group;
- a home user edits an exclusion time in place on her phone, is told that "10:00 to 10:00"
  needs "All day", sees overlapping times merged and a history that says what changed, in
  plain words with her time zone;
- on a 360 px phone nothing is wider than its box, the chart's labels are readable, field
  borders and the focus ring have 3:1 contrast (WCAG 1.4.11); the figures are measured here;
- without JavaScript, "Delete group" asks first.
"""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.actors import Actor
from domain.evse_limits import EvseLimits
from domain.exclusion_times import parse_windows
from mailcatcher import MailCatcher, invitation_token
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
PASSWORD = "violet-harbour-lantern-42"
EVENING = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
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


def log_in(page: sync_api.Page, email: str, password: str) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def annas_group(runtime: Runtime) -> str:
    """Anna, who has set her password, and her group with a charger and weekday evenings."""
    service = runtime.service
    _, token = service.accounts.invite_home_user("anna@example.com", Actor.system())
    anna = service.accounts.accept_invitation(token, PASSWORD)
    evse_id, _ = service.evses.register_evse("CP-ANNA", 1, Actor.system(), EvseLimits(16, 3))
    group_id, position = service.groups.create_group(
        name="Anna's home",
        time_zone="Europe/Amsterdam",
        actor=Actor.system(),
        home_user_id=anna,
        evse_ids=[evse_id],
        exclusion_windows=parse_windows([EVENING]),
    )
    runtime.context.caught_up(position)
    return str(group_id)


# --- 3: invited where the group is made ------------------------------------------------------


def test_the_operator_invites_a_new_home_user_from_the_wizard_and_she_gets_in_with_one_mail(
    server: str,
    runtime: Runtime,
    smtp_server: MailCatcher,
    operator_credentials: tuple[str, str],
    browser: sync_api.Browser,
) -> None:
    operator = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    operator.goto(f"{server}/operator/groups")
    log_in(operator, *operator_credentials)
    operator.get_by_role("link", name="New group").click()
    operator.get_by_label("Name").fill("Mia's flat")
    operator.get_by_label("Time zone").fill("Europe/Berlin")
    operator.get_by_role("button", name="Next: home user").click()
    expect(
        operator.get_by_text("Someone without an account yet is invited by e-mail")
    ).to_be_visible()
    operator.get_by_role("combobox", name=re.compile("home user's e-mail")).fill("mia@example.com")
    operator.get_by_role("button", name="Next: EVSEs").click()
    operator.get_by_role("button", name="Next: review").click()
    expect(operator.locator(".review")).to_contain_text(
        "mia@example.com new — no account yet: saving the group invites them by e-mail"
    )
    operator.get_by_role("button", name="Save group").click()
    expect(operator.get_by_role("status")).to_contain_text(
        "mia@example.com is invited by e-mail; the mail's link sets the password"
    )
    first = smtp_server.wait_for("mia@example.com", "Mia's flat")

    # She has lost the mail: the group page sends a new one, and the first link stops working.
    home_user = operator.locator("#home-user")
    expect(home_user).to_contain_text("mia@example.com invited")
    home_user.get_by_role("button", name="Resend invitation").click()
    expect(operator.get_by_role("status")).to_contain_text(
        "A new invitation went to mia@example.com; the link in the earlier mail no longer works"
    )

    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{server}/invitation/{invitation_token(first)}")
    expect(phone.get_by_text("this invitation was withdrawn", exact=False)).to_be_visible()
    mails = [m for m in smtp_server.messages if "mia@example.com" in str(m["To"])]
    latest = mails[-1]
    assert len(mails) == 2 and "Mia's flat" in latest.get_content()
    assert "Choose your password here" in latest.get_content()
    phone.goto(f"{server}/invitation/{invitation_token(latest)}")
    phone.get_by_label("New password").fill(PASSWORD)
    phone.get_by_label("The same password again").fill(PASSWORD)
    phone.get_by_role("button", name="Set password and log in").click()
    expect(phone.get_by_role("heading", name="Mia's flat")).to_be_visible()
    # The operator's open page shows it without a reload.
    expect(operator.locator("#home-user")).to_contain_text("mia@example.com active", timeout=15_000)
    expect(
        operator.locator("#home-user").get_by_role("button", name="Resend invitation")
    ).to_have_count(0)


# --- 4 and 8: an exclusion time edited in place, in plain words --------------------------------


def test_the_home_user_edits_an_exclusion_time_in_place_on_her_phone(
    server: str, runtime: Runtime, browser: sync_api.Browser
) -> None:
    group_id = annas_group(runtime)
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{server}/groups/{group_id}")
    log_in(phone, "anna@example.com", PASSWORD)

    phone.get_by_role("link", name="Edit Mon–Fri 17:00–21:00").click()
    editor = phone.locator("#edit-window")
    expect(editor.get_by_role("heading")).to_have_text("Change Mon–Fri 17:00–21:00")
    expect(editor.get_by_label("From")).to_have_value("17:00")
    editor.get_by_label("From").fill("17:30")
    editor.get_by_role("button", name="Save change").click()
    expect(phone.get_by_role("status")).to_contain_text(
        "Exclusion time changed: Mon–Fri 17:00–21:00 changed to 17:30–21:00"
    )
    history = phone.locator("[data-live-region=audit]")
    latest = history.get_by_role("row").nth(1)
    expect(latest.get_by_role("cell").nth(1)).to_have_accessible_name(
        "Exclusion time changed Mon–Fri 17:00–21:00 changed to 17:30–21:00"
    )

    adder = phone.locator("#add-window")
    adder.get_by_label("Sun").check()
    adder.get_by_label("From").fill("10:00")
    adder.get_by_label("Until").fill("10:00")
    adder.get_by_role("button", name="Add exclusion time").click()
    expect(phone.locator("#add-window .error")).to_contain_text(
        "From and until are both 10:00. For the whole day tick “All day”"
    )
    phone.locator("#add-window").get_by_label("All day").check()
    phone.locator("#add-window").get_by_role("button", name="Add exclusion time").click()
    expect(phone.get_by_role("status")).to_contain_text("Exclusion time added: Sun all day")

    adder = phone.locator("#add-window")
    adder.get_by_label("Mon").check()
    adder.get_by_label("From").fill("20:00")
    adder.get_by_label("Until").fill("22:00")
    adder.get_by_role("button", name="Add exclusion time").click()
    expect(phone.locator("[data-live-region=exclusions]")).to_contain_text(
        "Together, no charging: Mon 17:30–22:00; Tue–Fri 17:30–21:00; Sun all day"
    )

    # Plain words: her charger's state without protocols or profiles, times with their zone.
    chargers = phone.locator("#evses")
    expect(chargers).to_contain_text("Offline · No charging session")
    assert "profile" not in chargers.inner_text().lower()
    assert "ocpp" not in chargers.inner_text().lower()
    now = phone.locator("[data-live-region=state]").inner_text()
    assert re.search(r"\d\d:\d\d (CET|CEST)", now), now


# --- 9: a phone, contrast, and no JavaScript ---------------------------------------------------


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """WCAG's contrast ratio of two CSS colours as Chromium computes them ('rgb(…)')."""
    a, b = (luminance(tuple(float(v) for v in re.findall(r"[\d.]+", c))) for c in (one, other))
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


MEASURE = """() => {
  const box = (selector) => document.querySelector(selector).getBoundingClientRect().width;
  const hour = document.querySelector("svg.schedule text.hour");
  const day = document.querySelector(".chart-days li");
  return {
    page: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    historyBox: box("#audit [data-live-region=audit] .table-wrap"),
    historyTable: box("#audit table.audit"),
    chart: box("svg.schedule"),
    hourLabel: parseFloat(getComputedStyle(hour).fontSize),
    hourLabelDrawn: hour.getBoundingClientRect().height,
    dayLabel: parseFloat(getComputedStyle(day).fontSize),
  };
}"""


def test_a_phone_shows_everything_within_its_width_readable_and_with_visible_edges(
    server: str, runtime: Runtime, browser: sync_api.Browser, record_property: Any
) -> None:
    group_id = annas_group(runtime)
    for start in ("18:00", "06:00", "12:00"):  # a few rows of history
        runtime.context.caught_up(
            runtime.service.groups.add_exclusion_window(
                group_id=__import__("uuid").UUID(group_id),
                window=parse_windows([{"weekdays": ["sat"], "start": start, "end": "23:00"}])[0],
                actor=Actor.system(),
            )
        )
    runtime.start_scheduler()
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{server}/groups/{group_id}")
    log_in(phone, "anna@example.com", PASSWORD)
    expect(phone.locator("svg.schedule").first).to_be_visible(timeout=15_000)

    figures = phone.evaluate(MEASURE)
    record_property("phone_360", figures)
    print("360 px phone:", figures)

    assert figures["page"] <= figures["viewport"]
    assert figures["historyTable"] <= figures["historyBox"]
    assert figures["hourLabel"] >= 12 and figures["hourLabelDrawn"] >= 12
    assert figures["dayLabel"] >= 12

    field = phone.locator("#add-window").get_by_label("From")
    card = phone.locator("#add-window")
    border = field.evaluate("e => getComputedStyle(e).borderTopColor")
    behind = card.evaluate("e => getComputedStyle(e).backgroundColor")
    phone.locator("#add-window").get_by_label("Sun").focus()
    phone.keyboard.press("Tab")  # from the keyboard, so :focus-visible draws the ring
    focused = phone.evaluate("() => document.activeElement.outerHTML")
    ring = phone.evaluate("() => getComputedStyle(document.activeElement).outlineColor")
    ring_width = phone.evaluate("() => getComputedStyle(document.activeElement).outlineWidth")
    page_bg = phone.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    measured = {
        "field border": round(contrast(border, behind), 2),
        "focus ring on a card": round(contrast(ring, behind), 2),
        "focus ring on the page": round(contrast(ring, page_bg), 2),
    }
    record_property("contrast", measured)
    print("contrast:", measured, "focused:", focused[:80], "ring:", ring, ring_width)
    assert min(measured.values()) >= 3, measured
    assert ring_width == "3px"


def test_without_javascript_deleting_a_group_asks_first(
    server: str,
    runtime: Runtime,
    operator_credentials: tuple[str, str],
    browser: sync_api.Browser,
) -> None:
    group_id = annas_group(runtime)
    operator = browser.new_context(java_script_enabled=False, **PHONE).new_page()
    operator.goto(f"{server}/operator/groups/{group_id}")
    log_in(operator, *operator_credentials)

    operator.get_by_role("link", name="Delete group…").click()
    expect(operator.get_by_role("heading", name="Delete the group “Anna's home”?")).to_be_visible()
    expect(operator.get_by_text("CP-ANNA / connector 1) are free again")).to_be_visible()
    operator.get_by_role("link", name="Cancel: keep it").click()
    expect(operator.get_by_role("heading", name="Anna's home")).to_be_visible()

    operator.get_by_role("link", name="Delete group…").click()
    operator.get_by_role("button", name="Delete group").click()
    expect(operator.get_by_role("status")).to_contain_text("Group “Anna's home” deleted")
