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


def variable_results(wanted: list[dict[str, Any]], values: dict[str, str]) -> list[dict[str, Any]]:
    """GetVariables' answer for a station that keeps `values` (by variable name, no
    instances): Accepted with the value, else UnknownVariable."""
    results = []
    for item in wanted:
        known = item["variable"]["name"] in values and "instance" not in item["variable"]
        result = {
            "attribute_status": "Accepted" if known else "UnknownVariable",
            "component": item["component"],
            "variable": item["variable"],
        }
        if known:
            result["attribute_value"] = values[item["variable"]["name"]]
        results.append(result)
    return results


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
        return result201.GetVariables(
            get_variable_result=variable_results(get_variable_data, values)
        )


class Installed:
    """The profiles a charger holds, by id, kept as a charger keeps them: the same id replaces
    (OCPP 1.6 §3.13.2, 2.0.1 K01.FR.05); a new id at the stack level and purpose of another
    replaces it under 1.6 and is refused under 2.0.1 (K01.FR.06, `strict`); one more than
    `most` is refused (MaxChargingProfilesInstalled). Every refusal is kept."""

    def __init__(self, most: int | None = None, *, strict: bool = False):
        self.most = most
        self.strict = strict
        self.profiles: dict[int, dict[str, Any]] = {}
        self.refused: list[tuple[int, str]] = []
        self.most_held = 0

    def set(self, profile_id: int, profile: dict[str, Any]) -> str:
        place = (profile["stack_level"], profile["charging_profile_purpose"])
        others = [
            i
            for i, held in self.profiles.items()
            if i != profile_id and (held["stack_level"], held["charging_profile_purpose"]) == place
        ]
        if others and self.strict:
            self.refused.append((profile_id, f"level {place[0]} held by {others[0]}"))
            return "Rejected"
        kept = {i: held for i, held in self.profiles.items() if i not in others}
        if profile_id not in kept and self.most is not None and len(kept) >= self.most:
            self.refused.append((profile_id, f"{len(kept)} installed already"))
            return "Rejected"
        self.profiles = {**kept, profile_id: profile}
        self.most_held = max(self.most_held, len(self.profiles))
        return "Accepted"

    def clear(self, profile_id: int) -> str:
        return "Accepted" if self.profiles.pop(profile_id, None) is not None else "Unknown"

    def levels(self) -> dict[int, int]:
        return {i: held["stack_level"] for i, held in self.profiles.items()}


class Holding16(Charger16):
    """A 1.6 charger keeping at most `most` profiles, and saying so (§9.4.5)."""

    most = 2

    def __init__(self, charge_point_id: str, connection: ClientConnection):
        super().__init__(charge_point_id, connection)
        self.installed = Installed(self.most)
        self.configuration = [
            *CONFIGURATION,
            {"key": "MaxChargingProfilesInstalled", "readonly": True, "value": str(self.most)},
        ]

    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> result16.SetChargingProfile:
        profile_id = cs_charging_profiles["charging_profile_id"]
        return result16.SetChargingProfile(
            status=self.installed.set(profile_id, cs_charging_profiles)
        )

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, id: int, **_: Any) -> result16.ClearChargingProfile:
        return result16.ClearChargingProfile(status=self.installed.clear(id))


class Strict201(Charger201):
    """A 2.0.1 station enforcing K01.FR.05/06 and reporting ProfileStackLevel `stack_level`;
    a subclass's `keeps` is what it holds from an earlier connection (it keeps its profiles
    across a reboot)."""

    stack_level = "2"
    keeps: Installed | None = None

    def __init__(self, charge_point_id: str, connection: ClientConnection):
        super().__init__(charge_point_id, connection)
        self.installed = self.keeps or Installed(strict=True)

    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, charging_profile: dict[str, Any], **_: Any
    ) -> result201.SetChargingProfile:
        status = self.installed.set(charging_profile["id"], charging_profile)
        return result201.SetChargingProfile(status=status)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(
        self, charging_profile_id: int, **_: Any
    ) -> result201.ClearChargingProfile:
        return result201.ClearChargingProfile(status=self.installed.clear(charging_profile_id))

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]]) -> result201.GetVariables:
        values = {
            "PeriodsPerSchedule": "24",
            "RateUnit": "A,W",
            "ProfileStackLevel": self.stack_level,
        }
        return result201.GetVariables(
            get_variable_result=variable_results(get_variable_data, values)
        )


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
    kind: type[Any] | None = None,
) -> Session:
    """Connect a library charger to `url`/{id} with Basic auth, and start reading; `kind`
    is its class where the protocol's usual one will not do."""
    connection = await connect(
        f"{url}/{charge_point_id}",
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=basic_auth(charge_point_id, password),
        ssl=tls,
        open_timeout=10,
    )
    kind = kind or {"ocpp1.6": Charger16, "ocpp2.1": Charger21}.get(protocol, Charger201)
    charger = kind(charge_point_id, connection)
    task = asyncio.create_task(charger.start())
    return Session(charger, connection, task)
