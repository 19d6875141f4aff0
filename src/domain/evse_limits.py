"""EvseLimits: how much an EVSE may draw, as the operator rated it.

Rated either by current (amperes, on 1 or 3 phases) or by power (watts, with the
phases when known). Checked once, here, whatever the path (JSON API, form, CLI,
an old event replayed); the scheduler, the read model and the pages use this value
instead of three loose fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput
from domain.immutable import Immutable
from domain.values import checked_number

MAX_CURRENT_A = 1000.0
MAX_POWER_W = 1_000_000.0
NOMINAL_VOLTAGE_V = 230.0
# OCPP 1.6 §7.12 (numberPhases): "if absent, 3 will be assumed".
ASSUMED_PHASES = 3


def checked_phases(phases: object) -> int:
    if isinstance(phases, bool) or not isinstance(phases, int) or phases not in (1, 3):
        raise InvalidInput("phases: choose 1 or 3")
    return phases


@dataclass(frozen=True)
class EvseLimits(Immutable):
    """Exactly one of `max_current_a` (with `phases`) and `max_power_w` (phases optional)."""

    max_current_a: float | None = None
    phases: int | None = None
    max_power_w: float | None = None

    def __post_init__(self) -> None:
        if self.max_current_a is None and self.max_power_w is None:
            raise InvalidInput("give either max_current_a (with phases) or max_power_w")
        if self.max_current_a is not None and self.max_power_w is not None:
            raise InvalidInput("give either max_current_a (with phases) or max_power_w, not both")
        if self.max_current_a is not None:
            current = checked_number("max_current_a", self.max_current_a, 0, MAX_CURRENT_A)
            object.__setattr__(self, "max_current_a", current)
            if self.phases is None:
                raise InvalidInput("phases: choose 1 or 3 with a maximum current")
        if self.max_power_w is not None:
            power = checked_number("max_power_w", self.max_power_w, 0, MAX_POWER_W)
            object.__setattr__(self, "max_power_w", power)
        if self.phases is not None:
            checked_phases(self.phases)

    @property
    def max_power(self) -> float:
        """Watts; at the nominal 230 V when rated by current (which always has its phases)."""
        if self.max_power_w is not None:
            return self.max_power_w
        assert self.max_current_a is not None and self.phases is not None
        return self.max_current_a * self.phases * NOMINAL_VOLTAGE_V

    @property
    def max_current(self) -> float:
        """Amperes per phase; from the power at the nominal voltage when rated by power,
        on 3 phases unless told otherwise (OCPP 1.6 §7.12)."""
        if self.max_current_a is not None:
            return self.max_current_a
        return self.max_power / (NOMINAL_VOLTAGE_V * (self.phases or ASSUMED_PHASES))

    def to_dict(self) -> dict[str, Any]:
        """The three fields as events, read-model rows and the JSON API hold them."""
        return {
            "max_current_a": self.max_current_a,
            "phases": self.phases,
            "max_power_w": self.max_power_w,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvseLimits:
        """From an event's, a row's or a form's three fields (missing ones are None)."""
        return cls(
            max_current_a=data.get("max_current_a"),
            phases=data.get("phases"),
            max_power_w=data.get("max_power_w"),
        )


def recorded_limits(data: dict[str, Any]) -> EvseLimits | None:
    """Limits as an event or a row recorded them; None where they do not hold (recorded
    past the checks by an earlier version or a bug). The EVSE is then still loaded and can
    be given new limits; the scheduler says, for its group, that it has no maximum."""
    try:
        return EvseLimits.from_dict(data)
    except InvalidInput:
        return None


def limit_fields(limits: EvseLimits | None) -> dict[str, Any]:
    """The three fields, all None for lost limits (for the read model and the audit log)."""
    if limits is None:
        return {"max_current_a": None, "phases": None, "max_power_w": None}
    return limits.to_dict()
