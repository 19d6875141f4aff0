"""OCPP 2.1: a 2.0.1 station's messages, and what 2.1 adds that a home charger needs.

What a station sends is answered as in 2.0.1 (`v201.py`), checked against the 2.1
schemas. Our calls add:

- the 2.1 device model: besides SmartChargingCtrlr's limits, SupportsUseLocalTime,
  SupportsRandomizedDelay and SupportedAdditionalPurposes (2.1 Part 2, appendix), and
  the station's clock (ClockCtrlr.TimeZone);
- the station's clock set to its group's zone (SetVariables ClockCtrlr.TimeZone) where it
  keeps another, so that a `useLocalTime` schedule is read in the group's local time;
- SetChargingProfile with `useLocalTime` and `randomizedDelay`, and a priority charge as
  a `PriorityCharging` profile, put to use for the running transaction with
  UsePriorityCharging.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from ocpp.routing import on
from ocpp.v21 import call, call_result
from ocpp.v21.enums import Action

from chargers.connection import CallFailed
from chargers.profile_payloads import ocpp21_payload
from chargers.v201 import (
    PERIODS,
    RATE_UNIT,
    SMART_CHARGING,
    STACK_LEVEL,
    ChargePoint201,
    max_profiles_from,
    smart_charging_variables,
)
from domain.capabilities import ChargerCapabilities, ChargerFeatures, Reported
from domain.errors import NotFound

log = logging.getLogger(__name__)

# 2.1 Part 2, appendix: SmartChargingCtrlr's 2.1 variables, and the station's zone.
LOCAL_TIME = "SupportsUseLocalTime"
RANDOMIZED_DELAY = "SupportsRandomizedDelay"
PURPOSES = "SupportedAdditionalPurposes"
CLOCK = "ClockCtrlr"
TIME_ZONE = "TimeZone"

SMART_CHARGING_VARIABLES = (PERIODS, RATE_UNIT, STACK_LEVEL, LOCAL_TIME, RANDOMIZED_DELAY, PURPOSES)


def _wanted() -> list[dict[str, Any]]:
    wanted = smart_charging_variables(SMART_CHARGING_VARIABLES)
    return [*wanted, {"component": {"name": CLOCK}, "variable": {"name": TIME_ZONE}}]


def capabilities_from(results: list[dict[str, Any]]) -> ChargerCapabilities:
    """The variables the station knows (attributeStatus Accepted); a variable it does not
    know (UnknownVariable, a 2.0.1 firmware behind a 2.1 handshake) is a no."""
    values: dict[tuple[str | None, str | None], Any] = {
        (result.get("component", {}).get("name"), result.get("variable", {}).get("name")): (
            result.get("attribute_value")
        )
        for result in results
        if result.get("attribute_status") == "Accepted"
        and not result.get("variable", {}).get("instance")
    }

    def smart(name: str) -> Any:
        return values.get((SMART_CHARGING, name))

    features = ChargerFeatures.from_station(
        smart(LOCAL_TIME), smart(RANDOMIZED_DELAY), smart(PURPOSES), values.get((CLOCK, TIME_ZONE))
    )
    return ChargerCapabilities.from_charger(
        Reported(PERIODS, smart(PERIODS)),
        Reported(RATE_UNIT, smart(RATE_UNIT)),
        Reported(STACK_LEVEL, smart(STACK_LEVEL)),
        features,
        max_profiles_from(results),
    )


class ChargePoint21(ChargePoint201):
    protocol = "ocpp2.1"
    ocpp_version = "2.1"
    actions = Action
    results = call_result
    calls = call
    payload = staticmethod(ocpp21_payload)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.capabilities: ChargerCapabilities | None = None  # as read on this connection
        self._activated: set[tuple[int, str]] = set()  # (profile id, transaction) told to use
        self._zones_refused: set[str] = set()  # on this connection

    # --- the station's calls that 2.1 adds --------------------------------------------------

    @on(Action.notify_priority_charging)
    def on_notify_priority_charging(
        self, transaction_id: str, activated: bool, **_: Any
    ) -> call_result.NotifyPriorityCharging:
        # The driver started or stopped priority charging at the station: its own choice,
        # which the group's priority charge (the home user's button) does not follow.
        log.info("%s: priority charging %s at the station", self.id, "on" if activated else "off")
        return call_result.NotifyPriorityCharging()

    # --- our calls ---------------------------------------------------------------------------

    async def read_capabilities(self) -> ChargerCapabilities:
        answer = await self.request(call.GetVariables(get_variable_data=_wanted()))
        self.capabilities = capabilities_from(answer.get_variable_result)
        return self.capabilities

    async def set_clock_zone(self, zone: str) -> bool:
        """SetVariables ClockCtrlr.TimeZone; True when the station took it (Accepted, or
        RebootRequired: it keeps the zone, and reads it after its next start)."""
        wanted = {
            "component": {"name": CLOCK},
            "variable": {"name": TIME_ZONE},
            "attribute_value": zone,
        }
        try:
            answer = await self.request(call.SetVariables(set_variable_data=[wanted]))
        except CallFailed as failure:
            log.warning("%s: clock zone not set (%s): %s", self.id, failure.status, failure)
            return False
        statuses = [result.get("attribute_status") for result in answer.set_variable_result]
        return bool(statuses) and statuses[0] in ("Accepted", "RebootRequired")

    async def use_priority_charging(self, transaction_id: str) -> str:
        """UsePriorityCharging for a running transaction: the station applies our
        PriorityCharging profile to it (Accepted), or holds none (NoProfile)."""
        answer = await self.request(
            call.UsePriorityCharging(transaction_id=transaction_id, activate=True)
        )
        return str(answer.status)

    # --- after a delivery (chargers/delivery.deliver) -----------------------------------------

    async def after_delivery(self, evse_id: UUID, connector_id: int) -> None:
        await self._activate_priority(evse_id, connector_id)
        await self._align_clock()

    async def session_began(self, connector_id: int) -> None:
        evse_id = self.evses.get(connector_id)
        if evse_id is not None:
            self.outbox.put(lambda: self._activate_priority(evse_id, connector_id))

    async def _activate_priority(self, evse_id: UUID, connector_id: int) -> None:
        """A PriorityCharging profile is used only once the transaction is told to (2.1
        UsePriorityChargingRequest); it ends by itself at its validTo."""
        held = self.held.get(evse_id)
        transaction = self._transaction_at(connector_id)
        if held is None or transaction is None:
            return
        for profile in held.profiles():
            key = (profile.profile_id, transaction)
            if profile.purpose != "PriorityCharging" or key in self._activated:
                continue
            try:
                status = await self.use_priority_charging(transaction)
            except CallFailed as failure:
                log.warning("%s: priority not put to use (%s)", self.id, failure.status)
                continue
            log.info("%s: UsePriorityCharging %s: %s", self.id, transaction, status)
            if status == "Accepted":
                self._activated.add(key)

    def _recorded_capabilities(self) -> ChargerCapabilities | None:
        """What an earlier connection read (a known station is not asked on every connect)."""
        try:
            return self.context.service.charge_point(self.id).capabilities()
        except NotFound:
            return None

    def _transaction_at(self, connector_id: int) -> str | None:
        running = [tx for tx, connector in self.transactions.items() if connector == connector_id]
        return running[-1] if running else None

    async def _align_clock(self) -> None:
        """Set the station's zone to its groups' one where it keeps another; the capabilities
        recorded then say so, and the scheduler sends useLocalTime schedules (until then, and
        if the station refuses, UTC ones)."""
        found = self.capabilities or await self.blocking(self._recorded_capabilities)
        if found is None or not found.local_time:
            return
        rows = await self.blocking(self.context.queries.evses_of_charger, self.id)
        zones = {row["group_time_zone"] for row in rows if row.get("group_time_zone")}
        if len(zones) != 1:
            return  # no group, or groups in several zones: one clock cannot serve them
        (zone,) = zones
        if zone == found.clock_zone or zone in self._zones_refused:
            return
        if not await self.set_clock_zone(zone):
            self._zones_refused.add(zone)
            return
        self.capabilities = ChargerCapabilities.from_charger(
            Reported(PERIODS, found.max_periods),
            Reported(RATE_UNIT, ",".join(found.rate_units)),
            Reported(STACK_LEVEL, found.max_stack_level),
            features=ChargerFeatures(
                found.local_time, found.randomized_delay, found.priority_charging, zone
            ),
            max_profiles=Reported("max_profiles", found.max_profiles),
        ).with_notes(found.notes)
        await self._command(
            "clock zone", self.context.service.chargers.charger_capabilities, self.id,
            self.capabilities,
        )  # fmt: skip
