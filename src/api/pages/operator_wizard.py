"""Operator portal: the "New group" wizard.

Steps 1-3 are GET forms that carry the earlier answers along, so nothing is
stored until step 4 posts the whole group to the command service at once
(one atomic save of the group, its home user and its EVSEs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.context import ApiContext
from api.deps import Context
from api.home_users import found_home_user
from domain.errors import DomainError, InvalidInput
from domain.groups import Algorithm, validate_description, validate_name, validate_time_zone

from .access import OPERATOR, OperatorForm, OperatorPage, PageUser
from .evse_search import free_evse_search
from .form_input import FormFields, Posted, QueryForm
from .formatting import time_zone_names
from .list_paging import lists
from .messages import FormError, in_words, status_of
from .rendering import page_context, redirect, render

router = APIRouter(prefix="/operator/groups/new", include_in_schema=False)
STEPS = ("Name and time zone", "Home user", "EVSEs", "Review and save")


@dataclass
class Draft:
    name: str = ""
    description: str = ""
    time_zone: str = ""
    algorithm: str = Algorithm.CONSUMER_TOU.value
    home_user_email: str = ""
    evse: list[str] = field(default_factory=list)

    def query(self, step: int) -> str:
        return urlencode({**asdict(self), "step": step}, doseq=True)


def _refusal(check: Callable[[], object], errors: dict[str, str], name: str) -> None:
    errors.update(_refused(check, name))


def _refused(check: Callable[[], object], name: str) -> dict[str, str]:
    try:
        check()
    except InvalidInput as error:
        return {name: in_words(error)}
    return {}


def check_details(ctx: ApiContext, draft: Draft) -> dict[str, str]:
    errors: dict[str, str] = {}
    _refusal(lambda: validate_name(draft.name), errors, "name")
    _refusal(lambda: validate_description(draft.description), errors, "description")
    if not draft.time_zone.strip():
        errors["time_zone"] = "Choose the group's time zone, for example Europe/Amsterdam."
    else:
        _refusal(lambda: validate_time_zone(draft.time_zone.strip()), errors, "time_zone")
    if draft.algorithm != Algorithm.CONSUMER_TOU.value:
        errors["algorithm"] = "Choose the algorithm: consumer-configured ToU."
    return errors


def check_home_user(ctx: ApiContext, draft: Draft) -> dict[str, str]:
    """An e-mail without an account is fine: saving the group invites it."""
    return _refused(lambda: home_user_of(ctx, draft), "home_user_email")


def home_user_of(ctx: ApiContext, draft: Draft) -> dict[str, Any] | None:
    """The home user's directory row, None when the e-mail has no account yet (or is empty);
    an operator's or a revoked account is refused."""
    email = draft.home_user_email.strip()
    return found_home_user(ctx.queries, email) if email else None


def chosen_evses(ctx: ApiContext, draft: Draft) -> list[dict[str, Any]]:
    """The EVSEs the draft names that are still free (a text that is no id names none)."""
    ids = []
    for text in draft.evse:
        try:
            ids.append(UUID(text[:36]))
        except ValueError:
            continue
    return lists(ctx).free_evses_among(ids) if ids else []


def check_evses(ctx: ApiContext, draft: Draft) -> dict[str, str]:
    free = {str(row["id"]) for row in chosen_evses(ctx, draft)}
    taken = [evse for evse in draft.evse if evse not in free]
    if taken:
        return {"evse": "An EVSE you chose is no longer free; choose again."}
    return {}


CHECKS = (check_details, check_home_user, check_evses)


def first_problem(ctx: ApiContext, draft: Draft, upto: int) -> tuple[int, dict[str, str]] | None:
    """The first step before `upto` whose answers are refused, with the reasons."""
    for step, check in enumerate(CHECKS[: upto - 1], start=1):
        errors = check(ctx, draft)
        if errors:
            return step, errors
    return None


def step_page(
    request: Request,
    ctx: ApiContext,
    user: PageUser,
    draft: Draft,
    step: int,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = page_context(
        OPERATOR,
        user,
        draft=draft,
        step=step,
        steps=STEPS,
        errors=errors or {},
        back=f"/operator/groups/new?{draft.query(step - 1)}" if step > 1 else "",
        time_zones=time_zone_names() if step == 1 else [],
        chosen_evses=chosen_evses(ctx, draft) if step >= 3 else [],
        home_user=chosen_home_user(ctx, draft) if step == 4 else None,
    )
    if step == 3:
        # A short list of what the search box finds, the EVSEs chosen so far kept above it.
        context.update(free_evse_search(ctx, request.query_params))
        if context["evse_search_refusal"] and status_code == 200:
            status_code = 422
    return render(request, "operator_wizard.html", context, status_code)


def chosen_home_user(ctx: ApiContext, draft: Draft) -> dict[str, Any] | None:
    """The home user the review shows: the account, or the e-mail it invites."""
    email = draft.home_user_email.strip()
    if not email:
        return None
    try:
        row = home_user_of(ctx, draft)
    except InvalidInput:
        return None
    return row or {"email": email.lower(), "status": "new"}


def wizard(request: Request, ctx: ApiContext, user: PageUser, draft: Draft, step: int) -> Response:
    step = min(max(step, 1), len(STEPS))
    problem = first_problem(ctx, draft, step)
    if problem is not None:
        return step_page(request, ctx, user, draft, problem[0], problem[1], 422)
    return step_page(request, ctx, user, draft, step)


def create(ctx: ApiContext, user: PageUser, draft: Draft) -> UUID:
    """As the JSON API's create_group with invite_home_user: one save, which invites an
    e-mail without an account (the home user's one mail follows from it)."""
    group_id, position = ctx.service.groups.create_group(
        name=draft.name,
        description=draft.description,
        time_zone=draft.time_zone.strip(),
        algorithm=draft.algorithm,
        actor=user.actor,
        invite_email=draft.home_user_email.strip() or None,
        evse_ids=[UUID(evse) for evse in draft.evse],
    )
    ctx.caught_up(position)
    return group_id


def told(ctx: ApiContext, group_id: UUID) -> str:
    """What the home user was sent, as the saved group's row says."""
    row = ctx.queries.group(group_id)
    if row is None or row["home_user_id"] is None:
        return ""
    email, status = row["home_user_email"], row["home_user_status"]
    if status != "invited":
        return f" {email} is told by e-mail."
    invitation = ctx.queries.user(row["home_user_id"]) or {}
    if invitation.get("invited_at") and invitation["invited_at"] >= row["created_at"]:
        return f" {email} is invited by e-mail; the mail's link sets the password."
    return (
        f" {email} has not accepted the invitation sent earlier yet;"
        " the group page sends a new one if it was lost."
    )


def draft_from(form: FormFields) -> Draft:
    """The answers so far; the GET steps carry them along, so any may still be missing."""
    return Draft(
        name=form.text("name", "Name", optional=True),
        description=form.text("description", "Description", optional=True),
        time_zone=form.text("time_zone", "Time zone", optional=True),
        algorithm=form.text("algorithm", "Algorithm", optional=True)
        or Algorithm.CONSUMER_TOU.value,
        home_user_email=form.text("home_user_email", "Home user", optional=True),
        evse=form.texts("evse", "EVSEs"),
    )


def shown_draft(form: FormFields) -> Draft:
    """The answers as the refused form shows them again."""
    typed = form.typed("name", "description", "time_zone", "algorithm", "home_user_email")
    return Draft(
        name=typed["name"],
        description=typed["description"],
        time_zone=typed["time_zone"],
        algorithm=typed["algorithm"] or Algorithm.CONSUMER_TOU.value,
        home_user_email=typed["home_user_email"],
    )


def step_of(text: str) -> int:
    """The step a link or button asks for; anything else starts at the first."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 2 else 1


@router.get("")
def new_group(request: Request, ctx: Context, user: OperatorPage, form: QueryForm) -> Response:
    try:
        draft = draft_from(form)
        step = step_of(form.text("step", "Step", optional=True))
    except FormError as error:
        return step_page(request, ctx, user, shown_draft(form), 1, {"form": error.message}, 422)
    return wizard(request, ctx, user, draft, step)


@router.post("")
def save_group(request: Request, ctx: Context, user: OperatorForm, form: Posted) -> Response:
    try:
        draft = draft_from(form)
    except FormError as error:
        return step_page(request, ctx, user, shown_draft(form), 1, {"form": error.message}, 422)
    problem = first_problem(ctx, draft, len(STEPS))
    if problem is not None:
        return step_page(request, ctx, user, draft, problem[0], problem[1], 422)
    try:
        group_id = create(ctx, user, draft)
    except DomainError as error:
        errors = {"save": in_words(error, ctx.queries)}
        return step_page(request, ctx, user, draft, len(STEPS), errors, status_of(error))
    notice = f"Group “{draft.name.strip()}” created.{told(ctx, group_id)}"
    return redirect(OPERATOR.group_url(group_id), notice)
