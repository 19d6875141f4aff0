"""Throttling password guesses (logging in, changing one's password) without handing an
attacker a way to lock anyone out, and throttling the asking for password-reset links.

Three counts over a moving window of 15 minutes, kept by the `limits` library in a storage
that every API process shares and that survives a restart (ours is in PostgreSQL:
smartcharge/limits_storage.py):

- per account *and* address: that address may no longer try that account (429);
- per address: that address may no longer try any account (429);
- per account, from all addresses: not a block but a progressive delay, 1 s, 2 s, 4 s ...
  up to a cap, between the attempts on the account that are checked. Guessing one account
  from many addresses slows down; its owner, from an address that has not been failing,
  still gets in, the cap later at worst.

An attempt is counted *before* its password is checked, in the same step that tests the
limit (the library's `hit`), so a burst of parallel guesses cannot all pass before the
first failure is counted. What the attempt turns out to be then settles the counts: a
wrong password leaves them (and adds to the account's); a correct one clears its own
(account, address) count and takes back its hit on the address, so a household behind one
address that logs in all day is never refused; an attempt that was not decided (refused
further on, or an error) takes back both. The others are an attacker's, and go on
counting.

The delay is a queue of turns per account, in the same storage: each attempt over
`delay_after` takes the next turn, `delay` seconds after the one before, so parallel
attempts are spaced as sequential ones are. The queue reaches at most `max_delay` ahead:
beyond it, an address that has been failing on the account is refused (429) and one that
has not waits `max_delay` — the owner's correct password is never held longer than that.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from domain.errors import InvalidInput, WrongPassword
from domain.passwords import hashing_turn
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
    # Asking for a password-reset link, per hour: from one address (for any e-mails), and
    # for one e-mail (from any address, whether or not it has an account). The domain
    # mails an account at most three links an hour; these keep the form from being a way
    # to flood the service or to probe it.
    reset_asks_per_address: int = 20
    reset_asks_per_email: int = 10
    reset_window_seconds: int = 60 * 60


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


@runtime_checkable
class TurnStorage(Protocol):
    """What the throttle needs of its storage beyond the `limits` library's interface
    (smartcharge/limits_storage.py has both)."""

    def release_entry(self, key: str, amount: int = 1) -> None: ...

    def take_turn(self, key: str, spacing: float, horizon: float) -> float | None: ...


class LoginThrottle:
    def __init__(
        self,
        storage: Storage,
        limits: ThrottleLimits | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.storage = storage
        self._turns = turn_storage(storage)
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
        self.reset_asks = ResetAskThrottle(storage, self.limits, clock)

    def admission(self, account: str, address: str) -> Admission:
        """Count this attempt against the (account, address) and the address limits, in the
        same step as testing them, and take its turn on the account: refused (and counted
        nowhere) when over a limit or when the account's queue is full for this address.
        An admitted attempt must be settled: `failed`, `succeeded` or `withdrawn`."""
        key = account_key(account)
        if not self._window.hit(self._pair, key, address):
            return Admission(retry_after=self._wait(self._pair, key, address))
        if not self._window.hit(self._address, address):
            self._give_back(self._pair, key, address)
            return Admission(retry_after=self._wait(self._address, address))
        spacing = self.delay(self.failures(account))
        if not spacing:
            return Admission()
        turn = self._turns.take_turn(f"login-turn/{key}", spacing, self.limits.max_delay)
        if turn is not None:
            return Admission(delay=turn)
        if self._first_attempt(key, address):  # not failing here: held, never refused
            return Admission(delay=self.limits.max_delay)
        self.withdrawn(account, address)
        return Admission(retry_after=max(1, math.ceil(spacing)))  # the queue moves by then

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
        """A wrong password: its hits stay, and the account's failures grow."""
        self._window.hit(self._account, account_key(account))

    def succeeded(self, account: str, address: str) -> None:
        """A correct password: the address's own failures on the account are forgiven, and
        a success does not use up the address's budget."""
        self._window.clear(self._pair, account_key(account), address)
        self._give_back(self._address, address)

    def withdrawn(self, account: str, address: str) -> None:
        """An attempt admitted but not decided: it counts nowhere."""
        self._give_back(self._pair, account_key(account), address)
        self._give_back(self._address, address)

    async def guarded(self, account: str, address: str, attempt: Callable[[], T]) -> T:
        """Run one password attempt under the throttle: refused (TooManyAttempts) while the
        account and address, or the address, are over their limits; held until the
        account's turn (awaited: a held attempt takes no worker thread); queued for a hash
        slot on the event loop, not in a worker thread; counted as a failure when it raises
        WrongPassword."""
        admission = await run_in_threadpool(self.admission, account, address)
        if admission.retry_after:
            raise TooManyAttempts(admission.retry_after)
        try:
            if admission.delay:
                await asyncio.sleep(admission.delay)
            async with hashing_turn():
                result = await run_in_threadpool(attempt)
        except WrongPassword:
            await run_in_threadpool(self.failed, account, address)
            raise
        except Exception:
            await run_in_threadpool(self.withdrawn, account, address)
            raise
        await run_in_threadpool(self.succeeded, account, address)
        return result

    def _first_attempt(self, key: str, address: str) -> bool:
        """Whether this attempt is the only one the address has in the (account, address)
        count: it has not been failing on the account, nor is it guessing in parallel."""
        stats = self._window.get_window_stats(self._pair, key, address)
        return self._pair.amount - stats.remaining <= 1

    def _give_back(self, item: RateLimitItem, *identifiers: str) -> None:
        self._turns.release_entry(item.key_for(*identifiers))

    def _wait(self, item: RateLimitItem, *identifiers: str) -> int:
        return seconds_until_room(self._window, item, self.clock, *identifiers)


class ResetAskThrottle:
    """Asking for password-reset links: per address and per e-mail, every ask counts (an
    ask has no wrong answer to count). Refused asks are not counted. The same for every
    e-mail, with or without an account, so a refusal says nothing of any account."""

    def __init__(self, storage: Storage, limits: ThrottleLimits, clock: Callable[[], float]):
        self.clock = clock
        self._window = MovingWindowRateLimiter(storage)
        self._turns = turn_storage(storage)
        window = limits.reset_window_seconds
        self._address = RateLimitItemPerSecond(
            limits.reset_asks_per_address, window, namespace="reset-address"
        )
        self._email = RateLimitItemPerSecond(
            limits.reset_asks_per_email, window, namespace="reset-email"
        )

    def ask(self, email: str, address: str) -> None:
        """Count one ask, or raise TooManyAttempts (and count nothing)."""
        if not self._window.hit(self._address, address):
            raise TooManyAttempts(
                seconds_until_room(self._window, self._address, self.clock, address)
            )
        key = account_key(email)
        if not self._window.hit(self._email, key):
            self._turns.release_entry(self._address.key_for(address))
            raise TooManyAttempts(seconds_until_room(self._window, self._email, self.clock, key))


def seconds_until_room(
    window: MovingWindowRateLimiter,
    item: RateLimitItem,
    clock: Callable[[], float],
    *identifiers: str,
) -> int:
    """For a refused hit: the seconds until the window's oldest hit leaves it (at least 1)."""
    reset = window.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset - clock()))


def turn_storage(storage: Storage) -> TurnStorage:
    if not isinstance(storage, TurnStorage):
        raise TypeError("the throttle needs a storage that takes hits back and keeps turns")
    return storage
