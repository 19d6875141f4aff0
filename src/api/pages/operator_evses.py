"""Operator portal: the EVSE registry (charger connectors) and the chargers' OCPP passwords."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request, Response

from api.chargers import charger_views
from api.context import ApiContext
from api.deps import Context
from domain.errors import DomainError

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .group_state import evse_status
from .messages import FormError, explain, status_of
from .rendering import page_context, redirect, render

router = APIRouter(prefix="/operator", include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]


def evses_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    now = ctx.now()
    rows = ctx.queries.evses()
    context = page_context(
        OPERATOR,
        user,
        evses=[evse_status(row, ZoneInfo("UTC"), now) for row in rows],
        chargers=charger_views(ctx),
        charger_ids=sorted({row["charge_point_id"] for row in rows}),
        errors=errors or {},
        values=values or {},
    )
    return render(request, "operator_evses.html", context, status_code)


def refused(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    form: str,
    error: DomainError | FormError,
    values: dict[str, Any] | None = None,
) -> Response:
    return evses_page(request, ctx, user, {form: explain(error)}, values, status_of(error))


def number(text: str, what: str, kind: type[float] | type[int] = float) -> Any:
    """An optional number from a form field: empty is None."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise FormError(f"{what}: “{text}” is not a number.") from None


@router.get("/evses")
def evses(request: Request, ctx: Context, user: OperatorPage) -> Response:
    return evses_page(request, ctx, user)


@router.post("/evses")
def register_evse(
    request: Request,
    ctx: Context,
    user: OperatorForm,
    charge_point_id: Text = "",
    connector_id: Text = "1",
    max_current_a: Text = "",
    phases: Text = "",
    max_power_w: Text = "",
) -> Response:
    values = {
        "charge_point_id": charge_point_id,
        "connector_id": connector_id,
        "max_current_a": max_current_a,
        "phases": phases,
        "max_power_w": max_power_w,
    }
    try:
        connector = number(connector_id, "Connector", int)
        if connector is None:
            raise FormError("Connector: give the connector's number, 1 for the first.")
        _, position = ctx.service.register_evse(
            charge_point_id.strip(),
            connector,
            user.actor,
            max_current_a=number(max_current_a, "Maximum current"),
            phases=number(phases, "Phases", int),
            max_power_w=number(max_power_w, "Maximum power"),
        )
    except (DomainError, FormError) as error:
        return refused(request, ctx, user, "register", error, values)
    ctx.caught_up(position)
    name = f"{charge_point_id.strip()} connector {connector}"
    return redirect("/operator/evses", f"{name} is registered.")


@router.post("/evses/{evse_id}/deregister")
def deregister_evse(evse_id: UUID, request: Request, ctx: Context, user: OperatorForm) -> Response:
    try:
        ctx.caught_up(ctx.service.deregister_evse(evse_id, user.actor))
    except DomainError as error:
        return refused(request, ctx, user, "list", error)
    return redirect("/operator/evses", "The EVSE was removed from the registry.")


@router.post("/chargers/password")
def set_charger_password(
    request: Request,
    ctx: Context,
    user: OperatorForm,
    charge_point_id: Text = "",
    password: Text = "",
) -> Response:
    values = {"charge_point_id": charge_point_id}
    try:
        position = ctx.service.set_charger_password(charge_point_id.strip(), password, user.actor)
    except DomainError as error:
        return refused(request, ctx, user, "password", error, values)
    ctx.caught_up(position)
    notice = f"The OCPP password of charger {charge_point_id.strip()} is set."
    return redirect("/operator/evses", notice)
