"""Operator portal, Admin -> Consumer portal -> Users: invite, resend, revoke."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.context import ApiContext
from api.deps import Context
from domain.errors import DomainError
from projections.list_queries import USER_STATUSES

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .form_input import MAX_SEARCH_LENGTH, Posted, echo, search_text
from .list_paging import ListRefused, choice, filter_links, link, lists, page_number
from .messages import FormError, explain, status_of
from .rendering import page_context, redirect, render

router = APIRouter(prefix="/operator/users", include_in_schema=False)
PAGE_SIZE = 100
STATUS_WORDS = {"": "All", "invited": "Invited", "active": "Active", "revoked": "Revoked"}


def users_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    query = request.query_params
    q, refusal = search_text(query)
    errors = {**(errors or {}), **({"search": refusal} if refusal else {})}
    try:
        status = choice(query, "status", "Status", USER_STATUSES)
        page = page_number(query)
    except ListRefused as error:
        errors["paging"] = error.message
        status, page = "", 1
    found = lists(ctx).home_users(q.lower(), status, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    here = {"q": q, "status": status}
    context = page_context(
        OPERATOR,
        user,
        users=found.rows,
        found=found,
        page=page,
        page_size=PAGE_SIZE,
        first_shown=(page - 1) * PAGE_SIZE + 1,
        previous_url=link("/operator/users", **here, page=page - 1 if page > 2 else None),
        next_url=link("/operator/users", **here, page=page + 1),
        first_url=link("/operator/users", **here),
        filters=status_filters(q, status, found.counts),
        q=echo(query.get("q", ""), MAX_SEARCH_LENGTH),
        status=status,
        now=ctx.now(),
        errors=errors,
        values=values or {},
    )
    refused_address = refusal is not None or "paging" in errors
    return render(request, "operator_users.html", context, 422 if refused_address else status_code)


def status_filters(q: str, status: str, counts: dict[str, int]) -> list[dict[str, Any]]:
    """A link per status with its count over every home user the search matches (not only
    those of the page, nor of the status shown); the search kept."""
    return filter_links("/operator/users", "status", status, STATUS_WORDS, counts, q=q)


def refused(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    form: str,
    error: DomainError | FormError,
    values: dict[str, str] | None = None,
) -> Response:
    return users_page(
        request,
        ctx,
        user,
        errors={form: explain(error)},
        values=values,
        status_code=status_of(error),
    )


@router.get("")
def users(request: Request, ctx: Context, user: OperatorPage) -> Response:
    return users_page(request, ctx, user)


@router.post("")
def invite(request: Request, ctx: Context, user: OperatorForm, form: Posted) -> Response:
    try:
        email = form.text("email", "E-mail")
        ctx.service.accounts.invite_home_user(email, user.actor)  # the mail follows from the event
    except (DomainError, FormError) as error:
        return refused(request, ctx, user, "invite", error, form.typed("email"))
    ctx.caught_up(ctx.service.recorder.max_notification_id())
    return redirect("/operator/users", f"Invitation sent to {email.strip().lower()}.")


@router.post("/{user_id}/resend")
def resend(user_id: UUID, request: Request, ctx: Context, user: OperatorForm) -> Response:
    try:
        ctx.service.accounts.resend_invitation(user_id, user.actor)
    except DomainError as error:
        return refused(request, ctx, user, "users", error)
    ctx.caught_up(ctx.service.recorder.max_notification_id())
    email = ctx.service.user(user_id).email
    notice = f"A new invitation was sent to {email}; the old link no longer works."
    return redirect("/operator/users", notice)


@router.post("/{user_id}/revoke")
def revoke(user_id: UUID, request: Request, ctx: Context, user: OperatorForm) -> Response:
    try:
        ctx.caught_up(ctx.service.accounts.revoke_user(user_id, user.actor))
    except DomainError as error:
        return refused(request, ctx, user, "users", error)
    ctx.sessions.close_all(user_id)  # as the JSON API does: a revoked user is logged out at once
    email = ctx.service.user(user_id).email
    return redirect("/operator/users", f"{email} can no longer use the consumer portal.")
