"""What the HTTP layer works with, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from api.ratelimit import LoginThrottle
from api.sessions import SessionStore
from domain.service import SmartCharging
from projections.health import Health, HealthReport
from projections.queries import ReadModelQueries
from projections.view import ReadModelsView


class ChargerGateway(Protocol):
    """What the API asks of this process's OCPP gateway (chargers.gateway.Gateway), which
    the composition root provides: the API does not depend on the OCPP code."""

    def connections(self) -> dict[str, str]: ...

    def composite_schedule(
        self, charge_point_id: str, connector_id: int, duration: int
    ) -> dict[str, Any]: ...


class OfflineAnswer(Protocol):
    """What a charger does if it goes offline now (scheduler.allowance.OfflineCover): the
    rule exactly until `exact_until` (None: however long), then safe but stricter."""

    @property
    def exact_until(self) -> datetime | None: ...


class EvseAllowance(Protocol):
    """What an EVSE may do at an instant and until when (scheduler.allowance.Allowance):
    `reason` is "exclusion", "priority" or "free"; `until` None when nothing changes;
    `offline` what its charger does if it goes offline then."""

    @property
    def reason(self) -> str: ...

    @property
    def until(self) -> datetime | None: ...

    @property
    def offline(self) -> OfflineAnswer | None: ...


# (group row, its EVSE rows with their chargers' capabilities, now) -> one answer per EVSE
# row (one answer for a group without EVSEs): the scheduler's `group_allowances`.
AllowancesNow = Callable[
    [dict[str, Any], Sequence[dict[str, Any]], datetime], Sequence[EvseAllowance]
]


@dataclass
class ApiContext:
    service: SmartCharging
    view: ReadModelsView
    queries: ReadModelQueries
    sessions: SessionStore
    throttle: LoginThrottle  # password guesses: logins and password changes
    read_your_writes_timeout: float = 2.0
    secure_cookies: bool = False
    # The schedule preview (group id, days) -> dict, computed by the scheduler's functions.
    schedule: Callable[[UUID, int], dict[str, Any]] | None = None
    gateway: ChargerGateway | None = None
    # What each EVSE of a group may do now, from the profiles the algorithm gives it.
    allowances: AllowancesNow | None = None
    health_of: Health | None = None

    def health(self) -> HealthReport:
        """The followers of this process and what waits for an operator (see /healthz)."""
        health = self.health_of or Health(self.view.faults)
        return health.report()

    def now(self) -> datetime:
        return self.service.clock()

    def caught_up(self, position: int | None) -> None:
        """Let the caller read its own write: wait (briefly) until the read models have it."""
        self.view.wait_for(position, timeout=self.read_your_writes_timeout)
