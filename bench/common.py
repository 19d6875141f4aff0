"""What every benchmark prints: its parameters, the machine, and latency percentiles."""

from __future__ import annotations

import os
import platform
import signal
import statistics
from collections.abc import Sequence
from typing import Any


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"


def percentiles(samples_ms: Sequence[float]) -> str:
    ordered = sorted(samples_ms)
    if not ordered:
        return "no samples"

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return (
        f"n={len(ordered)} p50={at(0.50):.2f} p95={at(0.95):.2f} p99={at(0.99):.2f} "
        f"max={ordered[-1]:.2f} mean={statistics.fmean(ordered):.2f} (ms)"
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (/proc/PID/stat, fields 14-15)."""
    return sum(user_and_system_seconds(pid))


def user_and_system_seconds(pid: int) -> tuple[float, float]:
    """The user and the system (kernel) CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def postgres_cpu_seconds() -> float:
    """CPU time all PostgreSQL server processes on this machine have used so far, those
    that still run (a backend that ended meanwhile is not counted: measure over runs
    whose connections stay open)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() != "postgres":
                    continue
            total += cpu_seconds(int(entry))
        except OSError:  # ended meanwhile
            continue
    return total


def header(name: str, **parameters: object) -> None:
    """Print what the run is; from here SIGTERM ends it as Ctrl+C does, so that what it
    started (the service, a fleet, its schema) is stopped and dropped on the way out."""
    signal.signal(signal.SIGTERM, _interrupt)
    params = ", ".join(f"{key}={value}" for key, value in parameters.items())
    print(f"# {name}\nmachine: {machine()}\nparameters: {params}", flush=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
