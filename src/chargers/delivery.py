"""Sending an EVSE's desired profiles to its charger and recording every answer.

The scheduler records what each EVSE should hold (ProfilesDesired); the
gateway holding the charger's connection makes the charger hold exactly that,
with the calls needed and no more, and records the charger's answer to each call
as an event (Accepted, Rejected, NotSupported, Timeout or Error): the answers to one
delivery's calls are saved together once its last call is answered.

A connection remembers what the charger holds of our ids (`Held`): what it accepted
or cleared on this connection. On a new connection nothing is known, so every
desired profile is set and every other of our ids cleared; after that only a
profile that changed is set, and only an id the charger may hold is cleared. A
profile the charger already holds counts as accepted again without a call.
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


class Held:
    """What one connection knows its charger holds of one connector's ids: the profile it
    accepted, or None for an id it cleared; an id not named here may hold anything."""

    def __init__(self) -> None:
        self._known: dict[int, ChargingProfile | None] = {}

    def profiles(self) -> list[ChargingProfile]:
        """The profiles it is known to hold."""
        return [profile for profile in self._known.values() if profile is not None]

    def holds(self, profile: ChargingProfile) -> bool:
        return self._known.get(profile.profile_id) == profile

    def may_hold(self, profile_id: int) -> bool:
        return profile_id not in self._known or self._known[profile_id] is not None

    def answered(self, step: Step, status: str) -> None:
        """Learn from the charger's answer: anything but Accepted leaves the id unknown (a
        timed-out set may have been installed, a refused one left the old one)."""
        if status != "Accepted":
            self._known.pop(step.profile_id, None)
            return
        if step.profile is not None:
            # OCPP 1.6 §3.13.2, §5.16.4: a profile replaces the one of the same stack level
            # and purpose, whatever its id (a 2.1 PriorityCharging profile at level 0 does
            # not replace the exclusion profile there).
            level, purpose = step.profile.stack_level, step.profile.purpose
            for other, held in self._known.items():
                if held is not None and (held.stack_level, held.purpose) == (level, purpose):
                    self._known[other] = None
        self._known[step.profile_id] = step.profile


def plan(
    desired: Sequence[ChargingProfile],
    desired_version: int,
    held: Held,
    connector_id: int,
    reasons: Collection[Reason],
    sent_version: int | None,
) -> list[Step]:
    """The calls that make the charger hold the desired profiles, in order: the ids that go
    away cleared, then the sets from the highest stack level down (`_sets_in_order`).

    Clearing first keeps the charger within the profiles it holds (MaxChargingProfilesInstalled)
    and frees a stack level that a desired profile takes from another id (OCPP 2.0.1
    K01.FR.06 refuses a profile at the stack level and purpose of another id). It leaves no
    gap in the exclusions: what is cleared is a priority profile that ended (the exclusion
    profile beneath holds), the exclusion profile whose level a priority charge takes, or a
    period sent ahead that gives way (the cover beneath holds), or a cover no longer needed
    (the exclusion profile above holds).
    """
    if desired_version == 0:
        return []  # the scheduler has not decided anything for this EVSE yet
    asked = Reason.CONNECTED in reasons or Reason.RETRY in reasons
    if not asked and sent_version == desired_version:
        return []  # this connection already sent this version
    wanted = {profile.profile_id for profile in desired}
    clears = [
        Step(i, None)
        for i in managed_profile_ids(connector_id)
        if i not in wanted and held.may_hold(i)
    ]
    sets = [profile for profile in desired if not held.holds(profile)]
    return clears + _sets_in_order(sets, held, {step.profile_id for step in clears})


def _sets_in_order(
    sets: Sequence[ChargingProfile], held: Held, cleared: Collection[int]
) -> list[Step]:
    """The sets from the highest stack level down: where the levels grow (a charger that
    now offers more, its priority profile moving up), a profile moves off a level before
    another id takes it. Where one known to hold a level must move down instead (the levels
    shrink, and a period's slot with them), it is cleared first and set again in its turn:
    OCPP 2.0.1 K01.FR.06 would refuse the other id, and OCPP 1.6 §3.13.2 would silently
    replace it. An id not known to the connection holds nothing we can tell (nothing to
    clear: on a new connection every desired profile is set anyway)."""
    at = {
        (profile.stack_level, profile.purpose): profile.profile_id
        for profile in held.profiles()
        if profile.profile_id not in cleared
    }
    steps: list[Step] = []
    for profile in sorted(sets, key=lambda p: p.stack_level, reverse=True):
        place = (profile.stack_level, profile.purpose)
        other = at.get(place)
        if other is not None and other != profile.profile_id:
            steps.append(Step(other, None))
        at = {key: i for key, i in at.items() if i not in (profile.profile_id, other)}
        at[place] = profile.profile_id
        steps.append(Step(profile.profile_id, profile))
    return steps


def already_held(
    desired: Sequence[ChargingProfile], answers: dict[int, dict[str, Any]], held: Held
) -> list[int]:
    """Ids of desired profiles the charger holds that this version has no answer for."""
    return [
        profile.profile_id
        for profile in desired
        if held.holds(profile) and answers.get(profile.profile_id, {}).get("status") != "Accepted"
    ]


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
    held = connection.held.setdefault(evse_id, Held())
    steps = plan(
        delivery.desired,
        delivery.desired_version,
        held,
        delivery.connector_id,
        reasons,
        connection.sent_versions.get(evse_id),
    )
    version = delivery.desired_version
    answers = [
        (profile_id, "Accepted")
        for profile_id in already_held(delivery.desired, delivery.answers, held)
    ]
    for step in steps:
        if connection.outbox.closed:
            break  # the charger went; it gets everything again when it is back
        status = await _send(connection, step, delivery.connector_id)
        held.answered(step, status)
        answers.append((step.profile_id, status))
    if answers:  # the delivery's answers as one save, those it got if the charger went
        await connection.blocking(service.deliveries.record_answers, evse_id, version, answers)
    if connection.outbox.closed:
        return
    connection.sent_versions[evse_id] = version
    await connection.after_delivery(evse_id, delivery.connector_id)


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
