"""GET /api/v1/health: liveness and the store's reachability; the only route without auth."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from console.deps import ConsoleContext, get_context

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service health")
def health(ctx: Annotated[ConsoleContext, Depends(get_context)]) -> JSONResponse:
    """Report liveness; 503 when the event store cannot answer."""
    body: dict[str, Any] = {
        "status": "ok",
        "version": ctx.version,
        "uptime_seconds": round((datetime.now(UTC) - ctx.started_at).total_seconds(), 1),
        "store": {"backend": ctx.backend, "ok": True},
    }
    try:
        ctx.events.count("*", None, None)
    except Exception as exc:  # any backend failure means "not healthy", reported, not raised
        body["status"] = "degraded"
        body["store"] = {"backend": ctx.backend, "ok": False, "error": type(exc).__name__}
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
