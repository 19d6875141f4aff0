"""Operator portal, Admin -> Operators: who may use this portal; disable one, enable again.

Operators are added on the command line (`smartcharge operator add`) and never removed:
the history keeps naming who did what. A disabled operator cannot log in and is logged
out at once. Nobody disables themselves, and the last operator who can log in stays.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.context import ApiContext
from api.deps import Context
from domain.errors import DomainError

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .messages import explain, status_of
from .rendering import page_context, redirect, render

router = APIRouter(prefix="/operator/operators", include_in_schema=False)
PAGE_SIZE = 1000  # a CPO's operators, all on one page


def operators_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    rows = ctx.queries.users("operator", "", PAGE_SIZE, 0)
    context = page_context(
        OPERATOR,
        user,
        operators=rows,
        enabled=sum(1 for row in rows if row["status"] == "active"),
        errors={"operators": error} if error else {},
    )
    return render(request, "operator_operators.html", context, status_code)


@router.get("")
def operators(request: Request, ctx: Context, user: OperatorPage) -> Response:
    return operators_page(request, ctx, user)


@router.post("/{user_id}/disable")
def disable(user_id: UUID, request: Request, ctx: Context, user: OperatorForm) -> Response:
    try:
        ctx.caught_up(ctx.service.operators.disable_operator(user_id, user.actor))
    except DomainError as error:
        return operators_page(request, ctx, user, explain(error), status_of(error))
    ctx.sessions.close_all(user_id)  # logged out at once, as a revoked home user is
    email = ctx.service.user(user_id).email
    return redirect("/operator/operators", f"{email} can no longer log in; their logins ended.")


@router.post("/{user_id}/enable")
def enable(user_id: UUID, request: Request, ctx: Context, user: OperatorForm) -> Response:
    try:
        ctx.caught_up(ctx.service.operators.enable_operator(user_id, user.actor))
    except DomainError as error:
        return operators_page(request, ctx, user, explain(error), status_of(error))
    email = ctx.service.user(user_id).email
    return redirect("/operator/operators", f"{email} can log in again.")
