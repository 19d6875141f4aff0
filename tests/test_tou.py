"""The ToU algorithm, one behaviour at a time: exclusion profiles, fallbacks, delay, priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.actors import SYSTEM
from domain.charging_profiles import (
    COVER_ROLE,
    EXCLUSION_ROLE,
    PRIORITY_ROLE,
    ChargingProfile,
    is_exclusion,
    managed_profile_ids,
    profile_id,
    role_of,
)
from domain.evse_limits import EvseLimits
from domain.exclusion_times import WEEKDAYS, ExclusionWindow
from domain.groups import SmartChargingGroup
from scheduler.evaluate import limit_at
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import (
    RANDOM_DELAY_MAX_SECONDS,
    GroupInput,
    desired_profiles,
    random_delay_seconds,
)

EVSE = EvseSpec(UUID("5b0d8a36-6f0c-4a39-9a57-3f1f0c7f2a11"), 1, EvseLimits(16.0, 3, None))
CHARGER = ChargerLimits()
WEEKDAYS_ONLY = ("mon", "tue", "wed", "thu", "fri")
H = 3600


def window(days: tuple[str, ...] | str, start: str, end: str) -> ExclusionWindow:
    weekdays = (days,) if isinstance(days, str) else days
    all_day = start == end  # a window from a time to itself lasts a day, said so
    return ExclusionWindow.parse(
        {"weekdays": list(weekdays), "start": start, "end": end, "all_day": all_day}
    )


def group(*windows: ExclusionWindow, zone: str = "Europe/Amsterdam", **kw: object) -> GroupInput:
    return GroupInput(zone, tuple(windows), **kw)  # type: ignore[arg-type]


def profiles_at(
    group: GroupInput, now: datetime, charger: ChargerLimits = CHARGER
) -> tuple[ChargingProfile, ...]:
    return desired_profiles(group, [EVSE], charger, now).profiles_for(EVSE.evse_id)


def exclusion_at(
    group: GroupInput, now: datetime, charger: ChargerLimits = CHARGER
) -> ChargingProfile:
    """The exclusion profile of the offset period in force (the first)."""
    return next(p for p in profiles_at(group, now, charger) if is_exclusion(p.profile_id))


def by_role(profiles: tuple[ChargingProfile, ...]) -> dict[int, ChargingProfile]:
    return {role_of(profile.profile_id): profile for profile in profiles}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def steps(profile: ChargingProfile) -> list[tuple[int, float]]:
    return [(period.start_period, period.limit) for period in profile.periods]


# --- the weekly exclusion profile ------------------------------------------------------


def test_evening_window_in_amsterdam_is_excluded_in_utc() -> None:
    evenings = group(window(WEEKDAYS_ONLY, "17:00", "21:00"))
    winter = exclusion_at(evenings, utc(2025, 1, 15, 12))
    assert (winter.kind, winter.recurrency_kind, winter.duration) == ("Recurring", "Weekly", 604800)
    assert winter.start_schedule == utc(2025, 1, 12, 23)  # Monday 00:00 CET
    assert steps(winter)[:3] == [(0, 16.0), (17 * H, 0.0), (21 * H, 16.0)]
    assert limit_at([winter], utc(2025, 1, 15, 15, 59, 59)) == 16.0
    assert limit_at([winter], utc(2025, 1, 15, 16)) == 0.0  # 17:00 CET
    assert limit_at([winter], utc(2025, 1, 15, 20)) == 16.0  # 21:00 CET

    summer = exclusion_at(evenings, utc(2025, 6, 18, 12))
    assert summer.start_schedule == utc(2025, 6, 15, 22)  # Monday 00:00 CEST
    assert limit_at([summer], utc(2025, 6, 18, 15)) == 0.0  # 17:00 CEST
    assert limit_at([summer], utc(2025, 6, 18, 19)) == 16.0  # 21:00 CEST


def test_window_past_midnight() -> None:
    friday_night = exclusion_at(group(window("fri", "22:00", "06:00")), utc(2025, 1, 15))
    friday = 4 * 24 * H
    assert steps(friday_night) == [(0, 16.0), (friday + 22 * H, 0.0), (friday + 30 * H, 16.0)]


def test_sunday_window_wraps_into_monday() -> None:
    sunday_night = exclusion_at(group(window("sun", "23:00", "02:00")), utc(2025, 1, 15))
    assert steps(sunday_night) == [(0, 0.0), (2 * H, 16.0), (6 * 24 * H + 23 * H, 0.0)]
    assert limit_at([sunday_night], utc(2025, 1, 20, 0, 30)) == 0.0  # Monday 01:30 CET


def test_overlapping_windows_merge() -> None:
    monday = group(
        window("mon", "08:00", "12:00"),
        window("mon", "10:00", "14:00"),
        window("mon", "14:00", "15:00"),  # touching
    )
    assert steps(exclusion_at(monday, utc(2025, 1, 15))) == [
        (0, 16.0),
        (8 * H, 0.0),
        (15 * H, 16.0),
    ]


def test_a_window_from_a_time_to_itself_lasts_a_day() -> None:
    tuesday = exclusion_at(group(window("tue", "12:00", "12:00")), utc(2025, 1, 15))
    assert steps(tuesday) == [(0, 16.0), (36 * H, 0.0), (60 * H, 16.0)]


def test_every_minute_excluded_is_one_period_at_zero() -> None:
    always = exclusion_at(group(window(WEEKDAYS, "00:00", "00:00")), utc(2025, 1, 15))
    assert steps(always) == [(0, 0.0)]


def test_without_exclusions_one_period_at_the_maximum_holds_for_good() -> None:
    """The same at every UTC offset: one profile, never to be sent again at a DST change.
    The gateway clears the ids of the windows' profiles, which are no longer desired."""
    before = profiles_at(group(window("mon", "17:00", "21:00")), utc(2025, 1, 15))
    schedule = desired_profiles(group(), [EVSE], CHARGER, utc(2025, 1, 15))
    (after,) = schedule.profiles_for(EVSE.evse_id)
    assert steps(after) == [(0, 16.0)]
    assert (role_of(after.profile_id), after.valid_from, after.valid_to) == (
        EXCLUSION_ROLE,
        None,
        None,
    )
    assert schedule.next_change is None
    assert {p.profile_id for p in before} <= set(managed_profile_ids(EVSE.connector_id))


# --- when the charger cannot hold a week -----------------------------------------------


def test_falls_back_to_daily_when_every_day_is_the_same() -> None:
    nights = group(window(WEEKDAYS, "22:00", "06:00"))
    assert len(exclusion_at(nights, utc(2025, 1, 15, 12)).periods) > 3
    daily = exclusion_at(nights, utc(2025, 1, 15, 12), ChargerLimits(max_periods=3))
    assert (daily.kind, daily.recurrency_kind, daily.duration) == ("Recurring", "Daily", 86400)
    assert daily.start_schedule == utc(2025, 1, 14, 23)  # today 00:00 CET
    assert steps(daily) == [(0, 0.0), (6 * H, 16.0), (22 * H, 0.0)]
    assert limit_at([daily], utc(2025, 1, 18, 4, 59)) == 0.0  # Saturday 05:59 CET


def test_falls_back_to_absolute_when_the_days_differ() -> None:
    now = utc(2025, 1, 15, 12, 0, 0)  # Wednesday 13:00 CET
    evenings = group(window(WEEKDAYS_ONLY, "17:00", "21:00"))
    schedule = desired_profiles(evenings, [EVSE], ChargerLimits(max_periods=4), now)
    absolute, cover = schedule.profiles_for(EVSE.evse_id)
    assert cover.stack_level < absolute.stack_level
    assert (absolute.kind, absolute.recurrency_kind, absolute.start_schedule) == (
        "Absolute",
        None,
        now,
    )
    # Wed 17-21, Thu 17-21: four periods, ending where Thursday's 21:00 starts the fifth.
    assert steps(absolute) == [(0, 16.0), (4 * H, 0.0), (8 * H, 16.0), (28 * H, 0.0)]
    assert absolute.duration == 32 * H
    assert schedule.next_change == now + timedelta(hours=26)  # six hours before it runs out


def test_absolute_fallback_is_refreshed_within_its_last_period_when_that_is_short() -> None:
    now = utc(2025, 1, 15, 12)
    blips = group(window(WEEKDAYS_ONLY, "14:00", "14:01"))  # 13:00 CET now
    schedule = desired_profiles(blips, [EVSE], ChargerLimits(max_periods=2), now)
    absolute, _cover = schedule.profiles_for(EVSE.evse_id)
    assert steps(absolute) == [(0, 16.0), (H, 0.0)]
    assert absolute.duration == H + 60
    assert schedule.next_change == now + timedelta(hours=1)


def test_absolute_fallback_keeps_local_times_across_dst() -> None:
    now = utc(2025, 3, 28, 12)  # Friday 13:00 CET; Sunday 02:00 CET becomes 03:00 CEST
    every_day_but_saturday = tuple(day for day in WEEKDAYS if day != "sat")
    evenings = group(window(every_day_but_saturday, "18:00", "20:00"))
    absolute = exclusion_at(evenings, now, ChargerLimits(max_periods=6))
    assert absolute.kind == "Absolute"
    assert limit_at([absolute], utc(2025, 3, 28, 17)) == 0.0  # Friday 18:00 CET
    assert limit_at([absolute], utc(2025, 3, 30, 16)) == 0.0  # Sunday 18:00 CEST
    assert limit_at([absolute], utc(2025, 3, 30, 18)) == 16.0  # Sunday 20:00 CEST


def test_no_profile_has_more_periods_than_the_charger_holds() -> None:
    busy = group(*(window(day, f"{h:02d}:00", f"{h:02d}:30") for day in WEEKDAYS for h in (7, 12)))
    for max_periods in range(1, 30):
        profile = exclusion_at(busy, utc(2025, 1, 15, 12), ChargerLimits(max_periods=max_periods))
        assert len(profile.periods) <= max_periods


# --- random start delay ----------------------------------------------------------------


def test_random_delay_is_fixed_per_evse_and_at_most_ten_minutes() -> None:
    delays = {random_delay_seconds(UUID(int=n)) for n in range(200)}
    assert all(0 <= delay <= RANDOM_DELAY_MAX_SECONDS for delay in delays)
    assert len(delays) > 100
    assert random_delay_seconds(EVSE.evse_id) == random_delay_seconds(UUID(str(EVSE.evse_id)))


def test_random_delay_moves_only_the_end_of_each_window() -> None:
    evenings = window("wed", "17:00", "21:00")
    delayed = exclusion_at(group(evenings, random_delay=True), utc(2025, 1, 15))
    delay = random_delay_seconds(EVSE.evse_id)
    wednesday = 2 * 24 * H
    assert delay > 0
    assert steps(delayed) == [
        (0, 16.0),
        (wednesday + 17 * H, 0.0),
        (wednesday + 21 * H + delay, 16.0),
    ]


def test_random_delay_is_off_by_default() -> None:
    assert GroupInput("UTC").random_delay is False


# --- priority charge -------------------------------------------------------------------


def test_priority_profile_ends_itself() -> None:
    started, ends = utc(2025, 1, 15, 16, 30), utc(2025, 1, 15, 19)
    evenings = group(
        window("wed", "17:00", "21:00"), priority_started_at=started, priority_ends_at=ends
    )
    schedule = desired_profiles(evenings, [EVSE], CHARGER, utc(2025, 1, 15, 17))
    profiles = schedule.profiles_for(EVSE.evse_id)
    exclusion, roles = exclusion_at(evenings, utc(2025, 1, 15, 17)), by_role(profiles)
    priority, cover = roles[PRIORITY_ROLE], roles[COVER_ROLE]
    exclusions = [p for p in profiles if is_exclusion(p.profile_id)]
    assert cover.stack_level < exclusion.stack_level < priority.stack_level
    assert all(priority.stack_level > p.stack_level for p in exclusions)
    assert (priority.kind, priority.valid_from, priority.valid_to) == ("Absolute", started, ends)
    assert steps(priority) == [(0, 16.0)]
    assert limit_at([exclusion, priority], utc(2025, 1, 15, 18, 59, 59)) == 16.0
    # The charger drops it at validTo by itself and falls back on the exclusion profile.
    assert limit_at([exclusion, priority], ends) == 0.0
    assert schedule.next_change == ends


def test_no_priority_profile_once_it_has_ended() -> None:
    ended = group(priority_started_at=utc(2025, 1, 15, 10), priority_ends_at=utc(2025, 1, 15, 12))
    assert len(profiles_at(ended, utc(2025, 1, 15, 12))) == 1


def test_a_priority_charge_ending_within_a_second_is_sent_to_end_before_it() -> None:
    started = datetime(2025, 1, 15, 15, 0, 0, 456_000, tzinfo=UTC)
    ends = datetime(2025, 1, 15, 16, 45, 4, 456_000, tzinfo=UTC)
    running = group(
        window("wed", "16:45", "21:00"), priority_started_at=started, priority_ends_at=ends
    )
    priority = by_role(profiles_at(running, utc(2025, 1, 15, 16)))[PRIORITY_ROLE]
    # Not 16:45:05: the charger would charge at full power inside the exclusion for up to
    # a second.
    assert priority.valid_to == utc(2025, 1, 15, 16, 45, 4)
    assert priority.valid_from == priority.start_schedule == utc(2025, 1, 15, 15, 0, 0)
    assert priority.duration == (priority.valid_to - priority.valid_from).total_seconds()
    assert limit_at([priority], utc(2025, 1, 15, 16, 45, 4)) is None


def test_less_than_a_second_of_priority_left_sends_none() -> None:
    ends = datetime(2025, 1, 15, 16, 45, 4, 456_000, tzinfo=UTC)
    almost = group(priority_started_at=utc(2025, 1, 15, 15), priority_ends_at=ends)
    now = datetime(2025, 1, 15, 16, 45, 4, 100_000, tzinfo=UTC)

    assert len(profiles_at(almost, now)) == 1  # the exclusion profile alone (no windows)


def test_priority_and_exclusion_ids_are_fixed_and_distinct_per_connector() -> None:
    second = EvseSpec(UUID(int=2), 2, EvseLimits(None, None, 11000.0))
    few = ChargerLimits(max_periods=2)  # days that differ: Absolute, with a cover beneath
    running = group(
        window("mon", "17:00", "21:00"),
        priority_started_at=utc(2025, 1, 15),
        priority_ends_at=utc(2025, 1, 16),
    )
    schedule = desired_profiles(running, [EVSE, second], few, utc(2025, 1, 15, 1))
    ids = [p.profile_id for e in (EVSE, second) for p in schedule.profiles_for(e.evse_id)]
    roles = (EXCLUSION_ROLE, PRIORITY_ROLE, COVER_ROLE)
    assert ids == [profile_id(connector, role) for connector in (1, 2) for role in roles]
    assert set(ids) <= {*managed_profile_ids(1), *managed_profile_ids(2)}
    assert len(set(ids)) == 6
    again = desired_profiles(running, [EVSE, second], few, utc(2025, 1, 16, 1))
    assert [p.profile_id for p in again.profiles_for(EVSE.evse_id)] == [ids[0], ids[2]]


def test_the_cover_lies_beneath_the_exclusion_profile_and_the_priority_above() -> None:
    running = group(
        window("mon", "17:00", "21:00"),
        priority_started_at=utc(2025, 1, 15),
        priority_ends_at=utc(2025, 1, 16),
    )
    roles = by_role(profiles_at(running, utc(2025, 1, 15, 1), ChargerLimits(max_periods=2)))
    assert [roles[role].stack_level for role in (COVER_ROLE, EXCLUSION_ROLE, PRIORITY_ROLE)] == [
        0,
        1,
        4,  # above the levels of the exclusion profiles sent ahead when the schedule recurs
    ]


def test_with_only_two_levels_the_priority_takes_the_exclusion_profiles_place() -> None:
    running = group(
        window("wed", "17:00", "21:00"),
        priority_started_at=utc(2025, 1, 15),
        priority_ends_at=utc(2025, 1, 16),
    )
    two_levels = ChargerLimits(max_stack_level=1)
    priority, cover = profiles_at(running, utc(2025, 1, 15, 1), two_levels)
    assert (role_of(priority.profile_id), priority.stack_level) == (PRIORITY_ROLE, 1)
    assert (role_of(cover.profile_id), cover.stack_level) == (COVER_ROLE, 0)
    # Once it ends on the charger by itself, the cover keeps Wednesday's evening out.
    assert limit_at([priority, cover], utc(2025, 1, 15, 17)) == 16.0
    assert limit_at([priority, cover], utc(2025, 1, 22, 17)) == 0.0
    exclusion, cover = profiles_at(running, utc(2025, 1, 16), two_levels)
    assert (exclusion.stack_level, cover.stack_level) == (1, 0)


# --- when to compute again -------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "transition"),
    [
        ("Europe/Amsterdam", utc(2025, 3, 28), utc(2025, 3, 30, 1)),
        ("Europe/Amsterdam", utc(2025, 7, 1), utc(2025, 10, 26, 1)),
        ("America/New_York", utc(2025, 1, 1), utc(2025, 3, 9, 7)),
        ("Australia/Lord_Howe", utc(2025, 3, 1), utc(2025, 4, 5, 15)),  # +11 -> +10:30
        ("Pacific/Chatham", utc(2025, 3, 1), utc(2025, 4, 5, 14)),  # +13:45 -> +12:45
    ],
)
def test_next_change_is_the_dst_transition(zone: str, now: datetime, transition: datetime) -> None:
    evenings = group(window(WEEKDAYS, "17:00", "21:00"), zone=zone)
    schedule = desired_profiles(evenings, [EVSE], CHARGER, now)
    assert schedule.next_change == transition
    before, after = transition - timedelta(seconds=1), transition
    assert (
        before.astimezone(evenings.zone).utcoffset() != after.astimezone(evenings.zone).utcoffset()
    )


def test_zones_without_dst_need_no_timer() -> None:
    for zone in ("Asia/Kolkata", "UTC"):
        evenings = group(window(WEEKDAYS, "17:00", "21:00"), zone=zone)
        assert desired_profiles(evenings, [EVSE], CHARGER, utc(2025, 1, 1)).next_change is None


def test_profile_issued_after_dst_keeps_the_local_hours_and_was_sent_before() -> None:
    evenings = group(window(WEEKDAYS, "18:00", "20:00"))
    before = profiles_at(evenings, utc(2025, 3, 29, 12))
    old = exclusion_at(evenings, utc(2025, 3, 29, 12))
    after = exclusion_at(evenings, utc(2025, 3, 30, 1))
    assert after.start_schedule == old.start_schedule - timedelta(hours=1)
    assert limit_at([after], utc(2025, 3, 30, 16)) == 0.0  # 18:00 CEST
    # The old one stops at the change (an hour off after it); the one after it was sent
    # the day before, at another stack level, valid from the change: the same profile.
    assert old.valid_to == after.valid_from == utc(2025, 3, 30, 1)
    assert limit_at([old], utc(2025, 3, 30, 16)) is None
    assert after in before and after.stack_level != old.stack_level
    assert limit_at(before, utc(2025, 3, 30, 16)) == 0.0


# --- inputs --------------------------------------------------------------------------------


def test_rate_unit_follows_the_evse_and_the_charger() -> None:
    three_phase_16a = exclusion_at(group(), utc(2025, 1, 15))
    assert (three_phase_16a.rate_unit, three_phase_16a.periods[0].limit) == ("A", 16.0)
    watts_only = exclusion_at(group(), utc(2025, 1, 15), ChargerLimits(rate_units=("W",)))
    assert (watts_only.rate_unit, watts_only.periods[0].limit) == ("W", 11040.0)
    power_rated = EvseSpec(UUID(int=7), 2, EvseLimits(None, None, 7400.0))
    amps_only = ChargerLimits(rate_units=("A",))
    schedule = desired_profiles(group(), [power_rated], amps_only, utc(2025, 1, 15))
    (profile,) = schedule.profiles_for(power_rated.evse_id)
    assert (profile.rate_unit, profile.periods[0].limit) == ("A", 10.7)  # 7400 / (3 x 230)
    one_phase = EvseSpec(UUID(int=8), 2, EvseLimits(None, 1, 7400.0))
    schedule = desired_profiles(group(), [one_phase], amps_only, utc(2025, 1, 15))
    (profile,) = schedule.profiles_for(one_phase.evse_id)
    assert (profile.rate_unit, profile.periods[0].limit) == ("A", 32.1)  # 7400 / 230
    assert profile.periods[0].number_phases == 1


def test_charger_limits_may_differ_per_evse() -> None:
    other = EvseSpec(UUID(int=9), 2, EvseLimits(32.0, 1, None))
    nights = group(window(WEEKDAYS, "22:00", "06:00"))
    limits = {EVSE.evse_id: ChargerLimits(), other.evse_id: ChargerLimits(max_periods=3)}
    schedule = desired_profiles(nights, [EVSE, other], limits, utc(2025, 1, 15))
    assert schedule.profiles_for(EVSE.evse_id)[0].recurrency_kind == "Weekly"
    assert schedule.profiles_for(other.evse_id)[0].recurrency_kind == "Daily"


def test_a_time_without_utc_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        desired_profiles(group(), [EVSE], CHARGER, datetime(2025, 1, 15))


def test_group_input_from_the_aggregate() -> None:
    aggregate = SmartChargingGroup.create("Home", "", "consumer_tou", "Europe/Amsterdam", SYSTEM)
    aggregate.set_exclusion_times([window("mon", "17:00", "21:00")], SYSTEM)
    aggregate.set_random_delay(True, SYSTEM)
    aggregate.start_priority_charge(utc(2025, 1, 15), utc(2025, 1, 16), SYSTEM)
    assert GroupInput.from_group(aggregate) == GroupInput(
        "Europe/Amsterdam",
        (window("mon", "17:00", "21:00"),),
        random_delay=True,
        priority_ends_at=utc(2025, 1, 16),
        priority_started_at=utc(2025, 1, 15),
    )
