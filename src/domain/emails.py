"""E-mail addresses as accounts know them: one normal spelling, and no look-alikes.

An account's id comes from its normalised e-mail (domain.users.user_id_for), so two
spellings that a person cannot tell apart must either be the same address or be refused:
otherwise `anna@example.com` with a Cyrillic o (U+043E), or with a zero-width space, is a second
account that looks like Anna's in every list and mail.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from domain.errors import InvalidInput
from domain.values import checked_text

MAX_EMAIL_LENGTH = 254

# Characters a person does not see, or sees as nothing: format characters (zero-width
# space and joiners, soft hyphen, bidi controls), private use, unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Co", "Cn", "Zl", "Zp"})

# Scripts that may be mixed within one part, as Unicode TS #39 §5.2 "Highly Restrictive"
# allows: Latin with Japanese, Chinese or Korean writing. Any other mix is refused.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
# Names of letters whose first word is not their script's name.
_SCRIPT_OF_NAME = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "KATAKANA-HIRAGANA": "KATAKANA",
    "HALFWIDTH": "KATAKANA",
}


def normalize_email(email: object) -> str:
    """The one spelling of an address: compatibility forms folded (NFKC, so full-width
    letters U+FF41... are a...), lower case, the domain as IDNA has it; refused (InvalidInput,
    saying why) when it is no address, holds an invisible character, or mixes scripts."""
    text = checked_text("email", email, MAX_EMAIL_LENGTH).strip()
    text = unicodedata.normalize("NFKC", text)
    _refuse_invisible(text)
    try:
        # No deliverability check: that is a DNS look-up, and the mail itself proves it.
        # Strict: the lengths of RFC 5321 too (64 characters before the @).
        valid = validate_email(text, check_deliverability=False, strict=True)
    except EmailNotValidError as refusal:
        raise InvalidInput(f"email: {_shown(text)} is not an e-mail address: {refusal}") from None
    local, domain = valid.local_part, valid.domain
    _refuse_mixed_scripts(local, "the part before the @")
    for label in domain.split("."):
        _refuse_mixed_scripts(label, "the part after the @")
    return f"{local}@{domain}".lower()


def _refuse_invisible(text: str) -> None:
    for ch in text:
        if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
            raise InvalidInput(
                f"email: holds an invisible character ({_named(ch)}); "
                "type the address again without it"
            )


def _refuse_mixed_scripts(part: str, where: str) -> None:
    scripts = {script for ch in part if (script := _script(ch)) is not None}
    if len(scripts) > 1 and not any(scripts <= mix for mix in _ALLOWED_MIXES):
        raise InvalidInput(
            f"email: {where} mixes alphabets ({', '.join(sorted(s.title() for s in scripts))}),"
            " which makes it look like another address; write it in one alphabet"
        )


def _script(ch: str) -> str | None:
    """The script of a letter, from its Unicode name (the standard library has no script
    property); None for digits, punctuation and marks, which go with any script."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    first = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_OF_NAME.get(first, first)


def _named(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else f"{text[:80]}…")
