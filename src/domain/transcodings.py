"""How the domain's values are stored in events: each as a small dict, named in the event.

Registered with the application's transcoder (`CommandApplication.register_transcodings`).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Transcoding

from domain.actors import Actor
from domain.charging_profiles import ChargingProfile
from domain.evse_limits import EvseLimits
from domain.exclusion_times import ExclusionWindow


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> Actor:
        return Actor.from_dict(data)


class ExclusionWindowAsDict(Transcoding):
    type = ExclusionWindow
    name = "exclusion_window"

    def encode(self, obj: ExclusionWindow) -> dict[str, Any]:
        return {"weekdays": list(obj.weekdays), "start": obj.start, "end": obj.end}

    def decode(self, data: dict[str, Any]) -> ExclusionWindow:
        return ExclusionWindow(tuple(data["weekdays"]), data["start"], data["end"])


class EvseLimitsAsDict(Transcoding):
    type = EvseLimits
    name = "evse_limits"

    def encode(self, obj: EvseLimits) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> EvseLimits:
        return EvseLimits.from_dict(data)


class ChargingProfileAsDict(Transcoding):
    """In the shape events kept before the value existed (ProfileDelivery's upcast reads
    those), so old and new events hold the same fields."""

    type = ChargingProfile
    name = "charging_profile"

    def encode(self, obj: ChargingProfile) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> ChargingProfile:
        return ChargingProfile.from_dict(data)


TRANSCODINGS: tuple[Transcoding, ...] = (
    ActorAsDict(),
    ExclusionWindowAsDict(),
    EvseLimitsAsDict(),
    ChargingProfileAsDict(),
)
