"""The FastAPI application: routers, problem handlers, middleware, CORS, OpenAPI.

``create_app(container)`` builds an app around an already bootstrapped container; nothing
is created at import. Background work (the workers under ``clash serve``) is handed in as
objects with ``start()`` and ``stop()``, run by the app's lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from adapters.bootstrap import Container
from adapters.heartbeats import MonitoredWorker
from adapters.metrics import Metrics
from api.errors import install_problem_handlers
from api.middleware import RequestContextMiddleware
from api.routes import (
    admin,
    admin_clones,
    admin_dead_letters,
    admin_model_usage,
    admin_prop,
    admin_reconciliation,
    arena,
    auditions,
    auth,
    backtests,
    clones,
    economy,
    health,
    internal,
    market,
    me,
    metrics,
    prop,
    public_clones,
    races,
    tickets,
    trading,
)
from projections.clones_queries import ClonesQueries
from projections.prop_queries import PropQueries
from workers.catalog import build_workers

DESCRIPTION = """Clash of Clones backend.

Errors are RFC 9457 `application/problem+json`; branch on the stable `type`
(for example `urn:clash:problem:sign-in:nonce-used`). Authenticate with
`Authorization: Bearer <accessToken>` from `/v1/auth/siwe/verify`; machine-to-machine
routes under `/v1/internal` take a service token instead.
"""


class Background(Protocol):
    """Something the app runs while it serves (the in-process workers)."""

    def start(self) -> None:
        """Begin running in the background."""

    def stop(self) -> None:
        """Stop and wait (bounded) for a clean finish."""


def create_app(
    container: Container,
    background: Sequence[Background] = (),
    monitored: Sequence[MonitoredWorker] | None = None,
) -> FastAPI:
    """Build the HTTP application around ``container``.

    ``monitored`` are the workers ``/health/workers`` reports on (default: every worker of
    the catalog, wherever it runs: heartbeats live in the database).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for item in background:
            item.start()
        try:
            yield
        finally:
            for item in reversed(background):
                item.stop()

    app = FastAPI(
        title="Clash of Clones API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.container = container
    app.state.prop_queries = PropQueries(container.database)
    app.state.clones_queries = ClonesQueries(container.database)
    app.state.monitored_workers = list(build_workers(container) if monitored is None else monitored)
    install_problem_handlers(app)
    routers = (
        health.router,
        auth.router,
        me.router,
        market.router,
        prop.router,
        admin.router,
        admin_prop.router,
        internal.router,
        clones.router,
        public_clones.router,
        admin_clones.router,
        trading.router,
        backtests.router,
        economy.router,
        auditions.router,
        arena.router,
        races.router,
        tickets.router,
        admin_dead_letters.router,
        admin_reconciliation.router,
        admin_model_usage.router,
        metrics.router,
    )
    for router in routers:
        app.include_router(router)
    if container.settings.dev_login_available:
        app.include_router(auth.dev_router())
    app.add_middleware(
        CORSMiddleware,
        allow_origins=container.settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After", "Idempotent-Replayed"],
    )
    app.state.metrics = Metrics(container)
    app.add_middleware(RequestContextMiddleware, observe=app.state.metrics.observe_request)
    return app
