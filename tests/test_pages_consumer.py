"""Pages of the consumer portal, as plain form posts: my groups, priority charge, the weekly
exclusion editor, the schedule chart, the history, and live refresh of a group's state."""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mailcatcher import MailCatcher
from pages_kit import PageClient, error_text, evse, group, home_user, text

pytestmark = pytest.mark.postgres

EVENING = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}


@pytest.fixture
def anna_group(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> dict[str, Any]:
    home_user(server, operator_client, smtp_server, "anna@example.com", "anna-secret-1")
    return group(
        operator_client,
        "Anna's home",
        home_user_email="anna@example.com",
        evse_ids=[evse(operator_client, "CP-ANNA")],
        exclusion_windows=[EVENING],
    )


@pytest.fixture
def anna(server: str, anna_group: dict[str, Any]) -> Iterator[PageClient]:
    client = PageClient(server)
    client.log_in("anna@example.com", "anna-secret-1", portal="")
    yield client
    client.close()


def test_my_groups_shows_each_group_with_its_state(anna: PageClient) -> None:
    page = anna.get("/")

    assert page.status_code == 200
    assert "Anna's home" in text(page)
    assert "Exclusion times: Mon–Fri 17:00–21:00" in text(page)
    assert "Start priority charge" in text(page)
    assert any(state in text(page) for state in ("Charging allowed now", "No charging now"))


def test_priority_charge_is_started_and_stopped_and_the_operator_sees_it(
    anna: PageClient, anna_group: dict[str, Any], operator_client: httpx.Client
) -> None:
    group_id = anna_group["id"]
    anna.get("/")

    started = anna.post(f"/groups/{group_id}/priority-charge/start", {"minutes": "60", "back": "/"})

    assert started.status_code == 303
    assert started.headers["location"] == "/"
    page = anna.follow(started)
    assert "Priority charge started: full power until" in text(page)
    assert "Priority charge: charging at full power" in text(page)
    assert "59 min left" in text(page) or "1 h 00 min left" in text(page)
    assert "Stop priority charge" in text(page)
    seen = operator_client.get(f"/api/operator/groups/{group_id}").json()
    assert seen["priority_charge"]["started_by_role"] == "home_user"

    stopped = anna.post(f"/groups/{group_id}/priority-charge/stop", {"back": "/"})
    assert "Priority charge stopped." in text(anna.follow(stopped))
    assert operator_client.get(f"/api/operator/groups/{group_id}").json()["priority_charge"] is None


def test_priority_charge_of_an_unknown_length_is_refused(
    anna: PageClient, anna_group: dict[str, Any]
) -> None:
    anna.get("/")

    answer = anna.post(f"/groups/{anna_group['id']}/priority-charge/start", {"minutes": "99999"})

    assert answer.status_code == 422
    assert error_text(answer) == "Choose how long the priority charge lasts."


def test_exclusion_time_is_added_and_removed(
    anna: PageClient, anna_group: dict[str, Any], operator_client: httpx.Client
) -> None:
    group_id = anna_group["id"]
    anna.get(f"/groups/{group_id}")

    added = anna.post(
        f"/groups/{group_id}/exclusion-times/add",
        {"days": ["sat", "sun"], "start": "23:00", "end": "07:00"},
    )

    assert added.status_code == 303
    page = anna.follow(added)
    assert "Exclusion time added: Sat, Sun 23:00–07:00 (until the next day)." in text(page)
    windows = operator_client.get(f"/api/operator/groups/{group_id}/exclusion-times").json()
    assert windows["windows"][-1] == {"weekdays": ["sat", "sun"], "start": "23:00", "end": "07:00"}

    removed = anna.post(
        f"/groups/{group_id}/exclusion-times/remove",
        {"weekdays": "mon,tue,wed,thu,fri", "start": "17:00", "end": "21:00"},
    )
    page = anna.follow(removed)
    assert "Exclusion time removed: Mon–Fri 17:00–21:00." in text(page)
    assert (
        len(operator_client.get(f"/api/operator/groups/{group_id}").json()["exclusion_windows"])
        == 1
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": "17:00", "end": "21:00"}, "Choose at least one day."),
        ({"days": ["mon"], "start": "", "end": "21:00"}, "Give the start time, for example 17:00."),
        (
            {"days": ["mon"], "start": "17:00", "end": "25:00"},
            "The end time “25:00” is not a time of day: use HH:MM, from 00:00 to 23:59.",
        ),
        (
            {"days": ["someday"], "start": "17:00", "end": "21:00"},
            "“someday” is not a day of the week.",
        ),
    ],
)
def test_bad_exclusion_time_is_refused_in_words_with_the_form_kept(
    anna: PageClient, anna_group: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    anna.get(f"/groups/{anna_group['id']}")

    answer = anna.post(f"/groups/{anna_group['id']}/exclusion-times/add", fields)

    assert answer.status_code == 422
    assert error_text(answer) == message
    assert f'value="{fields["start"]}"' in answer.text


def test_too_many_exclusion_times_are_refused_by_the_domain(
    anna: PageClient, anna_group: dict[str, Any], operator_client: httpx.Client
) -> None:
    group_id = anna_group["id"]
    many = [
        {"weekdays": ["mon"], "start": f"{hour:02d}:00", "end": f"{hour:02d}:30"}
        for hour in range(20)
    ]
    operator_client.put(f"/api/operator/groups/{group_id}/exclusion-times", json={"windows": many})
    anna.get(f"/groups/{group_id}")

    answer = anna.post(
        f"/groups/{group_id}/exclusion-times/add",
        {"days": ["tue"], "start": "10:00", "end": "11:00"},
    )

    assert answer.status_code == 422
    assert "at most 20" in error_text(answer)


def test_removing_a_window_that_is_gone_says_so(
    anna: PageClient, anna_group: dict[str, Any]
) -> None:
    anna.get(f"/groups/{anna_group['id']}")

    answer = anna.post(
        f"/groups/{anna_group['id']}/exclusion-times/remove",
        {"weekdays": "sun", "start": "01:00", "end": "02:00"},
    )

    assert answer.status_code == 409
    assert error_text(answer) == "This exclusion time was already removed or changed meanwhile."


def test_group_page_draws_the_schedule_and_the_history(
    anna: PageClient, anna_group: dict[str, Any]
) -> None:
    group_id = anna_group["id"]
    anna.get("/")
    anna.post(f"/groups/{group_id}/priority-charge/start", {"minutes": "30"})

    page = anna.get(f"/groups/{group_id}")

    assert page.status_code == 200
    assert page.text.count('<svg class="schedule"') == 1
    for drawn in (
        'class="bar exclusion"',
        'class="bar priority"',
        'class="bar free"',
        'class="now"',
        ">Today</li>",  # the days are named beside the chart, in HTML
        ">now</text>",
    ):
        assert drawn in page.text, drawn
    # Hours are labelled every six; the "now" label hides at most the one it stands on,
    # whatever the time of day the test runs at.
    hour_labels = [f">{hour:02d}:00</text>" for hour in range(0, 25, 6)]
    assert sum(label in page.text for label in hour_labels) >= len(hour_labels) - 1
    assert "In local time (Europe/Amsterdam)" in text(page)
    assert "Priority charge started" in text(page)
    assert "anna@example.com (home user)" in text(page)
    assert "Home user added" in text(page)


def test_a_change_by_the_operator_shows_on_the_next_page_load(
    anna: PageClient, anna_group: dict[str, Any], operator_client: httpx.Client
) -> None:
    group_id = anna_group["id"]
    operator_client.put(
        f"/api/operator/groups/{group_id}/exclusion-times",
        json={"windows": [{"weekdays": ["wed"], "start": "06:00", "end": "08:00"}]},
    )

    page = anna.get(f"/groups/{group_id}")

    assert "Wed 06:00–08:00" in text(page)
    assert "operator@example.com (operator)" in text(page)


def test_live_regions_refresh_only_when_something_changed(
    anna: PageClient, anna_group: dict[str, Any], operator_client: httpx.Client
) -> None:
    group_id = anna_group["id"]
    first = anna.get(f"/groups/{group_id}/live").json()
    unchanged = anna.get(f"/groups/{group_id}/live", params={"since": first["signature"]})
    operator_client.post(f"/api/operator/groups/{group_id}/priority-charge", json={})
    changed = anna.get(f"/groups/{group_id}/live", params={"since": first["signature"]})

    assert set(first["regions"]) == {"state", "exclusions", "evses", "schedule", "audit"}
    assert unchanged.status_code in (204, 200)  # 200 only when a minute boundary passed
    assert changed.status_code == 200
    assert "Priority charge: charging at full power" in changed.json()["regions"]["state"]
    assert "operator@example.com" in changed.json()["regions"]["audit"]
    my_groups = anna.get("/live").json()
    assert "Priority charge" in my_groups["regions"]["groups"]


def test_another_users_group_is_not_found(anna: PageClient, operator_client: httpx.Client) -> None:
    other = group(operator_client, "Not Anna's")["id"]

    page = anna.get(f"/groups/{other}")
    posted = anna.post(f"/groups/{other}/priority-charge/start", {})

    assert page.status_code == 404
    assert "There is no such smart charging group here." in text(page)
    assert posted.status_code == 404
    assert anna.get(f"/groups/{other}/live").status_code == 404
