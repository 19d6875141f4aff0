"""Exclusion windows: the wire form, their length, and which minutes of the week they cover."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidExclusionTimes, InvalidInput
from domain.exclusion_times import (
    MAX_WINDOWS,
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    ExclusionWindow,
    excluded_week_intervals,
    is_excluded,
    merge_week_intervals,
    parse_minute_of_day,
    parse_windows,
    validate_windows,
)
from domain_strategies import exclusion_windows, minutes_of_week, week_intervals, wire_windows

MON, TUE, SAT, SUN = (day * MINUTES_PER_DAY for day in (0, 1, 5, 6))


def wire(weekdays: list[str], start: Any, end: Any) -> dict[str, Any]:
    return {"weekdays": weekdays, "start": start, "end": end}


def minute(day: int, hhmm: str) -> int:
    return day + parse_minute_of_day(hhmm, field="test")


# --- the wire form -------------------------------------------------------------------


def test_a_window_is_parsed_from_hh_mm_and_day_names() -> None:
    (window,) = parse_windows([wire(["mon", "fri"], "17:00", "21:30")])

    assert window == ExclusionWindow(("mon", "fri"), 17 * 60, 21 * 60 + 30)
    assert window.to_dict() == wire(["mon", "fri"], "17:00", "21:30")


def test_day_names_are_case_insensitive_deduplicated_and_kept_in_week_order() -> None:
    (window,) = parse_windows([wire(["SUN", "Mon", "wed", "mon"], "00:00", "06:00")])

    assert window.weekdays == ("mon", "wed", "sun")


def test_an_unknown_weekday_is_refused_naming_the_day_and_the_window() -> None:
    with pytest.raises(InvalidExclusionTimes, match=r"windows\[1\]\.weekdays.*'moonday'"):
        parse_windows([wire(["mon"], "07:00", "09:00"), wire(["moonday"], "07:00", "09:00")])


@pytest.mark.parametrize("weekdays", [[], "mon", None, ["mon", 1]])
def test_weekdays_must_be_a_non_empty_list_of_day_names(weekdays: Any) -> None:
    with pytest.raises(InvalidExclusionTimes, match=r"windows\[0\]\.weekdays"):
        parse_windows([wire(weekdays, "07:00", "09:00")])


@pytest.mark.parametrize(
    "bad_time",
    ["24:00", "7:5", "12:60", "7:05", "07:5", "", " 07:00", "07:00:00", "7h05", 700, 7.5, None],
)
def test_a_start_that_is_not_hh_mm_on_a_24_hour_clock_is_refused(bad_time: Any) -> None:
    with pytest.raises(InvalidExclusionTimes, match=r"windows\[0\]\.start"):
        parse_windows([wire(["mon"], bad_time, "09:00")])


@pytest.mark.parametrize("bad_time", ["24:00", "7:5", "12:60", 900])
def test_a_bad_end_is_refused_naming_the_end(bad_time: Any) -> None:
    with pytest.raises(InvalidExclusionTimes, match=r"windows\[0\]\.end"):
        parse_windows([wire(["mon"], "07:00", bad_time)])


@pytest.mark.parametrize(
    ("window", "field"),
    [
        (wire(["x" * 16_000], "07:00", "09:00"), "weekdays"),
        (wire(["mon"], "0" * 16_000, "09:00"), "start"),
        (wire(["mon"], 10**5000, "09:00"), "start"),
        (wire(["mon"], "07:00", "09:00\n"), "end"),
        (wire(["mon"] * 8, "07:00", "09:00"), "weekdays"),
    ],
    ids=["16 KB day", "16 KB time", "5000-digit time", "line break", "8 days"],
)
def test_a_hostile_window_is_refused_in_few_words(window: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidExclusionTimes, match=rf"windows\[0\]\.{field}") as refusal:
        parse_windows([window])

    assert len(str(refusal.value)) < 120


def test_the_first_and_last_minute_of_the_day_are_accepted() -> None:
    (window,) = parse_windows([wire(["mon"], "00:00", "23:59")])

    assert (window.start, window.end) == (0, MINUTES_PER_DAY - 1)


def test_exclusion_time_refusals_are_invalid_input() -> None:
    assert issubclass(InvalidExclusionTimes, InvalidInput)


@pytest.mark.parametrize("data", [None, "mon 07:00-09:00", {"weekdays": ["mon"]}, 3])
def test_windows_must_be_a_list(data: Any) -> None:
    with pytest.raises(InvalidExclusionTimes, match="windows"):
        parse_windows(data)


@pytest.mark.parametrize("item", [None, "mon", ["mon", "07:00", "09:00"]])
def test_each_window_must_be_an_object(item: Any) -> None:
    with pytest.raises(InvalidExclusionTimes, match=r"windows\[0\]"):
        parse_windows([item])


def test_twenty_windows_are_accepted() -> None:
    assert len(parse_windows([wire(["mon"], "07:00", "08:00")] * MAX_WINDOWS)) == MAX_WINDOWS


def test_more_than_twenty_windows_are_refused() -> None:
    with pytest.raises(InvalidExclusionTimes, match="21 windows given, at most 20"):
        parse_windows([wire(["mon"], "07:00", "08:00")] * (MAX_WINDOWS + 1))


def test_more_than_twenty_window_objects_are_refused() -> None:
    windows = [ExclusionWindow(("mon",), 60, 120)] * (MAX_WINDOWS + 1)

    with pytest.raises(InvalidExclusionTimes, match="at most 20"):
        validate_windows(windows)


def test_only_exclusion_windows_pass_validation() -> None:
    with pytest.raises(InvalidExclusionTimes, match=r"windows\[1\]: not an exclusion window"):
        validate_windows([ExclusionWindow(("mon",), 0, 60), wire(["mon"], "00:00", "01:00")])


@pytest.mark.parametrize(
    ("start", "end"), [(-1, 60), (0, MINUTES_PER_DAY), (True, 60), (0, 60.0), ("07:00", 60)]
)
def test_a_window_built_directly_needs_whole_minutes_of_the_day(start: Any, end: Any) -> None:
    with pytest.raises(InvalidExclusionTimes):
        ExclusionWindow(("mon",), start, end)


@given(wire_windows())
def test_the_wire_form_round_trips(data: dict[str, Any]) -> None:
    (window,) = parse_windows([data])

    assert parse_windows([window.to_dict()]) == (window,)


# --- what the windows cover ----------------------------------------------------------


def test_an_empty_list_means_charge_whenever() -> None:
    assert parse_windows([]) == ()
    assert excluded_week_intervals([]) == []
    assert not any(is_excluded([], m) for m in range(0, MINUTES_PER_WEEK, 7))


def test_a_window_covers_its_start_but_not_its_end() -> None:
    windows = parse_windows([wire(["tue"], "17:00", "21:00")])

    assert not is_excluded(windows, minute(TUE, "16:59"))
    assert is_excluded(windows, minute(TUE, "17:00"))
    assert is_excluded(windows, minute(TUE, "20:59"))
    assert not is_excluded(windows, minute(TUE, "21:00"))
    assert not is_excluded(windows, minute(MON, "17:00"))


def test_a_window_ending_before_its_start_runs_past_midnight_into_the_next_day() -> None:
    (window,) = parse_windows([wire(["sat"], "22:00", "06:00")])

    assert window.duration == 8 * 60
    assert is_excluded([window], minute(SAT, "23:30"))
    assert is_excluded([window], minute(SUN, "05:59"))
    assert not is_excluded([window], minute(SUN, "06:00"))
    assert not is_excluded([window], minute(SAT, "21:59"))


def test_a_sunday_window_past_midnight_wraps_into_monday() -> None:
    windows = parse_windows([wire(["sun"], "23:00", "02:00")])

    assert excluded_week_intervals(windows) == [
        (0, 2 * 60),
        (minute(SUN, "23:00"), MINUTES_PER_WEEK),
    ]
    assert is_excluded(windows, minute(MON, "01:59"))
    assert not is_excluded(windows, minute(MON, "02:00"))


def test_an_all_day_window_from_a_start_lasts_24_hours() -> None:
    (window,) = parse_windows([{**wire(["mon"], "07:00", None), "all_day": True}])

    assert window.duration == MINUTES_PER_DAY and window.all_day
    assert is_excluded([window], minute(TUE, "06:59"))
    assert not is_excluded([window], minute(TUE, "07:00"))
    assert not is_excluded([window], minute(MON, "06:59"))


def test_all_day_without_a_start_is_the_whole_day() -> None:
    (window,) = parse_windows([{"weekdays": ["sat"], "all_day": True}])

    assert (window.start, window.end) == (0, 0)
    assert window.to_dict() == {
        "weekdays": ["sat"],
        "start": "00:00",
        "end": "00:00",
        "all_day": True,
    }


def test_an_end_equal_to_the_start_must_be_said_to_be_all_day() -> None:
    with pytest.raises(
        InvalidExclusionTimes, match=r"windows\[0\]\.end: 10:00 is the start time too"
    ):
        parse_windows([wire(["mon"], "10:00", "10:00")])
    with pytest.raises(InvalidExclusionTimes, match="lasts 24 hours from its start"):
        parse_windows([{**wire(["mon"], "10:00", "11:00"), "all_day": True}])
    with pytest.raises(InvalidExclusionTimes, match="is not true or false"):
        parse_windows([{**wire(["mon"], "10:00", "11:00"), "all_day": "yes"}])


def test_windows_a_read_model_kept_before_all_day_was_said_still_read_as_24_hours() -> None:
    (window,) = parse_windows([wire(["mon"], "10:00", "10:00")], stored=True)

    assert window.duration == MINUTES_PER_DAY
    assert window.to_dict()["all_day"] is True


def test_overlapping_windows_merge() -> None:
    windows = parse_windows([wire(["mon"], "07:00", "09:00"), wire(["mon"], "08:00", "10:00")])

    assert excluded_week_intervals(windows) == [(minute(MON, "07:00"), minute(MON, "10:00"))]


def test_touching_windows_merge_and_separate_ones_do_not() -> None:
    windows = parse_windows(
        [
            wire(["mon"], "07:00", "08:00"),
            wire(["mon"], "08:00", "09:00"),
            wire(["mon"], "09:01", "10:00"),
        ]
    )

    assert excluded_week_intervals(windows) == [
        (minute(MON, "07:00"), minute(MON, "09:00")),
        (minute(MON, "09:01"), minute(MON, "10:00")),
    ]


def test_all_day_every_day_covers_the_whole_week() -> None:
    windows = parse_windows(
        [{"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "all_day": True}]
    )

    assert excluded_week_intervals(windows) == [(0, MINUTES_PER_WEEK)]


def test_an_interval_of_a_week_or_more_covers_the_whole_week() -> None:
    assert merge_week_intervals([(100, 100 + MINUTES_PER_WEEK)]) == [(0, MINUTES_PER_WEEK)]


def test_intervals_outside_the_week_are_wrapped_into_it() -> None:
    assert merge_week_intervals([(MINUTES_PER_WEEK + 10, MINUTES_PER_WEEK + 20)]) == [(10, 20)]
    assert merge_week_intervals([(-10, 10)]) == [(0, 10), (MINUTES_PER_WEEK - 10, MINUTES_PER_WEEK)]


@given(st.lists(exclusion_windows(), max_size=6), minutes_of_week)
def test_a_minute_is_excluded_exactly_when_it_lies_in_a_merged_interval(
    windows: list[ExclusionWindow], minute_of_week: int
) -> None:
    intervals = excluded_week_intervals(windows)

    inside = any(begin <= minute_of_week < end for begin, end in intervals)
    assert is_excluded(windows, minute_of_week) is inside


@given(st.lists(week_intervals, max_size=8))
def test_merged_intervals_are_sorted_disjoint_and_inside_the_week(
    intervals: list[tuple[int, int]],
) -> None:
    merged = merge_week_intervals(intervals)

    assert all(0 <= begin < end <= MINUTES_PER_WEEK for begin, end in merged)
    assert all(a[1] < b[0] for a, b in pairwise(merged))


@given(st.lists(week_intervals, max_size=8), minutes_of_week)
def test_merging_keeps_exactly_the_covered_minutes(
    intervals: list[tuple[int, int]], minute_of_week: int
) -> None:
    def covers(begin: int, end: int) -> bool:
        return any(begin <= minute_of_week + k * MINUTES_PER_WEEK < end for k in range(-2, 4))

    covered = any(covers(begin, end) for begin, end in intervals)
    merged = merge_week_intervals(intervals)

    assert any(begin <= minute_of_week < end for begin, end in merged) is covered
