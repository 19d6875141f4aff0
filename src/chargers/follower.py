"""Following the event store for the events that concern connected chargers.

The subscription (PostgreSQL LISTEN/NOTIFY, through eventsourcing's
ApplicationSubscription) blocks, so it runs in a thread of its own; each event
is handed to the gateway's asyncio loop with `call_soon_threadsafe`. Nothing
is tracked: on a restart every charger reconnects and gets all its desired
profiles again, so the follower starts at the end of the log as it was before
the gateway began to accept chargers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.projection import ApplicationSubscription
from eventsourcing.utils import get_topic

from domain.charge_points import ChargePoint
from domain.delivery import ProfileDelivery
from domain.evses import Evse
from domain.service import SmartCharging

log = logging.getLogger(__name__)

# The event classes the @event decorator makes, which type checkers do not see.
PROFILES_DESIRED: type = ProfileDelivery.ProfilesDesired  # type: ignore[attr-defined]
RETRY_REQUESTED: type = ProfileDelivery.RetryRequested  # type: ignore[attr-defined]
CHARGER_CONNECTED: type = ChargePoint.Connected  # type: ignore[attr-defined]
EVSE_REGISTERED: type = Evse.Registered  # type: ignore[attr-defined]
EVSE_DEREGISTERED: type = Evse.Deregistered  # type: ignore[attr-defined]

FOLLOWED = (
    PROFILES_DESIRED,
    RETRY_REQUESTED,
    CHARGER_CONNECTED,
    EVSE_REGISTERED,
    EVSE_DEREGISTERED,
)
RESUBSCRIBE_AFTER = (0.5, 1, 2, 5, 10)  # seconds, when the database connection is lost

Handler = Callable[[Any, int], None]


class EventFollower:
    def __init__(self, app: SmartCharging, loop: asyncio.AbstractEventLoop, handler: Handler):
        self.app = app
        self.loop = loop
        self.handler = handler
        self.position: int = 0
        self._stopping = threading.Event()
        self._subscription: ApplicationSubscription[UUID] | None = None
        self._thread = threading.Thread(target=self._run, name="gateway-follower", daemon=True)

    def start(self, position: int) -> None:
        """Follow the events recorded after `position`."""
        self.position = position
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._follow()
                failures = 0
            except Exception:
                log.exception("lost the event store; following again from %d", self.position)
                pause = RESUBSCRIBE_AFTER[min(failures, len(RESUBSCRIBE_AFTER) - 1)]
                failures += 1
                self._stopping.wait(pause)

    def _follow(self) -> None:
        topics = [get_topic(kind) for kind in FOLLOWED]
        with ApplicationSubscription(self.app, gt=self.position, topics=topics) as subscription:
            self._subscription = subscription
            if self._stopping.is_set():
                return
            for event, tracking in subscription:
                self.position = tracking.notification_id
                self._hand_over(event, tracking.notification_id)
                if self._stopping.is_set():
                    return

    def _hand_over(self, event: Any, position: int) -> None:
        try:
            self.loop.call_soon_threadsafe(self.handler, event, position)
        except RuntimeError:  # the loop closed: the gateway is stopping
            self._stopping.set()
