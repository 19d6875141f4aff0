"""Operator portal: the list of smart charging groups and a group's page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Form, Request, Response

from api.context import ApiContext
from api.deps import Context
from api.operator import _mail_added_to_group
from domain.errors import DomainError, InvalidInput
from domain.users import user_id_for

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .group_forms import refused
from .group_panels import find_group, render_group_page, signature
from .group_state import charging_state
from .messages import FormError, explain
from .rendering import fragment, live_answer, page_context, redirect, render

router = APIRouter(prefix="/operator/groups", include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]
PAGE_SIZE = 100


def groups_context(ctx: ApiContext, user: PageUser, q: str) -> dict[str, Any]:
    now = ctx.now()
    rows = ctx.queries.groups(q.strip(), PAGE_SIZE, 0)
    listed = [{**row, "state": charging_state(row, now)} for row in rows]
    return page_context(
        OPERATOR,
        user,
        groups=listed,
        q=q,
        now=now,
        signature=signature(rows, now.replace(second=0, microsecond=0)),
        live_url=f"/operator/groups/live?{urlencode({'q': q})}",
    )


@router.get("")
def groups(request: Request, ctx: Context, user: OperatorPage, q: str = "") -> Response:
    return render(request, "operator_groups.html", groups_context(ctx, user, q[:100]))


@router.get("/live")
def groups_live(ctx: Context, user: OperatorPage, q: str = "", since: str = "") -> Response:
    """The list again while the page is open (registered before /{group_id})."""
    context = groups_context(ctx, user, q[:100])
    return live_answer(
        context["signature"], since, lambda: {"groups": fragment("_group_rows.html", context)}
    )


@router.get("/{group_id}")
def group(group_id: UUID, request: Request, ctx: Context, user: OperatorPage) -> Response:
    return render_group_page(request, ctx, user, group_id)


@router.post("/{group_id}/details")
def edit_details(
    group_id: UUID,
    request: Request,
    ctx: Context,
    user: OperatorForm,
    name: Text = "",
    description: Text = "",
    time_zone: Text = "",
) -> Response:
    values = {"name": name, "description": description, "time_zone": time_zone}
    try:
        ctx.caught_up(
            ctx.service.edit_group(
                group_id,
                user.actor,
                name=name,
                description=description,
                time_zone=time_zone.strip(),
            )
        )
    except DomainError as error:
        return refused(request, ctx, user, group_id, "details", error, values)
    return redirect(OPERATOR.group_url(group_id), "Name, description and time zone saved.")


def home_user_id(ctx: ApiContext, email: str) -> UUID:
    """The invited or active home user with this e-mail, from the user directory."""
    if not email.strip():
        raise FormError("Type the home user's e-mail.")
    try:
        row = ctx.queries.user(user_id_for(email))
    except InvalidInput as error:
        raise FormError(explain(error)) from None
    if row is None:
        raise FormError(f"No user has the e-mail {email.strip()}: invite the user first.")
    return UUID(str(row["id"]))


@router.post("/{group_id}/home-user")
def set_home_user(
    group_id: UUID,
    request: Request,
    ctx: Context,
    user: OperatorForm,
    tasks: BackgroundTasks,
    email: Text = "",
) -> Response:
    row = find_group(ctx, user, group_id)
    try:
        added = home_user_id(ctx, email)
        ctx.caught_up(ctx.service.add_home_user(group_id, added, user.actor))
    except (DomainError, FormError) as error:
        return refused(request, ctx, user, group_id, "home_user", error, {"email": email})
    if row["home_user_id"] != added:
        _mail_added_to_group(ctx, tasks, added, row["name"])
    notice = f"{email.strip().lower()} is the home user now and is told by e-mail."
    return redirect(OPERATOR.group_url(group_id), notice)


@router.post("/{group_id}/home-user/remove")
def remove_home_user(
    group_id: UUID, request: Request, ctx: Context, user: OperatorForm, user_id: Text = ""
) -> Response:
    try:
        removed = UUID(user_id)
    except ValueError:
        return refused(request, ctx, user, group_id, "home_user", FormError("No user named."))
    try:
        ctx.caught_up(ctx.service.remove_home_user(group_id, removed, user.actor))
    except DomainError as error:
        return refused(request, ctx, user, group_id, "home_user", error)
    return redirect(OPERATOR.group_url(group_id), "The home user was removed from the group.")


@router.post("/{group_id}/evses")
def add_evse(
    group_id: UUID, request: Request, ctx: Context, user: OperatorForm, evse_id: Text = ""
) -> Response:
    try:
        chosen = UUID(evse_id)
    except ValueError:
        return refused(request, ctx, user, group_id, "evses", FormError("Choose an EVSE to add."))
    try:
        ctx.caught_up(ctx.service.add_evse(group_id, chosen, user.actor))
    except DomainError as error:
        return refused(request, ctx, user, group_id, "evses", error)
    return redirect(f"{OPERATOR.group_url(group_id)}#evses", "EVSE added to the group.")


@router.post("/{group_id}/evses/{evse_id}/remove")
def remove_evse(
    group_id: UUID, evse_id: UUID, request: Request, ctx: Context, user: OperatorForm
) -> Response:
    try:
        ctx.caught_up(ctx.service.remove_evse(group_id, evse_id, user.actor))
    except DomainError as error:
        return refused(request, ctx, user, group_id, "evses", error)
    return redirect(f"{OPERATOR.group_url(group_id)}#evses", "EVSE removed from the group.")


@router.post("/{group_id}/delete")
def delete_group(group_id: UUID, request: Request, ctx: Context, user: OperatorForm) -> Response:
    row = find_group(ctx, user, group_id)
    try:
        ctx.caught_up(ctx.service.delete_group(group_id, user.actor))
    except DomainError as error:
        return refused(request, ctx, user, group_id, "delete", error)
    return redirect(OPERATOR.home, f"Group “{row['name']}” deleted; its EVSEs are free again.")
