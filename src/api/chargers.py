"""The operator's view of chargers: their passwords, connections, and what they will do.

The gateway is reached through `ctx.gateway` (the composition root puts it
there) and only as the `ChargerGateway` protocol, so the API does not depend on
the OCPP code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field, StringConstraints

from api.context import ApiContext
from api.deps import Context, OperatorActor, json_bodies_only
from api.models import CHARGE_POINT_ID, ERROR_RESPONSES, Strict
from domain.charge_points import MAX_CHARGER_PASSWORD, MIN_CHARGER_PASSWORD

router = APIRouter(
    prefix="/api/operator/chargers",
    tags=["operator portal: chargers"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(json_bodies_only)],
)

ChargePointId = Annotated[str, Path(max_length=48, pattern=CHARGE_POINT_ID)]
ChargerPassword = Annotated[
    str,
    StringConstraints(min_length=MIN_CHARGER_PASSWORD, max_length=MAX_CHARGER_PASSWORD),
]
DAY_SECONDS = 86_400


class ChargerPasswordIn(Strict):
    password: ChargerPassword = Field(
        description="the charger's HTTP Basic auth password (OCPP AuthorizationKey), "
        f"{MIN_CHARGER_PASSWORD}-{MAX_CHARGER_PASSWORD} printable ASCII characters"
    )


class ChargerView(BaseModel):
    charge_point_id: str
    connectors: list[int] = Field(description="the registered EVSEs' connector ids")
    password_set: bool
    connected: bool
    connected_here: bool = Field(description="connected to this process's gateway")
    gateway_id: str | None = None
    protocol: str | None = None
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    max_periods: int | None = None
    max_stack_level: int | None = None
    max_profiles: int | None = Field(
        default=None, description="the most profiles it keeps installed, where it said"
    )
    rate_units: list[str] = Field(default_factory=list)
    capability_notes: list[str] = Field(
        default_factory=list,
        description="what the charger reported that made no sense, and the value used instead",
    )
    connector_status: dict[str, Any] = Field(default_factory=dict)
    connected_at: datetime | None = None
    disconnected_at: datetime | None = None


def _here(ctx: ApiContext) -> dict[str, str]:
    gateway = ctx.gateway
    return gateway.connections() if gateway is not None else {}


def charger_views(ctx: ApiContext) -> list[ChargerView]:
    """Every charger with a registered EVSE or a password, by id."""
    connectors: dict[str, list[int]] = {}
    for evse in ctx.queries.evses():
        connectors.setdefault(evse["charge_point_id"], []).append(evse["connector_id"])
    rows = {row["charge_point_id"]: row for row in ctx.queries.chargers()}
    here = _here(ctx)
    views = []
    for charge_point_id in sorted(connectors.keys() | rows.keys()):
        row = rows.get(charge_point_id, {"connected": False})
        fields = {k: v for k, v in row.items() if k in ChargerView.model_fields}
        fields.pop("charge_point_id", None)
        views.append(
            ChargerView(
                **fields,
                charge_point_id=charge_point_id,
                connectors=sorted(connectors.get(charge_point_id, [])),
                password_set=charge_point_id in rows,
                connected_here=charge_point_id in here,
            )
        )
    return views


@router.get("", summary="Chargers, with their connection state")
def list_chargers(ctx: Context, actor: OperatorActor) -> list[ChargerView]:
    return charger_views(ctx)


@router.put(
    "/{charge_point_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set the password the charger authenticates with (HTTP Basic auth, OCPP-J §6)",
)
def set_password(
    charge_point_id: ChargePointId, body: ChargerPasswordIn, ctx: Context, actor: OperatorActor
) -> Response:
    ctx.caught_up(ctx.service.chargers.set_charger_password(charge_point_id, body.password, actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{charge_point_id}/composite-schedule",
    summary="Ask the charger what it will do (OCPP GetCompositeSchedule); its answer as sent",
    responses={
        409: {"description": "the charger is not connected to this process's gateway"},
        502: {"description": "the charger answered with an error"},
        504: {"description": "the charger did not answer in time"},
    },
)
def composite_schedule(
    charge_point_id: ChargePointId,
    ctx: Context,
    actor: OperatorActor,
    connector_id: Annotated[int, Query(ge=0, le=1000)] = 1,
    duration: Annotated[int, Query(ge=1, le=7 * DAY_SECONDS)] = DAY_SECONDS,
) -> dict[str, Any]:
    gateway = ctx.gateway
    if gateway is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "this process runs no OCPP gateway")
    try:
        return gateway.composite_schedule(charge_point_id, connector_id, duration)
    except TimeoutError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT, f"charger {charge_point_id} did not answer"
        ) from None
    except ConnectionError as error:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, f"charger {charge_point_id}: {error}"
        ) from None
