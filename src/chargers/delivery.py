"""Sending an EVSE's desired profiles to its charger and recording every answer.

The scheduler records what each EVSE should hold (ProfilesDesired); the
gateway holding the charger's connection makes the charger hold exactly that:
it sets every desired profile and clears each of our profile ids that is not
desired, then records the charger's answer to each call as an event
(Accepted, Rejected, NotSupported, Timeout or Error).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from chargers.connection import CallFailed
from domain.charging_profiles import ChargingProfile, managed_profile_ids

if TYPE_CHECKING:
    from chargers.connection import ChargerConnection

log = logging.getLogger(__name__)


class Reason(Enum):
    CONNECTED = "connected"  # a new connection: send everything (no BootNotification needed)
    DESIRED = "desired"  # the desired profiles changed: send them, unless already sent here
    RETRY = "retry"  # the scheduler asks again: send what was not accepted


@dataclass(frozen=True)
class Step:
    """Set one desired profile (`profile`), or clear one of our ids (`profile` is None)."""

    profile_id: int
    profile: ChargingProfile | None


def plan(
    desired: Sequence[ChargingProfile],
    desired_version: int,
    answers: dict[int, dict[str, Any]],
    connector_id: int,
    reasons: Collection[Reason],
    sent_version: int | None,
) -> list[Step]:
    """The calls that make the charger hold the desired profiles, in order: sets, then clears.

    Setting first means the charger is never left without its exclusion profile.
    """
    if desired_version == 0:
        return []  # the scheduler has not decided anything for this EVSE yet
    everything = Reason.CONNECTED in reasons or sent_version != desired_version
    if not everything and Reason.RETRY not in reasons:
        return []  # this connection already sent this version
    wanted = {profile.profile_id for profile in desired}
    steps = [Step(profile.profile_id, profile) for profile in desired]
    steps += [Step(i, None) for i in managed_profile_ids(connector_id) if i not in wanted]
    if everything:
        return steps
    return [s for s in steps if answers.get(s.profile_id, {}).get("status") != "Accepted"]


async def _send(connection: ChargerConnection, step: Step, connector_id: int) -> str:
    try:
        if step.profile is None:
            return await connection.clear_profile(step.profile_id)
        return await connection.set_profile(step.profile, connector_id)
    except CallFailed as failure:
        log.warning(
            "%s: profile %d: %s (%s)", connection.id, step.profile_id, failure.status, failure
        )
        return failure.status
    except (ValueError, KeyError, TypeError):
        log.exception("%s: profile %d cannot be rendered", connection.id, step.profile_id)
        return "Error"


async def deliver(
    connection: ChargerConnection, evse_id: UUID, reasons: Collection[Reason]
) -> None:
    """Bring one EVSE's charger to its desired profiles, recording each answer."""
    service = connection.context.service
    delivery = await connection.blocking(service.delivery, evse_id)
    steps = plan(
        delivery.desired,
        delivery.desired_version,
        delivery.answers,
        delivery.connector_id,
        reasons,
        connection.sent_versions.get(evse_id),
    )
    for step in steps:
        if connection.outbox.closed:
            return  # the charger went; it gets everything again when it is back
        status = await _send(connection, step, delivery.connector_id)
        await connection.blocking(
            service.deliveries.record_answer,
            evse_id,
            step.profile_id,
            delivery.desired_version,
            status,
        )
    connection.sent_versions[evse_id] = delivery.desired_version


class DeliveryQueue:
    """At most one pending delivery per EVSE in the charger's outbox; later requests join it.

    The delivery reads the EVSE's latest desired profiles when its turn comes,
    so requests that pile up while the charger is slow cost one delivery.
    """

    def __init__(self, connection: ChargerConnection):
        self.connection = connection
        self._pending: dict[UUID, set[Reason]] = {}

    def request(self, evse_id: UUID, reason: Reason) -> None:
        if evse_id in self._pending:
            self._pending[evse_id].add(reason)
            return
        self._pending[evse_id] = {reason}
        self.connection.outbox.put(lambda: self._run(evse_id))

    async def _run(self, evse_id: UUID) -> None:
        reasons = self._pending.pop(evse_id, set())
        await deliver(self.connection, evse_id, reasons)
