"""Operator portal: the list of smart charging groups and a group's page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.context import ApiContext
from api.deps import Context
from api.home_users import found_home_user
from domain.errors import DomainError
from projections.list_queries import GROUP_FLAGS, ListPage

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .form_input import MAX_SEARCH_LENGTH, FormFields, Posted, echo, search_text
from .group_forms import refused
from .group_panels import find_group, render_group_page, signature
from .group_state import group_charging_states
from .list_paging import ListRefused, anchor, choice, filter_links, link, lists
from .messages import FormError, explain, status_of
from .rendering import fragment, live_answer, page_context, redirect, render

router = APIRouter(prefix="/operator/groups", include_in_schema=False)
PAGE_SIZE = 100


def groups_context(ctx: ApiContext, user: PageUser, request: Request) -> dict[str, Any]:
    """The group list: searched, filtered and counted in SQL, a page at a time by name."""
    now = ctx.now()
    query = request.query_params
    q, refusal = search_text(query)
    errors = {"search": refusal} if refusal else {}
    try:
        show = choice(query, "show", "Show", GROUP_FLAGS)
        after, before = anchor(query, "after"), anchor(query, "before")
    except ListRefused as error:
        errors["paging"] = error.message
        show, after, before = "", None, None
    found, restarted = found_groups(ctx, q, show, now, after, before)
    rows = found.rows
    states = group_charging_states(ctx, rows, now)
    listed = [{**row, "state": state} for row, state in zip(rows, states, strict=True)]
    here = {"q": q, "show": show}
    return page_context(
        OPERATOR,
        user,
        groups=listed,
        found=found,
        show=show,
        restarted=restarted,
        filters=group_filters(q, show, found.counts),
        previous_url=link("/operator/groups", **here, before=rows[0]["id"] if rows else None),
        next_url=link("/operator/groups", **here, after=rows[-1]["id"] if rows else None),
        first_url=link("/operator/groups", **here),
        q=echo(query.get("q", ""), MAX_SEARCH_LENGTH),
        now=now,
        errors=errors,
        signature=signature(rows, states, found.counts, now.replace(second=0, microsecond=0)),
        live_url=link("/operator/groups/live", **here, after=after, before=before),
    )


def found_groups(
    ctx: ApiContext, q: str, show: str, now: datetime, after: UUID | None, before: UUID | None
) -> tuple[ListPage, bool]:
    """The page asked for; the first page (and True) when the group it pages from was
    deleted meanwhile."""
    found = lists(ctx).groups(q, show, now, PAGE_SIZE, after, before)
    paged_from = before or after
    if paged_from is None or found.rows or lists(ctx).group_exists(paged_from):
        return found, False
    return lists(ctx).groups(q, show, now, PAGE_SIZE), True


GROUP_FILTER_WORDS = {
    "": "All groups",
    "priority": "Priority charge running",
    "offline": "A charger offline",
}


def group_filters(q: str, show: str, counts: dict[str, int]) -> list[dict[str, Any]]:
    """The filter links, each with its count over what the search matches; the search kept."""
    return filter_links("/operator/groups", "show", show, GROUP_FILTER_WORDS, counts, q=q)


@router.get("")
def groups(request: Request, ctx: Context, user: OperatorPage) -> Response:
    context = groups_context(ctx, user, request)
    return render(request, "operator_groups.html", context, 422 if context["errors"] else 200)


@router.get("/live")
def groups_live(request: Request, ctx: Context, user: OperatorPage, since: str = "") -> Response:
    """The list again while the page is open (registered before /{group_id})."""
    context = groups_context(ctx, user, request)
    return live_answer(
        context["signature"], since, lambda: {"groups": fragment("_group_rows.html", context)}
    )


@router.get("/{group_id}")
def group(group_id: UUID, request: Request, ctx: Context, user: OperatorPage) -> Response:
    return render_group_page(request, ctx, user, group_id)


@router.post("/{group_id}/details")
def edit_details(
    group_id: UUID, request: Request, ctx: Context, user: OperatorForm, form: Posted
) -> Response:
    try:
        ctx.caught_up(
            ctx.service.groups.edit_group(
                group_id,
                user.actor,
                name=form.text("name", "Name"),
                description=form.text("description", "Description"),
                time_zone=form.text("time_zone", "Time zone").strip(),
            )
        )
    except (DomainError, FormError) as error:
        values = form.typed("name", "description", "time_zone")
        return refused(request, ctx, user, group_id, "details", error, values)
    return redirect(OPERATOR.group_url(group_id), "Name, description and time zone saved.")


@router.post("/{group_id}/home-user")
def set_home_user(
    group_id: UUID, request: Request, ctx: Context, user: OperatorForm, form: Posted
) -> Response:
    """The home user by e-mail; one without an account is invited once the operator says so
    (the page offers it), in the same save."""
    find_group(ctx, user, group_id)
    try:
        email = form.text("email", "E-mail").strip()
        if not email:
            raise FormError("Type the home user's e-mail.")
        invite = form.text("invite", "Invite", optional=True) == "yes"
        found = found_home_user(ctx.queries, email)
        if found is None and not invite:
            raise NotInvitedYet(email)
        ctx.caught_up(ctx.service.groups.invite_home_user(group_id, email, user.actor))
    except NotInvitedYet as error:
        values = {**form.typed("email"), "offer_invite": True}
        return refused(request, ctx, user, group_id, "home_user", error, values)
    except (DomainError, FormError) as error:
        return refused(request, ctx, user, group_id, "home_user", error, form.typed("email"))
    return redirect(OPERATOR.group_url(group_id), home_user_notice(ctx, group_id, found))


class NotInvitedYet(FormError):
    def __init__(self, email: str):
        super().__init__(
            f"No home user has the e-mail {email} yet. Check it, or invite them by e-mail with"
            " the button below: one mail, whose link sets their password."
        )


def home_user_notice(ctx: ApiContext, group_id: UUID, found: dict[str, Any] | None) -> str:
    row = ctx.queries.group(group_id) or {}
    email = row.get("home_user_email") or ""
    if found is None:
        return (
            f"{email} is the home user now and is invited by e-mail;"
            " the mail's link sets the password."
        )
    if row.get("home_user_status") == "invited":
        return (
            f"{email} is the home user now. They have not accepted their invitation yet:"
            " “Resend invitation” sends a new one if it was lost."
        )
    return f"{email} is the home user now and is told by e-mail."


@router.post("/{group_id}/home-user/resend")
def resend_invitation(
    group_id: UUID, request: Request, ctx: Context, user: OperatorForm
) -> Response:
    """A new invitation for the group's invited home user, naming the group; the link of the
    earlier one stops working."""
    row = find_group(ctx, user, group_id)
    try:
        if row["home_user_id"] is None:
            raise FormError("The group has no home user to invite.", 409)
        ctx.service.accounts.resend_invitation(row["home_user_id"], user.actor, group_id)
    except (DomainError, FormError) as error:
        return refused(request, ctx, user, group_id, "home_user", error)
    ctx.caught_up(ctx.service.recorder.max_notification_id())
    notice = (
        f"A new invitation went to {row['home_user_email']}; the link in the earlier mail"
        " no longer works."
    )
    return redirect(f"{OPERATOR.group_url(group_id)}#home-user", notice)


@router.post("/{group_id}/home-user/remove")
def remove_home_user(
    group_id: UUID, request: Request, ctx: Context, user: OperatorForm, form: Posted
) -> Response:
    try:
        removed = chosen_id(form, "user_id", "Home user", "No user named.")
        ctx.caught_up(ctx.service.groups.remove_home_user(group_id, removed, user.actor))
    except (DomainError, FormError) as error:
        return refused(request, ctx, user, group_id, "home_user", error)
    return redirect(OPERATOR.group_url(group_id), "The home user was removed from the group.")


def chosen_id(form: FormFields, name: str, label: str, missing: str) -> UUID:
    """The id a hidden field or a select sends (its page wrote it)."""
    try:
        return UUID(form.text(name, label))
    except ValueError:
        raise FormError(missing) from None


@router.post("/{group_id}/evses")
def add_evse(
    group_id: UUID, request: Request, ctx: Context, user: OperatorForm, form: Posted
) -> Response:
    try:
        chosen = chosen_id(form, "evse_id", "EVSE", "Choose an EVSE to add.")
        ctx.caught_up(ctx.service.evses.add_evse(group_id, chosen, user.actor))
    except (DomainError, FormError) as error:
        return refused(request, ctx, user, group_id, "evses", error)
    return redirect(f"{OPERATOR.group_url(group_id)}#evses", "EVSE added to the group.")


@router.post("/{group_id}/evses/{evse_id}/remove")
def remove_evse(
    group_id: UUID, evse_id: UUID, request: Request, ctx: Context, user: OperatorForm
) -> Response:
    try:
        ctx.caught_up(ctx.service.evses.remove_evse(group_id, evse_id, user.actor))
    except DomainError as error:
        return refused(request, ctx, user, group_id, "evses", error)
    return redirect(f"{OPERATOR.group_url(group_id)}#evses", "EVSE removed from the group.")


def delete_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    row: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """What deleting the group releases, and a button that does it: asked first, with or
    without JavaScript."""
    context = page_context(
        OPERATOR, user, group=row, evses=ctx.queries.evses(row["id"]), errors=errors or {}
    )
    return render(request, "operator_group_delete.html", context, status_code)


@router.get("/{group_id}/delete")
def ask_to_delete(group_id: UUID, request: Request, ctx: Context, user: OperatorPage) -> Response:
    return delete_page(request, ctx, user, find_group(ctx, user, group_id))


@router.post("/{group_id}/delete")
def delete_group(
    group_id: UUID, request: Request, ctx: Context, user: OperatorForm, form: Posted
) -> Response:
    """Deletes only when the confirmation page's button says so; any other post (an older
    page's form) gets the question."""
    row = find_group(ctx, user, group_id)
    try:
        if form.text("confirm", "Confirm", optional=True) != "yes":
            return delete_page(request, ctx, user, row)
        ctx.caught_up(ctx.service.groups.delete_group(group_id, user.actor))
    except (DomainError, FormError) as error:
        return delete_page(request, ctx, user, row, {"delete": explain(error)}, status_of(error))
    return redirect(OPERATOR.home, f"Group “{row['name']}” deleted; its EVSEs are free again.")
