"""Benchmark 5: the ToU algorithm for many groups, and the DST re-issue for all of them.

    python bench/algorithm.py --groups 100000

Each group gets 0-6 random exclusion windows, a random time zone among those
with and without DST, and 1-2 EVSEs. Prints the time per group and in total.
With `--patterns N` the groups draw their zone and windows from N such patterns
(home users keep to a few tariffs), as on a DST night of a real fleet.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import UTC, datetime

from common import header, percentiles

from domain.evse_limits import EvseLimits
from domain.exclusion_times import WEEKDAYS, ExclusionWindow
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput, desired_profiles

ZONES = (
    "Europe/Amsterdam",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
)


def random_windows(rng: random.Random) -> tuple[ExclusionWindow, ...]:
    return tuple(
        ExclusionWindow(
            tuple(rng.sample(WEEKDAYS, rng.randint(1, 7))),
            rng.randrange(0, 1440, 15),
            rng.randrange(0, 1440, 15),
        )
        for _ in range(rng.randint(0, 6))
    )


def random_group(
    rng: random.Random, patterns: list[tuple[str, tuple[ExclusionWindow, ...]]]
) -> tuple[GroupInput, list[EvseSpec]]:
    zone, windows = rng.choice(patterns) if patterns else (rng.choice(ZONES), random_windows(rng))
    group = GroupInput(zone, windows, random_delay=rng.random() < 0.3)
    evses = [
        EvseSpec(uuid.UUID(int=rng.getrandbits(128)), connector, EvseLimits(16.0, 3, None))
        for connector in range(1, rng.randint(1, 2) + 1)
    ]
    return group, evses


def run(groups: list[tuple[GroupInput, list[EvseSpec]]], at: list[datetime]) -> list[float]:
    charger = ChargerLimits()
    samples = []
    for (group, evses), now in zip(groups, at, strict=True):
        start = time.perf_counter()
        desired_profiles(group, evses, charger, now)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patterns", type=int, default=0, help="0: every group its own")
    args = parser.parse_args()
    header("ToU algorithm", groups=args.groups, seed=args.seed, patterns=args.patterns)
    rng = random.Random(args.seed)
    patterns = [(rng.choice(ZONES), random_windows(rng)) for _ in range(args.patterns)]
    groups = [random_group(rng, patterns) for _ in range(args.groups)]
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)

    started = time.perf_counter()
    samples = run(groups, [now] * len(groups))
    total = time.perf_counter() - started
    print(f"profiles for all groups: {total:.1f} s, per group {percentiles(samples)}")

    # The DST re-issue: every group again at the moment its zone's offset changes.
    changes = [desired_profiles(g, e, ChargerLimits(), now).next_change or now for g, e in groups]
    started = time.perf_counter()
    samples = run(groups, changes)
    total = time.perf_counter() - started
    print(f"DST re-issue for all groups: {total:.1f} s, per group {percentiles(samples)}")


if __name__ == "__main__":
    main()
