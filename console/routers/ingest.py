"""POST /api/v1/ingest: events from agents, answered 202 only once they are durably spooled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from collectors.agent_http import (
    JSON_TYPES,
    NDJSON_TYPES,
    AgentBatch,
    BadBody,
    BodyTooLarge,
    gunzip_capped,
    parse_body,
)
from collectors.spool import BatchTooLarge, SpoolError, SpoolFull
from console.agent_auth import agent_ingest, require_agent
from console.deps import AgentIngest
from storage.workflow.agents import AgentIdentity

router = APIRouter(tags=["ingest"])

RETRY_AFTER_SECONDS = 5  # when the spool is full: the store needs time to catch up, not a hammering
MAX_REPORTED_REJECTIONS = 1000  # the response names at most this many bad lines; rejected_total counts all
PARSE_FAILURE_NOTE = (
    "rejected lines are not lost: they were stored as events tagged parse_failure, with their raw text"
)
_ACCEPTED_TYPES = ", ".join(sorted(NDJSON_TYPES | JSON_TYPES))

_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Spooled (fsync'd): `{accepted, rejected: [{line|index, error}], rejected_total}`"},
    400: {"description": "The body cannot be read (broken gzip, or a JSON body that is not JSON)"},
    401: {"description": "Missing, wrong, disabled or revoked agent key"},
    413: {"description": "Body over ingest.max_body_bytes (decompressed) or too many events"},
    415: {"description": "Content-Type or Content-Encoding not supported"},
    429: {"description": "The spool is full (the store is behind); retry after `Retry-After` seconds"},
    503: {"description": "HTTP ingest is off, or the spool cannot be written"},
}


@router.post(
    "/ingest",
    summary="Send events from an agent",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_RESPONSES,
)
async def ingest(
    request: Request,
    agent: Annotated[AgentIdentity, Depends(require_agent)],
    feed: Annotated[AgentIngest, Depends(agent_ingest)],
) -> JSONResponse:
    """Accept NDJSON (one JSON object per line) or JSON (an object or an array of objects), gzip or not.

    202 means every event of the request is on disk (fsync'd) and will be stored, even if the
    server crashes right after answering. Lines that are not JSON objects are reported by line
    number (array items by index) and stored as ``parse_failure`` events; the good lines are kept.
    """
    media_type = _media_type(request)
    gzipped = _gzipped(request)
    body = await _read_body(request, feed.max_body_bytes)
    received_at = datetime.now(UTC)
    try:
        batch: AgentBatch = await run_in_threadpool(
            _decode, body, gzipped, media_type, feed, agent.agent_id, received_at
        )
    except BodyTooLarge as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    except BadBody as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if batch.records:
        try:
            await feed.spool.append_async(batch.records)
        except SpoolFull:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "the server's spool is full (the store is behind); nothing of this request was kept, send it again",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        except BatchTooLarge as exc:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
        except SpoolError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    answer: dict[str, Any] = {
        "accepted": batch.accepted,
        "rejected": [r.as_dict() for r in batch.rejected[:MAX_REPORTED_REJECTIONS]],
        "rejected_total": len(batch.rejected),
    }
    if batch.rejected:
        answer["note"] = PARSE_FAILURE_NOTE
    return JSONResponse(answer, status_code=status.HTTP_202_ACCEPTED)


def _decode(
    body: bytes, gzipped: bool, media_type: str, feed: AgentIngest, agent_id: str, received_at: datetime
) -> AgentBatch:
    """Decompress and split the body (in a worker thread: a 10 MiB body must not stall the event loop)."""
    if gzipped:
        body = gunzip_capped(body, feed.max_body_bytes)
    return parse_body(
        body,
        media_type,
        agent_id=agent_id,
        received_at=received_at,
        sequence=feed.sequence,
        max_events=feed.max_events,
    )


def _media_type(request: Request) -> str:
    given = request.headers.get("content-type", "")
    media_type = given.split(";", 1)[0].strip().lower()
    if media_type not in NDJSON_TYPES and media_type not in JSON_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {given or '(none)'!r} is not accepted; use one of {_ACCEPTED_TYPES}",
        )
    return media_type


def _gzipped(request: Request) -> bool:
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return False
    if encoding in ("gzip", "x-gzip"):
        return True
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding {encoding!r} is not accepted; use gzip or none"
    )


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) as soon as it passes ``limit`` bytes, before it is all in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"the body is {declared} bytes; at most {limit} are accepted"
        )
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"the body is larger than {limit} bytes"
            )
        parts.append(chunk)
    return b"".join(parts)
