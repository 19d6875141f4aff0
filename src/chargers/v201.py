"""OCPP 2.0.1: what a charging station sends us, and the smart-charging calls we send it.

Our EVSE's `connector_id` is the station's evseId: profiles and status are per EVSE.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from chargers.connection import ChargerConnection, wire_form
from chargers.profile_payloads import ocpp201_payload
from domain.capabilities import ChargerCapabilities, Reported
from domain.charge_points import reported_connector
from domain.charging_profiles import ChargingProfile
from domain.charging_sessions import transaction_key

log = logging.getLogger(__name__)

# 2.0.1 Part 2, Appendix (SmartChargingCtrlr): the counterparts of 1.6's §9.4 keys.
SMART_CHARGING = "SmartChargingCtrlr"
PERIODS = "PeriodsPerSchedule"
RATE_UNIT = "RateUnit"
STACK_LEVEL = "ProfileStackLevel"
# The counterpart of 1.6's MaxChargingProfilesInstalled (§9.4.5): SmartChargingCtrlr.Entries,
# instance ChargingProfiles, whose Actual counts the profiles installed now and whose maxLimit
# is the most the station keeps. maxLimit is a characteristic, which only a report
# (GetReport, NotifyReport) carries; GetVariables returns attributes, so the one call asks
# for the attribute that bounds the variable, MaxSet. Actual is no limit and is not read.
ENTRIES = "Entries"
PROFILE_ENTRIES = "ChargingProfiles"
MAX_SET = "MaxSet"

ACCEPTED = {"status": "Accepted"}


def smart_charging_variables(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """GetVariableData for SmartChargingCtrlr's `names` (their Actual value) and its
    Entries(ChargingProfiles) maxima (MaxSet)."""
    wanted: list[dict[str, Any]] = [
        {"component": {"name": SMART_CHARGING}, "variable": {"name": name}} for name in names
    ]
    entries = {"name": ENTRIES, "instance": PROFILE_ENTRIES}
    return [
        *wanted,
        {"component": {"name": SMART_CHARGING}, "variable": entries, "attribute_type": MAX_SET},
    ]


def max_profiles_from(results: list[dict[str, Any]]) -> Reported:
    """The station's Entries(ChargingProfiles) MaxSet, if it answered it (Accepted)."""
    for result in results:
        variable = result.get("variable", {})
        if (
            result.get("attribute_status") == "Accepted"
            and result.get("attribute_type", "Actual") == MAX_SET
            and (variable.get("name"), variable.get("instance")) == (ENTRIES, PROFILE_ENTRIES)
        ):
            return Reported(f"{ENTRIES}[{PROFILE_ENTRIES}]", result.get("attribute_value"))
    return Reported(f"{ENTRIES}[{PROFILE_ENTRIES}]", None)


def capabilities_from(results: list[dict[str, Any]]) -> ChargerCapabilities:
    """The variables the station knows (attributeStatus Accepted); nonsense becomes a default."""
    values = {
        result.get("variable", {}).get("name"): result.get("attribute_value")
        for result in results
        if result.get("attribute_status") == "Accepted"
        and not result.get("variable", {}).get("instance")
    }
    periods, unit, level = (
        Reported(name, values.get(name)) for name in (PERIODS, RATE_UNIT, STACK_LEVEL)
    )
    return ChargerCapabilities.from_charger(
        periods, unit, level, max_profiles=max_profiles_from(results)
    )


class ChargePoint201(ChargerConnection):
    protocol = "ocpp2.0.1"
    ocpp_version = "2.0.1"
    actions = Action
    results = call_result
    # Our calls and the profiles they carry, in this version's shapes (2.1 keeps the names).
    calls: Any = call
    payload = staticmethod(ocpp201_payload)

    # --- the station's calls ---------------------------------------------------------------

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **_: Any
    ) -> call_result.BootNotification:
        await self.record_boot(
            charging_station["vendor_name"],
            charging_station["model"],
            charging_station.get("firmware_version"),
        )
        return call_result.BootNotification(
            current_time=self.now(), interval=self.context.heartbeat_interval, status="Accepted"
        )

    @after(Action.boot_notification)
    def after_boot_notification(self, **_: Any) -> None:
        self.outbox.put(self.report_capabilities)

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=self.now())

    @on(Action.status_notification)
    async def on_status_notification(
        self, connector_status: str, evse_id: int, **_: Any
    ) -> call_result.StatusNotification:
        await self.record_status(evse_id, connector_status, None)
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        # Home chargers: every idToken is accepted; the backend keeps none.
        return call_result.Authorize(id_token_info=ACCEPTED)

    @on(Action.transaction_event)
    async def on_transaction_event(
        self, event_type: str, transaction_info: dict[str, Any], **details: Any
    ) -> call_result.TransactionEvent:
        # The station's id is text: cleaned, a NUL in it costs nothing (domain.charging_sessions).
        transaction_id = self.checked(transaction_key, transaction_info["transaction_id"])
        evse = details.get("evse") or {}
        evse_id = evse.get("id")
        if event_type == "Ended":
            await self.stop_session(transaction_id, evse_id)
        elif evse_id is not None and str(transaction_id) not in self.transactions:
            # Started, or Updated for a session begun before a reconnect (recorded once).
            await self.start_session(evse_id, transaction_id)
        if details.get("id_token") is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info=ACCEPTED)

    @on(Action.meter_values)
    def on_meter_values(self, evse_id: int, **_: Any) -> call_result.MeterValues:
        self.checked(reported_connector, evse_id)  # not kept; 0 is the station's main meter
        return call_result.MeterValues()

    @on(Action.notify_event)
    def on_notify_event(self, **_: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on(Action.notify_report)
    def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on(Action.security_event_notification)
    def on_security_event(self, type: str, **_: Any) -> call_result.SecurityEventNotification:
        log.info("%s: security event %s", self.id, type)
        return call_result.SecurityEventNotification()

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, status: str, **_: Any) -> call_result.FirmwareStatusNotification:
        log.info("%s: firmware %s", self.id, status)
        return call_result.FirmwareStatusNotification()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="UnknownVendorId")

    # --- our calls ---------------------------------------------------------------------------

    async def set_profile(self, profile: ChargingProfile, connector_id: int) -> str:
        """K01.FR.05: the same id replaces the installed profile; a new id with the same
        stack level and purpose would be rejected (K01.FR.06), so ids are fixed per role."""
        payload = self.payload(profile, connector_id)
        answer = await self.request(
            self.calls.SetChargingProfile(
                evse_id=payload["evseId"], charging_profile=payload["chargingProfile"]
            )
        )
        return str(answer.status)

    async def clear_profile(self, profile_id: int) -> str:
        answer = await self.request(self.calls.ClearChargingProfile(charging_profile_id=profile_id))
        # Unknown: the station holds no such profile, which is what we wanted.
        return "Accepted" if answer.status in ("Accepted", "Unknown") else str(answer.status)

    async def read_capabilities(self) -> ChargerCapabilities:
        wanted = smart_charging_variables((PERIODS, RATE_UNIT, STACK_LEVEL))
        answer = await self.request(call.GetVariables(get_variable_data=wanted))
        return capabilities_from(answer.get_variable_result)

    async def composite_schedule(self, connector_id: int, duration: int) -> dict[str, Any]:
        answer = await self.request(
            self.calls.GetCompositeSchedule(duration=duration, evse_id=connector_id)
        )
        return wire_form(answer)
