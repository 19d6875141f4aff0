"""Domain refusals become HTTP answers here, once: a clear message, never a 500."""

from __future__ import annotations

import logging

import psycopg
import psycopg_pool
from eventsourcing import persistence as es
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    GroupAlreadyHasHomeUser,
    InvalidInput,
    InvitationInvalid,
    NotFound,
)

log = logging.getLogger(__name__)

STATUS = [
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (Conflict, status.HTTP_409_CONFLICT),
    (InvalidInput, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (InvitationInvalid, status.HTTP_410_GONE),
]


def status_for(error: DomainError) -> int:
    for kind, code in STATUS:
        if isinstance(error, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


async def domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    body: dict[str, object] = {"detail": str(error)}
    if isinstance(error, GroupAlreadyHasHomeUser):
        body["current_home_user"] = {
            "id": str(error.current_user_id),
            "email": error.current_email,
        }
    return JSONResponse(body, status_code=status_for(error))


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", error)
    return JSONResponse(
        {"detail": "the database is unavailable; try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


async def bad_data(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": f"the request holds a value the database cannot store: {error}"},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error)
    for outage in (
        psycopg.OperationalError,
        psycopg_pool.PoolTimeout,
        es.OperationalError,
        es.InterfaceError,
    ):
        app.add_exception_handler(outage, database_unavailable)
    app.add_exception_handler(psycopg.DataError, bad_data)
