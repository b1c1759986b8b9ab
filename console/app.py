"""Build the FastAPI application: routers under /api/v1, metrics at /metrics."""

from __future__ import annotations

from fastapi import FastAPI

from console.deps import ConsoleContext
from console.routers import health, ingest, metrics

API_PREFIX = "/api/v1"


def create_app(context: ConsoleContext) -> FastAPI:
    """The console and REST API for one running service."""
    app = FastAPI(
        title="Sontra",
        version=context.version,
        description="Sontra SOC toolkit REST API",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.context = context
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(ingest.router, prefix=API_PREFIX)
    app.include_router(metrics.router)
    return app
