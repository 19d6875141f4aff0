"""What the portals ask of the algorithm for a group: per EVSE, what it may do now and over
the coming days, and why."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.errors import DomainError, ScheduleUnavailable
from domain.evse_limits import EvseLimits
from domain.service import SmartCharging
from projections.follower import OUTAGES
from scheduler.allowance import Allowance, allowance_at
from scheduler.inputs import (
    charger_limits_from_row,
    evse_spec_from_row,
    group_input_from_row,
    group_inputs,
)
from scheduler.preview import schedule_preview
from scheduler.profiles import ChargerLimits, EvseSpec


def group_schedule(
    service: SmartCharging, group_id: UUID, now: datetime, days: int = 7
) -> dict[str, Any]:
    """The preview of every EVSE of the group, computed by the scheduler's own functions.

    A group whose profiles cannot be worked out (the scheduler records why, on the
    group) has no preview: ScheduleUnavailable says so, and the page around it is shown.
    """
    try:
        return _group_schedule(service, group_id, now, days)
    except DomainError:
        raise
    except OUTAGES:
        raise
    except Exception as error:
        raise ScheduleUnavailable(
            f"the schedule of this group cannot be worked out: {error}"
        ) from error


def _group_schedule(
    service: SmartCharging, group_id: UUID, now: datetime, days: int
) -> dict[str, Any]:
    inputs = group_inputs(service, service.group(group_id))
    evses = []
    for evse, spec in zip(inputs.evses, inputs.specs, strict=True):
        intervals = schedule_preview(inputs.group, spec, inputs.limits[evse.id], now, days)
        evses.append(
            {
                "evse_id": evse.id,
                "charge_point_id": evse.charge_point_id,
                "connector_id": evse.connector_id,
                "intervals": [asdict(interval) for interval in intervals],
            }
        )
    return {
        "group_id": group_id,
        "time_zone": inputs.group.time_zone,
        "generated_at": now,
        "days": days,
        "evses": evses,
    }


def group_allowances(
    group_row: dict[str, Any], evse_rows: Sequence[dict[str, Any]], now: datetime
) -> list[Allowance]:
    """What each EVSE of the group may do at `now`, why and until when, in `evse_rows`' order;
    from the read models' rows alone (no aggregate is loaded), for the portals' pages.

    A group without EVSEs is answered for a stand-in EVSE without random delay: what its
    exclusion times and priority charge would make a charger do. A group whose profiles
    cannot be worked out raises ScheduleUnavailable, as for its preview: its page is shown.
    """
    try:
        return _group_allowances(group_row, evse_rows, now)
    except Exception as error:  # pure work on rows: no outage to tell apart
        raise ScheduleUnavailable(
            f"what this group may do now cannot be worked out: {error}"
        ) from error


def _group_allowances(
    group_row: dict[str, Any], evse_rows: Sequence[dict[str, Any]], now: datetime
) -> list[Allowance]:
    group = group_input_from_row(group_row)
    if not evse_rows:
        stand_in = EvseSpec(group_row["id"], 1, EvseLimits(max_power_w=1000.0))
        return [allowance_at(replace(group, random_delay=False), stand_in, ChargerLimits(), now)]
    return [
        allowance_at(group, evse_spec_from_row(row), charger_limits_from_row(row), now)
        for row in evse_rows
    ]


# An answer with no change ahead is looked at again after this long at the latest.
REMEMBER_AT_MOST = timedelta(days=1)


class RememberedAllowances:
    """`group_allowances`, each group's answer remembered until one of its EVSEs' state
    changes, or its inputs do: the operator's list asks it for 100 groups per page and
    every page's live refresh asks it again each minute."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._answers: OrderedDict[str, tuple[datetime, datetime, list[Allowance]]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(
        self, group_row: dict[str, Any], evse_rows: Sequence[dict[str, Any]], now: datetime
    ) -> list[Allowance]:
        key = _inputs_key(group_row, evse_rows)
        with self._lock:
            found = self._answers.get(key)
            if found is not None and found[0] <= now < found[1]:
                self._answers.move_to_end(key)
                return [replace(answer, start=now) for answer in found[2]]
        answers = group_allowances(group_row, evse_rows, now)
        changes = [answer.until for answer in answers if answer.until is not None]
        changes += [a.offline.good_until for a in answers if a.offline and a.offline.good_until]
        good_until = min([*changes, now + REMEMBER_AT_MOST])
        with self._lock:
            self._answers[key] = (now, good_until, answers)
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
        return answers


def _inputs_key(group_row: dict[str, Any], evse_rows: Sequence[dict[str, Any]]) -> str:
    """Everything of the rows the answer depends on (see inputs.py), as one text."""
    group = [
        group_row[name]
        for name in (
            "id",
            "time_zone",
            "exclusion_windows",
            "random_delay",
            "priority_started_at",
            "priority_ends_at",
        )
    ]
    evses = [
        [
            row.get(name)
            for name in (
                "id",
                "connector_id",
                "max_current_a",
                "phases",
                "max_power_w",
                "charger_max_periods",
                "charger_rate_units",
                "charger_max_stack_level",
                "charger_max_profiles",
            )
        ]
        for row in evse_rows
    ]
    return repr((group, evses))
