"""Offline across DST changes: the exclusion profiles of the offset periods to come are sent
ahead of time (validFrom at each change, validTo at the next, each at a stack level of its
own), so a charger offline at a change still switches at the right instant.

A charger offline from a random instant for a year, holding what it was sent then and
evaluated as a charger evaluates it (`evaluate.limit_at`): until the last profile above
the cover ends it does exactly what the rule says — full power where the group's
local-time windows allow it (or a priority charge runs), nothing where they forbid it —
and after that it never charges in an exclusion time. The property checks every instant
where the profiles, the rule or the zone's offset change and the second before each: both
are constant in between, so that is every minute (and every second) of the year.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.charging_profiles import (
    COVER_ROLE,
    PRIORITY_ROLE,
    ChargingProfile,
    cover_prevails_from,
    is_exclusion,
    role_of,
    stable_profiles,
)
from domain.evse_limits import EvseLimits
from domain.exclusion_times import WEEKDAYS, ExclusionWindow
from scheduler.evaluate import change_instants, limit_at
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.stack_levels import stack_levels
from scheduler.tou import GroupInput, desired_profiles
from scheduler.utc_offsets import next_offset_change, offset_segments
from tou_strategies import (
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
YEAR = timedelta(days=366)
H = 3600
# DST an hour (both hemispheres), 30 minutes (Lord Howe), at :45 (Chatham), at midnight
# local time (Santiago), and none (Kolkata).
HARD_ZONES = (
    "Europe/Amsterdam",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "Australia/Sydney",
    "Asia/Kolkata",
)
EVSE = EvseSpec(UUID(int=1), 1, EvseLimits(16.0, 3, None))

chargers = st.builds(
    ChargerLimits,
    rate_units=st.sampled_from([("A", "W"), ("W",), ("A",)]),
    max_periods=st.one_of(st.just(24), st.integers(min_value=1, max_value=12)),
    max_stack_level=st.one_of(st.just(10), st.integers(min_value=1, max_value=5)),
)


def window(days: tuple[str, ...], start: str, end: str) -> ExclusionWindow:
    return ExclusionWindow.parse({"weekdays": list(days), "start": start, "end": end})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def exact_until(profiles: tuple[ChargingProfile, ...]) -> datetime | None:
    """Until when the charger holding `profiles` keeps the rule exactly; None: for good."""
    if not any(role_of(p.profile_id) == COVER_ROLE for p in profiles):
        return None
    return cover_prevails_from(profiles)


def changes_after(zone: ZoneInfo, now: datetime, count: int) -> list[datetime]:
    changes: list[datetime] = []
    at = now
    while len(changes) < count and (change := next_offset_change(zone, at)) is not None:
        changes.append(change)
        at = change
    return changes


def instants_to_check(
    profiles: tuple[ChargingProfile, ...], group: GroupInput, evse: EvseSpec, now: datetime
) -> list[datetime]:
    """[now, now + YEAR): every change of the profiles, of the rule (windows, priority
    charge, offsets), and the second before each."""
    end = now + YEAR
    edges = change_instants(profiles, now, end) + window_edges(group, evse.evse_id, now, end)
    edges += [begin for begin, _, _ in offset_segments(group.zone, now, end)]
    for moment in (group.priority_started_at, group.priority_ends_at):
        if moment is not None:
            edges += [moment.replace(microsecond=0) + timedelta(seconds=d) for d in (0, 1)]
    around = {edge + timedelta(seconds=d) for edge in edges for d in (-1, 0)}
    return sorted(t for t in around | {now} if now <= t < end)


def check_a_year_offline(
    profiles: tuple[ChargingProfile, ...],
    group: GroupInput,
    evse: EvseSpec,
    charger: ChargerLimits,
    now: datetime,
) -> datetime | None:
    """The charger holding `profiles` from `now` for a year: exactly the rule until
    `exact_until` (returned), never charging in an exclusion time after it."""
    maximum = evse.rate(charger).limit
    exact = exact_until(profiles)
    for t in instants_to_check(profiles, group, evse, now):
        limit = limit_at(profiles, t)
        allowed = not is_excluded(group, evse.evse_id, t) or priority_runs(group, t)
        charges = limit is None or limit > 0  # no profile in force: the charger is not limited
        where = (t, t.astimezone(group.zone), limit)
        if exact is None or t < exact:
            assert charges == allowed, where
            assert limit in (None, 0.0, maximum), where
        else:
            assert allowed or not charges, where
    return exact


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None)
@given(
    data=st.data(),
    time_zone=st.sampled_from(HARD_ZONES),
    evse=evse_specs(),
    charger=chargers,
)
def test_a_charger_offline_for_a_year_keeps_the_rule_as_far_as_profiles_were_sent_ahead(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone, st.one_of(every_day_windows, window_lists)))
    profiles = desired_profiles(group, [evse], charger, now).profiles_for(evse.evse_id)
    exact = check_a_year_offline(profiles, group, evse, charger, now)

    # As far as the charger's stack levels allow: the profiles of the period in force and
    # of the periods after it, each valid from the change that begins it.
    exclusions = [p for p in profiles if is_exclusion(p.profile_id)]
    recurring = [p for p in exclusions if p.kind == "Recurring"]
    levels = stack_levels(charger)
    assert len({p.stack_level for p in exclusions}) == len(exclusions)
    priority = [p for p in profiles if role_of(p.profile_id) == PRIORITY_ROLE]
    assert all(p.stack_level < q.stack_level for p in exclusions for q in priority)
    if recurring and len(recurring[0].periods) > 1 and not group.priority_active(now):
        changes = changes_after(group.zone, now, levels.slots)
        assert len(recurring) == min(levels.slots, len(changes) + 1)
        for before, after in pairwise(recurring):
            assert before.valid_to == after.valid_from
        if exact is not None and len(changes) == levels.slots:
            assert exact >= changes[-1]
    reach = "for good" if exact is None else f"{(exact - now).days // 30} months"
    event(f"{len(exclusions)} exclusion profiles, exact {reach}")


@pytest.mark.slow
@pytest.mark.parametrize("time_zone", HARD_ZONES)
def test_every_minute_of_a_year_offline_from_the_day_before_a_change(time_zone: str) -> None:
    """No shortcut: the charger's limit at each of the 527,040 minutes of a year."""
    zone = ZoneInfo(time_zone)
    change = next_offset_change(zone, utc(2025, 2, 1)) or utc(2025, 3, 1)
    now = change - timedelta(hours=23, minutes=17)
    windows = (window(WEEKDAYS, "17:00", "21:00"), window(("sat", "sun"), "01:30", "03:00"))
    evenings = GroupInput(time_zone, windows)
    profiles = desired_profiles(evenings, [EVSE], ChargerLimits(), now).profiles_for(EVSE.evse_id)
    exact = exact_until(profiles)
    wrong = []
    for minute in range(int(YEAR.total_seconds()) // 60):
        t = now + timedelta(minutes=minute)
        limit = limit_at(profiles, t)
        charges = limit is None or limit > 0
        excluded = is_excluded(evenings, EVSE.evse_id, t)
        exactly = exact is None or t < exact
        if (charges == excluded) if exactly else (charges and excluded):
            wrong.append(t)
    assert wrong == [], (len(wrong), wrong[:3])
    if time_zone != "Asia/Kolkata":
        assert exact is not None and exact >= now + timedelta(days=364)


def test_the_profile_sent_ahead_is_the_one_computed_after_the_change() -> None:
    """Computed again after the change, the period in force keeps its id, stack level and
    schedule: the delivery records nothing new but the period at the end, whose id and
    level are those of the period that has just ended."""
    evenings = GroupInput("Europe/Amsterdam", (window(WEEKDAYS, "17:00", "21:00"),))
    before = desired_profiles(evenings, [EVSE], ChargerLimits(), utc(2025, 3, 29, 12))
    after = desired_profiles(evenings, [EVSE], ChargerLimits(), utc(2025, 3, 30, 1))
    held, wanted = before.profiles_for(EVSE.evse_id), after.profiles_for(EVSE.evse_id)
    ended, *staged, cover = held
    assert [p.valid_to for p in held] == [
        utc(2025, 3, 30, 1),
        utc(2025, 10, 26, 1),
        utc(2026, 3, 29, 1),
        None,
    ]
    # What the delivery keeps (a recurring schedule whole days or weeks on is the same).
    recorded = stable_profiles(held, wanted)
    assert recorded[:2] == tuple(staged) and recorded[-1] == cover
    assert [p for p in recorded if p not in held] == [new := recorded[2]]
    assert (new.profile_id, new.stack_level) == (ended.profile_id, ended.stack_level)
    assert (new.valid_from, new.valid_to) == (utc(2026, 3, 29, 1), utc(2026, 10, 25, 1))
    assert before.next_change == utc(2025, 3, 30, 1)


def test_with_two_or_three_stack_levels_fewer_periods_are_sent_ahead() -> None:
    evenings = GroupInput("Europe/London", (window(WEEKDAYS, "16:00", "19:00"),))
    now = utc(2025, 6, 1)
    for max_stack_level, exclusions, priority_level in ((1, 1, 1), (2, 1, 2), (3, 2, 3)):
        charging = GroupInput(
            evenings.time_zone,
            evenings.exclusion_windows,
            priority_started_at=now,
            priority_ends_at=now + timedelta(hours=3),
        )
        charger = ChargerLimits(max_stack_level=max_stack_level)
        idle = desired_profiles(evenings, [EVSE], charger, now).profiles_for(EVSE.evse_id)
        running = desired_profiles(charging, [EVSE], charger, now).profiles_for(EVSE.evse_id)
        assert len([p for p in idle if is_exclusion(p.profile_id)]) == exclusions
        assert max(p.stack_level for p in running) == priority_level <= max_stack_level
        assert [p for p in running if p.stack_level == priority_level] == [running[-2]]


def test_an_absolute_profile_is_not_sent_ahead() -> None:
    """It follows real local time already; the cover follows its end."""
    weekdays = GroupInput(
        "Europe/Amsterdam", (window(("mon", "tue", "wed", "thu", "fri"), "17:00", "21:00"),)
    )
    absolute, cover = desired_profiles(
        weekdays, [EVSE], ChargerLimits(max_periods=4), utc(2025, 3, 28)
    ).profiles_for(EVSE.evse_id)
    assert (absolute.kind, cover.stack_level) == ("Absolute", 0)
    assert (absolute.valid_from, absolute.stack_level) == (None, 1)


# --- a charger holding few profiles (MaxChargingProfilesInstalled) ---------------------------

budgeted_chargers = st.builds(
    ChargerLimits,
    rate_units=st.sampled_from([("A", "W"), ("W",), ("A",)]),
    max_periods=st.one_of(st.just(24), st.integers(min_value=1, max_value=12)),
    max_stack_level=st.one_of(st.just(10), st.integers(min_value=1, max_value=5)),
    max_profiles=st.one_of(st.none(), st.integers(min_value=1, max_value=6)),
)


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None)
@given(
    data=st.data(),
    time_zone=st.sampled_from(HARD_ZONES),
    evse=evse_specs(),
    charger=budgeted_chargers,
)
def test_a_charger_holding_few_profiles_gets_no_more_and_never_charges_in_an_exclusion(
    data: st.DataObject, time_zone: str, evse: EvseSpec, charger: ChargerLimits
) -> None:
    """For any limit reported: no more profiles than it keeps, and a year offline from a
    random instant never charging in an exclusion time (outside a priority charge)."""
    now = data.draw(nows(time_zone))
    group = data.draw(groups(now, time_zone, st.one_of(every_day_windows, window_lists)))
    profiles = desired_profiles(group, [evse], charger, now).profiles_for(evse.evse_id)

    assert charger.max_profiles is None or len(profiles) <= charger.max_profiles
    assert len({p.profile_id for p in profiles}) == len(profiles)
    for t in instants_to_check(profiles, group, evse, now):
        limit = limit_at(profiles, t)
        charges = limit is None or limit > 0
        allowed = not is_excluded(group, evse.evse_id, t) or priority_runs(group, t)
        assert allowed or not charges, (t, t.astimezone(group.zone), limit)
    if charger.max_profiles is None or charger.max_profiles >= 5:
        check_a_year_offline(profiles, group, evse, charger, now)  # as before: exact too
    event(f"limit {charger.max_profiles}: {len(profiles)} profiles")


def roles(profiles: tuple[ChargingProfile, ...]) -> list[str]:
    names = {COVER_ROLE: "cover", PRIORITY_ROLE: "priority"}
    return [names.get(role_of(p.profile_id), "exclusion") for p in profiles]


@pytest.mark.parametrize(
    ("max_profiles", "idle", "charging"),
    [
        (None, ["exclusion"] * 3 + ["cover"], ["exclusion"] * 3 + ["priority", "cover"]),
        (5, ["exclusion"] * 3 + ["cover"], ["exclusion"] * 3 + ["priority", "cover"]),
        (4, ["exclusion"] * 3 + ["cover"], ["exclusion"] * 2 + ["priority", "cover"]),
        (3, ["exclusion"] * 2 + ["cover"], ["exclusion", "priority", "cover"]),
        (2, ["exclusion", "cover"], ["priority", "cover"]),
        (1, ["cover"], ["cover"]),
    ],
)
def test_the_periods_sent_ahead_give_way_first_then_the_exclusion_then_the_priority(
    max_profiles: int | None, idle: list[str], charging: list[str]
) -> None:
    """Amsterdam's evenings on a charger keeping `max_profiles`: the cover stays whenever the
    exclusions sent can end; a priority charge alone would leave an offline charger free to
    charge in every exclusion after it, so with one profile only the cover is sent."""
    now = utc(2025, 6, 2, 12)
    evenings = (window(WEEKDAYS, "17:00", "21:00"),)
    running = GroupInput(
        "Europe/Amsterdam",
        evenings,
        priority_started_at=now,
        priority_ends_at=now + timedelta(hours=2),
    )
    charger = ChargerLimits(max_profiles=max_profiles)
    without = desired_profiles(GroupInput("Europe/Amsterdam", evenings), [EVSE], charger, now)
    held = desired_profiles(running, [EVSE], charger, now).profiles_for(EVSE.evse_id)
    assert roles(without.profiles_for(EVSE.evse_id)) == idle
    assert roles(held) == charging
    levels = [p.stack_level for p in held]
    assert len(set(levels)) == len(levels)  # a level each: none replaces another


def test_with_one_profile_a_zone_without_dst_keeps_its_exact_profile() -> None:
    kolkata = GroupInput("Asia/Kolkata", (window(WEEKDAYS, "17:00", "21:00"),))
    (only,) = desired_profiles(
        kolkata, [EVSE], ChargerLimits(max_profiles=1), utc(2025, 6, 2)
    ).profiles_for(EVSE.evse_id)
    assert (role_of(only.profile_id), only.valid_to) == (1, None)


def test_the_period_in_force_keeps_its_id_and_level_when_a_priority_displaces_the_last() -> None:
    """With four profiles the last period sent ahead gives way to a priority charge; the ones
    kept are the same profiles, so starting the charge clears one and sets one."""
    now = utc(2025, 6, 2, 12)
    evenings = (window(WEEKDAYS, "17:00", "21:00"),)
    charger = ChargerLimits(max_profiles=4)
    idle = desired_profiles(GroupInput("Europe/Amsterdam", evenings), [EVSE], charger, now)
    running = GroupInput(
        "Europe/Amsterdam",
        evenings,
        priority_started_at=now,
        priority_ends_at=now + timedelta(hours=2),
    )
    charging = desired_profiles(running, [EVSE], charger, now)
    before, after = idle.profiles_for(EVSE.evse_id), charging.profiles_for(EVSE.evse_id)
    assert [p for p in after if p not in before] == [after[2]]  # the priority
    assert [p for p in before if p not in after] == [before[2]]  # the last period sent ahead
