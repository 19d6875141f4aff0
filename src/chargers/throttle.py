"""Throttles at the OCPP edge, counted by the `limits` library over moving windows.

- **Failed handshakes** (wrong password, unknown charger): per charge point id and
  per remote address. Over either limit the handshake is refused with 429 and a
  Retry-After until the window has room again; nothing is locked for good, so the
  real charger gets in again a window after the guessing stops. The counts live in
  the storage the composition root hands over: the project's PostgreSQL storage
  (smartcharge/limits_storage.py), shared by every gateway, so guesses spread over
  the gateways' shards or a restart still count. Only failures are written there, and
  it is asked only about ids and addresses with failures in the window (`suspected`):
  a fleet reconnecting at once costs it no round trip.
- **A charger's calls**: at most `per_minute` in any minute and `burst` in any 10 s,
  per charge point id, whatever its connection. Counted in this process's memory: a
  charger is held by one gateway, and every frame goes past this count, so it must
  not cost a database round trip.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

BURST_SECONDS = 10
MINUTE = 60.0
HANDSHAKE_KEYS = "ocpp-handshake-"  # the namespaces' common start, in the storage's keys


@runtime_checkable
class RecentKeys(Protocol):
    """A shared storage that can tell which keys were hit lately (PostgresLimitsStorage)."""

    def keys_hit_since(self, prefix: str, since: float) -> set[str]: ...


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
    """Failed handshakes per charge point id and per remote address.

    With a shared storage that lists its recent keys (RecentKeys), a handshake asks it
    only when the id or the address is *suspected*: it failed here within the window, or
    any gateway's failure was in the storage at the last `refresh` (the gateway refreshes
    every second). A guesser moving to another gateway therefore gets at most one guess
    there before that gateway asks the storage; the real chargers, which do not fail,
    are let in without a round trip. Any other storage is asked on every handshake."""

    def __init__(
        self,
        storage: Storage | None = None,
        limits: HandshakeLimits | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.limits = limits or HandshakeLimits()
        self.clock = clock  # the storage's clock: its windows' times are on it
        storage = storage or MemoryStorage()
        self._recent = storage if isinstance(storage, RecentKeys) else None
        self._window = MovingWindowRateLimiter(storage)
        window = self.limits.window_seconds
        self._charger = RateLimitItemPerSecond(
            self.limits.per_charger, window, namespace="ocpp-handshake-charger"
        )
        self._address = RateLimitItemPerSecond(
            self.limits.per_address, window, namespace="ocpp-handshake-address"
        )
        self._suspects: frozenset[str] = frozenset()  # keys in the storage at the last refresh
        self._failed_here: dict[str, float] = {}  # key -> this process's latest failure
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Learn which ids and addresses failed anywhere within the window."""
        if self._recent is None:
            return
        since = self.clock() - self.limits.window_seconds
        found = frozenset(self._recent.keys_hit_since(HANDSHAKE_KEYS, since))
        with self._lock:
            self._suspects = found
            self._failed_here = {k: at for k, at in self._failed_here.items() if at > since}

    def suspected(self, charge_point_id: str, address: str) -> bool:
        """Whether the storage must be asked (`retry_after`) before this handshake goes on;
        no round trip for an id and an address that failed nowhere lately."""
        if self._recent is None:
            return True
        since = self.clock() - self.limits.window_seconds
        keys = (self._charger.key_for(charge_point_id), self._address.key_for(address))
        with self._lock:
            return any(
                key in self._suspects or self._failed_here.get(key, since) > since for key in keys
            )

    def retry_after(self, charge_point_id: str, address: str) -> int:
        """Seconds until a handshake for this charger from this address may be tried
        again; 0 when it may be tried now."""
        return max(self._wait(self._charger, charge_point_id), self._wait(self._address, address))

    def failed(self, charge_point_id: str | None, address: str) -> None:
        """Count a refused handshake; an unknown charger counts for its address only, so
        made-up ids leave no keys behind."""
        counted = [(self._address, address)]
        if charge_point_id is not None:
            counted.append((self._charger, charge_point_id))
        now = self.clock()
        with self._lock:  # suspected here from now on, before the storage has it
            for item, identifier in counted:
                self._failed_here[item.key_for(identifier)] = now
        for item, identifier in counted:
            self._window.hit(item, identifier)

    def _wait(self, item: RateLimitItem, key: str) -> int:
        if self._window.test(item, key):
            return 0
        reset_at = self._window.get_window_stats(item, key).reset_time
        return max(1, math.ceil(reset_at - self.clock()))


class CallRate:
    """How many calls each charger may make (CallLimits), in this process's memory: per
    charger the times of its calls within the last minute, oldest first.

    Not the `limits` library's MemoryStorage, which the handshakes use: after every hit
    it sweeps all its keys 10 ms later, and with 10,000 chargers calling (20,000 keys, a
    70 ms sweep) that sweep ran back to back and took a core. Here a charger's old calls
    are dropped when it calls, and chargers silent for a minute once a minute."""

    def __init__(
        self, limits: CallLimits | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.limits = limits or CallLimits()
        self.clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def admit(self, charge_point_id: str) -> bool:
        """Count one call; False, and nothing counted, when it is over either limit."""
        now = self.clock()
        with self._lock:
            calls = self._calls.setdefault(charge_point_id, deque())
            while calls and calls[0] <= now - MINUTE:
                calls.popleft()
            in_burst = len(calls) - bisect.bisect_right(calls, now - BURST_SECONDS)
            if len(calls) >= self.limits.per_minute or in_burst >= self.limits.burst:
                return False
            calls.append(now)
            if now - self._swept >= MINUTE:
                self._sweep(now)
            return True

    def _sweep(self, now: float) -> None:
        self._swept = now
        silent = [cp for cp, calls in self._calls.items() if not calls or calls[-1] <= now - MINUTE]
        for charge_point_id in silent:
            del self._calls[charge_point_id]

    def describe(self) -> str:
        return (
            f"at most {self.limits.per_minute} calls a minute "
            f"and {self.limits.burst} in {BURST_SECONDS} s"
        )
