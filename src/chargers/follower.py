"""Following the event store for the events that concern connected chargers.

The shared follower (PostgreSQL LISTEN/NOTIFY, through eventsourcing's
ApplicationSubscription) runs in threads of its own; each event is handed to
the gateway's asyncio loop with `call_soon_threadsafe`. Nothing
is tracked: on a restart every charger reconnects and gets all its desired
profiles again, so the follower starts at the end of the log as it was before
the gateway began to accept chargers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.charge_points import ChargePoint
from domain.delivery import ProfileDelivery
from domain.evses import Evse
from domain.service import SmartCharging
from projections.faults import FaultLog
from projections.follower import Batch, EventFollower, StuckEvent

log = logging.getLogger(__name__)

# The event classes the @event decorator makes, which type checkers do not see.
PROFILES_DESIRED: type = ProfileDelivery.ProfilesDesired  # type: ignore[attr-defined]
RETRY_REQUESTED: type = ProfileDelivery.RetryRequested  # type: ignore[attr-defined]
CHARGER_CONNECTED: type = ChargePoint.Connected  # type: ignore[attr-defined]
EVSE_REGISTERED: type = Evse.Registered  # type: ignore[attr-defined]
EVSE_REREGISTERED: type = Evse.Reregistered  # type: ignore[attr-defined]
EVSE_DEREGISTERED: type = Evse.Deregistered  # type: ignore[attr-defined]

FOLLOWED = (
    PROFILES_DESIRED,
    RETRY_REQUESTED,
    CHARGER_CONNECTED,
    EVSE_REGISTERED,
    EVSE_REREGISTERED,
    EVSE_DEREGISTERED,
)
Handler = Callable[[Any, int], None]


class GatewayFollower:
    """Hands each followed event, with its position, to the gateway's asyncio loop.

    An event the gateway cannot handle is recorded as stuck (follower "gateway")
    and the next one is handled as usual: one charger's odd event never stops
    the deliveries to the others.
    """

    name = "gateway"

    def __init__(
        self,
        app: SmartCharging,
        loop: asyncio.AbstractEventLoop,
        handler: Handler,
        faults: FaultLog,
        concerns: Callable[[str, UUID], bool],
    ):
        """`concerns(topic, originator_id)`: whether an event may concern this gateway, asked
        before it is decoded (Registry.concerns)."""
        self.app = app
        self.loop = loop
        self.handler = handler
        self.faults = faults
        self.concerns = concerns
        self.position: int = 0
        self.follower: EventFollower | None = None

    def start(self, position: int) -> None:
        """Follow the events recorded after `position` (again from where it got, if the
        database goes away for a while)."""
        self.position = position
        self.follower = EventFollower(
            self.app,
            self._hand_over,
            lambda: self.position,
            on_stuck=self._stuck,
            topics=[get_topic(kind) for kind in FOLLOWED],
            name=self.name,
            wanted=self._concerns,
        ).start()

    def _concerns(self, notification: Notification) -> bool:
        originator_id = notification.originator_id
        if not isinstance(originator_id, UUID):  # the recorder's ids may be text
            originator_id = UUID(originator_id)
        return self.concerns(notification.topic, originator_id)

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()

    def _hand_over(self, batch: Batch) -> None:
        for event, tracking in batch:
            try:
                self.loop.call_soon_threadsafe(self._handle, event, tracking.notification_id)
            except RuntimeError:  # the loop closed: the gateway is stopping
                return
            self.position = tracking.notification_id

    def _handle(self, event: Any, position: int) -> None:
        """On the gateway's loop."""
        try:
            self.handler(event, position)
        except Exception as error:
            topic = get_topic(type(event))
            stuck = StuckEvent(self.name, position, topic, event.originator_id, error)
            log.exception("gateway could not handle event %d (%s); going on", position, topic)
            self.loop.run_in_executor(None, self._record, stuck)

    def _stuck(self, stuck: StuckEvent) -> None:
        self._record(stuck)
        self.position = stuck.position

    def _record(self, stuck: StuckEvent) -> None:
        try:
            self.faults.stuck(stuck)
        except Exception:  # the log says it; the gateway goes on either way
            log.exception("stuck event %d not recorded", stuck.position)
