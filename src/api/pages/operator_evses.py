"""Operator portal: the EVSE registry (charger connectors) and the chargers' OCPP passwords."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response

from api.chargers import charger_views
from api.context import ApiContext
from api.deps import Context
from domain.errors import DomainError
from domain.evse_limits import MAX_CURRENT_A, MAX_POWER_W, EvseLimits
from projections.list_queries import EVSE_CONNECTIONS, EVSE_PLACES

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .form_input import MAX_SEARCH_LENGTH, FormFields, Posted, echo, quoted, search_text
from .group_state import allowances_by_evse, evse_status
from .list_paging import ListRefused, choice, link, lists, page_number
from .messages import FormError, explain, status_of
from .rendering import page_context, redirect, render

router = APIRouter(prefix="/operator", include_in_schema=False)
PAGE_SIZE = 50


def evses_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    errors = dict(errors or {})
    listed = evse_list(ctx, request.query_params, errors)
    context = page_context(OPERATOR, user, **listed, errors=errors, values=values or {})
    refused_address = "search" in errors or "paging" in errors
    return render(request, "operator_evses.html", context, 422 if refused_address else status_code)


def evse_list(ctx: ApiContext, query: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """A page of the registry, searched and filtered in SQL, with the chargers it shows."""
    now = ctx.now()
    q, refusal = search_text(query)
    if refusal:
        errors["search"] = refusal
    try:
        connection = choice(query, "connection", "Connection", EVSE_CONNECTIONS)
        place = choice(query, "place", "Group", EVSE_PLACES)
        page = page_number(query)
    except ListRefused as error:
        errors["paging"] = error.message
        connection, place, page = "", "", 1
    found = lists(ctx).evses(q, connection, place, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    here = {"q": q, "connection": connection, "place": place}
    shown = {row["charge_point_id"] for row in found.rows}
    allowances = allowances_by_evse(ctx, found.rows, now)
    return {
        # Times in the EVSE's group's time zone, saying which; a free EVSE's in UTC.
        "evses": [
            evse_status(
                row, ZoneInfo(row.get("group_time_zone") or "UTC"), now, allowances.get(row["id"])
            )
            for row in found.rows
        ],
        "found": found,
        "page": page,
        "page_size": PAGE_SIZE,
        "first_shown": (page - 1) * PAGE_SIZE + 1,
        "previous_url": link("/operator/evses", **here, page=page - 1 if page > 2 else None),
        "next_url": link("/operator/evses", **here, page=page + 1),
        "first_url": link("/operator/evses", **here),
        "q": echo(query.get("q", ""), MAX_SEARCH_LENGTH),
        "connection": connection,
        "place": place,
        "chargers": [view for view in charger_views(ctx) if view.charge_point_id in shown],
        "charger_ids": sorted(shown),
    }


def refused(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    form: str,
    error: DomainError | FormError,
    values: dict[str, Any] | None = None,
) -> Response:
    return evses_page(request, ctx, user, {form: explain(error)}, values, status_of(error))


# What a person types as a number: digits, one decimal point or comma. Not "nan", "inf",
# "1e400", "1_000" or full-width digits, which Python's float() and int() would take.
NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?", re.ASCII)
INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
MAX_NUMBER_LENGTH = 30
EVSE_FIELDS = ("charge_point_id", "connector_id", "max_current_a", "phases", "max_power_w")


def number(text: str, what: str, kind: type[float] | type[int] = float) -> Any:
    """An optional number from a form field: empty is None; the domain checks its range."""
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_NUMBER_LENGTH:
        raise FormError(f"{what}: {quoted(text)} is far too long for a number.")
    if not (INTEGER if kind is int else NUMBER).fullmatch(text):
        whole = " whole" if kind is int else ""
        raise FormError(f"{what}: {quoted(text)} is not a{whole} number.")
    return kind(text.replace(",", "."))


def register(ctx: ApiContext, user: PageUser, form: FormFields) -> tuple[str, int | None]:
    """Register the form's connector; returns its name and the position to wait for."""
    charge_point_id = form.text("charge_point_id", "Charger id").strip()
    connector = number(form.text("connector_id", "Connector"), "Connector", int)
    if connector is None:
        raise FormError("Connector: give the connector's number, 1 for the first.")
    _, position = ctx.service.evses.register_evse(
        charge_point_id, connector, user.actor, limits_from(form)
    )
    return f"{charge_point_id} connector {connector}", position


def limits_from(form: FormFields) -> EvseLimits:
    """The form's rating in the operator's words; the domain checks it again."""
    current = number(form.text("max_current_a", "Maximum current"), "Maximum current")
    phases = number(form.text("phases", "Phases", optional=True), "Phases", int)
    power = number(form.text("max_power_w", "Maximum power"), "Maximum power")
    if current is None and power is None:
        raise FormError(
            "Give the connector's maximum current in amperes (with its phases),"
            " or its maximum power in watts."
        )
    if current is not None and power is not None:
        raise FormError(
            "Give the maximum current or the maximum power, not both: the charger is limited"
            " by one of them."
        )
    if phases not in (None, 1, 3):
        raise FormError("Phases: choose 1 phase or 3 phases.")
    if current is not None and phases is None:
        raise FormError("Choose 1 or 3 phases for the maximum current.")
    in_range(current, "Maximum current", "A", MAX_CURRENT_A)
    in_range(power, "Maximum power", "W", MAX_POWER_W)
    return EvseLimits(max_current_a=current, phases=phases, max_power_w=power)


def in_range(value: float | None, what: str, unit: str, highest: float) -> None:
    if value is not None and not 0 < value <= highest:
        raise FormError(f"{what}: give more than 0 {unit} and at most {highest:,.0f} {unit}.")


@router.get("/evses")
def evses(request: Request, ctx: Context, user: OperatorPage) -> Response:
    return evses_page(request, ctx, user)


@router.post("/evses")
def register_evse(request: Request, ctx: Context, user: OperatorForm, form: Posted) -> Response:
    try:
        name, position = register(ctx, user, form)
    except (DomainError, FormError) as error:
        return refused(request, ctx, user, "register", error, form.typed(*EVSE_FIELDS))
    ctx.caught_up(position)
    return redirect("/operator/evses", f"{name} is registered.")


@router.post("/evses/{evse_id}/deregister")
def deregister_evse(evse_id: UUID, request: Request, ctx: Context, user: OperatorForm) -> Response:
    try:
        ctx.caught_up(ctx.service.evses.deregister_evse(evse_id, user.actor))
    except DomainError as error:
        return refused(request, ctx, user, "list", error)
    return redirect("/operator/evses", "The EVSE was removed from the registry.")


@router.post("/chargers/password")
def set_charger_password(
    request: Request, ctx: Context, user: OperatorForm, form: Posted
) -> Response:
    try:
        charge_point_id = form.text("charge_point_id", "Charger id").strip()
        password = form.text("password", "Password")
        position = ctx.service.chargers.set_charger_password(charge_point_id, password, user.actor)
    except (DomainError, FormError) as error:
        values = form.typed("charge_point_id")
        return refused(request, ctx, user, "password", error, values)
    ctx.caught_up(position)
    notice = f"The OCPP password of charger {charge_point_id} is set."
    return redirect("/operator/evses", notice)
