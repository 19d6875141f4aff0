"""Throttling password guesses (logging in, changing one's password) without handing an
attacker a way to lock anyone out.

Three counts of failed attempts over a moving window of 15 minutes, kept by the `limits`
library in a storage that every API process shares and that survives a restart (ours is
in PostgreSQL: smartcharge/limits_storage.py):

- per account *and* address: that address may no longer try that account (429);
- per address: that address may no longer try any account (429);
- per account, from all addresses: not a block but a progressive delay, 1 s, 2 s, 4 s ...
  up to a cap, before each attempt on the account is checked. Guessing one account from
  many addresses slows down; its owner, from an address that has not been failing, still
  gets in, a few seconds later at worst.

A correct password clears its own (account, address) count only: the others are an
attacker's, and go on counting.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from domain.errors import InvalidInput, WrongPassword
from domain.users import normalize_email

T = TypeVar("T")

# The account count only sets the delay; it is never a limit, so its ceiling is just high.
_ACCOUNT_COUNT_CEILING = 100_000


@dataclass(frozen=True)
class ThrottleLimits:
    per_account_address: int = 10
    per_address: int = 50
    delay_after: int = 5  # failures on one account before its attempts are held
    first_delay: float = 1.0  # seconds; doubled with each further failure
    max_delay: float = 10.0
    window_seconds: int = 15 * 60


@dataclass(frozen=True)
class Admission:
    """May an attempt be made now: `retry_after` > 0 refuses it for that many seconds;
    else it is held `delay` seconds before its password is checked."""

    retry_after: int = 0
    delay: float = 0.0


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"try again in {retry_after} seconds")
        self.retry_after = retry_after


def account_key(account: str) -> str:
    """An account as the counts know it: the e-mail as the service reads it (so no spelling
    gets more tries), hashed, so the table holds no e-mail address."""
    try:
        spelled = normalize_email(account)
    except InvalidInput:
        spelled = account.strip().lower()
    return hashlib.sha256(spelled.encode("utf-8", "replace")).hexdigest()[:32]


class LoginThrottle:
    def __init__(
        self,
        storage: Storage,
        limits: ThrottleLimits | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.storage = storage
        self.limits = limits or ThrottleLimits()
        self.clock = clock
        self._window = MovingWindowRateLimiter(storage)
        window = self.limits.window_seconds
        self._pair = RateLimitItemPerSecond(
            self.limits.per_account_address, window, namespace="login-pair"
        )
        self._address = RateLimitItemPerSecond(
            self.limits.per_address, window, namespace="login-address"
        )
        self._account = RateLimitItemPerSecond(
            _ACCOUNT_COUNT_CEILING, window, namespace="login-account"
        )

    def admission(self, account: str, address: str) -> Admission:
        key = account_key(account)
        wait = max(
            self._wait(self._pair, key, address),
            self._wait(self._address, address),
        )
        if wait:
            return Admission(retry_after=wait)
        return Admission(delay=self.delay(self.failures(account)))

    def failures(self, account: str) -> int:
        """Failed attempts on the account in the window, from every address."""
        stats = self._window.get_window_stats(self._account, account_key(account))
        return self._account.amount - stats.remaining

    def delay(self, failures: int) -> float:
        """The progressive delay: none up to `delay_after` failures, then doubling."""
        over = failures - self.limits.delay_after
        if over < 0:
            return 0.0
        return min(self.limits.max_delay, self.limits.first_delay * 2 ** min(over, 30))

    def failed(self, account: str, address: str) -> None:
        key = account_key(account)
        self._window.hit(self._pair, key, address)
        self._window.hit(self._address, address)
        self._window.hit(self._account, key)

    def succeeded(self, account: str, address: str) -> None:
        self._window.clear(self._pair, account_key(account), address)

    async def guarded(self, account: str, address: str, attempt: Callable[[], T]) -> T:
        """Run one password attempt under the throttle: refused (TooManyAttempts) while the
        account and address, or the address, are over their limits; held for the account's
        delay (awaited: a held attempt takes no worker thread); counted as a failure when it
        raises WrongPassword."""
        admission = await run_in_threadpool(self.admission, account, address)
        if admission.retry_after:
            raise TooManyAttempts(admission.retry_after)
        if admission.delay:
            await asyncio.sleep(admission.delay)
        try:
            result = await run_in_threadpool(attempt)
        except WrongPassword:
            await run_in_threadpool(self.failed, account, address)
            raise
        await run_in_threadpool(self.succeeded, account, address)
        return result

    def _wait(self, item: RateLimitItem, *identifiers: str) -> int:
        """Seconds until the window has room again (0: it has now)."""
        if self._window.test(item, *identifiers):
            return 0
        reset = self._window.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - self.clock()))
