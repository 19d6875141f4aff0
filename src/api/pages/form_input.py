"""What a person sends a page: a form's fields (posted, or a GET form's query), the search box.

FastAPI's Form and Query parameters would refuse a bad field with the JSON API's
422 body, and take the last of a repeated field without a word. A page instead
shows its form again and says what was wrong. Lengths and characters of the
values are the domain's to check, so every path gets the same answer; here only
what no form of ours sends is refused: a field twice, a field missing, a file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import ImmutableMultiDict

from domain.errors import InvalidInput
from domain.values import checked_text

from .messages import FormError, in_words

# What a page shows again of a typed value: enough for any field of ours, not 16 KB.
ECHO_LENGTH = 2000
MAX_SEARCH_LENGTH = 100


class FormFields:
    """The fields of one form as the page's handler reads them: each once, each text."""

    def __init__(self, fields: ImmutableMultiDict[str, Any]):
        self._fields = fields

    def text(self, name: str, label: str, *, optional: bool = False) -> str:
        """The field's text; refused when it was sent twice, or is missing and not `optional`
        (then it is empty)."""
        values = self._fields.getlist(name)
        if len(values) > 1:
            raise FormError(
                f"{label}: the form sent this field {len(values)} times; "
                "reload the page and send the form again."
            )
        if not values:
            if optional:
                return ""
            raise FormError(
                f"{label}: the form did not send this field; reload the page and try again."
            )
        return _text(values[0], label)

    def texts(self, name: str, label: str) -> list[str]:
        """Every value of a field a form may send several times (checkboxes, a multi-select)."""
        return [_text(value, label) for value in self._fields.getlist(name)]

    def typed_all(self, name: str) -> list[str]:
        """Every value of a field as the form shows it again (checked boxes)."""
        return [echo(value) for value in self._fields.getlist(name) if isinstance(value, str)]

    def typed(self, *names: str) -> dict[str, str]:
        """The first value of each field as the form shows it again."""
        shown = {}
        for name in names:
            values = self._fields.getlist(name)
            shown[name] = echo(values[0]) if values and isinstance(values[0], str) else ""
        return shown


def _text(value: object, label: str) -> str:
    if not isinstance(value, str):
        raise FormError(f"{label}: expected text, not a file.")
    return value


def echo(text: str, length: int = ECHO_LENGTH) -> str:
    """Typed text as a page may show it again: at most `length` characters, a control
    character or a lone UTF-16 half shown as U+FFFD (so the person sees where it was)."""
    return "".join(
        "\ufffd" if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text[:length]
    )


def quoted(text: str, length: int = 30) -> str:
    """Typed text quoted inside a message: short, control characters shown as U+FFFD."""
    shown = echo(text, length + 1)
    return f"“{shown[:length]}…”" if len(shown) > length else f"“{shown}”"


async def posted_form(request: Request) -> FormFields:
    # Starlette parses the body once per request; the CSRF check has usually read it already.
    return FormFields(await request.form())


def query_form(request: Request) -> FormFields:
    """A GET form's fields (the group wizard's steps), read like a posted form."""
    return FormFields(request.query_params)


Posted = Annotated[FormFields, Depends(posted_form)]
QueryForm = Annotated[FormFields, Depends(query_form)]


def search_text(query: Mapping[str, str], name: str = "q") -> tuple[str, str | None]:
    """The search box's text, or "" and why it cannot be searched for (in words)."""
    typed = query.get(name, "")
    try:
        return checked_text("search", typed, MAX_SEARCH_LENGTH, allow_empty=True).strip(), None
    except InvalidInput as refusal:
        return "", in_words(refusal)
