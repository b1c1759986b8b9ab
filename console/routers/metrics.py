"""GET /metrics: Prometheus text exposition of the service's counters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from console.deps import ConsoleContext, get_context

router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(ctx: Annotated[ConsoleContext, Depends(get_context)]) -> Response:
    """Every counter and gauge of the running service."""
    return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)
