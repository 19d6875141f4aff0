"""Operator portal: move an EVSE to another group.

A page of its own, reached from the group page's and the registry's EVSE rows: find
the group by name (a GET form, no JavaScript needed), confirm, and the move is saved
as one change of the EVSE and both groups. A refusal (the EVSE or a group gone, or
someone moved it first) is said in words on the same page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.context import ApiContext
from api.deps import Context
from domain.errors import DomainError, EvseMovedMeanwhile, NotFound

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .form_input import MAX_SEARCH_LENGTH, FormFields, Posted, echo, search_text
from .group_panels import PageNotFound
from .messages import FormError, explain, status_of
from .rendering import page_context, redirect, render

router = APIRouter(prefix="/operator/evses", include_in_schema=False)
CHOICES = 20  # groups listed for a search; more are found by typing more of the name


def evse_name(row: dict[str, Any]) -> str:
    return f"{row['charge_point_id']} / connector {row['connector_id']}"


def move_url(evse_id: UUID, **query: Any) -> str:
    shown = {key: value for key, value in query.items() if value}
    return f"/operator/evses/{evse_id}/move" + (f"?{urlencode(shown)}" if shown else "")


def found_evse(ctx: ApiContext, evse_id: UUID) -> dict[str, Any]:
    row = ctx.queries.evse(evse_id)
    if row is None:
        raise PageNotFound("There is no such EVSE in the registry (it was removed).")
    return row


def choices(ctx: ApiContext, evse: dict[str, Any], q: str) -> list[dict[str, Any]]:
    """Groups whose name (or home user's e-mail) holds `q`, its own group left out."""
    rows = ctx.queries.groups(q, CHOICES + 1)
    return [row for row in rows if row["id"] != evse["group_id"]][:CHOICES]


def move_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    evse: dict[str, Any],
    target: dict[str, Any] | None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    q, refusal = search_text(request.query_params)
    errors = {**({"search": refusal} if refusal else {}), **(errors or {})}
    context = page_context(
        OPERATOR,
        user,
        evse={**evse, "name": evse_name(evse)},
        target=target,
        groups=[] if target else choices(ctx, evse, q),
        shown=CHOICES,
        q=echo(request.query_params.get("q", ""), MAX_SEARCH_LENGTH),
        choose_url=lambda group_id: move_url(evse["id"], q=q, group_id=group_id),
        search_url=move_url(evse["id"], q=q),
        back_url=OPERATOR.group_url(evse["group_id"]) if evse["group_id"] else "/operator/evses",
        errors=errors,
    )
    return render(request, "operator_evse_move.html", context, status_code)


def chosen_group(ctx: ApiContext, text: str) -> dict[str, Any] | None:
    """The group the link or the form names, None when it names none (or one gone)."""
    try:
        return ctx.queries.group(UUID(text)) if text else None
    except ValueError:
        return None


@router.get("/{evse_id}/move")
def ask_to_move(evse_id: UUID, request: Request, ctx: Context, user: OperatorPage) -> Response:
    evse = found_evse(ctx, evse_id)
    chosen = request.query_params.get("group_id", "")
    target = chosen_group(ctx, chosen)
    if chosen and target is None:
        gone = {"move": "That group is no longer there (deleted meanwhile): choose another."}
        return move_page(request, ctx, user, evse, None, gone, 404)
    return move_page(request, ctx, user, evse, target)


def seen_group(form: FormFields) -> UUID | None:
    """The group the confirming page showed the EVSE in ("" for none)."""
    text = form.text("from_group_id", "From group", optional=True)
    try:
        return UUID(text) if text else None
    except ValueError:
        raise FormError("This form is not one of ours: reload the page.") from None


@router.post("/{evse_id}/move")
def move(
    evse_id: UUID, request: Request, ctx: Context, user: OperatorForm, form: Posted
) -> Response:
    evse = found_evse(ctx, evse_id)
    target = None
    try:
        target = chosen_group(ctx, form.text("to_group_id", "Group"))
        if target is None:
            raise FormError("That group is no longer there (deleted meanwhile): choose another.")
        seen = seen_group(form)
        ctx.caught_up(ctx.service.evses.move_evse(evse_id, target["id"], user.actor, seen))
    except EvseMovedMeanwhile as error:
        now = found_evse(ctx, evse_id)
        where = f"“{now['group_name']}”" if now["group_id"] else "no group"
        words = f"{evse_name(now)} was moved meanwhile and is now in {where}; nothing changed."
        return move_page(request, ctx, user, now, target, {"move": words}, status_of(error))
    except NotFound as error:
        if str(error).startswith("EVSE") or ctx.queries.evse(evse_id) is None:
            raise PageNotFound("There is no such EVSE in the registry (it was removed).") from None
        gone = {"move": "That group is no longer there (deleted meanwhile): choose another."}
        return move_page(request, ctx, user, evse, None, gone, status_of(error))
    except (DomainError, FormError) as error:
        said = {"move": explain(error, ctx.queries)}
        return move_page(request, ctx, user, evse, target, said, status_of(error))
    source = f" from “{evse['group_name']}”" if evse["group_id"] else ""
    notice = f"{evse_name(evse)} moved{source} to “{target['name']}”."
    return redirect(f"{OPERATOR.group_url(target['id'])}#evses", notice)
