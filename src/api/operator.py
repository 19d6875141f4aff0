"""The operator portal's API: consumer-portal users, the EVSE registry and smart charging groups."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    HTTPException,
    Query,
    Response,
    status,
)

from api import deps, group_actions
from api.context import ApiContext
from api.deps import Context, OperatorActor, json_bodies_only
from api.group_routes import add_group_routes
from api.home_users import home_user_by_email
from api.models import (
    ERROR_RESPONSES,
    NO_CONTROL,
    AuditEntryView,
    EvseIn,
    EvseLimitsIn,
    EvseMoveIn,
    EvseRef,
    EvseView,
    GroupIn,
    GroupPatch,
    GroupView,
    HomeUserIn,
    InviteIn,
    UserRef,
    UserView,
)

router = APIRouter(
    prefix="/api/operator",
    tags=["operator portal"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(json_bodies_only)],
)

Search = Annotated[str, Query(max_length=100, pattern=NO_CONTROL)]
AUTOCOMPLETE_SHOWN = 10
# The autocomplete's answer stays a list; how many match in all rides beside it.
MATCHES_HEADER = "X-Total-Count"
Limit = Annotated[int, Query(ge=1, le=1000)]
# Bounded: an offset past PostgreSQL's bigint was a 500.
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


def _user_view(ctx: ApiContext, user_id: UUID) -> UserView:
    row = ctx.queries.user(user_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {user_id} not found")
    return UserView(**row)


# --- consumer-portal users ----------------------------------------------------------------


@router.get("/users", summary="Consumer-portal users")
def list_users(
    ctx: Context, actor: OperatorActor, q: Search = "", limit: Limit = 100, offset: Offset = 0
) -> list[UserView]:
    return [UserView(**row) for row in ctx.queries.users("home_user", q, limit, offset)]


@router.get(
    "/users/autocomplete",
    summary="Home users whose e-mail holds q (from 3 characters; starts with it before), "
    "those starting with q first (top 10)",
    responses={
        200: {
            "headers": {
                MATCHES_HEADER: {
                    "description": "how many home users match in all (the list shows 10 at most)",
                    "schema": {"type": "integer"},
                }
            }
        }
    },
)
def autocomplete(
    ctx: Context, actor: OperatorActor, response: Response, q: Search = ""
) -> list[UserRef]:
    rows = ctx.queries.autocomplete(q, limit=AUTOCOMPLETE_SHOWN)
    response.headers[MATCHES_HEADER] = str(rows[0]["total"] if rows else 0)
    return [UserRef(**row) for row in rows]


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Invite a home user by e-mail")
def invite_user(body: InviteIn, ctx: Context, actor: OperatorActor) -> UserView:
    # The invitation mail is a reaction to the recorded invitation (projections.mails).
    user_id, _token = ctx.service.accounts.invite_home_user(body.email, actor)
    ctx.caught_up(ctx.service.recorder.max_notification_id())
    return _user_view(ctx, user_id)


@router.get("/users/{user_id}")
def get_user(user_id: UUID, ctx: Context, actor: OperatorActor) -> UserView:
    return _user_view(ctx, user_id)


@router.post("/users/{user_id}/resend", summary="Send a new invitation; the old link stops working")
def resend_invitation(user_id: UUID, ctx: Context, actor: OperatorActor) -> UserView:
    ctx.service.accounts.resend_invitation(user_id, actor)
    ctx.caught_up(ctx.service.recorder.max_notification_id())
    return _user_view(ctx, user_id)


@router.post("/users/{user_id}/revoke", summary="Revoke access to the consumer portal")
def revoke_user(user_id: UUID, ctx: Context, actor: OperatorActor) -> UserView:
    ctx.caught_up(ctx.service.accounts.revoke_user(user_id, actor))
    ctx.sessions.close_all(user_id)
    return _user_view(ctx, user_id)


@router.get("/users/{user_id}/audit", summary="What the user did and what was done to the account")
def user_audit(
    user_id: UUID, ctx: Context, actor: OperatorActor, limit: Limit = 200
) -> list[AuditEntryView]:
    _user_view(ctx, user_id)  # 404 for an unknown user, as for an unknown group
    return [AuditEntryView(**row) for row in ctx.queries.audit_for_user(user_id, limit)]


# --- operators -----------------------------------------------------------------------------


@router.get("/operators", summary="Operator accounts, with their state (active or disabled)")
def list_operators(
    ctx: Context, actor: OperatorActor, q: Search = "", limit: Limit = 100, offset: Offset = 0
) -> list[UserView]:
    return [UserView(**row) for row in ctx.queries.users("operator", q, limit, offset)]


@router.post(
    "/operators/{user_id}/disable",
    summary="Disable another operator: no login, sessions end (never yourself or the last one)",
)
def disable_operator(user_id: UUID, ctx: Context, actor: OperatorActor) -> UserView:
    ctx.caught_up(ctx.service.operators.disable_operator(user_id, actor))
    ctx.sessions.close_all(user_id)
    return _user_view(ctx, user_id)


@router.post("/operators/{user_id}/enable", summary="Enable a disabled operator again")
def enable_operator(user_id: UUID, ctx: Context, actor: OperatorActor) -> UserView:
    ctx.caught_up(ctx.service.operators.enable_operator(user_id, actor))
    return _user_view(ctx, user_id)


# --- EVSE registry --------------------------------------------------------------------------


def _evse_view(ctx: ApiContext, evse_id: UUID) -> EvseView:
    row = ctx.queries.evse(evse_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"EVSE {evse_id} not found")
    return EvseView(**row)


@router.get("/evses", summary="The EVSE registry, with group and status")
def list_evses(
    ctx: Context,
    actor: OperatorActor,
    group_id: UUID | None = None,
    free: Annotated[bool, Query(description="only EVSEs in no group")] = False,
) -> list[EvseView]:
    return [EvseView(**row) for row in ctx.queries.evses(group_id, free)]


@router.post("/evses", status_code=status.HTTP_201_CREATED, summary="Register a charger connector")
def register_evse(body: EvseIn, ctx: Context, actor: OperatorActor) -> EvseView:
    evse_id, position = ctx.service.evses.register_evse(
        body.charge_point_id,
        body.connector_id,
        actor,
        body.limits(),
    )
    ctx.caught_up(position)
    return _evse_view(ctx, evse_id)


@router.get("/evses/{evse_id}")
def get_evse(evse_id: UUID, ctx: Context, actor: OperatorActor) -> EvseView:
    return _evse_view(ctx, evse_id)


@router.put("/evses/{evse_id}/limits", summary="Change an EVSE's maximum current or power")
def change_evse_limits(
    evse_id: UUID, body: EvseLimitsIn, ctx: Context, actor: OperatorActor
) -> EvseView:
    ctx.caught_up(ctx.service.evses.change_evse_limits(evse_id, actor, body.limits()))
    return _evse_view(ctx, evse_id)


@router.post(
    "/evses/{evse_id}/move",
    summary="Move an EVSE to another group (out of its group, if any, in the same save)",
)
def move_evse(evse_id: UUID, body: EvseMoveIn, ctx: Context, actor: OperatorActor) -> EvseView:
    ctx.caught_up(ctx.service.evses.move_evse(evse_id, body.group_id, actor, body.seen_in()))
    return _evse_view(ctx, evse_id)


@router.delete("/evses/{evse_id}", status_code=status.HTTP_204_NO_CONTENT)
def deregister_evse(evse_id: UUID, ctx: Context, actor: OperatorActor) -> Response:
    ctx.caught_up(ctx.service.evses.deregister_evse(evse_id, actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- groups -------------------------------------------------------------------------------


@router.get("/groups", summary="Smart charging groups, searchable by name or home user")
def list_groups(
    ctx: Context,
    actor: OperatorActor,
    q: Search = "",
    limit: Limit = 50,
    offset: Offset = 0,
    after: Annotated[
        UUID | None, Query(description="the last group of the previous page: the next page")
    ] = None,
) -> list[GroupView]:
    now = ctx.now()
    rows = ctx.queries.groups(q, limit, offset, after)
    return [GroupView.from_row(row, now) for row in rows]


def _home_user_id(
    ctx: ApiContext, user_id: UUID | None, email: str | None, invite: str
) -> UUID | None:
    if user_id is not None and email is not None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give the home user's id or e-mail, not both"
        )
    field = "home_user_email" if invite == "invite_home_user" else "email"
    return user_id if email is None else home_user_by_email(ctx.queries, email, field, invite)


def _invited(email: str | None, invite: bool, field: str) -> str | None:
    """The e-mail to invite (or find) in the command itself, when inviting is asked for."""
    if invite and email is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{field}: give the e-mail to invite"
        )
    return email if invite else None


@router.post("/groups", status_code=status.HTTP_201_CREATED, summary="Create a group")
def create_group(body: GroupIn, ctx: Context, actor: OperatorActor) -> GroupView:
    invite_email = _invited(body.home_user_email, body.invite_home_user, "home_user_email")
    home_user_id = (
        None
        if invite_email
        else _home_user_id(ctx, body.home_user_id, body.home_user_email, "invite_home_user")
    )
    group_id, position = ctx.service.groups.create_group(
        name=body.name,
        description=body.description,
        time_zone=body.time_zone,
        algorithm=body.algorithm,
        actor=actor,
        home_user_id=home_user_id,
        invite_email=invite_email,
        evse_ids=body.evse_ids,
        exclusion_windows=group_actions.windows_from(body.exclusion_windows),
        random_delay=body.random_delay,
    )
    ctx.caught_up(position)
    return group_actions.group_view(ctx, group_id, actor)


@router.patch("/groups/{group_id}", summary="Edit name, description, time zone, random delay")
def edit_group(group_id: UUID, body: GroupPatch, ctx: Context, actor: OperatorActor) -> GroupView:
    position = ctx.service.groups.edit_group(group_id, actor, **body.model_dump(exclude_none=True))
    ctx.caught_up(position)
    return group_actions.group_view(ctx, group_id, actor)


@router.delete(
    "/groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a group; its EVSEs and home user are released",
)
def delete_group(group_id: UUID, ctx: Context, actor: OperatorActor) -> Response:
    ctx.caught_up(ctx.service.groups.delete_group(group_id, actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/groups/{group_id}/home-user",
    summary="Set the home user (refused with 409 when the group already has another)",
)
def set_home_user(
    group_id: UUID, body: HomeUserIn, ctx: Context, actor: OperatorActor
) -> GroupView:
    invite_email = _invited(body.email, body.invite, "email")
    if invite_email is not None:
        if body.user_id is not None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "give the home user's id or e-mail, not both"
            )
        position = ctx.service.groups.invite_home_user(group_id, invite_email, actor)
        ctx.caught_up(position)
        return group_actions.group_view(ctx, group_id, actor)
    user_id = _home_user_id(ctx, body.user_id, body.email, "invite")
    if user_id is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give user_id or email")
    ctx.caught_up(ctx.service.groups.add_home_user(group_id, user_id, actor))
    return group_actions.group_view(ctx, group_id, actor)


@router.post(
    "/groups/{group_id}/home-user/resend",
    summary="Send the group's invited home user a new invitation; the old link stops working",
)
def resend_home_user_invitation(group_id: UUID, ctx: Context, actor: OperatorActor) -> GroupView:
    row = group_actions.group_row(ctx, group_id, actor)
    if row["home_user_id"] is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the group has no home user to invite")
    ctx.service.accounts.resend_invitation(row["home_user_id"], actor, group_id)
    ctx.caught_up(ctx.service.recorder.max_notification_id())
    return group_actions.group_view(ctx, group_id, actor)


@router.delete("/groups/{group_id}/home-user/{user_id}", summary="Remove the home user")
def remove_home_user(
    group_id: UUID, user_id: UUID, ctx: Context, actor: OperatorActor
) -> GroupView:
    ctx.caught_up(ctx.service.groups.remove_home_user(group_id, user_id, actor))
    return group_actions.group_view(ctx, group_id, actor)


@router.post("/groups/{group_id}/evses", summary="Add an EVSE (refused if it is in another group)")
def add_evse(group_id: UUID, body: EvseRef, ctx: Context, actor: OperatorActor) -> GroupView:
    ctx.caught_up(ctx.service.evses.add_evse(group_id, body.evse_id, actor))
    return group_actions.group_view(ctx, group_id, actor)


@router.delete("/groups/{group_id}/evses/{evse_id}", summary="Remove an EVSE from the group")
def remove_evse(group_id: UUID, evse_id: UUID, ctx: Context, actor: OperatorActor) -> GroupView:
    ctx.caught_up(ctx.service.evses.remove_evse(group_id, evse_id, actor))
    return group_actions.group_view(ctx, group_id, actor)


add_group_routes(router, deps.operator)
