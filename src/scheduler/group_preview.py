"""A group's coming days as the portals draw them: per EVSE, what limit applies and why."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.service import SmartCharging
from scheduler.inputs import group_inputs
from scheduler.preview import schedule_preview

MAX_DAYS = 14


def group_schedule(
    service: SmartCharging, group_id: UUID, now: datetime, days: int = 7
) -> dict[str, Any]:
    """The preview of every EVSE of the group, computed by the scheduler's own functions."""
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
