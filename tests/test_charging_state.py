"""What a group's page says an EVSE may do now: the profiles' answer, from read-model rows.

The state is the charger's: the profiles the algorithm gives the EVSE, evaluated as
the charger evaluates them, so the random delay and the Daily/Absolute fallbacks
show as the charger applies them, not as the exclusion windows are written.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from api.pages.group_state import ChargingState, charging_state
from domain.charging_profiles import PRIORITY_ROLE, role_of
from domain.errors import ScheduleUnavailable
from domain.evse_limits import EvseLimits
from domain.exclusion_times import ExclusionWindow
from scheduler.evaluate import limit_at, prevailing_profile
from scheduler.group_preview import RememberedAllowances, group_allowances
from scheduler.preview import schedule_preview
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput, desired_profiles, random_delay_seconds
from tou_strategies import charger_limits, evse_specs, groups, nows

EXAMPLES = int(os.environ.get("TOU_EXAMPLES", 500)) // 2
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EVENING = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}
# This EVSE's random delay is 420 s: with it on, its exclusions end 7 minutes late.
SEVEN_MINUTES_LATE = UUID(int=249)
EVSE = {"id": UUID(int=42), "connector_id": 1, "max_current_a": 16.0, "phases": 3}
STATES = {"priority": "priority", "exclusion": "excluded", "free": "free"}
ZONES = ("Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def group_row(windows: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "id": UUID(int=7),
        "time_zone": "Europe/Amsterdam",
        "exclusion_windows": windows,
        "random_delay": False,
        "priority_started_at": None,
        "priority_ends_at": None,
        **fields,
    }


def evse_row(evse_id: UUID = EVSE["id"], max_periods: int | None = None) -> dict[str, Any]:
    return {
        **EVSE,
        "id": evse_id,
        "max_power_w": None,
        "charger_max_periods": max_periods,
        "charger_rate_units": None,
        "charger_max_stack_level": None,
    }


def page_state(
    row: dict[str, Any], now: datetime, evses: list[dict[str, Any]] | None = None
) -> ChargingState:
    return charging_state(group_allowances(row, [evse_row()] if evses is None else evses, now))


def test_inside_an_exclusion_window_says_when_charging_resumes() -> None:
    state = page_state(group_row([EVENING]), local(2025, 3, 3, 18, 30))  # a Monday

    assert (state.kind, state.until) == ("excluded", local(2025, 3, 3, 21, 0))
    assert state.until_words == "; charging resumes at"


def test_outside_says_when_the_next_window_starts_even_across_the_weekend() -> None:
    state = page_state(group_row([EVENING]), local(2025, 3, 7, 22, 0))  # Friday night

    assert (state.kind, state.until) == ("free", local(2025, 3, 10, 17, 0))


def test_a_window_from_sunday_into_monday_ends_on_monday() -> None:
    night = {"weekdays": ["sun"], "start": "22:00", "end": "06:00"}

    state = page_state(group_row([night]), local(2025, 3, 9, 23, 0))

    assert (state.kind, state.until) == ("excluded", local(2025, 3, 10, 6, 0))


def test_running_priority_charge_wins_over_exclusions() -> None:
    now = local(2025, 3, 3, 18, 0)
    row = group_row([EVENING], priority_started_at=now, priority_ends_at=now + timedelta(hours=1))

    state = page_state(row, now)

    assert (state.kind, state.until) == ("priority", now + timedelta(hours=1))


def test_a_priority_charge_not_yet_started_is_not_running() -> None:
    now = local(2025, 3, 3, 18, 0)
    later = now + timedelta(minutes=5)
    row = group_row([EVENING], priority_started_at=later, priority_ends_at=later + timedelta(1))

    assert page_state(row, now).kind == "excluded"


def test_no_windows_means_charging_at_any_time() -> None:
    state = page_state(group_row([]), local(2025, 3, 3, 18, 0))

    assert (state.kind, state.until) == ("free", None)
    assert state.text.startswith("Charging allowed at any time")


def test_the_whole_week_excluded_never_ends() -> None:
    always = {"weekdays": ["mon"], "start": "00:00", "end": "00:00"}
    every_day = [{**always, "weekdays": [day]} for day in ("mon", "tue", "wed", "thu", "fri")]
    every_day += [{**always, "weekdays": [day]} for day in ("sat", "sun")]

    state = page_state(group_row(every_day), local(2025, 3, 3, 18, 0))

    assert (state.kind, state.until) == ("excluded", None)


def test_with_random_delay_charging_resumes_when_the_charger_lets_it() -> None:
    """The windows say 21:00; this EVSE's profile ends the exclusion at 21:07."""
    assert random_delay_seconds(SEVEN_MINUTES_LATE) == 420
    row = group_row([EVENING], random_delay=True)

    state = page_state(row, local(2025, 3, 3, 18, 30), [evse_row(SEVEN_MINUTES_LATE)])

    assert (state.kind, state.until) == ("excluded", local(2025, 3, 3, 21, 7))
    # At 21:03 the windows are over, but this charger still holds 0 A.
    late = page_state(row, local(2025, 3, 3, 21, 3), [evse_row(SEVEN_MINUTES_LATE)])
    assert (late.kind, late.until) == ("excluded", local(2025, 3, 3, 21, 7))


def test_evses_resuming_one_after_another_show_both_times() -> None:
    row = group_row([EVENING], random_delay=True)
    evses = [evse_row(SEVEN_MINUTES_LATE), evse_row(UUID(int=0))]
    delay = random_delay_seconds(UUID(int=0))
    first = local(2025, 3, 3, 21, 0) + timedelta(seconds=delay)

    state = page_state(row, local(2025, 3, 3, 18, 30), evses)

    assert (state.kind, state.until, state.until_last) == (
        "excluded",
        min(first, local(2025, 3, 3, 21, 7)),
        max(first, local(2025, 3, 3, 21, 7)),
    )
    between = page_state(row, min(first, local(2025, 3, 3, 21, 7)), evses)
    assert between.kind == "mixed"
    assert between.text == "1 of 2 EVSEs may charge now"


def test_a_charger_with_few_periods_on_the_daily_fallback() -> None:
    """Four periods: the week does not fit, but every day is the same, so the charger holds
    a Daily profile; the page says what it applies, as for a charger holding the week."""
    every_day = {**EVENING, "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    row = group_row([every_day], random_delay=True)
    evse = evse_row(SEVEN_MINUTES_LATE, max_periods=4)
    now = local(2025, 3, 5, 18, 30)  # a Wednesday evening
    spec = EvseSpec(SEVEN_MINUTES_LATE, 1, EvseLimits(16.0, 3, None))
    group = GroupInput("Europe/Amsterdam", (ExclusionWindow.parse(every_day),), random_delay=True)
    profiles = desired_profiles(group, [spec], ChargerLimits(max_periods=4), now).profiles_for(
        SEVEN_MINUTES_LATE
    )
    assert {profile.recurrency_kind for profile in profiles} == {"Daily"}

    excluded = page_state(row, now, [evse])
    free = page_state(row, local(2025, 3, 5, 23, 0), [evse])
    saturday = page_state(row, local(2025, 3, 8, 21, 3), [evse])

    assert (excluded.kind, excluded.until) == ("excluded", local(2025, 3, 5, 21, 7))
    assert (free.kind, free.until) == ("free", local(2025, 3, 6, 17, 0))
    assert (saturday.kind, saturday.until) == ("excluded", local(2025, 3, 8, 21, 7))
    weekly = evse_row(SEVEN_MINUTES_LATE)  # a charger that holds the whole week
    for at in (now, local(2025, 3, 5, 23, 0), local(2025, 3, 8, 21, 3)):
        assert page_state(row, at, [evse]) == page_state(row, at, [weekly]), at


def test_a_charger_with_few_periods_on_the_absolute_fallback() -> None:
    """Two periods: no Weekly or Daily profile fits, so the charger holds an Absolute one
    that the scheduler refreshes; the page follows it through the refreshes."""
    windows = [EVENING, {"weekdays": ["sat"], "start": "09:00", "end": "12:00"}]
    row = group_row(windows, random_delay=True)
    evse = evse_row(SEVEN_MINUTES_LATE, max_periods=2)
    now = local(2025, 3, 7, 18, 0)  # Friday evening: next, Saturday morning, then Monday
    spec = EvseSpec(SEVEN_MINUTES_LATE, 1, EvseLimits(16.0, 3, None))
    group = GroupInput(
        "Europe/Amsterdam",
        tuple(ExclusionWindow.parse(w) for w in windows),
        random_delay=True,
    )
    profile, cover = desired_profiles(
        group, [spec], ChargerLimits(max_periods=2), now
    ).profiles_for(SEVEN_MINUTES_LATE)
    assert profile.kind == "Absolute"
    assert cover.stack_level < profile.stack_level  # what it keeps to if offline past its end

    excluded = page_state(row, now, [evse])
    free = page_state(row, local(2025, 3, 7, 23, 0), [evse])
    saturday = page_state(row, local(2025, 3, 8, 11, 0), [evse])

    assert (excluded.kind, excluded.until) == ("excluded", local(2025, 3, 7, 21, 7))
    assert (free.kind, free.until) == ("free", local(2025, 3, 8, 9, 0))
    assert (saturday.kind, saturday.until) == ("excluded", local(2025, 3, 8, 12, 7))


def test_a_group_without_evses_says_what_its_exclusion_times_mean() -> None:
    state = page_state(group_row([EVENING], random_delay=True), local(2025, 3, 3, 18, 30), [])

    assert (state.kind, state.until) == ("excluded", local(2025, 3, 3, 21, 0))


def test_the_page_and_the_preview_give_the_same_answer() -> None:
    row = group_row([EVENING], random_delay=True)
    now = local(2025, 3, 3, 18, 30)
    group = GroupInput("Europe/Amsterdam", (ExclusionWindow.parse(EVENING),), random_delay=True)
    spec = EvseSpec(SEVEN_MINUTES_LATE, 1, EvseLimits(16.0, 3, None))

    first = schedule_preview(group, spec, ChargerLimits(), now)[0]
    state = page_state(row, now, [evse_row(SEVEN_MINUTES_LATE)])

    assert (STATES[first.reason], first.end_utc) == (state.kind, state.until)


def test_a_remembered_answer_is_the_answer_until_it_changes() -> None:
    remembered = RememberedAllowances(size=2)
    row = group_row([EVENING], random_delay=True)
    evses = [evse_row(SEVEN_MINUTES_LATE), evse_row(UUID(int=0))]
    monday = local(2025, 3, 3)
    for minute in range(0, 2 * 24 * 60, 7):
        now = monday + timedelta(minutes=minute)
        for asked in (row, {**row, "exclusion_windows": []}, {**row, "random_delay": False}):
            assert remembered(asked, evses, now) == group_allowances(asked, evses, now), now


# --- properties: the page's state is limit_at(profiles, now), at any instant --------------


def rows_for(group: GroupInput, evse: EvseSpec, charger: ChargerLimits) -> tuple[dict, dict]:
    row = {
        "id": UUID(int=1),
        "time_zone": group.time_zone,
        "exclusion_windows": [window.to_dict() for window in group.exclusion_windows],
        "random_delay": group.random_delay,
        "priority_started_at": group.priority_started_at,
        "priority_ends_at": group.priority_ends_at,
    }
    evse_fields = {
        "id": evse.evse_id,
        "connector_id": evse.connector_id,
        "max_current_a": evse.limits.max_current_a,
        "phases": evse.limits.phases,
        "max_power_w": evse.limits.max_power_w,
        "charger_max_periods": charger.max_periods,
        "charger_rate_units": list(charger.rate_units),
        "charger_max_stack_level": charger.max_stack_level,
    }
    return row, evse_fields


def charger_state(group: GroupInput, evse: EvseSpec, charger: ChargerLimits, t: datetime) -> str:
    """What the charger applies at `t`, holding the profiles desired at `t`."""
    profiles = desired_profiles(group, [evse], charger, t).profiles_for(evse.evse_id)
    prevailing = prevailing_profile(profiles, t)
    if prevailing is not None and role_of(prevailing.profile_id) == PRIORITY_ROLE:
        return "priority"
    return "excluded" if limit_at(profiles, t) == 0 else "free"


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    data=st.data(),
    time_zone=st.sampled_from(ZONES),
    evse=evse_specs(),
    charger=charger_limits,
)
def test_the_page_says_what_the_profiles_allow_now_and_until_when(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone))
    row, evse_fields = rows_for(group, evse, charger)

    state = charging_state(group_allowances(row, [evse_fields], now))

    assert state.kind == charger_state(group, evse, charger, now), now.astimezone(group.zone)
    event(f"{state.kind}, {'until' if state.until else 'no end'}")
    if state.until is None:
        return
    assert state.until > now
    before = state.until - timedelta(microseconds=1)
    assert charger_state(group, evse, charger, before) == state.kind
    assert charger_state(group, evse, charger, state.until) != state.kind


def test_the_property_reaches_both_sides_of_a_dst_change() -> None:
    """A spot check of what the strategy above draws near: the night clocks go forward."""
    row = group_row([{"weekdays": ["sun"], "start": "01:00", "end": "04:00"}])
    now = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # 01:30 CET; at 01:00 UTC it is 03:00 CEST

    state = page_state(row, now)

    assert (state.kind, state.until) == ("excluded", local(2025, 3, 30, 4, 0))


def test_a_group_that_cannot_be_worked_out_is_not_known_rather_than_a_failing_page() -> None:
    unrated = {**evse_row(), "max_current_a": None, "max_power_w": None}

    with pytest.raises(ScheduleUnavailable):
        group_allowances(group_row([EVENING]), [unrated], local(2025, 3, 3, 18, 0))
