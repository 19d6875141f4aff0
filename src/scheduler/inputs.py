"""The algorithm's inputs for a group: from the write side (aggregates) for the scheduler,
from the read models' rows for the pages. Both read the same values the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.capabilities import ChargerFeatures
from domain.charge_points import ChargePoint
from domain.errors import NotFound
from domain.evse_limits import recorded_limits
from domain.evses import Evse
from domain.exclusion_times import parse_windows
from domain.groups import SmartChargingGroup
from domain.service import SmartCharging
from scheduler.local_time import limits_with
from scheduler.profiles import ChargerLimits, EvseSpec
from scheduler.tou import GroupInput


@dataclass(frozen=True)
class GroupInputs:
    group: GroupInput
    evses: list[Evse]
    specs: list[EvseSpec]
    limits: dict[UUID, ChargerLimits]


def limits_or_defaults(
    rate_units: Iterable[str] | None,
    max_periods: int | None,
    max_stack_level: int | None,
    features: ChargerFeatures | None = None,
    max_profiles: int | None = None,
) -> ChargerLimits:
    """What the charger told us (GetConfiguration, GetVariables), else OCPP's common
    defaults; an OCPP 2.1 station's features too (local_time.limits_with). No
    MaxChargingProfilesInstalled is no bound: the profiles sent before it was read."""
    defaults = ChargerLimits()
    return limits_with(
        ChargerLimits(
            rate_units=tuple(rate_units or ()) or defaults.rate_units,
            max_periods=max_periods or defaults.max_periods,
            max_stack_level=max_stack_level or defaults.max_stack_level,
            max_profiles=max_profiles or None,
        ),
        features,
    )


def charger_limits(service: SmartCharging, charge_point_id: str) -> ChargerLimits:
    try:
        charger = service.charge_point(charge_point_id)
    except NotFound:
        return ChargerLimits()
    return limits_of(charger)


def limits_of(charger: ChargePoint | None) -> ChargerLimits:
    """What the charger reported, else the defaults (a charger without a password yet)."""
    if charger is None:
        return ChargerLimits()
    return limits_or_defaults(
        charger.rate_units,
        charger.max_periods,
        charger.max_stack_level,
        charger.features,
        charger.max_profiles,
    )


def group_inputs(service: SmartCharging, group: SmartChargingGroup) -> GroupInputs:
    evses = [service.evse(evse_id) for evse_id in group.evse_ids]
    return GroupInputs(
        group=GroupInput.from_group(group),
        evses=evses,
        specs=[EvseSpec.from_evse(evse) for evse in evses],
        limits={evse.id: charger_limits(service, evse.charge_point_id) for evse in evses},
    )


def inputs_of(
    group: SmartChargingGroup, evses: Sequence[Evse], limits: Mapping[str, ChargerLimits]
) -> GroupInputs:
    """`group_inputs` from aggregates already loaded (the scheduler loads many at once);
    `limits` per charge point id."""
    return GroupInputs(
        group=GroupInput.from_group(group),
        evses=list(evses),
        specs=[EvseSpec.from_evse(evse) for evse in evses],
        limits={evse.id: limits[evse.charge_point_id] for evse in evses},
    )


# --- the same inputs from read-model rows (projections.queries) ----------------------------


def group_input_from_row(row: dict[str, Any]) -> GroupInput:
    """A row of the groups read model (queries.GROUP_COLUMNS)."""
    return GroupInput(
        time_zone=row["time_zone"],
        exclusion_windows=parse_windows(row["exclusion_windows"] or [], stored=True),
        random_delay=bool(row["random_delay"]),
        priority_ends_at=row["priority_ends_at"],
        priority_started_at=row["priority_started_at"],
    )


def evse_spec_from_row(row: dict[str, Any]) -> EvseSpec:
    """A row of the EVSE read model with its charger's capabilities (queries.evses)."""
    return EvseSpec(
        evse_id=row["id"], connector_id=row["connector_id"], limits=recorded_limits(row)
    )


def charger_limits_from_row(row: dict[str, Any]) -> ChargerLimits:
    return limits_or_defaults(
        row.get("charger_rate_units"),
        row.get("charger_max_periods"),
        row.get("charger_max_stack_level"),
        ChargerFeatures(
            bool(row.get("charger_local_time")),
            bool(row.get("charger_randomized_delay")),
            bool(row.get("charger_priority_charging")),
            row.get("charger_clock_zone"),
        ),
        row.get("charger_max_profiles"),
    )
