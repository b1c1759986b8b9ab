"""FastAPI dependencies: what a route needs from the running service, taken from app.state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from prometheus_client import CollectorRegistry

from storage.base import EventStore


@dataclass
class ConsoleContext:
    """Everything the console's routes read: stores, metrics registry, service facts."""

    events: EventStore
    registry: CollectorRegistry
    started_at: datetime
    version: str
    backend: str
    extras: dict[str, object] = field(default_factory=dict)


def get_context(request: Request) -> ConsoleContext:
    """The ConsoleContext of the running app."""
    return request.app.state.context
