"""Hypothesis strategies for the ToU scheduler, and the reference rule the tests hold it to."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import strategies as st

from domain.evse_limits import EvseLimits
from domain.exclusion_times import MAX_WINDOWS, WEEKDAYS, ExclusionWindow
from scheduler.profiles import ChargerLimits, EvseSpec, floor_second
from scheduler.tou import GroupInput, random_delay_seconds
from scheduler.utc_offsets import next_offset_change

# Zones with something to teach: a 30-minute DST (Lord Howe), a :45 offset with
# DST (Chatham), a :30 offset without (Kolkata), the southern hemisphere, none.
NOTABLE_ZONES = (
    "Europe/Amsterdam",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
)
ALL_ZONES = tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
LATEST = datetime(2035, 12, 31, tzinfo=UTC)

DAY = 24 * 3600
WEEK = 7 * DAY

time_zones = st.one_of(st.sampled_from(NOTABLE_ZONES), st.sampled_from(ALL_ZONES))

# Whole hours are what people type; any minute must work too.
minutes_of_day = st.one_of(
    st.integers(min_value=0, max_value=23).map(lambda hour: hour * 60),
    st.integers(min_value=0, max_value=24 * 60 - 1),
)
weekday_sets = st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True).map(tuple)
exclusion_windows = st.builds(ExclusionWindow, weekday_sets, minutes_of_day, minutes_of_day)
window_lists = st.lists(exclusion_windows, max_size=MAX_WINDOWS).map(tuple)
# The same hours every day: what makes the Daily fallback possible.
every_day_windows = st.lists(
    st.builds(ExclusionWindow, st.just(WEEKDAYS), minutes_of_day, minutes_of_day),
    min_size=1,
    max_size=MAX_WINDOWS,
).map(tuple)

instants = st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None),
    max_value=LATEST.replace(tzinfo=None),
    timezones=st.just(UTC),
)
whole_second_instants = instants.map(lambda instant: instant.replace(microsecond=0))


@st.composite
def nows(draw: st.DrawFn, time_zone: str) -> datetime:
    """Any instant of 2020-2035, or one within a day before one of the zone's offset changes."""
    instant = draw(instants)
    if draw(st.booleans()):
        change = next_offset_change(zoneinfo.ZoneInfo(time_zone), instant)
        if change is not None:
            before = draw(st.floats(min_value=0.001, max_value=DAY))
            instant = change - timedelta(seconds=before)
    return instant


@st.composite
def groups(
    draw: st.DrawFn,
    now: datetime,
    time_zone: str,
    windows: st.SearchStrategy[tuple[ExclusionWindow, ...]] = window_lists,
) -> GroupInput:
    """A group as it stands at `now`; a priority charge started before now may still run."""
    ends_at = started_at = None
    if draw(st.booleans()):
        started_at = now - timedelta(seconds=draw(st.integers(0, 3 * DAY)))
        ends_at = started_at + timedelta(seconds=draw(st.integers(1, 4 * DAY)))
    return GroupInput(
        time_zone=time_zone,
        exclusion_windows=draw(windows),
        random_delay=draw(st.booleans()),
        priority_ends_at=ends_at,
        priority_started_at=started_at,
    )


@st.composite
def evse_specs(draw: st.DrawFn) -> EvseSpec:
    evse_id = UUID(int=draw(st.integers(0, 2**128 - 1)))
    connector_id = draw(st.integers(1, 8))
    if draw(st.booleans()):
        current = round(draw(st.floats(min_value=6, max_value=80)), 2)
        return EvseSpec(
            evse_id, connector_id, EvseLimits(current, draw(st.sampled_from([1, 3])), None)
        )
    power = round(draw(st.floats(min_value=1000, max_value=350_000)), 1)
    return EvseSpec(evse_id, connector_id, EvseLimits(None, None, power))


charger_limits = st.builds(
    ChargerLimits,
    rate_units=st.sampled_from([("A", "W"), ("W",), ("A",)]),
    max_periods=st.one_of(st.just(24), st.integers(min_value=1, max_value=10)),
    max_stack_level=st.integers(min_value=1, max_value=10),
)


def offset_at(time_zone: str, instant: datetime) -> timedelta | None:
    return instant.astimezone(zoneinfo.ZoneInfo(time_zone)).utcoffset()


# --- the rule, written out plainly, without the scheduler's merging --------------------


def second_of_local_week(time_zone: str, instant: datetime) -> float:
    """Seconds since local Monday 00:00 of `instant`, as zoneinfo converts it."""
    local = instant.astimezone(zoneinfo.ZoneInfo(time_zone))
    since_midnight = local.hour * 3600 + local.minute * 60 + local.second
    return local.weekday() * DAY + since_midnight + local.microsecond / 1e6


def is_excluded(group: GroupInput, evse_id: UUID, instant: datetime) -> bool:
    """Whether `instant` lies in a window, its end moved by the EVSE's delay if that is on."""
    second = second_of_local_week(group.time_zone, instant)
    delay = random_delay_seconds(evse_id) if group.random_delay else 0
    for window in group.exclusion_windows:
        for day in window.weekdays:
            begin = WEEKDAYS.index(day) * DAY + window.start * 60
            end = begin + window.duration * 60 + delay
            if begin <= second < end or begin <= second + WEEK < end:
                return True
    return False


def priority_runs(group: GroupInput, instant: datetime) -> bool:
    """Whether the priority charge's profile runs at `instant`: from the whole second it was
    started in until the last whole second before its end (tou.priority_profile)."""
    if group.priority_ends_at is None or group.priority_started_at is None:
        return False
    return floor_second(group.priority_started_at) <= instant < floor_second(group.priority_ends_at)


def window_edges(
    group: GroupInput, evse_id: UUID, start: datetime, end: datetime
) -> list[datetime]:
    """Instants in [start, end) one second around each window's local start and end.

    Found by walking whole local minutes (plus the delay) of the local days in
    range; the instants are then judged by `is_excluded`, not by this walk.
    """
    zone = zoneinfo.ZoneInfo(group.time_zone)
    delay = random_delay_seconds(evse_id) if group.random_delay else 0
    local_start = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    edges: list[datetime] = []
    for day in range(-1, (end - start).days + 2):
        midnight = local_start + timedelta(days=day)
        for window in group.exclusion_windows:
            for minutes, extra in ((window.start, 0), (window.start + window.duration, delay)):
                wall = midnight + timedelta(minutes=minutes, seconds=extra)
                instant = wall.astimezone(UTC)
                edges.extend(instant + timedelta(seconds=d) for d in (-1, 0, 1))
    return [edge for edge in edges if start <= edge < end]


# --- OCPP 2.1 stations that keep the group's local time (scheduler/local_time.py) ---------

# DST at its hardest: a 30-minute change (Lord Howe), a :45 offset (Chatham), the change at
# midnight (Havana, Santiago), a negative DST in tzdata (Dublin), one around Ramadan
# (Casablanca), two hours at once (Troll), the southern hemisphere, and the usual ones.
HARD_DST_ZONES = (
    "Europe/London",
    "Europe/Amsterdam",
    "Europe/Dublin",
    "America/New_York",
    "America/St_Johns",
    "America/Havana",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Africa/Casablanca",
    "Antarctica/Troll",
    "Asia/Gaza",
)


def local_time_charger(
    time_zone: str, *, randomized_delay: bool = False, priority_charging: bool = False
) -> ChargerLimits:
    """A 2.1 station whose clock keeps `time_zone`, holding every period a week can need."""
    return ChargerLimits(
        max_periods=1024,
        max_stack_level=1,
        local_time_zone=time_zone,
        randomized_delay=randomized_delay,
        priority_charging=priority_charging,
    )
