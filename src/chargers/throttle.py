"""Throttles at the OCPP edge, counted by the `limits` library over moving windows.

- **Failed handshakes** (wrong password, unknown charger): per charge point id and
  per remote address. Over either limit the handshake is refused with 429 and a
  Retry-After until the window has room again; nothing is locked for good, so the
  real charger gets in again a window after the guessing stops. The counts live in
  the storage the composition root hands over: the project's PostgreSQL storage
  (smartcharge/limits_storage.py), shared by every gateway, so guesses spread over
  the gateways' shards or a restart still count.
- **A charger's calls**: at most `per_minute` in any minute and `burst` in any 10 s,
  per charge point id, whatever its connection. Counted in this process's memory: a
  charger is held by one gateway, and every frame goes past this count, so it must
  not cost a database round trip.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

BURST_SECONDS = 10


@dataclass(frozen=True)
class HandshakeLimits:
    per_charger: int = 10  # failed handshakes on one charge point id per window
    per_address: int = 30  # failed handshakes from one address per window
    window_seconds: int = 300


@dataclass(frozen=True)
class CallLimits:
    """Generous for real chargers: MeterValues every 5 s on 4 connectors is 48 a minute;
    a boot with its StatusNotifications, or a backlog sent after a reconnect, is a
    burst of a few dozen."""

    per_minute: int = 300
    burst: int = 60  # within BURST_SECONDS


class HandshakeThrottle:
    """Failed handshakes per charge point id and per remote address."""

    def __init__(
        self,
        storage: Storage | None = None,
        limits: HandshakeLimits | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.limits = limits or HandshakeLimits()
        self.clock = clock  # the storage's clock: its windows' times are on it
        self._window = MovingWindowRateLimiter(storage or MemoryStorage())
        window = self.limits.window_seconds
        self._charger = RateLimitItemPerSecond(
            self.limits.per_charger, window, namespace="ocpp-handshake-charger"
        )
        self._address = RateLimitItemPerSecond(
            self.limits.per_address, window, namespace="ocpp-handshake-address"
        )

    def retry_after(self, charge_point_id: str, address: str) -> int:
        """Seconds until a handshake for this charger from this address may be tried
        again; 0 when it may be tried now."""
        return max(
            self._wait(self._charger, charge_point_id), self._wait(self._address, address)
        )

    def failed(self, charge_point_id: str | None, address: str) -> None:
        """Count a refused handshake; an unknown charger counts for its address only, so
        made-up ids leave no keys behind."""
        if charge_point_id is not None:
            self._window.hit(self._charger, charge_point_id)
        self._window.hit(self._address, address)

    def _wait(self, item: RateLimitItem, key: str) -> int:
        if self._window.test(item, key):
            return 0
        reset_at = self._window.get_window_stats(item, key).reset_time
        return max(1, math.ceil(reset_at - self.clock()))


class CallRate:
    """How many calls each charger may make (CallLimits), in this process's memory."""

    def __init__(self, limits: CallLimits | None = None):
        self.limits = limits or CallLimits()
        self._window = MovingWindowRateLimiter(MemoryStorage())
        self._sustained = RateLimitItemPerSecond(
            self.limits.per_minute, 60, namespace="ocpp-calls-minute"
        )
        self._burst = RateLimitItemPerSecond(
            self.limits.burst, BURST_SECONDS, namespace="ocpp-calls-burst"
        )

    def admit(self, charge_point_id: str) -> bool:
        """Count one call; False, and nothing counted, when it is over either limit."""
        if not self._window.test(self._sustained, charge_point_id):
            return False
        return self._window.hit(self._burst, charge_point_id) and self._window.hit(
            self._sustained, charge_point_id
        )

    def describe(self) -> str:
        return (
            f"at most {self.limits.per_minute} calls a minute "
            f"and {self.limits.burst} in {BURST_SECONDS} s"
        )
