"""Simulated OCPP 1.6J chargers for the demo: they connect, charge, and obey their profiles.

Each keeps the charging profiles it is sent, works out the limit in force the
way a charger does (the highest stack level valid now, OCPP 1.6 §3.13.2), says
so on the console whenever it changes, and reports the power it draws.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import websockets
from ocpp.charge_point import snake_to_camel_case
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from chargers.profile_payloads import profile_from_ocpp16
from domain.charging_profiles import PRIORITY_ROLE, ChargingProfile, role_of
from scheduler.evaluate import change_instants, limit_at, prevailing_profile

log = logging.getLogger("smartcharge.demo")

CONFIGURATION = [
    {"key": "ChargingScheduleMaxPeriods", "readonly": True, "value": "24"},
    {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Current"},
    {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": "8"},
]
CHECK_SECONDS = 2.0
SETTLE_SECONDS = 0.3
HORIZON = timedelta(days=8)  # a weekly profile changes within a week, if ever


def utc_now() -> datetime:
    return datetime.now(UTC)


def ocpp_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


class DemoCharger(ChargePoint):
    def __init__(self, charge_point_id: str, connection: Any, announce: Any, zone: ZoneInfo):
        super().__init__(charge_point_id, connection)
        self.profiles: dict[int, ChargingProfile] = {}
        self.announce = announce
        self.zone = zone  # its group's: the console says local times, as the portals do
        self.shown: tuple[float | None, str, datetime | None] | None = None
        self._pending_check: asyncio.TimerHandle | None = None
        self.heard = False  # from the backend since connecting: till then it has no news

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        # The library hands payloads over in snake_case; the profile reads OCPP's own names.
        profile = profile_from_ocpp16(snake_to_camel_case(cs_charging_profiles))
        self.profiles[profile.profile_id] = profile
        self.check_when_settled()
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    async def on_clear_charging_profile(
        self, id: int | None = None, **_: Any
    ) -> call_result.ClearChargingProfile:
        removed = self.profiles.pop(id, None) if id is not None else None
        if id is None:
            self.profiles.clear()
        changed = removed is not None or id is None
        if changed:  # an id it does not hold (the backend clears them first) changes nothing
            self.check_when_settled()
        status = "Accepted" if changed else "Unknown"
        return call_result.ClearChargingProfile(status=status)

    @on(Action.get_configuration)
    async def on_get_configuration(self, **_: Any) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(configuration_key=CONFIGURATION)

    def limit(self) -> tuple[float | None, str, datetime | None]:
        """The limit in force now, what it comes from, and until when that holds: a
        priority charge says its end even where the limit after it is the same."""
        now = utc_now()
        profiles = list(self.profiles.values())
        words = _state_at(profiles, now)
        if words is None:
            return None, "full power, no charging profile yet", None
        return limit_at(profiles, now), words, _next_change(profiles, now, words)

    def check_when_settled(self) -> None:
        """Say what holds once the backend's calls of one change are through: it sends a
        change as several calls (the profiles sent ahead first, the one in force last),
        and what holds between them lasts milliseconds."""
        self.heard = True
        if self._pending_check is not None:
            self._pending_check.cancel()
        self._pending_check = asyncio.get_running_loop().call_later(SETTLE_SECONDS, self.check)

    def tick(self) -> None:
        """What holds now, once it has heard from the backend and no change is coming in."""
        if self.heard and self._pending_check is None:
            self.check()

    def check(self) -> None:
        self._pending_check = None
        shown = self.limit()
        if shown != self.shown:
            self.shown = shown
            _, words, until = shown
            later = f" until {_local(until, self.zone, utc_now())}" if until else ""
            self.announce(f"{self.id}/1: {words}{later}")


def _amount(limit: float | None) -> str:
    return "-" if limit is None else f"{limit:g}"


def _state_at(profiles: list[ChargingProfile], at: datetime) -> str | None:
    """'16 A, free to charge', '0 A, exclusion time' or '16 A, priority charge' at `at`."""
    prevailing = prevailing_profile(profiles, at)
    if prevailing is None:
        return None
    limit = limit_at(profiles, at)
    if role_of(prevailing.profile_id) == PRIORITY_ROLE:
        why = "priority charge"
    else:
        why = "exclusion time" if limit == 0 else "free to charge"
    return f"{_amount(limit)} {prevailing.rate_unit}, {why}"


def _next_change(profiles: list[ChargingProfile], now: datetime, words: str) -> datetime | None:
    """When what holds now changes, within the next week (None: not in it)."""
    for instant in change_instants(profiles, now, now + HORIZON)[1:]:
        if _state_at(profiles, instant) != words:
            return instant
    return None


def _local(instant: datetime, zone: ZoneInfo, now: datetime) -> str:
    """'06:20 CET', or 'Sat 11:00 CET' on another day: local time always says its zone."""
    at, today = instant.astimezone(zone), now.astimezone(zone).date()
    day = "" if at.date() == today else f"{at:%a} "
    return f"{day}{at:%H:%M} {at.tzname()}"


async def run_charger(
    url: str, charge_point_id: str, password: str, zone: ZoneInfo, stop: asyncio.Event
) -> None:
    """Connect (again after a lost connection), boot, start a session, obey until `stop`."""
    token = base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()
    while not stop.is_set():
        try:
            async with websockets.connect(
                f"{url}/{charge_point_id}",
                subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                additional_headers={"Authorization": f"Basic {token}"},
            ) as connection:
                charger = DemoCharger(charge_point_id, connection, print_flush, zone)
                await _charge(charger, stop)
        except (OSError, websockets.exceptions.WebSocketException) as error:
            log.warning("demo charger %s: %s; connecting again", charge_point_id, error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=3)


async def _charge(charger: DemoCharger, stop: asyncio.Event) -> None:
    listener = asyncio.create_task(charger.start())
    try:
        await charger.call(
            call.BootNotification(charge_point_model="Demo", charge_point_vendor="Demo")
        )
        await charger.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status="Charging")
        )
        await charger.call(
            call.StartTransaction(
                connector_id=1, id_tag="DEMO", meter_start=0, timestamp=ocpp_time(utc_now())
            )
        )
        while not stop.is_set() and not listener.done():
            charger.tick()  # profiles take effect and end with time, too
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=CHECK_SECONDS)
    finally:
        listener.cancel()


def print_flush(line: str) -> None:
    print(line, flush=True)


class DemoChargers:
    """The simulated chargers, on an asyncio loop in a thread of their own."""

    def __init__(self, url: str, chargers: list[tuple[str, str]], zone: ZoneInfo):
        self.url = url
        self.chargers = chargers
        self.zone = zone
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="demo-chargers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        await asyncio.gather(
            *(
                run_charger(self.url, cp, password, self.zone, self._stop)
                for cp, password in self.chargers
            )
        )
