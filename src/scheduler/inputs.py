"""The algorithm's inputs for a group, read from the write side (aggregates)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.errors import NotFound
from domain.evses import Evse
from domain.groups import SmartChargingGroup
from domain.service import SmartCharging
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput


@dataclass(frozen=True)
class GroupInputs:
    group: GroupInput
    evses: list[Evse]
    specs: list[EvseSpec]
    limits: dict[UUID, ChargerLimits]


def charger_limits(service: SmartCharging, charge_point_id: str) -> ChargerLimits:
    """What the charger told us (GetConfiguration), else OCPP's common defaults."""
    try:
        charger = service.charge_point(charge_point_id)
    except NotFound:
        return ChargerLimits()
    defaults = ChargerLimits()
    return ChargerLimits(
        rate_units=charger.rate_units or defaults.rate_units,
        max_periods=charger.max_periods or defaults.max_periods,
        max_stack_level=charger.max_stack_level or defaults.max_stack_level,
    )


def group_inputs(service: SmartCharging, group: SmartChargingGroup) -> GroupInputs:
    evses = [service.evse(evse_id) for evse_id in group.evse_ids]
    return GroupInputs(
        group=GroupInput.from_group(group),
        evses=evses,
        specs=[EvseSpec.from_evse(evse) for evse in evses],
        limits={evse.id: charger_limits(service, evse.charge_point_id) for evse in evses},
    )
