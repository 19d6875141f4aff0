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
from collections.abc import Callable
from typing import Any

from eventsourcing.utils import get_topic

from domain.charge_points import ChargePoint
from domain.delivery import ProfileDelivery
from domain.evses import Evse
from domain.service import SmartCharging
from projections.follower import Batch, EventFollower

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
    """Hands each followed event, with its position, to the gateway's asyncio loop."""

    def __init__(self, app: SmartCharging, loop: asyncio.AbstractEventLoop, handler: Handler):
        self.app = app
        self.loop = loop
        self.handler = handler
        self.position: int = 0
        self._follower: EventFollower | None = None

    def start(self, position: int) -> None:
        """Follow the events recorded after `position` (again from where it got, if the
        database goes away for a while)."""
        self.position = position
        self._follower = EventFollower(
            self.app,
            self._hand_over,
            lambda: self.position,
            topics=[get_topic(kind) for kind in FOLLOWED],
            name="gateway-follower",
        ).start()

    def stop(self) -> None:
        if self._follower is not None:
            self._follower.stop()

    def _hand_over(self, batch: Batch) -> None:
        for event, tracking in batch:
            try:
                self.loop.call_soon_threadsafe(self.handler, event, tracking.notification_id)
            except RuntimeError:  # the loop closed: the gateway is stopping
                return
            self.position = tracking.notification_id
