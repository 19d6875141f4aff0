"""The pages' pure parts: the chart model, form parsing, safe redirects."""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from api.pages.access import CONSUMER, OPERATOR, safe_next
from api.pages.exclusion_form import WindowFormError, window_from_form
from api.pages.formatting import duration, weekdays_text, window_text
from api.pages.group_state import profile_words
from api.pages.messages import in_words
from api.pages.schedule_svg import LEFT, PLOT, chart_for
from domain.errors import GroupAlreadyHasHomeUser, InvalidExclusionTimes

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (["mon", "tue", "wed", "thu", "fri"], "Mon–Fri"),
        (["sat", "sun"], "Sat, Sun"),
        (["mon", "wed", "thu", "fri", "sun"], "Mon, Wed–Fri, Sun"),
        (["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "Every day"),
    ],
)
def test_weekdays_read_as_ranges(days: list[str], words: str) -> None:
    assert weekdays_text(days) == words


def test_window_past_midnight_says_so() -> None:
    night = {"weekdays": ["sat"], "start": "23:00", "end": "07:00"}

    assert window_text(night) == "Sat 23:00–07:00 (until the next day)"


def test_durations_read_in_hours_and_minutes() -> None:
    assert duration(timedelta(minutes=125)) == "2 h 05 min"
    assert duration(timedelta(minutes=9, seconds=59)) == "9 min"
    assert duration(timedelta(seconds=20)) == "less than a minute"


def test_profile_answers_in_words() -> None:
    desired = [{"profile_id": 1}, {"profile_id": 2}]
    accepted = {"1": {"status": "Accepted"}, "2": {"status": "Accepted"}}

    assert profile_words({"desired_profiles": []})[0] == "none"
    assert profile_words({"desired_profiles": desired, "answers": accepted})[0] == "ok"
    assert profile_words(
        {"desired_profiles": desired, "answers": {"1": {"status": "Rejected"}}, "connected": True}
    ) == ("failed", "2 profiles sent, rejected by the charger")
    assert (
        profile_words({"desired_profiles": desired, "answers": {}, "connected": False})[0]
        == "waiting"
    )


def test_exclusion_form_gives_the_window_in_the_apis_form() -> None:
    window = window_from_form(["fri", "mon"], "7:05", "21:00:00")

    assert window == {"weekdays": ["mon", "fri"], "start": "07:05", "end": "21:00"}


def test_exclusion_form_without_days_is_refused() -> None:
    with pytest.raises(WindowFormError, match=r"Choose at least one day\."):
        window_from_form([], "17:00", "21:00")


def interval(start: datetime, end: datetime, reason: str, limit: float = 16) -> dict[str, Any]:
    return {
        "start_utc": start.astimezone(UTC),
        "end_utc": end.astimezone(UTC),
        "limit": limit,
        "unit": "A",
        "reason": reason,
    }


def test_chart_cuts_intervals_at_local_midnight_and_marks_now() -> None:
    now = local(2025, 3, 3, 12, 0)
    night = interval(local(2025, 3, 3, 22, 0), local(2025, 3, 4, 6, 0), "exclusion", 0)
    evse = {"charge_point_id": "CP", "connector_id": 1, "intervals": [night]}

    chart = chart_for(evse, AMSTERDAM, now)

    bars = [bar for bar in chart.bars if bar.reason == "exclusion"]
    assert len(bars) == 2
    assert bars[0].x == pytest.approx(LEFT + PLOT * 22 / 24, abs=0.01)
    assert bars[1].x == LEFT
    assert bars[1].y > bars[0].y
    assert chart.now_x == pytest.approx(LEFT + PLOT / 2, abs=0.01)
    assert chart.days[0][1] == "Today"
    assert chart.days[1][1] == "Tue 4"
    assert "Mon 3 Mar, 22:00 CET to Tue 4 Mar, 06:00 CET: no charging" in chart.items[0]


def test_chart_on_the_day_clocks_go_forward_keeps_local_hours() -> None:
    now = local(2025, 3, 30, 0, 30)  # 02:00 CET -> 03:00 CEST that night
    evening = interval(local(2025, 3, 30, 17, 0), local(2025, 3, 30, 21, 0), "exclusion", 0)

    chart = chart_for(
        {"charge_point_id": "CP", "connector_id": 1, "intervals": [evening]}, AMSTERDAM, now
    )

    bar = next(bar for bar in chart.bars if bar.reason == "exclusion")
    assert bar.x == pytest.approx(LEFT + PLOT * 17 / 24, abs=0.01)
    assert bar.width == pytest.approx(PLOT * 4 / 24, abs=0.02)


def test_second_home_user_refusal_names_the_rule_and_the_user() -> None:
    error = GroupAlreadyHasHomeUser(uuid4(), uuid4(), "first@example.com")

    assert in_words(error) == (
        "A consumer-configured ToU group has exactly one home user: remove first@example.com first."
    )


def test_field_names_of_the_api_become_labels() -> None:
    error = InvalidExclusionTimes("windows[3].start: '7pm' is not a time of day as HH:MM")

    assert in_words(error) == "Start: '7pm' is not a time of day as HH:MM."


@pytest.mark.parametrize(
    ("target", "portal", "expected"),
    [
        ("/operator/evses", OPERATOR, "/operator/evses"),
        ("/groups/1", OPERATOR, "/operator/groups"),
        ("/operator/groups", CONSUMER, "/"),
        ("//evil.example", CONSUMER, "/"),
        ("https://evil.example", OPERATOR, "/operator/groups"),
        ("/groups/1#schedule", CONSUMER, "/groups/1#schedule"),
    ],
)
def test_next_page_after_login_stays_in_the_portal(target: str, portal: Any, expected: str) -> None:
    assert safe_next(target, portal) == expected
