"""What both portals do with a group; they differ only in who may call it.

Writes go to the command service (which checks that a home user acts only on
his own group); reads come from the read models, after waiting for the write.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from fastapi import HTTPException, status

from api.context import ApiContext
from api.models import (
    AuditEntryView,
    ExclusionTimesIn,
    ExclusionTimesView,
    ExclusionWindowChangeIn,
    ExclusionWindowIn,
    GroupView,
    PriorityChargeIn,
    ScheduleView,
)
from domain.actors import Actor, Role
from domain.exclusion_times import ExclusionWindow, parse_windows


def not_found(group_id: UUID) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"group {group_id} not found")


def group_row(ctx: ApiContext, group_id: UUID, actor: Actor) -> dict:
    row = ctx.queries.group(group_id)
    if row is None or (actor.role is Role.HOME_USER and row["home_user_id"] != actor.user_id):
        raise not_found(group_id)
    return row


def group_view(ctx: ApiContext, group_id: UUID, actor: Actor) -> GroupView:
    return GroupView.from_row(group_row(ctx, group_id, actor), ctx.now())


def windows_from(body: list[ExclusionWindowIn]) -> tuple[ExclusionWindow, ...]:
    return parse_windows([window.model_dump() for window in body])


def exclusion_times(ctx: ApiContext, group_id: UUID, actor: Actor) -> ExclusionTimesView:
    row = group_row(ctx, group_id, actor)
    return ExclusionTimesView(
        group_id=row["id"], time_zone=row["time_zone"], windows=row["exclusion_windows"]
    )


def replace_exclusion_times(
    ctx: ApiContext, group_id: UUID, body: ExclusionTimesIn, actor: Actor
) -> ExclusionTimesView:
    position = ctx.service.groups.set_exclusion_times(group_id, windows_from(body.windows), actor)
    ctx.caught_up(position)
    return exclusion_times(ctx, group_id, actor)


def change_exclusion_window(
    ctx: ApiContext, group_id: UUID, body: ExclusionWindowChangeIn, actor: Actor
) -> ExclusionTimesView:
    old, new = (
        ExclusionWindow.parse(window.model_dump(), field=name)
        for name, window in (("old", body.old), ("new", body.new))
    )
    position = ctx.service.groups.change_exclusion_window(group_id, old, new, actor)
    ctx.caught_up(position)
    return exclusion_times(ctx, group_id, actor)


def start_priority_charge(
    ctx: ApiContext, group_id: UUID, body: PriorityChargeIn | None, actor: Actor
) -> GroupView:
    body = body or PriorityChargeIn()
    duration = timedelta(minutes=body.duration_minutes) if body.duration_minutes else None
    position = ctx.service.groups.start_priority_charge(
        group_id, actor, duration=duration, ends_at=body.ends_at
    )
    ctx.caught_up(position)
    return group_view(ctx, group_id, actor)


def stop_priority_charge(ctx: ApiContext, group_id: UUID, actor: Actor) -> GroupView:
    position = ctx.service.groups.stop_priority_charge(group_id, actor)
    ctx.caught_up(position)
    return group_view(ctx, group_id, actor)


def audit_log(ctx: ApiContext, group_id: UUID, actor: Actor, limit: int) -> list[AuditEntryView]:
    group_row(ctx, group_id, actor)
    rows = ctx.queries.audit_for_group(group_id, limit, home_user_of(actor))
    return [AuditEntryView(**row) for row in rows]


def home_user_of(actor: Actor) -> UUID | None:
    """Whose view of a group's history this is: a home user's begins when they joined it."""
    return actor.user_id if actor.role is Role.HOME_USER else None


def schedule(ctx: ApiContext, group_id: UUID, actor: Actor, days: int) -> ScheduleView:
    """The coming days per EVSE: limit, unit and reason (exclusion, priority, free)."""
    group_row(ctx, group_id, actor)
    if ctx.schedule is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no schedule preview here")
    return ScheduleView(**ctx.schedule(group_id, days))
