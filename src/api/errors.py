"""Domain refusals become HTTP answers here, once: a clear message, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg_pool
from eventsourcing import persistence as es
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.models import PATTERN_PROBLEMS
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


LOCATIONS = ("body", "query", "path", "header", "cookie")


def field_name(loc: Sequence[str | int]) -> str:
    """('body', 'windows', 0, 'start') -> 'windows[0].start'; ('path', 'group_id') -> 'group_id'."""
    name = ""
    for part in loc[1:] if loc and loc[0] in LOCATIONS else loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or (str(loc[0]) if loc else "request")


def problem(error: dict[str, Any]) -> str:
    """Pydantic's message, in words where it would show a regular expression, with the value."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        return f"not valid JSON: {ctx.get('error', error['msg'])}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_PROBLEMS:
        message = PATTERN_PROBLEMS[ctx["pattern"]]
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float) and kind != "missing" and len(repr(value)) <= 60:
        message += f" (got {value!r})"
    return message


def field_error(error: dict[str, Any]) -> dict[str, str]:
    loc = error.get("loc") or ()
    if error.get("type") == "json_invalid":
        loc = ("body",)  # pydantic puts the character position here, which is no field
    return {
        "field": field_name(loc),
        "location": str(loc[0]) if loc and loc[0] in LOCATIONS else "body",
        "message": problem(error),
        "type": str(error.get("type", "")),
    }


async def malformed_request(request: Request, error: Exception) -> JSONResponse:
    """422 with one line naming each bad field and what is wrong with it, then the details."""
    assert isinstance(error, RequestValidationError)
    errors = [field_error(each) for each in error.errors()]
    detail = "; ".join(f"{each['field']}: {each['message']}" for each in errors)
    return JSONResponse(
        {"detail": detail or "the request is not valid", "errors": errors},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, malformed_request)
    for outage in (
        psycopg.OperationalError,
        psycopg_pool.PoolTimeout,
        es.OperationalError,
        es.InterfaceError,
    ):
        app.add_exception_handler(outage, database_unavailable)
    # eventsourcing's datastore re-raises psycopg's DataError as its own: catch both.
    for bad in (psycopg.DataError, es.DataError):
        app.add_exception_handler(bad, bad_data)
