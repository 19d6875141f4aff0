"""What the HTTP layer works with, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from api.mail import Mailer, MailTexts
from api.ratelimit import LoginRateLimiter
from api.sessions import SessionStore
from domain.service import SmartCharging
from projections.health import Health, HealthReport
from projections.queries import ReadModelQueries
from projections.view import ReadModelsView


@dataclass
class ApiContext:
    service: SmartCharging
    view: ReadModelsView
    queries: ReadModelQueries
    sessions: SessionStore
    mailer: Mailer
    mail_texts: MailTexts
    limiter: LoginRateLimiter
    read_your_writes_timeout: float = 2.0
    secure_cookies: bool = False
    # The schedule preview (group id, days) -> dict, computed by the scheduler's functions.
    schedule: Callable[[UUID, int], dict[str, Any]] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
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
