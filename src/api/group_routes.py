"""The group routes both portals have: the same paths under /api/operator and /api/me.

They differ only in who may call them: the actor dependency each router passes
(an operator; the group's home user, who sees only his own groups).
"""

# No `from __future__ import annotations` here: FastAPI must see the actor
# dependency, an argument of add_group_routes, as an object, not as a name.
from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query

from api import group_actions
from api.deps import Context
from api.models import (
    AuditEntryView,
    ExclusionTimesIn,
    ExclusionTimesView,
    ExclusionWindowChangeIn,
    GroupView,
    PriorityChargeIn,
    ScheduleView,
)
from domain.actors import Actor


def add_group_routes(router: APIRouter, who: Callable[..., Actor]) -> None:
    """Add the shared group routes to `router`; `who` is the portal's actor dependency."""

    @router.get("/groups/{group_id}", summary="The group and its state")
    def get_group(group_id: UUID, ctx: Context, actor: Annotated[Actor, Depends(who)]) -> GroupView:
        return group_actions.group_view(ctx, group_id, actor)

    @router.get("/groups/{group_id}/exclusion-times", summary="The group's exclusion times")
    def get_exclusion_times(
        group_id: UUID, ctx: Context, actor: Annotated[Actor, Depends(who)]
    ) -> ExclusionTimesView:
        return group_actions.exclusion_times(ctx, group_id, actor)

    @router.put("/groups/{group_id}/exclusion-times", summary="Replace the exclusion times")
    def replace_exclusion_times(
        group_id: UUID,
        body: ExclusionTimesIn,
        ctx: Context,
        actor: Annotated[Actor, Depends(who)],
    ) -> ExclusionTimesView:
        return group_actions.replace_exclusion_times(ctx, group_id, body, actor)

    @router.patch(
        "/groups/{group_id}/exclusion-times",
        summary="Change one exclusion window in place (409 if it changed meanwhile)",
    )
    def change_exclusion_window(
        group_id: UUID,
        body: ExclusionWindowChangeIn,
        ctx: Context,
        actor: Annotated[Actor, Depends(who)],
    ) -> ExclusionTimesView:
        return group_actions.change_exclusion_window(ctx, group_id, body, actor)

    @router.post("/groups/{group_id}/priority-charge", summary="Start priority charge")
    def start_priority_charge(
        group_id: UUID,
        ctx: Context,
        actor: Annotated[Actor, Depends(who)],
        body: Annotated[PriorityChargeIn | None, Body()] = None,
    ) -> GroupView:
        return group_actions.start_priority_charge(ctx, group_id, body, actor)

    @router.delete("/groups/{group_id}/priority-charge", summary="Stop priority charge")
    def stop_priority_charge(
        group_id: UUID, ctx: Context, actor: Annotated[Actor, Depends(who)]
    ) -> GroupView:
        return group_actions.stop_priority_charge(ctx, group_id, actor)

    @router.get("/groups/{group_id}/audit", summary="The group's history, newest first")
    def group_audit(
        group_id: UUID,
        ctx: Context,
        actor: Annotated[Actor, Depends(who)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[AuditEntryView]:
        return group_actions.audit_log(ctx, group_id, actor, limit)

    @router.get("/groups/{group_id}/schedule", summary="The coming days: limit and reason per EVSE")
    def group_schedule(
        group_id: UUID,
        ctx: Context,
        actor: Annotated[Actor, Depends(who)],
        days: Annotated[int, Query(ge=1, le=14)] = 7,
    ) -> ScheduleView:
        return group_actions.schedule(ctx, group_id, actor, days)
