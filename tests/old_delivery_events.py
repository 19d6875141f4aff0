"""Profile delivery events as versions before ChargingProfile was a domain value recorded
them: the desired profiles as plain dicts, no class version. The store keeps such events
for ever; they must still replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.actors import SYSTEM
from domain.delivery import delivery_id_for
from domain.service import SmartCharging

STARTED = "domain.delivery:ProfileDelivery.Started"
PROFILES_DESIRED = "domain.delivery:ProfileDelivery.ProfilesDesired"


def record_old_desired(
    app: SmartCharging, evse_id: UUID, charge_point_id: str, *desired: list[dict[str, Any]]
) -> UUID:
    """The delivery of the EVSE on connector 1 of `charge_point_id`, with one ProfilesDesired
    event per list of profiles, stored in the old shape: {"profiles": [dict, ...], ...}."""
    delivery_id = delivery_id_for(evse_id)
    states: list[tuple[str, dict[str, Any]]] = [
        (
            STARTED,
            {
                "originator_topic": "domain.delivery:ProfileDelivery",
                "evse_id": evse_id,
                "charge_point_id": charge_point_id,
                "connector_id": 1,
            },
        ),
        *(
            (PROFILES_DESIRED, {"profiles": profiles, "reason": "old", "actor": SYSTEM})
            for profiles in desired
        ),
    ]
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=delivery_id,
                originator_version=version,
                topic=topic,
                state=app.mapper.transcoder.encode({"timestamp": datetime.now(UTC), **state}),
            )
            for version, (topic, state) in enumerate(states, start=1)
        ]
    )
    return delivery_id
