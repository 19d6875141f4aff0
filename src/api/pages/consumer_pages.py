"""Consumer portal: "My smart charging groups" and a group's page for its home user."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.context import ApiContext
from api.deps import Context

from .access import CONSUMER, HomeUserPage, PageUser
from .group_panels import render_group_page, signature
from .group_state import PRIORITY_MINUTES, group_charging_states
from .rendering import fragment, live_answer, page_context, render

router = APIRouter(include_in_schema=False)


def my_groups_context(ctx: ApiContext, user: PageUser) -> dict[str, Any]:
    now = ctx.now()
    rows = ctx.queries.groups_of_user(user.session.user_id)
    states = group_charging_states(ctx, rows, now)
    listed = [{**row, "state": state} for row, state in zip(rows, states, strict=True)]
    return page_context(
        CONSUMER,
        user,
        groups=listed,
        now=now,
        priority_minutes=PRIORITY_MINUTES,
        signature=signature(rows, states, minute(now)),
        live_url="/live",
    )


def minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


@router.get("/")
def my_groups(request: Request, ctx: Context, user: HomeUserPage) -> Response:
    return render(request, "consumer_groups.html", my_groups_context(ctx, user))


@router.get("/live")
def my_groups_live(ctx: Context, user: HomeUserPage, since: str = "") -> Response:
    """The list again while the page is open, or 204 when nothing changed."""
    context = my_groups_context(ctx, user)
    return live_answer(
        context["signature"], since, lambda: {"groups": fragment("_my_groups.html", context)}
    )


@router.get("/groups/{group_id}")
def my_group(group_id: UUID, request: Request, ctx: Context, user: HomeUserPage) -> Response:
    return render_group_page(request, ctx, user, group_id)
