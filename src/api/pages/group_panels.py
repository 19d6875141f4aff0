"""A group's page, shared by both portals: state, EVSEs, exclusion times, schedule, history.

The same partial templates draw the full page and the live regions that the
page's script fetches again while it is open.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from api import group_actions
from api.context import ApiContext
from domain.errors import ScheduleUnavailable

from .access import OPERATOR, PageUser
from .audit_words import audit_lines
from .evse_search import free_evse_search
from .exclusion_form import listed_window
from .formatting import time_zone_names
from .group_state import PRIORITY_MINUTES, charging_state, evse_allowances, evse_status
from .rendering import fragment, live_answer, page_context, render
from .schedule_svg import DAYS, schedule_charts

AUDIT_LIMIT = 50
LIVE_REGIONS = {
    "state": "_group_state.html",
    "exclusions": "_exclusion_list.html",
    "evses": "_evse_list.html",
    "schedule": "_schedule.html",
    "audit": "_audit.html",
}
# The home user's state (invited, active) and the resend button change when he accepts.
OPERATOR_REGIONS = {"home_user": "_home_user_status.html"}


class PageNotFound(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def find_group(ctx: ApiContext, user: PageUser, group_id: UUID) -> dict[str, Any]:
    """The group's row, if this user may see it (a home user sees only his own)."""
    try:
        return group_actions.group_row(ctx, group_id, user.actor)
    except HTTPException:
        raise PageNotFound("There is no such smart charging group here.") from None


def signature(*parts: Any) -> str:
    """Changes whenever what the page shows changes (and every minute, for "now")."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def charts(ctx: ApiContext, row: dict[str, Any], now: datetime) -> list[Any]:
    if ctx.schedule is None or not row["evse_ids"]:
        return []
    try:
        return schedule_charts(ctx.schedule(row["id"], DAYS + 1), now)
    except ScheduleUnavailable:  # the page says why (its fault notice); the rest is shown
        return []


def group_context(
    ctx: ApiContext, user: PageUser, row: dict[str, Any], evses: list[dict[str, Any]]
) -> dict[str, Any]:
    now = ctx.now()
    zone = ZoneInfo(row["time_zone"])
    allowances = evse_allowances(ctx, row, evses, now)
    per_evse = list(allowances) if len(allowances) == len(evses) else [None] * len(evses)
    return page_context(
        user.portal,
        user,
        group=row,
        now=now,
        zone=zone,
        state=charging_state(allowances),
        evses=[
            evse_status(evse, zone, now, allowance)
            for evse, allowance in zip(evses, per_evse, strict=True)
        ],
        charts=charts(ctx, row, now),
        audit=audit_lines(history(ctx, user, row["id"]), zone),
        signature=signature(row, evses, now.replace(second=0, microsecond=0)),
        live_url=f"{user.portal.group_url(row['id'])}/live",
        priority_minutes=PRIORITY_MINUTES,
    )


def history(ctx: ApiContext, user: PageUser, group_id: UUID) -> list[dict[str, Any]]:
    """The group's history as this user may see it (a home user's from when they joined)."""
    return ctx.queries.audit_for_group(
        group_id, AUDIT_LIMIT, group_actions.home_user_of(user.actor)
    )


def operator_extras(ctx: ApiContext, request: Request) -> dict[str, Any]:
    """The free EVSEs the page's search box found (a short list), and the time zones."""
    return {**free_evse_search(ctx, request.query_params), "time_zones": time_zone_names()}


def render_group_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    group_id: UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The group page; after a refused form, with the error next to it and the values kept."""
    row = find_group(ctx, user, group_id)
    context = group_context(ctx, user, row, ctx.queries.evses(row["id"]))
    errors = dict(errors or {})
    editing = being_edited(request, row, values or {}, errors)
    context.update(
        errors=errors,
        values=values or {},
        editing=editing,
        fault=ctx.view.faults.group_fault(group_id),
    )
    if user.portal is OPERATOR:
        context.update(operator_extras(ctx, request))
        if context["evse_search_refusal"] and status_code == 200:
            status_code = 422
    return render(request, f"{user.portal.name}_group.html", context, status_code)


def being_edited(
    request: Request, row: dict[str, Any], values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any] | None:
    """The window the page's edit form changes: the one its Edit link names (`?edit=`), or
    the one a refused change was for. A link to a window gone meanwhile says so."""
    refused = (values.get("exclusion_change") or {}).get("old")
    if refused:
        return dict(refused)
    key = request.query_params.get("edit", "")[:64]
    if not key:
        return None
    window = listed_window(row["exclusion_windows"] or [], key)
    if window is None:
        errors["exclusions"] = "That exclusion time was changed or removed meanwhile."
    return window


def live_regions(ctx: ApiContext, user: PageUser, group_id: UUID, since: str) -> Response:
    """The page's live regions, or 204 when nothing changed since `since`."""
    row = find_group(ctx, user, group_id)
    evses = ctx.queries.evses(row["id"])
    now = ctx.now().replace(second=0, microsecond=0)

    def regions() -> dict[str, str]:
        context = group_context(ctx, user, row, evses)
        names = {**LIVE_REGIONS, **(OPERATOR_REGIONS if user.portal is OPERATOR else {})}
        return {name: fragment(template, context) for name, template in names.items()}

    return live_answer(signature(row, evses, now), since, regions)
