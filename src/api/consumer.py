"""The consumer portal's API: a home user's own groups, exclusion times and priority charge."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query

from api import group_actions
from api.deps import Context, HomeUserActor, json_bodies_only
from api.models import (
    ERROR_RESPONSES,
    AuditEntryView,
    ExclusionTimesIn,
    ExclusionTimesView,
    GroupView,
    PriorityChargeIn,
    ScheduleView,
)

router = APIRouter(
    prefix="/api/me",
    tags=["consumer portal"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(json_bodies_only)],
)


@router.get("/groups", summary="My smart charging groups")
def my_groups(ctx: Context, actor: HomeUserActor) -> list[GroupView]:
    now = ctx.now()
    return [GroupView.from_row(row, now) for row in ctx.queries.groups_of_user(actor.user_id)]


@router.get("/groups/{group_id}")
def my_group(group_id: UUID, ctx: Context, actor: HomeUserActor) -> GroupView:
    return group_actions.group_view(ctx, group_id, actor)


@router.get("/groups/{group_id}/exclusion-times")
def my_exclusion_times(group_id: UUID, ctx: Context, actor: HomeUserActor) -> ExclusionTimesView:
    return group_actions.exclusion_times(ctx, group_id, actor)


@router.put("/groups/{group_id}/exclusion-times", summary="Replace my group's exclusion times")
def replace_my_exclusion_times(
    group_id: UUID, body: ExclusionTimesIn, ctx: Context, actor: HomeUserActor
) -> ExclusionTimesView:
    return group_actions.replace_exclusion_times(ctx, group_id, body, actor)


@router.post("/groups/{group_id}/priority-charge", summary="Start priority charge")
def start_priority_charge(
    group_id: UUID,
    ctx: Context,
    actor: HomeUserActor,
    body: Annotated[PriorityChargeIn | None, Body()] = None,
) -> GroupView:
    return group_actions.start_priority_charge(ctx, group_id, body, actor)


@router.delete("/groups/{group_id}/priority-charge", summary="Stop priority charge")
def stop_priority_charge(group_id: UUID, ctx: Context, actor: HomeUserActor) -> GroupView:
    return group_actions.stop_priority_charge(ctx, group_id, actor)


@router.get("/groups/{group_id}/audit", summary="My group's history")
def my_group_audit(
    group_id: UUID,
    ctx: Context,
    actor: HomeUserActor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntryView]:
    return group_actions.audit_log(ctx, group_id, actor, limit)


@router.get("/groups/{group_id}/schedule", summary="The coming days: limit and reason per EVSE")
def group_schedule(
    group_id: UUID,
    ctx: Context,
    actor: HomeUserActor,
    days: Annotated[int, Query(ge=1, le=14)] = 7,
) -> ScheduleView:
    return group_actions.schedule(ctx, group_id, actor, days)
