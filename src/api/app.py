"""The FastAPI application: both portals' JSON API and their pages."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from api import (
    accounts,
    chargers,
    consumer,
    docs,
    edge,
    errors,
    health,
    operator,
    pages,
    password_resets,
)
from api.context import ApiContext

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    context: ApiContext,
    lifespan: Lifespan | None = None,
    edge_settings: edge.EdgeSettings | None = None,
) -> FastAPI:
    """The API on `context`; `lifespan` starts and stops what it needs while it serves."""
    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # served by docs.install, without a CDN
        redoc_url=None,
        title="Smart charging for home users",
        version="0.1.0",
        description=(
            "Operator portal (/api/operator) and consumer portal (/api/me) of a smart charging "
            "backend: consumer-configured time-of-use groups, exclusion times and priority charge."
        ),
    )
    app.state.context = context
    edge.install(app, edge_settings or edge.EdgeSettings())
    errors.install(app)
    app.include_router(accounts.router)
    app.include_router(password_resets.router)
    app.include_router(operator.router)
    app.include_router(chargers.router)
    app.include_router(consumer.router)
    app.include_router(health.router)
    docs.install(app)
    pages.install(app)
    return app
