"""A charger's outbound calls, one at a time (OCPP-J 1.6 §4.1.1: one CALL in flight).

Each connection has its own outbox and worker task, so a charger that does not
answer only delays itself: its calls wait out their own timeouts, one by one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[Any]]


class OutboxClosed(Exception):
    """The connection ended before the call could be made."""


class Outbox:
    def __init__(self, name: str):
        self.name = name
        self._jobs: asyncio.Queue[tuple[Job | None, asyncio.Future[Any] | None]] = asyncio.Queue()
        self._closed = False

    def put(self, job: Job) -> None:
        """Run `job` after those already waiting; its errors are logged, not raised."""
        if not self._closed:
            self._jobs.put_nowait((job, None))

    def submit(self, job: Job) -> asyncio.Future[Any]:
        """Run `job` in turn; the future gets its result or its error."""
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._closed:
            result.set_exception(OutboxClosed(f"{self.name} is not connected"))
        else:
            self._jobs.put_nowait((job, result))
        return result

    def __len__(self) -> int:
        return self._jobs.qsize()

    async def run(self) -> None:
        """The worker: take one job at a time and run it to its end, until closed."""
        try:
            while not self._closed:
                job, result = await self._jobs.get()
                if job is None:
                    break
                await self._run_one(job, result)
        finally:
            self.close()

    async def _run_one(self, job: Job, result: asyncio.Future[Any] | None) -> None:
        try:
            value = await job()
        except asyncio.CancelledError:
            if result is not None and not result.done():
                result.set_exception(OutboxClosed(f"{self.name} disconnected"))
            raise
        except Exception as error:
            if result is None:
                log.exception("%s: an outbound job failed", self.name)
            elif not result.done():
                result.set_exception(error)
            return
        if result is not None and not result.done():
            result.set_result(value)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Refuse new jobs, fail the waiting ones (their charger is gone), and let the
        worker end after its current job. Cancelling the worker is not enough on its
        own: Python 3.11's wait_for, which the `ocpp` library's call() uses, can swallow
        a cancellation that coincides with the answer."""
        if self._closed:
            return
        self._closed = True
        while not self._jobs.empty():
            _, result = self._jobs.get_nowait()
            if result is not None and not result.done():
                result.set_exception(OutboxClosed(f"{self.name} disconnected"))
        self._jobs.put_nowait((None, None))
