"""Commands about profile delivery: the profiles an EVSE should hold, the charger's
answers, and the charging sessions that end a priority charge."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import SYSTEM
from domain.application import CommandApplication
from domain.charge_points import reported_connector
from domain.charging_profiles import ChargingProfile
from domain.charging_sessions import transaction_key
from domain.delivery import ProfileDelivery
from domain.evses import evse_id_for
from domain.priority_charge import PriorityEndReason


class DeliveryCommands:
    def __init__(self, app: CommandApplication):
        self.app = app

    def _on_delivery(self, evse_id: UUID, decide: Callable[[ProfileDelivery], bool]) -> int | None:
        """Saved only when `decide` says something changed."""

        def command() -> int | None:
            delivery = self.app.delivery(evse_id)
            return self.app.commit(delivery) if decide(delivery) else None

        return self.app.retrying(command)

    def desire_profiles(
        self, evse_id: UUID, profiles: Iterable[ChargingProfile], reason: str
    ) -> int | None:
        """Record the profiles the EVSE should hold; nothing is recorded when unchanged."""
        wanted = tuple(profiles)  # tried again on a racing save: not a one-pass iterator
        return self._on_delivery(evse_id, lambda d: d.desire(wanted, reason, SYSTEM))

    def record_answer(
        self, evse_id: UUID, profile_id: int, desired_version: int, status: str
    ) -> int | None:
        return self.record_answers(evse_id, desired_version, [(profile_id, status)])

    def record_answers(
        self, evse_id: UUID, desired_version: int, answers: Sequence[tuple[int, str]]
    ) -> int | None:
        """The charger's answers to one delivery's calls (profile id, status), in the order
        they came, as one save: a fleet reconnecting after an outage sends every EVSE all
        its profiles, and a save per answer made the storm wait on the event store."""
        now = self.app.clock()

        def decide(delivery: ProfileDelivery) -> bool:
            recorded = [
                delivery.answer(profile_id, desired_version, status, now, SYSTEM)
                for profile_id, status in answers
            ]
            return any(recorded)

        return self._on_delivery(evse_id, decide)

    def request_retry(self, evse_id: UUID, attempt: int) -> int | None:
        def decide(delivery: ProfileDelivery) -> bool:
            delivery.request_retry(attempt, SYSTEM)
            return bool(delivery.pending_events)

        return self._on_delivery(evse_id, decide)

    def session_started(
        self, charge_point_id: str, connector_id: object, transaction_id: object
    ) -> int | None:
        """InvalidInput for a connector (OCPP 1.6 §6.45: > 0) or a 1.6 id out of range."""
        connector = reported_connector(connector_id, whole_charger=False)
        transaction_id = transaction_key(transaction_id)
        now = self.app.clock()
        evse_id = evse_id_for(charge_point_id, connector)

        def decide(delivery: ProfileDelivery) -> bool:
            delivery.start_session(transaction_id, now, SYSTEM)
            return True

        return self._on_delivery(evse_id, decide)

    def session_stopped(
        self, charge_point_id: str, connector_id: object, transaction_id: object
    ) -> int | None:
        """The car was unplugged: the session ends, and with it the group's priority charge.

        OCPP 1.6 StopTransaction names only the transaction; the gateway finds its
        connector (from its connection's memory or the EVSE status read model).
        """
        connector = reported_connector(connector_id, whole_charger=False)
        transaction_id = transaction_key(transaction_id)
        now = self.app.clock()
        evse_id = evse_id_for(charge_point_id, connector)

        def command() -> int | None:
            delivery = self.app.delivery(evse_id)
            if not delivery.stop_session(transaction_id, now, SYSTEM):
                return None
            changed: list[Aggregate] = [delivery]
            evse = self.app.evse(evse_id)
            if evse.group_id is not None:
                group = self.app.group(evse.group_id)
                if group.stop_priority_charge(now, PriorityEndReason.SESSION_ENDED, SYSTEM):
                    changed.append(group)
            return self.app.commit(*changed)

        return self.app.retrying(command)
