"""Chargers for the gateway tests, built on the `ocpp` library's own ChargePoint classes.

Each keeps every CALL it receives as sent on the wire (action and raw JSON
payload), so a test can compare payloads byte for byte with what the
scheduler's profiles render to.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from dataclasses import dataclass
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call_result as result21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect

CONFIGURATION = [
    {"key": "ChargingScheduleMaxPeriods", "readonly": True, "value": "24"},
    {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Current,Power"},
    {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": "8"},
]


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class Received:
    action: str
    payload: dict[str, Any]


class Recording:
    """Mixed into a ChargePoint: keeps received CALLs; may stay silent to test timeouts."""

    set_profile_answer = "Accepted"
    silent = False

    def _setup_recording(self) -> None:
        self.received: asyncio.Queue[Received] = asyncio.Queue()
        self.log: list[Received] = []
        self.backlog: list[Received] = []  # received, not yet expected

    async def route_message(self, raw_msg: str) -> None:
        frame = json.loads(raw_msg)
        if frame[0] == 2:
            received = Received(frame[2], frame[3])
            self.log.append(received)
            self.received.put_nowait(received)
            if self.silent:
                return
        await super().route_message(raw_msg)  # type: ignore[misc]

    async def expect(self, action: str, timeout: float = 10.0) -> dict[str, Any]:
        """The payload of the first received CALL of `action` not yet expected."""
        for received in self.backlog:
            if received.action == action:
                self.backlog.remove(received)
                return received.payload
        async with asyncio.timeout(timeout):
            while True:
                received = await self.received.get()
                if received.action == action:
                    return received.payload
                self.backlog.append(received)

    async def expect_set_profiles(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        return [await self.expect("SetChargingProfile", timeout) for _ in range(count)]


class Charger16(Recording, ChargePoint16):
    """Answers GetConfiguration with `configuration` (CONFIGURATION unless a subclass says)."""

    configuration = CONFIGURATION

    def __init__(self, charge_point_id: str, connection: ClientConnection):
        super().__init__(charge_point_id, connection, response_timeout=10)
        self._setup_recording()

    @on("SetChargingProfile")
    def on_set_charging_profile(self, **_: Any) -> result16.SetChargingProfile:
        return result16.SetChargingProfile(status=self.set_profile_answer)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **_: Any) -> result16.ClearChargingProfile:
        return result16.ClearChargingProfile(status="Accepted")

    @on("GetConfiguration")
    def on_get_configuration(self, **_: Any) -> result16.GetConfiguration:
        return result16.GetConfiguration(configuration_key=self.configuration)

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, **_: Any
    ) -> result16.GetCompositeSchedule:
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start="2030-01-07T00:00:00Z",
            charging_schedule={
                "duration": duration,
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
            },
        )


class Charger201(Recording, ChargePoint201):
    def __init__(self, charge_point_id: str, connection: ClientConnection):
        super().__init__(charge_point_id, connection, response_timeout=10)
        self._setup_recording()

    @on("SetChargingProfile")
    def on_set_charging_profile(self, **_: Any) -> result201.SetChargingProfile:
        return result201.SetChargingProfile(status=self.set_profile_answer)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **_: Any) -> result201.ClearChargingProfile:
        return result201.ClearChargingProfile(status="Unknown")

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]]) -> result201.GetVariables:
        """SmartChargingCtrlr's limits; a variable it does not keep (Entries) is unknown."""
        values = {"PeriodsPerSchedule": "12", "RateUnit": "A,W", "ProfileStackLevel": "4"}
        results = []
        for item in get_variable_data:
            known = item["variable"]["name"] in values and "instance" not in item["variable"]
            result = {
                "attribute_status": "Accepted" if known else "UnknownVariable",
                "component": item["component"],
                "variable": item["variable"],
            }
            if known:
                result["attribute_value"] = values[item["variable"]["name"]]
            results.append(result)
        return result201.GetVariables(get_variable_result=results)


# An OCPP 2.1 station's device model as it answers GetVariables: (component, variable) -> value.
VARIABLES_21 = {
    ("SmartChargingCtrlr", "PeriodsPerSchedule"): "24",
    ("SmartChargingCtrlr", "RateUnit"): "A,W",
    ("SmartChargingCtrlr", "ProfileStackLevel"): "4",
    ("SmartChargingCtrlr", "SupportsUseLocalTime"): "true",
    ("SmartChargingCtrlr", "SupportsRandomizedDelay"): "true",
    ("SmartChargingCtrlr", "SupportedAdditionalPurposes"): "PriorityCharging",
    ("ClockCtrlr", "TimeZone"): "UTC",
}


class Charger21(Recording, ChargePoint21):
    """A 2.1 station holding `variables` (VARIABLES_21 unless given); SetVariables changes
    them where `settable` names the variable."""

    def __init__(self, charge_point_id: str, connection: ClientConnection):
        super().__init__(charge_point_id, connection, response_timeout=10)
        self._setup_recording()
        self.variables = dict(VARIABLES_21)
        self.settable = {("ClockCtrlr", "TimeZone")}
        self.priority_answer = "Accepted"

    @on("SetChargingProfile")
    def on_set_charging_profile(self, **_: Any) -> result21.SetChargingProfile:
        return result21.SetChargingProfile(status=self.set_profile_answer)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **_: Any) -> result21.ClearChargingProfile:
        return result21.ClearChargingProfile(status="Unknown")

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]]) -> result21.GetVariables:
        results = []
        for item in get_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            known = key in self.variables
            result = {
                "attribute_status": "Accepted" if known else "UnknownVariable",
                "component": item["component"],
                "variable": item["variable"],
            }
            if known:
                result["attribute_value"] = self.variables[key]
            results.append(result)
        return result21.GetVariables(get_variable_result=results)

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]]) -> result21.SetVariables:
        results = []
        for item in set_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            if key in self.settable:
                self.variables[key] = item["attribute_value"]
            results.append(
                {
                    "attribute_status": "Accepted" if key in self.settable else "Rejected",
                    "component": item["component"],
                    "variable": item["variable"],
                }
            )
        return result21.SetVariables(set_variable_result=results)

    @on("UsePriorityCharging")
    def on_use_priority_charging(self, **_: Any) -> result21.UsePriorityCharging:
        return result21.UsePriorityCharging(status=self.priority_answer)

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, evse_id: int, **_: Any) -> result21.GetCompositeSchedule:
        return result21.GetCompositeSchedule(status="Rejected")


@dataclass
class Session:
    charger: Any
    connection: ClientConnection
    task: asyncio.Task[None]

    async def close(self) -> None:
        await self.connection.close()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def open_charger(
    url: str,
    charge_point_id: str,
    password: str,
    protocol: str = "ocpp1.6",
    *,
    tls: ssl.SSLContext | None = None,
) -> Session:
    """Connect a library charger to `url`/{id} with Basic auth, and start reading."""
    connection = await connect(
        f"{url}/{charge_point_id}",
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=basic_auth(charge_point_id, password),
        ssl=tls,
        open_timeout=10,
    )
    kind = {"ocpp1.6": Charger16, "ocpp2.1": Charger21}.get(protocol, Charger201)
    charger = kind(charge_point_id, connection)
    task = asyncio.create_task(charger.start())
    return Session(charger, connection, task)
