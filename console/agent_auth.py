"""Agent authentication for the API: ``Authorization: Bearer <agent key>`` -> the agent, or 401."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from console.deps import AgentIngest, ConsoleContext, get_context
from storage.workflow.agents import AgentIdentity

# auto_error=False: a missing or non-Bearer header gets our 401 with a clear message, not a bare 403.
_bearer = HTTPBearer(auto_error=False, scheme_name="agentKey", description="Per-agent key from `sontra agent enroll`")


def agent_ingest(ctx: Annotated[ConsoleContext, Depends(get_context)]) -> AgentIngest:
    """The ingest wiring of the running service; 503 when this service does not take agent data."""
    if ctx.ingest is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "HTTP ingest is not enabled on this server")
    return ctx.ingest


def require_agent(
    request: Request,
    ingest: Annotated[AgentIngest, Depends(agent_ingest)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AgentIdentity:
    """The agent whose key the request carries; 401 for a missing, malformed, wrong, disabled or revoked key.

    A sync dependency on purpose: FastAPI runs it in a worker thread, where the database lookup and
    (the first time a key is seen) argon2 cannot hold up the event loop.
    """
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing agent key: send 'Authorization: Bearer <agent key>' (from `sontra agent enroll`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    client = request.client.host if request.client else None
    agent = ingest.keys.authenticate(credentials.credentials, ip=client)
    if agent is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid agent key, or the agent is disabled or revoked",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return agent
