"""How the followers of the event store are doing, as `/healthz` and the operator portal tell it.

Each process reports the followers it runs: the read models always, the
scheduler where it competes for leadership (only the leader follows; the others
stand by), the OCPP gateway where it listens. A follower that is stopped or
keeps failing makes the process unhealthy; stuck events, failing groups and
mails the SMTP server keeps refusing make it degraded (the followers go on, but
an operator should look).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from projections.faults import FaultLog
from projections.follower import OUTAGES, EventFollower

log = logging.getLogger(__name__)

DOWN_STATES = ("failing", "stopped")


@dataclass(frozen=True)
class FollowerProbe:
    """One follower this process runs. `current` gives the follower now, or None with
    `idle` saying why none runs (e.g. "standby" while another process leads)."""

    name: str
    current: Callable[[], EventFollower | None]
    idle: Callable[[], str] = lambda: "not started"


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    body: dict[str, Any]


class Health:
    def __init__(self, faults: FaultLog, failing_mails: Callable[[], int] = lambda: 0):
        self.faults = faults
        self.failing_mails = failing_mails
        self.probes: list[FollowerProbe] = []

    def watch(self, probe: FollowerProbe) -> None:
        self.probes.append(probe)

    def report(self) -> HealthReport:
        try:
            stuck = self.faults.stuck_counts()
            failing_groups = len(self.faults.failing_groups())
            failing_mails = self.failing_mails()
        except OUTAGES as outage:
            log.warning("health: the database does not answer: %s", outage)
            return HealthReport(False, {"status": "down", "database": "unavailable"})
        followers = {probe.name: self._follower(probe, stuck) for probe in self.probes}
        down = any(f["state"] in DOWN_STATES for f in followers.values())
        attention = sum(stuck.values()) + failing_groups + failing_mails
        body = {
            "status": "down" if down else "degraded" if attention else "ok",
            "database": "ok",
            "followers": followers,
            "stuck_events": sum(stuck.values()),
            "failing_groups": failing_groups,
            "failing_mails": failing_mails,
        }
        return HealthReport(not down, body)

    @staticmethod
    def _follower(probe: FollowerProbe, stuck: dict[str, int]) -> dict[str, Any]:
        follower = probe.current()
        if follower is None:
            return {"state": probe.idle(), "stuck": stuck.get(probe.name, 0)}
        status = follower.status()
        entry: dict[str, Any] = {
            "state": status.state,
            "position": status.position,
            "lag": None,
            "stuck": stuck.get(follower.name, 0),
        }
        if status.state == "following":
            try:
                entry["lag"] = follower.lag()
            except OUTAGES as outage:
                entry["state"], status_error = "failing", str(outage)
                entry["error"] = status_error
        elif status.last_error:
            entry["error"] = status.last_error
        return entry
