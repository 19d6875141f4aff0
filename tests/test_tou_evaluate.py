"""Evaluating profiles the way a charger does (OCPP 1.6 §3.13.2, §7.8-§7.14, §7.37)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.charging_profiles import ChargingProfile, ChargingSchedulePeriod
from scheduler.evaluate import change_instants, limit_at, prevailing_profile

MONDAY = datetime(2025, 1, 6, tzinfo=UTC)


def profile(*periods: tuple[int, float], **fields: Any) -> ChargingProfile:
    values: dict[str, Any] = {
        "profile_id": 1,
        "stack_level": 0,
        "purpose": "TxDefaultProfile",
        "kind": "Absolute",
        "recurrency_kind": None,
        "valid_from": None,
        "valid_to": None,
        "rate_unit": "A",
        "start_schedule": MONDAY,
        "duration": None,
        "periods": tuple(ChargingSchedulePeriod(start, limit) for start, limit in periods),
    }
    return ChargingProfile(**{**values, **fields})


def at(**delta: float) -> datetime:
    return MONDAY + timedelta(**delta)


def test_absolute_schedule_steps_through_its_periods() -> None:
    steps = profile((0, 16.0), (3600, 8.0))
    assert limit_at([steps], at(seconds=3599.999)) == 16.0
    assert limit_at([steps], at(hours=1)) == 8.0
    assert limit_at([steps], at(days=300)) == 8.0  # no duration: the last period lasts
    assert limit_at([steps], at(seconds=-1)) is None  # not started


def test_duration_ends_the_schedule() -> None:
    assert limit_at([profile((0, 16.0), duration=60)], at(minutes=1)) is None


def test_recurring_daily_restarts_every_day() -> None:
    daily = profile((0, 0.0), (6 * 3600, 16.0), kind="Recurring", recurrency_kind="Daily")
    assert limit_at([daily], at(days=10, hours=5)) == 0.0
    assert limit_at([daily], at(days=10, hours=6)) == 16.0


def test_recurring_weekly_restarts_every_week() -> None:
    weekly = profile(
        (0, 0.0), (86400, 16.0), kind="Recurring", recurrency_kind="Weekly", duration=604800
    )
    assert limit_at([weekly], at(days=7 * 52 + 0.5)) == 0.0
    assert limit_at([weekly], at(days=7 * 52 + 1.5)) == 16.0


def test_highest_stack_level_valid_at_the_time_prevails() -> None:
    base = profile((0, 0.0), stack_level=1)
    boost = profile(
        (0, 32.0),
        profile_id=2,
        stack_level=2,
        valid_from=at(hours=1),
        valid_to=at(hours=2),
    )
    assert limit_at([boost, base], at(minutes=59)) == 0.0
    assert prevailing_profile([boost, base], at(hours=1)) is boost
    assert limit_at([boost, base], at(hours=2)) == 0.0


def test_higher_level_whose_schedule_ran_out_gives_way() -> None:
    base = profile((0, 0.0), stack_level=1)
    short = profile((0, 32.0), profile_id=2, stack_level=2, duration=600)
    assert limit_at([base, short], at(minutes=9)) == 32.0
    assert limit_at([base, short], at(minutes=10)) == 0.0


def test_same_stack_level_the_later_one_replaces() -> None:
    old, new = profile((0, 1.0)), profile((0, 2.0))
    assert limit_at([old, new], at(hours=1)) == 2.0


def test_relative_schedule_counts_from_the_start_of_charging() -> None:
    relative = profile((0, 6.0), (1800, 16.0), kind="Relative", start_schedule=None)
    assert limit_at([relative], at(hours=1)) is None
    assert limit_at([relative], at(hours=1), charging_started_at=at(minutes=45)) == 6.0
    assert limit_at([relative], at(hours=1), charging_started_at=at(minutes=30)) == 16.0


def test_change_instants_list_every_edge_in_range() -> None:
    daily = profile((0, 0.0), (6 * 3600, 16.0), kind="Recurring", recurrency_kind="Daily")
    boost = profile((0, 32.0), stack_level=2, valid_from=at(hours=30), valid_to=at(hours=31))
    instants = change_instants([daily, boost], at(hours=3), at(days=2))
    assert instants == [
        at(hours=3),
        at(hours=6),
        at(hours=24),
        at(hours=30),
        at(hours=31),
    ]
