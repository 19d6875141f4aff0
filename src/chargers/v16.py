"""OCPP 1.6J: what a charger sends us, and the smart-charging calls we send it."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from chargers.connection import ChargerConnection, wire_form
from chargers.profile_payloads import ocpp16_payload
from domain.capabilities import ChargerCapabilities, Reported
from domain.charge_points import reported_connector
from domain.charging_profiles import ChargingProfile

log = logging.getLogger(__name__)

# OCPP 1.6 §9.4: the configuration keys that bound what a profile may hold.
MAX_PERIODS = "ChargingScheduleMaxPeriods"
RATE_UNITS = "ChargingScheduleAllowedChargingRateUnit"
MAX_STACK_LEVEL = "ChargeProfileMaxStackLevel"
# §9.4.5: the most profiles the Charge Point keeps installed at a time.
MAX_PROFILES = "MaxChargingProfilesInstalled"

ACCEPTED = {"status": "Accepted"}
MAX_TRANSACTION_ID = 2**31 - 1  # a JSON integer any charger can hold


def capabilities_from(configuration_keys: list[dict[str, Any]] | None) -> ChargerCapabilities:
    """§6.24 GetConfiguration.conf: the keys' values as text; nonsense becomes a default."""
    values = {item.get("key"): item.get("value") for item in configuration_keys or []}
    periods, units, level, profiles = (
        Reported(key, values.get(key))
        for key in (MAX_PERIODS, RATE_UNITS, MAX_STACK_LEVEL, MAX_PROFILES)
    )
    return ChargerCapabilities.from_charger(periods, units, level, max_profiles=profiles)


class ChargePoint16(ChargerConnection):
    protocol = "ocpp1.6"
    ocpp_version = "1.6"
    actions = Action
    results = call_result

    # --- the charger's calls (§4) ---------------------------------------------------------

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **details: Any
    ) -> call_result.BootNotification:
        await self.record_boot(
            charge_point_vendor, charge_point_model, details.get("firmware_version")
        )
        return call_result.BootNotification(
            current_time=self.now(), interval=self.context.heartbeat_interval, status="Accepted"
        )

    @after(Action.boot_notification)
    def after_boot_notification(self, **_: Any) -> None:
        # After our answer is sent: a new firmware may allow more in a profile.
        self.outbox.put(self.report_capabilities)

    @on(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=self.now())

    @on(Action.status_notification)
    async def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **_: Any
    ) -> call_result.StatusNotification:
        await self.record_status(
            connector_id, status, None if error_code == "NoError" else error_code
        )
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str) -> call_result.Authorize:
        # Home chargers: whoever plugs in at home may charge; the backend keeps no
        # id tags, so every idTag is accepted (§4.1 leaves the decision to us).
        return call_result.Authorize(id_tag_info=ACCEPTED)

    @on(Action.start_transaction)
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, **_: Any
    ) -> call_result.StartTransaction:
        # §4.8: the Central System assigns the transaction id; any idTag is accepted (above).
        # §6.45: connectorId > 0; one out of range gets a CALLERROR, and no id.
        self.checked(reported_connector, connector_id, whole_charger=False)
        transaction_id = secrets.randbelow(MAX_TRANSACTION_ID) + 1
        await self.start_session(connector_id, transaction_id)
        return call_result.StartTransaction(transaction_id=transaction_id, id_tag_info=ACCEPTED)

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self, transaction_id: int, **details: Any
    ) -> call_result.StopTransaction:
        # §4.10 names only the transaction; its connector is found from our memory.
        await self.stop_session(transaction_id, None)
        if details.get("id_tag") is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(id_tag_info=ACCEPTED)

    @on(Action.meter_values)
    def on_meter_values(self, connector_id: int, **_: Any) -> call_result.MeterValues:
        # Not kept, but checked like every connector number (§6.31: 0 is the main meter).
        self.checked(reported_connector, connector_id)
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="UnknownVendorId")  # §4.3: no vendor extensions

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, status: str) -> call_result.FirmwareStatusNotification:
        log.info("%s: firmware %s", self.id, status)
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, status: str) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    # --- our calls (§5) ---------------------------------------------------------------------

    async def set_profile(self, profile: ChargingProfile, connector_id: int) -> str:
        """§5.16: a profile with the same chargingProfileId replaces the installed one."""
        payload = ocpp16_payload(profile, connector_id)
        answer = await self.request(
            call.SetChargingProfile(
                connector_id=payload["connectorId"],
                cs_charging_profiles=payload["csChargingProfiles"],
            )
        )
        return str(answer.status)

    async def clear_profile(self, profile_id: int) -> str:
        """§5.5 by id only: a charger holds each of our ids on one connector at most."""
        answer = await self.request(call.ClearChargingProfile(id=profile_id))
        # §7.21 Unknown: no such profile, which is what we wanted.
        return "Accepted" if answer.status in ("Accepted", "Unknown") else str(answer.status)

    async def read_capabilities(self) -> ChargerCapabilities:
        answer = await self.request(
            call.GetConfiguration(key=[MAX_PERIODS, RATE_UNITS, MAX_STACK_LEVEL, MAX_PROFILES])
        )
        return capabilities_from(answer.configuration_key)

    async def composite_schedule(self, connector_id: int, duration: int) -> dict[str, Any]:
        """§5.7: what the charger will do from now for `duration` seconds, in its words."""
        answer = await self.request(
            call.GetCompositeSchedule(connector_id=connector_id, duration=duration)
        )
        return wire_form(answer)
