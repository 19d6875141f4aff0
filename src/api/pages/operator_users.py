"""Operator portal, Admin -> Consumer portal -> Users: invite, resend, revoke."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.context import ApiContext
from api.deps import Context
from domain.errors import DomainError

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .form_input import MAX_SEARCH_LENGTH, Posted, echo, search_text
from .messages import FormError, explain, status_of
from .rendering import page_context, redirect, render

router = APIRouter(prefix="/operator/users", include_in_schema=False)
STATUSES = ("invited", "active", "revoked")
PAGE_SIZE = 200


def users_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    q, refusal = search_text(request.query_params)
    status = request.query_params.get("status", "")
    rows = ctx.queries.users("home_user", q.lower(), PAGE_SIZE, 0)
    if status in STATUSES:
        rows = [row for row in rows if row["status"] == status]
    counts = {name: sum(1 for row in rows if row["status"] == name) for name in STATUSES}
    errors = {**(errors or {}), **({"search": refusal} if refusal else {})}
    context = page_context(
        OPERATOR,
        user,
        users=rows,
        q=echo(request.query_params.get("q", ""), MAX_SEARCH_LENGTH),
        status=status if status in STATUSES else "",
        counts=counts,
        now=ctx.now(),
        errors=errors,
        values=values or {},
        statuses=STATUSES,
    )
    return render(request, "operator_users.html", context, 422 if refusal else status_code)


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
