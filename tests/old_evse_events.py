"""EVSE events as versions before EvseLimits recorded them: three loose fields, no class
version. The store keeps such events for ever; they must still replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.actors import Actor
from domain.evses import evse_id_for
from domain.service import SmartCharging

REGISTERED = "domain.evses:Evse.Registered"
LIMITS_CHANGED = "domain.evses:Evse.LimitsChanged"


def record_old_evse(
    app: SmartCharging, charge_point_id: str, actor: Actor, *limits: dict[str, Any]
) -> UUID:
    """An EVSE registered with the first limits and changed to each of the others, stored
    in the old shape ({"max_current_a", "phases", "max_power_w"} beside the other fields)."""
    evse_id = evse_id_for(charge_point_id, 1)
    first, *changes = limits
    states: list[tuple[str, dict[str, Any]]] = [
        (
            REGISTERED,
            {
                "originator_topic": "domain.evses:Evse",
                "charge_point_id": charge_point_id,
                "connector_id": 1,
                **first,
                "actor": actor,
            },
        ),
        *((LIMITS_CHANGED, {**change, "actor": actor}) for change in changes),
    ]
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=evse_id,
                originator_version=version,
                topic=topic,
                state=app.mapper.transcoder.encode({"timestamp": datetime.now(UTC), **state}),
            )
            for version, (topic, state) in enumerate(states, start=1)
        ]
    )
    return evse_id
