"""The portals in Chromium as an operator and home users live in them, among the 2,000 other
households of a seeded service (seed_kit), one story each:

- an operator makes a group for someone without an account: the wizard invites her, the group
  page resends the invitation, and her one mail's link sets her password and opens her group;
- a home user edits an exclusion time in place on her phone, is told that "10:00 to 10:00"
  needs "All day", sees overlapping times merged and a history that says what changed, in
  plain words with her time zone;
- the operator edits a home user's exclusion time in place from the group page: her open page
  shows it at once, and both histories say what it was and what it is;
- the operator registers an EVSE: wrong values are refused in plain words, and the registry
  shows its charging session in its group's local time, the zone named;
- on a 360 px phone nothing is wider than its box, the chart's labels are readable, field
  borders and the focus ring have 3:1 contrast (WCAG 1.4.11); the figures are measured here;
- without JavaScript, the operator finds a group among thousands and "Delete group" asks first.
"""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

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
from domain.actors import Actor
from domain.evse_limits import EvseLimits
from domain.exclusion_times import parse_windows
from mailcatcher import invitation_token
from seed_kit import SeededService, scheduling
from smartcharge.runtime import Runtime

PASSWORD = "violet-harbour-lantern-42"
EVENING = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}

pytestmark = [*BROWSER_MARKS, pytest.mark.slow]
browser = chromium
seeded = seeded_fixture("portals")


def household(runtime: Runtime, who: str, time_zone: str = "Europe/Amsterdam") -> str:
    """Someone (e.g. "Anna": anna@example.com) who has set her password, and her group
    ("Anna's home") with her charger (CP-ANNA) and weekday evenings; the group's id."""
    service, email = runtime.service, f"{who.lower()}@example.com"
    _, token = service.accounts.invite_home_user(email, Actor.system())
    user_id = service.accounts.accept_invitation(token, PASSWORD)
    evse_id, _ = service.evses.register_evse(
        f"CP-{who.upper()}", 1, Actor.system(), EvseLimits(16, 3)
    )
    group_id, position = service.groups.create_group(
        name=f"{who}'s home",
        time_zone=time_zone,
        actor=Actor.system(),
        home_user_id=user_id,
        evse_ids=[evse_id],
        exclusion_windows=parse_windows([EVENING]),
    )
    runtime.context.caught_up(position)
    return str(group_id)


# --- 3: invited where the group is made ------------------------------------------------------


def test_the_operator_invites_a_new_home_user_from_the_wizard_and_she_gets_in_with_one_mail(
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    server, smtp_server = seeded.url, seeded.smtp
    operator = browser.new_context(**DESKTOP).new_page()
    operator.goto(f"{server}/operator/groups")
    log_in(operator, *seeded.operator)
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
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    group_id = household(seeded.runtime, "Anna")
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{seeded.url}/groups/{group_id}")
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


def test_the_operator_edits_an_exclusion_time_in_place_and_the_home_users_page_shows_it(
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    group_id = household(seeded.runtime, "Ines")
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{seeded.url}/groups/{group_id}")
    log_in(phone, "ines@example.com", PASSWORD)
    expect(phone.locator("[data-live-region=exclusions]")).to_contain_text("Mon–Fri 17:00–21:00")

    operator = browser.new_context(**DESKTOP).new_page()
    operator.goto(f"{seeded.url}/operator/groups/{group_id}")
    log_in(operator, *seeded.operator)
    operator.get_by_role("link", name="Edit Mon–Fri 17:00–21:00").click()
    editor = operator.locator("#edit-window")
    expect(editor.get_by_role("heading")).to_have_text("Change Mon–Fri 17:00–21:00")
    expect(editor.get_by_label("Until")).to_have_value("21:00")
    editor.get_by_label("Until").fill("22:30")
    editor.get_by_role("button", name="Save change").click()
    changed = "Mon–Fri 17:00–21:00 changed to 17:00–22:30"
    expect(operator.get_by_role("status")).to_contain_text(f"Exclusion time changed: {changed}")
    expect(operator.locator("[data-live-region=exclusions]")).to_contain_text("Mon–Fri 17:00–22:30")
    latest = operator.locator("[data-live-region=audit]").get_by_role("row").nth(1)
    expect(latest.get_by_role("cell").nth(1)).to_have_accessible_name(
        f"Exclusion time changed {changed}"
    )

    # Her page, open all along, shows the new time and what changed without a reload.
    exclusions = phone.locator("[data-live-region=exclusions]")
    expect(exclusions).to_contain_text("Mon–Fri 17:00–22:30", timeout=15_000)
    expect(exclusions).not_to_contain_text("17:00–21:00")
    history = phone.locator("[data-live-region=audit]")
    expect(history.get_by_role("row").nth(1)).to_contain_text(changed, timeout=15_000)


NEW_YORK = ZoneInfo("America/New_York")


def test_the_operator_registers_an_evse_in_plain_words_and_reads_its_times_in_its_groups_zone(
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    runtime = seeded.runtime
    operator = browser.new_context(**DESKTOP).new_page()
    operator.goto(f"{seeded.url}/operator/evses")
    log_in(operator, *seeded.operator)

    form = operator.locator("form", has=operator.get_by_role("button", name="Register"))
    form.get_by_label("Charger id (as in its OCPP URL)").fill("CP-NOAH")
    form.get_by_label("Connector").fill("1")
    refusals = []
    for current, phases, power in (("16", "", ""), ("0", "1", ""), ("", "", "5000000")):
        form = operator.locator("form", has=operator.get_by_role("button", name="Register"))
        form.get_by_label("Maximum current, A").fill(current)
        form.get_by_label("Phases").select_option(phases)
        form.get_by_label("Maximum power, W").fill(power)
        form.get_by_role("button", name="Register").click()
        error = operator.locator("form .error").first
        expect(error).to_be_visible()
        refusals.append(error.inner_text())
    assert "Choose 1 or 3 phases for the maximum current." in refusals[0], refusals
    assert "Maximum current: give more than 0 A" in refusals[1], refusals
    assert "at most 1,000,000 W." in refusals[2], refusals
    for words in refusals:
        assert not re.search(r"max_current_a|max_power_w|phases:|None|1e\+06", words), words
    form = operator.locator("form", has=operator.get_by_role("button", name="Register"))
    expect(form.get_by_label("Charger id (as in its OCPP URL)")).to_have_value("CP-NOAH")
    form.get_by_label("Maximum current, A").fill("32")
    form.get_by_label("Phases").select_option("1")
    form.get_by_label("Maximum power, W").fill("")
    form.get_by_role("button", name="Register").click()
    expect(operator.get_by_role("status")).to_contain_text("CP-NOAH connector 1")

    # In a group in New York, its charger connected and charging (as the gateway records it).
    runtime.service.evses.register_evse("CP-NOAH", 2, Actor.system(), EvseLimits(16, 3))
    group_id, position = runtime.service.groups.create_group(
        name="Noah's house", time_zone="America/New_York", actor=Actor.system()
    )
    runtime.context.caught_up(position)
    operator.goto(f"{seeded.url}/operator/groups/{group_id}")
    operator.get_by_label(re.compile("Add an EVSE")).fill("cp-noah/1")
    operator.get_by_role("button", name="Find").click()
    operator.get_by_role("button", name="Add CP-NOAH / connector 1").click()
    expect(operator.get_by_role("status")).to_contain_text("EVSE added")
    service = runtime.service
    service.chargers.set_charger_password("CP-NOAH", "noah-charger-key-0001", Actor.system())
    service.chargers.charger_connected("CP-NOAH", "gateway-1", "ocpp1.6")
    started = datetime.now(NEW_YORK)
    runtime.context.caught_up(service.deliveries.session_started("CP-NOAH", 1, 4711))
    runtime.context.caught_up(service.deliveries.session_started("CP-NOAH", 2, 4712))

    operator.goto(f"{seeded.url}/operator/evses")
    operator.get_by_label("Charger id starts with").fill("CP-NOAH")
    operator.get_by_role("button", name="Show").click()
    grouped = operator.locator("li.evse", has_text="CP-NOAH / connector 1")
    expect(grouped).to_contain_text("In Noah's house · Online (OCPP 1.6)")
    shown = re.search(r"Charging session since (\d\d:\d\d) (\w+)", grouped.inner_text())
    assert shown, grouped.inner_text()
    local = {f"{t:%H:%M}" for t in (started, started + timedelta(minutes=1))}
    assert shown.group(1) in local and shown.group(2) == f"{started:%Z}", shown.group(0)
    # A free EVSE has no group's zone: its times are in UTC, and say so.
    free = operator.locator("li.evse", has_text="CP-NOAH / connector 2")
    expect(free).to_contain_text("Free: in no group")
    expect(free).to_contain_text(re.compile(r"Charging session since \d\d:\d\d UTC"))


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
    seeded: SeededService, browser: sync_api.Browser, record_property: Any
) -> None:
    runtime = seeded.runtime
    group_id = household(runtime, "Bea")
    for start in ("18:00", "06:00", "12:00"):  # a few rows of history
        runtime.context.caught_up(
            runtime.service.groups.add_exclusion_window(
                group_id=UUID(group_id),
                window=parse_windows([{"weekdays": ["sat"], "start": start, "end": "23:00"}])[0],
                actor=Actor.system(),
            )
        )
    scheduling(runtime)
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{seeded.url}/groups/{group_id}")
    log_in(phone, "bea@example.com", PASSWORD)
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


def test_without_javascript_the_operator_finds_a_group_and_deleting_it_asks_first(
    seeded: SeededService, browser: sync_api.Browser
) -> None:
    household(seeded.runtime, "Cleo")
    operator = browser.new_context(java_script_enabled=False, **PHONE).new_page()
    operator.goto(f"{seeded.url}/operator/groups")
    log_in(operator, *seeded.operator)

    # "cleo" is also in hundreds of home users' addresses: her group's name finds it.
    operator.get_by_label("Search by name or home user").fill("cleo")
    operator.get_by_role("button", name="Search").click()
    expect(operator.locator("#groups-count")).to_contain_text("201 groups match “cleo”")
    operator.get_by_label("Search by name or home user").fill("Cleo's home")
    operator.get_by_role("button", name="Search").click()
    operator.get_by_role("link", name="Cleo's home").click()

    operator.get_by_role("link", name="Delete group…").click()
    expect(operator.get_by_role("heading", name="Delete the group “Cleo's home”?")).to_be_visible()
    expect(operator.get_by_text("CP-CLEO / connector 1) are free again")).to_be_visible()
    operator.get_by_role("link", name="Cancel: keep it").click()
    expect(operator.get_by_role("heading", name="Cleo's home")).to_be_visible()

    operator.get_by_role("link", name="Delete group…").click()
    operator.get_by_role("button", name="Delete group").click()
    expect(operator.get_by_role("status")).to_contain_text("Group “Cleo's home” deleted")
