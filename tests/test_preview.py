"""The schedule preview: the coming days as the charger will live them, re-issues included."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.evse_limits import EvseLimits
from domain.exclusion_times import WEEKDAYS, ExclusionWindow
from scheduler.preview import PreviewInterval, schedule_preview
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput
from tou_strategies import (
    every_day_windows,
    evse_specs,
    groups,
    is_excluded,
    nows,
    priority_runs,
    time_zones,
    window_lists,
)

EXAMPLES = int(os.environ.get("TOU_EXAMPLES", 500))
EVSE = EvseSpec(UUID(int=42), 1, EvseLimits(32.0, 1, None))
CHARGER = ChargerLimits()
AMSTERDAM = "Europe/Amsterdam"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def evenings(days: tuple[str, ...], **kw: object) -> GroupInput:
    window = ExclusionWindow(days, 17 * 60, 21 * 60)
    return GroupInput(AMSTERDAM, (window,), **kw)  # type: ignore[arg-type]


def local_hours(interval: PreviewInterval) -> tuple[str, str]:
    return interval.start_local.strftime("%a %H:%M"), interval.end_local.strftime("%a %H:%M")


def test_preview_shows_evening_exclusions_in_local_time() -> None:
    preview = schedule_preview(evenings(("mon", "tue")), EVSE, CHARGER, utc(2025, 1, 13, 8), days=2)
    assert [(local_hours(i), i.reason, i.limit) for i in preview] == [
        (("Mon 09:00", "Mon 17:00"), "free", 32.0),
        (("Mon 17:00", "Mon 21:00"), "exclusion", 0.0),
        (("Mon 21:00", "Tue 17:00"), "free", 32.0),
        (("Tue 17:00", "Tue 21:00"), "exclusion", 0.0),
        (("Tue 21:00", "Wed 09:00"), "free", 32.0),
    ]
    assert all(i.unit == "A" for i in preview)
    assert preview[1].start_utc == utc(2025, 1, 13, 16)


def test_preview_marks_priority_until_its_end() -> None:
    group = evenings(
        WEEKDAYS, priority_started_at=utc(2025, 1, 13, 15), priority_ends_at=utc(2025, 1, 13, 18)
    )
    preview = schedule_preview(group, EVSE, CHARGER, utc(2025, 1, 13, 15, 30), days=1)
    assert [(local_hours(i), i.reason) for i in preview] == [
        (("Mon 16:30", "Mon 19:00"), "priority"),
        (("Mon 19:00", "Mon 21:00"), "exclusion"),
        (("Mon 21:00", "Tue 16:30"), "free"),
    ]


def test_preview_keeps_local_hours_across_dst() -> None:
    preview = schedule_preview(evenings(WEEKDAYS), EVSE, CHARGER, utc(2025, 3, 27, 12))
    excluded = [local_hours(i) for i in preview if i.reason == "exclusion"]
    assert len(excluded) == 7
    assert all(start.endswith("17:00") and end.endswith("21:00") for start, end in excluded)


def test_preview_without_exclusions_is_one_free_interval() -> None:
    preview = schedule_preview(GroupInput(AMSTERDAM), EVSE, CHARGER, utc(2025, 3, 27, 12))
    assert [(i.start_utc, i.end_utc, i.reason) for i in preview] == [
        (utc(2025, 3, 27, 12), utc(2025, 4, 3, 12), "free")
    ]


def test_preview_refuses_a_time_without_utc_offset() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        schedule_preview(GroupInput(AMSTERDAM), EVSE, CHARGER, datetime(2025, 1, 1))


def check_against_the_rule(
    preview: list[PreviewInterval], group: GroupInput, evse: EvseSpec, maximum: float
) -> None:
    for interval in preview:
        middle = interval.start_utc + (interval.end_utc - interval.start_utc) / 2
        for t in (interval.start_utc, middle):
            if priority_runs(group, t):
                assert (interval.reason, interval.limit) == ("priority", maximum)
            elif is_excluded(group, evse.evse_id, t):
                assert (interval.reason, interval.limit) == ("exclusion", 0.0)
            else:
                assert (interval.reason, interval.limit) == ("free", maximum)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), time_zone=time_zones, evse=evse_specs())
def test_preview_covers_the_days_and_follows_the_local_exclusions(
    data: st.DataObject, time_zone: str, evse: EvseSpec
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone))
    preview = schedule_preview(group, evse, CHARGER, now, days=7)
    assert preview[0].start_utc == now
    assert preview[-1].end_utc == now + timedelta(days=7)
    for earlier, later in pairwise(preview):
        assert earlier.end_utc == later.start_utc
        assert (earlier.limit, earlier.reason) != (later.limit, later.reason)
    for interval in preview:
        assert interval.start_utc < interval.end_utc
        assert interval.start_local == interval.start_utc.astimezone(group.zone)
    check_against_the_rule(preview, group, evse, evse.rate(CHARGER).limit)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    data=st.data(),
    time_zone=time_zones,
    evse=evse_specs(),
    max_periods=st.integers(min_value=1, max_value=10),
)
def test_preview_is_the_same_whatever_profile_kind_the_charger_needs(
    data: st.DataObject, time_zone: str, evse: EvseSpec, max_periods: int
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone, st.one_of(every_day_windows, window_lists)))
    roomy = schedule_preview(group, evse, ChargerLimits(max_periods=1024), now, days=3)
    tight = schedule_preview(group, evse, ChargerLimits(max_periods=max_periods), now, days=3)
    assert tight == roomy
