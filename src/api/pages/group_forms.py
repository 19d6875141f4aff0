"""What both portals' group pages post: exclusion times and priority charge.

Both portals register the same handlers; they differ only in who is logged in
(the dependency), and the command service decides what that user may do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api import group_actions
from api.context import ApiContext
from api.deps import Context
from api.models import PriorityChargeIn
from domain.errors import DomainError
from domain.exclusion_times import ExclusionWindow

from .access import CONSUMER, OPERATOR, PageUser, PortalForm, PortalPage, safe_next
from .exclusion_form import window_from_form, window_from_key
from .form_input import FormFields, Posted
from .formatting import clock, window_change_text, window_text
from .group_panels import find_group, live_regions, render_group_page
from .group_state import PRIORITY_MINUTES
from .messages import FormError, explain, status_of
from .rendering import redirect


def refused(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    group_id: UUID,
    form: str,
    error: DomainError | FormError,
    values: dict[str, Any] | None = None,
) -> Response:
    """The group page again, the error next to the form that failed, its values kept."""
    return render_group_page(
        request,
        ctx,
        user,
        group_id,
        errors={form: explain(error, ctx.queries)},
        values={form: values or {}},
        status_code=status_of(error),
    )


def add_window(
    request: Request, ctx: ApiContext, user: PageUser, group_id: UUID, form: FormFields
) -> Response:
    find_group(ctx, user, group_id)
    try:
        window = window_from_form(
            form.texts("days", "Days"),
            form.text("start", "Start"),  # sent empty beside "All day"
            form.text("end", "End"),
            all_day=form.text("all_day", "All day", optional=True) == "yes",
        )
        added = ExclusionWindow.parse(window)
        ctx.caught_up(ctx.service.groups.add_exclusion_window(group_id, added, user.actor))
    except (FormError, DomainError) as error:
        values = {**form.typed("start", "end", "all_day"), "days": form.typed_all("days")}
        return refused(request, ctx, user, group_id, "exclusion", error, values)
    notice = f"Exclusion time added: {window_text(added.to_dict())}."
    return redirect(f"{user.portal.group_url(group_id)}#exclusions", notice)


def change_window(
    request: Request, ctx: ApiContext, user: PageUser, group_id: UUID, form: FormFields
) -> Response:
    """One window changed in place: the charger never goes without it in between."""
    find_group(ctx, user, group_id)
    old: dict[str, Any] = {}
    try:
        old = window_from_key(
            form.text("old_weekdays", "Days"),
            form.text("old_start", "Start"),
            form.text("old_end", "End"),
        )
        new = window_from_form(
            form.texts("days", "Days"),
            form.text("start", "Start"),  # sent empty beside "All day"
            form.text("end", "End"),
            all_day=form.text("all_day", "All day", optional=True) == "yes",
        )
        position = ctx.service.groups.change_exclusion_window(
            group_id, ExclusionWindow.parse(old), ExclusionWindow.parse(new), user.actor
        )
        ctx.caught_up(position)
    except (FormError, DomainError) as error:
        values = {**form.typed("start", "end", "all_day"), "days": form.typed_all("days")}
        return refused(
            request, ctx, user, group_id, "exclusion_change", error, {**values, "old": old}
        )
    notice = (
        f"Exclusion time changed: {window_change_text(old, ExclusionWindow.parse(new).to_dict())}."
    )
    return redirect(f"{user.portal.group_url(group_id)}#exclusions", notice)


def remove_window(
    request: Request, ctx: ApiContext, user: PageUser, group_id: UUID, form: FormFields
) -> Response:
    find_group(ctx, user, group_id)
    try:
        target = window_from_key(
            form.text("weekdays", "Days"), form.text("start", "Start"), form.text("end", "End")
        )
        removed = ExclusionWindow.parse(target)
        ctx.caught_up(ctx.service.groups.remove_exclusion_window(group_id, removed, user.actor))
    except (FormError, DomainError) as error:
        return refused(request, ctx, user, group_id, "exclusions", error)
    notice = f"Exclusion time removed: {window_text(target)}."
    return redirect(f"{user.portal.group_url(group_id)}#exclusions", notice)


def priority_minutes(text: str) -> int | None:
    """One of the durations the form offers; empty is the service's default."""
    if not text.strip():
        return None
    if text.strip() not in {str(minutes) for minutes in PRIORITY_MINUTES}:
        raise FormError("Choose how long the priority charge lasts.")
    return int(text)


def start_priority(
    request: Request, ctx: ApiContext, user: PageUser, group_id: UUID, form: FormFields
) -> Response:
    try:
        duration = priority_minutes(form.text("minutes", "Duration"))
        back = form.text("back", "Back", optional=True)
        body = PriorityChargeIn(duration_minutes=duration)
        view = group_actions.start_priority_charge(ctx, group_id, body, user.actor)
    except (FormError, DomainError) as error:
        return refused(request, ctx, user, group_id, "priority", error)
    ends = view.priority_charge.ends_at if view.priority_charge else None
    notice = f"Priority charge started: full power until {clock(ends, view.time_zone, ctx.now())}."
    return redirect(safe_next(back, user.portal), notice)


def stop_priority(
    request: Request, ctx: ApiContext, user: PageUser, group_id: UUID, form: FormFields
) -> Response:
    try:
        back = form.text("back", "Back", optional=True)
        group_actions.stop_priority_charge(ctx, group_id, user.actor)
    except (FormError, DomainError) as error:
        return refused(request, ctx, user, group_id, "priority", error)
    return redirect(safe_next(back, user.portal), "Priority charge stopped.")


def live(group_id: UUID, ctx: Context, user: PortalPage, since: str = "") -> Response:
    return live_regions(ctx, user, group_id, since[:64])


def add_exclusion(
    group_id: UUID, request: Request, ctx: Context, user: PortalForm, form: Posted
) -> Response:
    return add_window(request, ctx, user, group_id, form)


def remove_exclusion(
    group_id: UUID, request: Request, ctx: Context, user: PortalForm, form: Posted
) -> Response:
    return remove_window(request, ctx, user, group_id, form)


def change_exclusion(
    group_id: UUID, request: Request, ctx: Context, user: PortalForm, form: Posted
) -> Response:
    return change_window(request, ctx, user, group_id, form)


def priority_start(
    group_id: UUID, request: Request, ctx: Context, user: PortalForm, form: Posted
) -> Response:
    return start_priority(request, ctx, user, group_id, form)


def priority_stop(
    group_id: UUID, request: Request, ctx: Context, user: PortalForm, form: Posted
) -> Response:
    return stop_priority(request, ctx, user, group_id, form)


ROUTES: list[tuple[str, Callable[..., Response], str]] = [
    ("/live", live, "GET"),
    ("/exclusion-times/add", add_exclusion, "POST"),
    ("/exclusion-times/remove", remove_exclusion, "POST"),
    ("/exclusion-times/change", change_exclusion, "POST"),
    ("/priority-charge/start", priority_start, "POST"),
    ("/priority-charge/stop", priority_stop, "POST"),
]

# The same handlers under both portals' /groups/{group_id}; the logged-in user must belong to
# the portal of the path, and the command service decides what that user may do.
router = APIRouter(include_in_schema=False)
for portal in (OPERATOR, CONSUMER):
    for path, endpoint, method in ROUTES:
        router.add_api_route(portal.group_url("{group_id}") + path, endpoint, methods=[method])
