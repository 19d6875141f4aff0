"""How the domain's values are stored in events: each as a small dict, named in the event.

Registered with the application's transcoder (`CommandApplication.register_transcodings`).
"""

from __future__ import annotations

from contextlib import suppress
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
        """Made once for the same recorded values: every follower and every load decodes
        each ProfilesDesired again, and on a DST night the groups of a zone that share
        windows are sent the very same profiles."""
        try:
            key = recorded_key(data)
            return _DECODED[key]
        except (KeyError, TypeError):  # not seen yet, or not a shape to remember
            pass
        profile = ChargingProfile.from_dict(data)
        if len(_DECODED) >= DECODED_PROFILES:
            _DECODED.clear()  # a bound, not a policy: the next few decodes fill it again
        with suppress(TypeError):
            _DECODED[recorded_key(data)] = profile
        return profile


DECODED_PROFILES = 8192
_DECODED: dict[tuple[Any, ...], ChargingProfile] = {}


def recorded_key(data: dict[str, Any]) -> tuple[Any, ...]:
    """The recorded names and values, periods included; TypeError for a value that cannot
    be a key. Cheap (a fifth of decoding) rather than exact about types: 1, 1.0 and True
    are one key, which our own encoder never mixes within a field."""
    values = tuple([value for name, value in data.items() if name != "periods"])
    key = (tuple(data), values, tuple(map(tuple, data["periods"])))
    hash(key)
    return key


TRANSCODINGS: tuple[Transcoding, ...] = (
    ActorAsDict(),
    ExclusionWindowAsDict(),
    EvseLimitsAsDict(),
    ChargingProfileAsDict(),
)
