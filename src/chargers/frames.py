"""OCPP-J frames: reading them strictly, answering bad ones, and bounding how many a charger sends.

The `ocpp` library only logs a frame it cannot unpack and may crash on a CALL
whose action is not a string; a charger gets a CALLERROR for every frame it
got wrong instead, and the connection lives on (OCPP-J 1.6 §4.2.3).
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocpp.messages import Call, CallError, CallResult, MessageType

MAX_MESSAGE_ID = 36  # OCPP-J 1.6 §4.1.4: at most 36 characters
UNREADABLE_ID = "-1"  # OCPP-J 2.0.1 §4.2.3: the id to answer with when the frame's is unreadable
# No OCPP 1.6 or 2.0.1 message nests deeper than about a dozen levels (a 2.0.1
# charging profile's sales tariff is the deepest); the `ocpp` library walks
# payloads recursively, so a deeper frame is refused before it gets there.
MAX_DEPTH = 32
MAX_NUMBER = 1e300  # no OCPP field means more; a float ends at about 1.8e308
ANSWERS = (MessageType.CallResult, MessageType.CallError)
# The start of a frame, up to its message id: read when the whole frame is not JSON
# we can hold (nested too deep, an integer of over 4300 digits), so the CALLERROR can
# still name the message it answers (OCPP-J 2.0.1 §4.2.3: "-1" only when it cannot).
_FRAME_START = re.compile(rf'\s*\[\s*([2-4])\s*,\s*"([^"\\\x00-\x1f]{{1,{MAX_MESSAGE_ID}}})"')

# The same faults have other names in the two versions: 1.6 keeps its historic
# misspellings (OCPP-J 1.6 §4.2.3, Table 7), which the `ocpp` library does not use.
_V16_CODES = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    "RpcFrameworkError": "FormationViolation",
    "MessageTypeNotSupported": "FormationViolation",
}
_V16_VALID = {
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
}


class FrameError(Exception):
    """A frame that is not a proper OCPP-J message; answered with a CALLERROR."""

    def __init__(
        self, code: str, description: str, message_id: str = UNREADABLE_ID, answer: bool = False
    ):
        super().__init__(description)
        self.code = code
        self.description = description
        self.message_id = message_id
        self.answer = answer  # a malformed CALLRESULT or CALLERROR: its call has failed


def error_code(code: str, ocpp_version: str) -> str:
    """The error code in the words of the connection's OCPP version."""
    if ocpp_version != "1.6":
        return code
    code = _V16_CODES.get(code, code)
    return code if code in _V16_VALID else "GenericError"


def call_error(message_id: str, code: str, description: str, ocpp_version: str) -> str:
    """A CALLERROR frame: [4, id, code, description, {}] (OCPP-J 1.6 §4.2.3)."""
    frame = [MessageType.CallError, message_id, error_code(code, ocpp_version), description, {}]
    return json.dumps(frame, separators=(",", ":"))


def _message_id(frame: list[Any]) -> str:
    if len(frame) < 2 or not isinstance(frame[1], str) or not frame[1]:
        raise FrameError("RpcFrameworkError", "the message id is missing or not a string")
    if len(frame[1]) > MAX_MESSAGE_ID:
        raise FrameError("RpcFrameworkError", f"the message id is over {MAX_MESSAGE_ID} characters")
    return frame[1]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _frame_start(raw: str | bytes) -> re.Match[str] | None:
    start = raw[:80].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:80]
    return _FRAME_START.match(start)


def readable_id(raw: str | bytes) -> str:
    """The message id at the start of a frame that could not be read whole, else "-1"."""
    found = _frame_start(raw)
    return found.group(2) if found else UNREADABLE_ID


def _unreadable(raw: str | bytes, error: Exception) -> FrameError:
    """OCPP-J 1.6 §4.1.2: the whole message must be JSON in UTF-8. Python's reader also
    takes NaN and Infinity, which JSON has not (refused by _no_constant), refuses
    integers of over 4300 digits with a ValueError, and nesting past its recursion limit."""
    if isinstance(error, RecursionError):
        why = f"the message nests deeper than {MAX_DEPTH} levels"  # far deeper, in fact
    elif isinstance(error, UnicodeDecodeError):
        why = "the message is not UTF-8"
    elif "digits" in str(error):
        why = "the message holds an integer of over 4300 digits"
    else:
        why = "the message is not JSON"
    found = _frame_start(raw)
    if found is None:
        return FrameError("RpcFrameworkError", why)
    # an answer we cannot read fails the call it answers (see FrameError.answer)
    return FrameError("FormatViolation", why, found.group(2), answer=found.group(1) != "2")


def _decode(raw: str | bytes) -> list[Any]:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        frame = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise _unreadable(raw, error) from None
    if not isinstance(frame, list) or not frame:
        raise FrameError("RpcFrameworkError", "the message is not a JSON array")
    return frame


def _unusable(value: Any) -> str | None:
    """Why a decoded frame cannot be handed on, if it cannot: nested deeper than any
    message, or a number beyond what a float holds (1e400 reads as infinity, a
    400-digit integer overflows the schema's multipleOf check: the `ocpp` library
    fails on both with errors of its own). Walked without recursion."""
    level = [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, int | float) and not abs(item) <= MAX_NUMBER:
            return "a number is too large"
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels"
            level.extend((child, depth + 1) for child in item)
    return None


def parse_frame(raw: str | bytes) -> Call | CallResult | CallError:
    """Read one frame strictly; raise FrameError (carrying the id when readable) otherwise."""
    frame = _decode(raw)
    message_id = _message_id(frame)
    kind, rest = frame[0], frame[2:]
    if (why := _unusable(frame)) is not None:
        raise FrameError("FormatViolation", why, message_id, kind in ANSWERS)
    if kind == MessageType.Call:
        if len(rest) != 2 or not isinstance(rest[0], str) or not isinstance(rest[1], dict):
            raise FrameError("FormatViolation", "a CALL is [2, id, action, {payload}]", message_id)
        return Call(message_id, rest[0], rest[1])
    if kind == MessageType.CallResult and len(rest) == 1 and isinstance(rest[0], dict):
        return CallResult(message_id, rest[0])
    if kind == MessageType.CallError and len(rest) == 3:
        return CallError(message_id, *rest)
    if kind in ANSWERS:
        raise FrameError(
            "FormatViolation", "the CALLRESULT or CALLERROR is malformed", message_id, True
        )
    # OCPP-J 1.6 §4.1.3: the payload of an unknown message type is ignored.
    raise FrameError("MessageTypeNotSupported", f"message type {kind!r} is unknown", message_id)


@dataclass
class FrameGuard:
    """Counts a charger's bad frames; too many in the window and it is cut off."""

    limit: int = 20
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._strikes: deque[float] = deque()

    def strike(self) -> bool:
        """Record a bad frame; True once more than `limit` came within `window` seconds."""
        now = self.clock()
        self._strikes.append(now)
        while self._strikes and self._strikes[0] <= now - self.window:
            self._strikes.popleft()
        return len(self._strikes) > self.limit
