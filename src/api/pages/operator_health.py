"""Operator portal: what the followers of the event store could not do, and marking it handled."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import Context

from .access import OPERATOR, OperatorForm, OperatorPage
from .form_input import Posted, quoted
from .messages import FormError
from .rendering import page_context, redirect, render

router = APIRouter(prefix="/operator/health", include_in_schema=False)
FOLLOWER_NAMES = ("read-models", "scheduler", "gateway")


@router.get("")
def health(request: Request, ctx: Context, user: OperatorPage) -> Response:
    report = ctx.health()
    faults = ctx.view.faults
    context = page_context(
        OPERATOR,
        user,
        report=report.body,
        stuck=faults.open_stuck_events(),
        failing=faults.group_faults(),
    )
    return render(request, "operator_health.html", context)


@router.post("/stuck/handled")
def mark_handled(ctx: Context, user: OperatorForm, form: Posted) -> Response:
    """The operator has looked into a stuck event: it no longer counts in the banner."""
    try:
        follower = form.text("follower", "Follower")
        position = form.text("position", "Event")
    except FormError as refusal:
        return redirect("/operator/health", str(refusal))
    if follower not in FOLLOWER_NAMES:
        return redirect("/operator/health", f"No follower is called {quoted(follower)}.")
    if not position.isascii() or not position.isdigit() or len(position) > 18:
        return redirect("/operator/health", f"{quoted(position)} is no event position.")
    done = ctx.view.faults.mark_handled(follower, int(position), user.session.user_id, ctx.now())
    notice = f"Event {position} marked handled." if done else f"Event {position} was not open."
    return redirect("/operator/health", notice)
