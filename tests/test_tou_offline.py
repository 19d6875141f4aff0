"""A charger that goes offline keeps the exclusions: the exclusion profile ends where it
would stop being right, and the cover beneath it (scheduler/cover.py) never runs out.

The properties evaluate the profiles a charger received at a random instant, as the
charger evaluates them (`evaluate.limit_at`), for 14 days without the scheduler: at every
instant where the profiles or the rule change (and a second either side), which is the
same as every second, since both are constant in between.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.charging_profiles import (
    COVER_ROLE,
    ChargingProfile,
    cover_prevails_from,
    role_of,
)
from domain.evse_limits import NOMINAL_VOLTAGE_V, EvseLimits
from domain.exclusion_times import WEEKDAYS, ExclusionWindow
from scheduler.cover import cover_schedule, fill_shortest_gaps, zone_offsets
from scheduler.evaluate import change_instants, limit_at
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput, desired_profiles, week_pattern
from scheduler.week_pattern import DAY
from tou_strategies import (
    NOTABLE_ZONES,
    every_day_windows,
    evse_specs,
    groups,
    is_excluded,
    nows,
    priority_runs,
    window_edges,
    window_lists,
)

EXAMPLES = int(os.environ.get("TOU_EXAMPLES", 500))
OFFLINE = timedelta(days=14)
H = 3600
EVSE = EvseSpec(UUID(int=1), 1, EvseLimits(16.0, 3, None))


def window(days: tuple[str, ...], start: str, end: str) -> ExclusionWindow:
    return ExclusionWindow.parse({"weekdays": list(days), "start": start, "end": end})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def by_role(profiles: tuple[ChargingProfile, ...]) -> dict[int, ChargingProfile]:
    return {role_of(profile.profile_id): profile for profile in profiles}


# --- the cover ------------------------------------------------------------------------------


def test_the_shortest_gaps_are_excluded_until_the_cover_fits() -> None:
    # Three exclusions of a day, gaps of 1 h, 2 h and (around midnight) 15 h.
    day = ((6 * H, 7 * H), (8 * H, 9 * H), (11 * H, 15 * H))
    assert fill_shortest_gaps(day, DAY, 6) == list(day)
    assert fill_shortest_gaps(day, DAY, 4) == [(6 * H, 9 * H), (11 * H, 15 * H)]
    assert fill_shortest_gaps(day, DAY, 2) == [(6 * H, 15 * H)]
    assert fill_shortest_gaps(day, DAY, 1) == [(0, DAY)]  # one period: all or nothing


def test_the_cover_excludes_a_window_at_every_offset_of_the_zone() -> None:
    evenings = week_pattern((window(WEEKDAYS, "17:00", "21:00"),), 0)
    offsets = zone_offsets(GroupInput("Europe/Amsterdam").zone, utc(2025, 1, 15))
    assert offsets == (H, 2 * H)  # CET and CEST within the year
    cover = cover_schedule(evenings, offsets, 24)
    # 17:00 CEST is 15:00 UTC, 21:00 CET is 20:00 UTC: every day alike, so Daily.
    assert (cover.kind, cover.anchor, cover.steps) == ("Daily", 15 * H, ((0, True), (5 * H, False)))


def test_an_absolute_profile_ends_itself_and_the_cover_holds_after_it() -> None:
    """Few periods and days that differ: the Absolute profile runs out after two periods;
    a charger offline past that keeps out of every evening in the cover's hours."""
    now = utc(2025, 3, 20, 12)  # Thursday 13:00 CET
    evenings = GroupInput(
        "Europe/Amsterdam",
        (window(("mon", "tue", "wed", "thu", "fri"), "17:00", "21:00"),),
    )
    profiles = desired_profiles(evenings, [EVSE], ChargerLimits(max_periods=2), now)
    absolute, cover = profiles.profiles_for(EVSE.evse_id)
    assert absolute.kind == "Absolute"
    assert absolute.duration is not None
    assert absolute.valid_to == absolute.start_schedule + timedelta(seconds=absolute.duration)
    assert (cover.kind, cover.valid_to, cover.stack_level) == ("Recurring", None, 0)
    later = [utc(2025, 3, 27, 16), utc(2025, 4, 2, 15, 30), utc(2025, 10, 27, 19, 30)]
    assert [limit_at([absolute, cover], t) for t in later] == [0.0, 0.0, 0.0]


def test_a_weekly_profile_held_across_dst_keeps_the_local_hours() -> None:
    evenings = GroupInput("Europe/Amsterdam", (window(WEEKDAYS, "18:00", "20:00"),))
    held = desired_profiles(evenings, [EVSE], ChargerLimits(), utc(2025, 3, 29, 12))
    profiles = held.profiles_for(EVSE.evse_id)
    assert profiles[0].valid_to == utc(2025, 3, 30, 1)  # the change to CEST
    # 18:00 and 19:59 CEST a week on: an hour off for the old weekly profile, not for all.
    assert limit_at(profiles, utc(2025, 4, 6, 16)) == 0.0
    assert limit_at(profiles, utc(2025, 4, 6, 17, 59)) == 0.0
    assert limit_at(profiles, utc(2025, 4, 6, 18)) == 16.0  # 20:00 CEST: exact, not stricter


def test_a_zone_without_dst_and_a_weekly_profile_need_no_cover() -> None:
    evenings = GroupInput("Asia/Kolkata", (window(WEEKDAYS, "18:00", "20:00"),))
    (weekly,) = desired_profiles(evenings, [EVSE], ChargerLimits(), utc(2025, 3, 29)).profiles_for(
        EVSE.evse_id
    )
    assert (weekly.kind, weekly.valid_to) == ("Recurring", None)


def test_the_cover_is_the_same_schedule_a_week_later() -> None:
    evenings = GroupInput("Europe/Amsterdam", (window(("mon",), "17:00", "21:00"),))
    first = by_role(
        desired_profiles(evenings, [EVSE], ChargerLimits(), utc(2025, 1, 15)).profiles_for(
            EVSE.evse_id
        )
    )[COVER_ROLE]
    again = by_role(
        desired_profiles(evenings, [EVSE], ChargerLimits(), utc(2025, 1, 22, 7)).profiles_for(
            EVSE.evse_id
        )
    )[COVER_ROLE]
    assert first.same_recurring_schedule(again)


# --- fourteen days offline ------------------------------------------------------------------

offline_chargers = st.builds(
    ChargerLimits,
    rate_units=st.sampled_from([("A", "W"), ("W",), ("A",)]),
    max_periods=st.one_of(st.just(24), st.integers(min_value=1, max_value=12)),
    max_stack_level=st.one_of(st.just(1), st.integers(min_value=2, max_value=8)),
    # MaxChargingProfilesInstalled: not said (no bound), or a few (profile_budget.py).
    max_profiles=st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
)


def instants_to_check(
    profiles: tuple[ChargingProfile, ...], group: GroupInput, evse: EvseSpec, now: datetime
) -> list[datetime]:
    """Every instant in [now, now + OFFLINE) where the profiles' limit or the rule may
    change, and a second either side."""
    end = now + OFFLINE
    edges = change_instants(profiles, now, end) + window_edges(group, evse.evse_id, now, end)
    for moment in (group.priority_started_at, group.priority_ends_at):
        if moment is not None:
            edges += [moment.replace(microsecond=0) + timedelta(seconds=d) for d in (0, 1)]
    around = {edge + timedelta(seconds=d) for edge in edges for d in (-1, 0, 1)}
    return sorted(t for t in around | {now} if now <= t < end)


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None)
@given(
    data=st.data(),
    time_zone=st.sampled_from(NOTABLE_ZONES),
    evse=evse_specs(),
    charger=offline_chargers,
)
def test_an_offline_charger_never_charges_in_an_exclusion_for_14_days(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone, st.one_of(every_day_windows, window_lists)))
    profiles = desired_profiles(group, [evse], charger, now).profiles_for(evse.evse_id)
    assert charger.max_profiles is None or len(profiles) <= charger.max_profiles
    maximum = evse.rate(charger).limit
    for t in instants_to_check(profiles, group, evse, now):
        limit = limit_at(profiles, t)
        allowed = limit is None or limit > 0  # no profile in force: the charger is not limited
        if is_excluded(group, evse.evse_id, t) and not priority_runs(group, t):
            assert not allowed, (t, t.astimezone(group.zone), limit)
        assert limit is None or limit <= maximum, (t, limit)
    kinds = sorted(f"{p.kind} {p.recurrency_kind or ''}".strip() for p in profiles)
    event(", ".join(kinds))


# --- the full power of an EVSE --------------------------------------------------------------


@st.composite
def ratings(draw: st.DrawFn) -> EvseLimits:
    """A current on 1 or 3 phases, or a power with its phases known (1 or 3) or not."""
    phases = draw(st.sampled_from([1, 3]))
    if draw(st.booleans()):
        return EvseLimits(round(draw(st.floats(min_value=6, max_value=80)), 2), phases, None)
    power = round(draw(st.floats(min_value=1000, max_value=350_000)), 1)
    return EvseLimits(None, draw(st.sampled_from([None, phases])), power)


def watts(limit: float, unit: str, phases: int | None) -> float:
    """What a limit allows, at the nominal voltage (OCPP 1.6 §7.12: 3 phases if absent)."""
    return limit if unit == "W" else limit * NOMINAL_VOLTAGE_V * (phases or 3)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    data=st.data(),
    time_zone=st.sampled_from(NOTABLE_ZONES),
    limits=ratings(),
    charger=offline_chargers,
)
def test_outside_exclusions_the_limit_sent_is_the_evses_full_power(
    data: st.DataObject, time_zone: str, limits: EvseLimits, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone, st.one_of(every_day_windows, window_lists)))
    evse = EvseSpec(UUID(int=7), 1, limits)
    by_current = limits.max_current_a is not None
    for profile in desired_profiles(group, [evse], charger, now).profiles_for(evse.evse_id):
        # Amperes where the EVSE is rated by current and the charger takes them, or the
        # charger takes nothing else; watts otherwise.
        takes_a = "A" in charger.rate_units
        expected_unit = "A" if takes_a and (by_current or "W" not in charger.rate_units) else "W"
        assert profile.rate_unit == expected_unit
        for period in profile.periods:
            assert period.number_phases == limits.phases
            if period.limit == 0:
                continue
            power = watts(period.limit, profile.rate_unit, period.number_phases)
            step = watts(0.1, profile.rate_unit, period.number_phases)  # the limit's resolution
            assert power <= limits.max_power + 1e-6
            assert limits.max_power - power < step + 1e-6, (profile.rate_unit, period.limit)
            if profile.rate_unit == "A" and by_current:
                assert limits.max_current_a is not None
                assert period.limit == math.floor(limits.max_current_a * 10 + 1e-9) / 10


def test_7400_w_on_one_phase_is_32_1_a_to_a_charger_taking_only_amperes() -> None:
    evse = EvseSpec(UUID(int=8), 1, EvseLimits(None, 1, 7400.0))
    (profile,) = desired_profiles(
        GroupInput("UTC"), [evse], ChargerLimits(rate_units=("A",)), utc(2025, 1, 15)
    ).profiles_for(evse.evse_id)
    (period,) = profile.periods
    assert (profile.rate_unit, period.limit, period.number_phases) == ("A", 32.1, 1)


def test_the_cover_prevails_once_every_profile_above_it_has_ended() -> None:
    evenings = (window(WEEKDAYS, "18:00", "20:00"),)
    now = utc(2025, 3, 29, 12)
    amsterdam = desired_profiles(
        GroupInput("Europe/Amsterdam", evenings), [EVSE], ChargerLimits(), now
    )
    # Exact until the third change from now: the profiles of the two periods after this
    # one were sent ahead of time.
    assert cover_prevails_from(amsterdam.profiles_for(EVSE.evse_id)) == utc(2026, 3, 29, 1)
    few_levels = desired_profiles(
        GroupInput("Europe/Amsterdam", evenings), [EVSE], ChargerLimits(max_stack_level=2), now
    )
    assert cover_prevails_from(few_levels.profiles_for(EVSE.evse_id)) == utc(2025, 3, 30, 1)
    kolkata = desired_profiles(GroupInput("Asia/Kolkata", evenings), [EVSE], ChargerLimits(), now)
    assert cover_prevails_from(kolkata.profiles_for(EVSE.evse_id)) is None  # none needed
    # Two stack levels: the priority in the exclusion profile's place, then the cover.
    charge = GroupInput(
        "Asia/Kolkata",
        evenings,
        priority_started_at=now,
        priority_ends_at=now + timedelta(hours=2),
    )
    two_levels = desired_profiles(charge, [EVSE], ChargerLimits(max_stack_level=1), now)
    assert cover_prevails_from(two_levels.profiles_for(EVSE.evse_id)) == now + timedelta(hours=2)
