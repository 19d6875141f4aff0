"""The groups' timers: one job per instant, however many groups come due then.

A group's profiles change at its zone's UTC offset changes, so on a DST night every group
of a zone comes due at the same instant: 100,000 jobs for one moment would each be stored,
fired and removed by the timer library one at a time, and each group recomputed on its
own. Here a group is a member of its instant's one job; the job hands all its groups to
`fire` at once, which recomputes them a chunk at a time (`ProfileScheduler.recompute_all`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from uuid import UUID

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler


class GroupTimers:
    def __init__(self, timers: BaseScheduler, fire: Callable[[list[UUID]], None]):
        self._timers = timers
        self._fire = fire
        self._lock = threading.Lock()
        self._when: dict[UUID, datetime] = {}  # group -> its instant
        self._due_at: dict[datetime, set[UUID]] = {}  # instant -> its groups

    @staticmethod
    def job_id(when: datetime) -> str:
        return f"groups:{when.isoformat()}"

    def set(self, group_id: UUID, when: datetime | None) -> None:
        """The group's timer at `when` (None: no timer), replacing the one it had."""
        with self._lock:
            self._leave(group_id)
            if when is None:
                return
            self._when[group_id] = when
            members = self._due_at.get(when)
            if members is not None:
                members.add(group_id)
                return
            self._due_at[when] = {group_id}
            self._timers.add_job(
                self._run,
                "date",
                run_date=when,
                args=(when,),
                id=self.job_id(when),
                replace_existing=True,
            )

    def when(self, group_id: UUID) -> datetime | None:
        with self._lock:
            return self._when.get(group_id)

    def clear(self) -> None:
        """Forget every timer (the caller removes the jobs with the library's others)."""
        with self._lock:
            self._when.clear()
            self._due_at.clear()

    def _leave(self, group_id: UUID) -> None:
        when = self._when.pop(group_id, None)
        if when is None:
            return
        members = self._due_at.get(when)
        if members is None:
            return
        members.discard(group_id)
        if not members:
            del self._due_at[when]
            with suppress(JobLookupError):  # it is firing just now
                self._timers.remove_job(self.job_id(when))

    def _run(self, when: datetime) -> None:
        with self._lock:
            due = self._due_at.pop(when, set())
            for group_id in due:
                if self._when.get(group_id) == when:
                    del self._when[group_id]
        if due:
            self._fire(sorted(due))
