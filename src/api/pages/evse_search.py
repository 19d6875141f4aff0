"""Finding a free EVSE to add to a group (its page, the wizard's step 3): a GET search box
over charger ids and connectors that answers with a short list, how many match, and how
many it leaves out, instead of a select of every free EVSE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.context import ApiContext

from .form_input import MAX_SEARCH_LENGTH, echo, search_text
from .list_paging import lists

FREE_EVSES_SHOWN = 10
SEARCH_FIELD = "evse_q"


def free_evse_search(ctx: ApiContext, query: Mapping[str, str]) -> dict[str, Any]:
    """The search box's text as typed, the free EVSEs it finds (at most FREE_EVSES_SHOWN,
    with the total), and why the text cannot be searched for, if it cannot."""
    q, refusal = search_text(query, SEARCH_FIELD)
    found = lists(ctx).free_evses(q, FREE_EVSES_SHOWN)
    return {
        "evse_q": echo(query.get(SEARCH_FIELD, ""), MAX_SEARCH_LENGTH),
        "free_evses": found.rows,
        "free_total": found.total,
        "free_more": found.total - len(found.rows),
        "evse_search_refusal": refusal,
    }
