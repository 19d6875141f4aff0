"""The consumer portal's API: a home user's own groups, exclusion times and priority charge."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api import deps
from api.deps import Context, HomeUserActor, json_bodies_only
from api.group_routes import add_group_routes
from api.models import ERROR_RESPONSES, GroupView

router = APIRouter(
    prefix="/api/me",
    tags=["consumer portal"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(json_bodies_only)],
)


@router.get("/groups", summary="My smart charging groups")
def my_groups(ctx: Context, actor: HomeUserActor) -> list[GroupView]:
    assert actor.user_id is not None  # a home user is always someone
    now = ctx.now()
    return [GroupView.from_row(row, now) for row in ctx.queries.groups_of_user(actor.user_id)]


add_group_routes(router, deps.home_user)
