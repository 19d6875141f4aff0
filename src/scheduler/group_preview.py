"""A group's coming days as the portals draw them: per EVSE, what limit applies and why."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import DomainError, ScheduleUnavailable
from domain.service import SmartCharging
from projections.follower import OUTAGES
from scheduler.inputs import group_inputs
from scheduler.preview import schedule_preview

MAX_DAYS = 14


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
