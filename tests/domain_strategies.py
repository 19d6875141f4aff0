"""Hypothesis strategies for the domain's values, and the manual clock the domain tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from domain.exclusion_times import (
    MAX_WINDOWS,
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    WEEKDAYS,
    ExclusionWindow,
    format_minute_of_day,
)

# A Monday, so minute-of-week arithmetic in tests is easy to follow.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class ManualClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


minutes_of_day = st.integers(min_value=0, max_value=MINUTES_PER_DAY - 1)
minutes_of_week = st.integers(min_value=0, max_value=MINUTES_PER_WEEK - 1)
times_of_day = minutes_of_day.map(format_minute_of_day)
weekday_sets = st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True)


@st.composite
def exclusion_windows(draw: st.DrawFn) -> ExclusionWindow:
    return ExclusionWindow(tuple(draw(weekday_sets)), draw(minutes_of_day), draw(minutes_of_day))


def window_lists(max_size: int = MAX_WINDOWS) -> st.SearchStrategy[list[ExclusionWindow]]:
    return st.lists(exclusion_windows(), max_size=max_size)


@st.composite
def wire_windows(draw: st.DrawFn) -> dict[str, Any]:
    """The wire form as the portals send it, with day names in any case and order."""
    days = draw(weekday_sets)
    wire = {
        "weekdays": [draw(st.sampled_from([day, day.upper(), day.title()])) for day in days],
        "start": draw(times_of_day),
        "end": draw(times_of_day),
    }
    if wire["start"] == wire["end"]:
        wire["all_day"] = True  # 24 hours from the start, which a client must say so
    return wire


week_intervals = st.tuples(
    st.integers(min_value=-MINUTES_PER_WEEK, max_value=2 * MINUTES_PER_WEEK),
    st.integers(min_value=1, max_value=MINUTES_PER_WEEK + 10),
).map(lambda pair: (pair[0], pair[0] + pair[1]))

time_zones = st.sampled_from(
    ["Europe/Amsterdam", "Europe/London", "America/New_York", "Australia/Sydney", "UTC"]
)
group_names = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40
).filter(str.strip)

# Small pools, so generated command sequences meet the same things again (and the refusals).
charge_point_ids = st.sampled_from(["CP-1", "CP-2", "CP-3", "ACME.42"])
connector_ids = st.integers(min_value=1, max_value=2)
home_user_emails = st.sampled_from(
    ["anna@example.com", "Bert@Example.com", "carla@example.org", "dirk@example.net"]
)
priority_minutes = st.integers(min_value=1, max_value=24 * 60)
clock_steps = st.integers(min_value=1, max_value=6 * 60).map(lambda m: timedelta(minutes=m))


# What a person (or a script posing as one) may type into any field: ordinary text, text
# with control characters, numbers of every shape, the empty and the enormous. Lone UTF-16
# halves are left out here, as no HTTP client can encode them; forms turn their bytes into
# U+FFFD, which `typed_text` covers.
HOSTILE_SAMPLES = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ufffd\ufffd\ufffd",
    "\x1b[31m",
    "\u0085",
    "nan",
    "inf",
    "-inf",
    "1e400",
    "-1",
    "0",
    "1000000000000",
    "9" * 40,
    "1_000",
    "16,5",
    "17:00",
    "24:00",
    "Europe/Amsterdam",
    "../../etc/passwd",
    "anna@example.com",
    "<script>alert(1)</script>",
    "x" * 16_000,
)
typed_text = st.one_of(
    st.sampled_from(HOSTILE_SAMPLES),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=120),
)
