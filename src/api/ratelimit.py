"""Login rate limit: failed attempts per e-mail and per client address in a sliding window."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


def email_key(email: str) -> tuple[str, str]:
    """The e-mail as the service reads it (trimmed, any case), so no spelling gets more tries."""
    return ("email", email.strip().lower())


class LoginRateLimiter:
    def __init__(self, per_email: int, per_address: int, window_seconds: float = 900.0):
        self.limits = {"email": per_email, "address": per_address}
        self.window = window_seconds
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, email: str, address: str) -> int:
        """Seconds until a login may be tried again (0: now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in (email_key(email), ("address", address)):
                failures = self._recent(key, now)
                if len(failures) >= self.limits[key[0]]:
                    wait = max(wait, failures[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, email: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._failures[email_key(email)].append(now)
            self._failures[("address", address)].append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(email_key(email), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]  # forget quiet keys, or every e-mail ever tried stays in memory
        return failures
