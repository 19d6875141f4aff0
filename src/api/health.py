"""`GET /healthz`: each follower's position, lag and stuck events, for load balancers and people.

200 while every follower this process runs is following (with "degraded" when
stuck events, failing groups or mails the SMTP server refuses wait for an operator),
503 when one is down or the database does not answer.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Context

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="How the followers of the event store are doing")
def healthz(ctx: Context) -> JSONResponse:
    report = ctx.health()
    return JSONResponse(
        report.body,
        status_code=200 if report.healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
