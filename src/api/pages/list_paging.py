"""What a list page reads from its address besides the search: which filter, which page,
and the links that keep them. A value no link of ours writes is refused in words (422),
never a server error: a page number must be a whole number from 1, a group to page from
must be a group's id, a filter one the page offers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from api.context import ApiContext
from projections.list_queries import ListQueries

from .form_input import quoted
from .messages import FormError

# More pages than a list of a million rows has; a longer number is no page of ours.
MAX_PAGE = 100_000


class ListRefused(FormError):
    """A list's address that no link of ours writes (422, the words next to the list)."""


def lists(ctx: ApiContext) -> ListQueries:
    return ListQueries(ctx.queries.view)


def page_number(query: Mapping[str, str]) -> int:
    """The `page=` of an offset-paged list, from 1; none is the first."""
    text = query.get("page", "")
    if not text:
        return 1
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or not 1 <= int(text) <= MAX_PAGE:
        raise ListRefused(
            f"Page: {quoted(text)} is not a page of this list; pages are numbered from 1."
            " Use the Next and Previous links, or start again from the first page."
        )
    return int(text)


def anchor(query: Mapping[str, str], name: str) -> UUID | None:
    """The group a keyset page starts after (`after=`) or ends before (`before=`)."""
    text = query.get(name, "")
    if not text:
        return None
    try:
        if len(text) > 36 or not text.isascii():
            raise ValueError(text)
        return UUID(text)
    except ValueError:
        raise ListRefused(
            f"This page's link is broken ({name}={quoted(text)} names no group)."
            " Use the Next and Previous links, or start again from the first page."
        ) from None


def choice(query: Mapping[str, str], name: str, label: str, offered: Sequence[str]) -> str:
    """A filter's value: one of `offered`, or "" for everything."""
    text = query.get(name, "")
    if text and text not in offered:
        words = ", ".join(offered)
        raise ListRefused(f"{label}: {quoted(text)} is not a choice here; choose {words} or all.")
    return text


def link(path: str, **params: object) -> str:
    """`path` with the given query parameters, leaving out the empty ones."""
    kept = {name: value for name, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def filter_links(
    path: str,
    name: str,
    current: str,
    words: Mapping[str, str],
    counts: Mapping[str, int],
    **kept: object,
) -> list[dict[str, Any]]:
    """A link per value of the filter `name` ("" for all), with its words and its count over
    what the search matches (not the page shown); the other parameters (`kept`) kept."""
    return [
        {
            "words": said,
            "count": counts[value or "all"],
            "url": link(path, **kept, **{name: value}),
            "current": value == current,
        }
        for value, said in words.items()
    ]
