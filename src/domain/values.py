"""The checks every value passes where the domain receives it, whatever the path.

Two kinds of text reach the domain. What a person types (a group's name, an
e-mail) is *checked*: a NUL, a control character or an over-long value is
refused with a message naming the field, and nothing is recorded. What a
charger's firmware sends as free text (vendor, model, error codes, transaction
ids) is *cleaned*: the charger keeps working whatever it sends, and what is kept
is text that every store and page can hold.

Numbers are checked against the range the read models and the chargers hold;
a value outside it is refused, never wrapped or truncated.
"""

from __future__ import annotations

import math
import unicodedata

from domain.errors import InvalidInput

# PostgreSQL `integer`, which the read models use for counts, ids and levels.
MAX_INT32 = 2**31 - 1
# Ids derived from names (uuid5: a SHA-1 and a UUID built and checked, some 5 µs) are
# remembered, this many: a DST night derived each EVSE's delivery id several times, 8 %
# of its time.
IDS_REMEMBERED = 1 << 17
REPLACEMENT = "\ufffd"
_LINE_BREAKS = "\n\r\t"


def _is_control(ch: str) -> bool:
    """C0 and C1 controls, DEL, and the UTF-16 halves that are not characters."""
    return unicodedata.category(ch) in ("Cc", "Cs")


def _is_surrogate(ch: str) -> bool:
    return "\ud800" <= ch <= "\udfff"


def clean_text(value: object, max_length: int) -> str:
    """Charger free text as we keep it: controls and NUL dropped, lone UTF-16 halves
    replaced, spaces trimmed, at most `max_length` characters. Never refuses."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else _as_text(value)
    text = text[: max_length * 4]  # bound the work on a 16 KB value before looking at it
    kept = (
        REPLACEMENT if _is_surrogate(ch) else ch
        for ch in text
        if not (_is_control(ch) and not _is_surrogate(ch))
    )
    # trimmed again after the cut, so cleaning what was cleaned changes nothing
    return "".join(kept).strip()[:max_length].rstrip()


def _as_text(value: object) -> str:
    try:
        return str(value)
    except ValueError:  # Python refuses str() of an integer of over 4300 digits
        return "(a number too long to show)"


def checked_text(
    field: str,
    value: object,
    max_length: int,
    *,
    allow_empty: bool = False,
    multiline: bool = False,
) -> str:
    """Text a person typed: refused (InvalidInput naming `field`) when it is not text,
    is empty, holds a control character or a lone UTF-16 half, or is too long."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: must be text")
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{field}: must not be empty")
    allowed = _LINE_BREAKS if multiline else ""
    if any(_is_control(ch) and ch not in allowed for ch in value):
        raise InvalidInput(f"{field}: must not contain control characters such as NUL")
    if len(value) > max_length:
        raise InvalidInput(f"{field}: at most {max_length} characters, got {len(value)}")
    return value


def checked_int(field: str, value: object, lowest: int, highest: int) -> int:
    """A whole number in [lowest, highest]; booleans and floats are not whole numbers."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{field}: {shown(value)} must be a whole number")
    if not lowest <= value <= highest:
        raise InvalidInput(f"{field}: {shown(value)} must be between {lowest} and {highest}")
    return value


def checked_number(field: str, value: object, above: float, highest: float) -> float:
    """A finite number greater than `above` and at most `highest`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field}: {shown(value)} must be a number")
    number = float(value) if not isinstance(value, int) or abs(value) < 2**63 else math.inf
    if not math.isfinite(number) or not above < number <= highest:
        raise InvalidInput(
            f"{field}: {shown(value)} must be above {above:g} and at most {highest:g}"
        )
    return number


def shown(value: object) -> str:
    """A refused value as a message shows it: short, and without what it should not hold."""
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:37]) + "..."  # not the repr of 16 KB, to cut it afterwards
    if isinstance(value, int) and value.bit_length() > 128:
        # repr() itself refuses ints of thousands of digits; about how many there are is enough
        return f"a {int(value.bit_length() * 0.30103) + 1}-digit number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
