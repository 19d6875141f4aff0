"""Handshakes wait their turn for the identity check, at the rate the server can check.

Each check reads the charger's EVSEs and verifies its key: a few milliseconds of CPU
(argon2id) for a key not yet verified in this process, less than one otherwise
(domain/verified_keys.py). When a whole fleet reconnects at once, checking every
handshake at the same time made each slower than the last until they passed the
websocket's opening timeout and were cut off, all to be tried again: the work done for
nothing, and the listen queue overflowing meanwhile. Here at most `concurrency` are
checked at once and the rest wait in order. One that would wait longer than `max_wait`
(the queue ahead of it times the recent time per check) is told at once to come back
later: HTTP 503 with a Retry-After (RFC 9110 §15.6.4, §10.2.3). The refused are given
return times one check apart after the queue and after each other, as places in a
queue kept outside the server: told only "about when the queue is through", a fleet
came back at once, was refused again and again, and the refusals took more of the
server than the checks (at 3,000 chargers, 11 refusals a charger).

Used on the gateway's event loop only.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# Per check, until some were measured: what one takes while a whole fleet connects. A
# guess below it let a storm's first thousand queue for longer than the opening timeout,
# to be cut off after waiting (and come back with no place); above it, the first few are
# told to come back a little early.
FIRST_GUESS_SECONDS = 0.05
SMOOTHING = 0.05  # weight of the latest check in the running mean


class ServerBusy(Exception):
    """Too many handshakes ahead: come back in `retry_after` seconds (HTTP 503)."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many chargers connecting at once; try again in {retry_after} s")
        self.retry_after = retry_after


class HandshakeQueue:
    def __init__(self, concurrency: int, max_wait: float, rng: random.Random | None = None):
        self.concurrency = concurrency
        self.max_wait = max_wait
        self._rng = rng or random.Random()
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0
        self._seconds_per_check = FIRST_GUESS_SECONDS
        self._last_return = 0.0  # the latest return time given (time.monotonic())
        self.turned_away = 0  # handshakes answered 503, for benchmarks and tests

    @property
    def waiting(self) -> int:
        return self._waiting

    def expected_wait(self) -> float:
        """Seconds a handshake arriving now would wait for its check."""
        return self._waiting * self._seconds_per_check / self.concurrency

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a free slot and hold it while checking; ServerBusy if the wait would be
        longer than `max_wait`."""
        wait = self.expected_wait()
        if wait > self.max_wait:
            self.turned_away += 1
            raise ServerBusy(self._return_in(wait))
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        started = time.perf_counter()
        try:
            yield
        finally:
            self._slots.release()
            took = time.perf_counter() - started
            self._seconds_per_check += SMOOTHING * (took - self._seconds_per_check)

    def _return_in(self, wait: float) -> int:
        """Whole seconds until a refused handshake's place: one check's time after the
        queue's end and after the place given last, a little spread (at random within
        that one check's time) so that those given one second do not arrive together."""
        now = time.monotonic()
        per_check = self._seconds_per_check / self.concurrency
        self._last_return = max(self._last_return, now + wait) + per_check
        spread = self._rng.uniform(0, per_check)
        return max(1, math.ceil(self._last_return - now + spread))
