"""FastAPI dependencies: what a route needs from the running service, taken from app.state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from prometheus_client import CollectorRegistry

from collectors.agent_http import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_EVENTS, RecordSequence
from collectors.spool import Spool
from storage.base import EventStore
from storage.workflow.agents import AgentKeys


@dataclass
class AgentIngest:
    """What POST /api/v1/ingest needs: the spool it appends to, the agents' keys, and its limits."""

    spool: Spool
    keys: AgentKeys
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_events: int = DEFAULT_MAX_EVENTS
    sequence: RecordSequence = field(default_factory=RecordSequence)


@dataclass
class ConsoleContext:
    """Everything the console's routes read: stores, metrics registry, service facts."""

    events: EventStore
    registry: CollectorRegistry
    started_at: datetime
    version: str
    backend: str
    extras: dict[str, object] = field(default_factory=dict)
    ingest: AgentIngest | None = None  # None: HTTP ingest is off (answers 503)


def get_context(request: Request) -> ConsoleContext:
    """The ConsoleContext of the running app."""
    return request.app.state.context
