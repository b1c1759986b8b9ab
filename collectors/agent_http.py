"""HTTP ingest for agents: a request body (NDJSON or JSON, maybe gzip) -> raw records, bad lines named.

The web route (``console/routers/ingest.py``) authenticates the agent and spools the records; this
module only reads bodies. A line that is not a JSON object is reported by its line number and still
becomes a record: the normalizer stores it as a ``parse_failure`` event with its raw text, so what
an agent sent is never silently lost.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from normalizers.record import RawRecord, decode_line

AGENT_INPUT = "agent-http"
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"})
JSON_TYPES = frozenset({"application/json"})
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_EVENTS = 100_000


class BodyTooLarge(ValueError):
    """The body (after decompression) or its number of events is over the limit."""


class BadBody(ValueError):
    """The body cannot be read at all: broken gzip, or (JSON) not a JSON document."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One line (NDJSON, 1-based) or array item (JSON, 0-based) that is not a JSON object, and why."""

    where: str  # "line" or "index"
    number: int
    error: str

    def as_dict(self) -> dict[str, Any]:
        """``{"line": N, "error": ...}`` or ``{"index": N, "error": ...}`` for the response."""
        return {self.where: self.number, "error": self.error}


@dataclass(slots=True)
class AgentBatch:
    """What one request carried: every record to spool (rejected ones included) and the rejections."""

    records: list[RawRecord]
    accepted: int
    rejected: list[Rejection]


class RecordSequence:
    """Arrival numbers for agent records, unique in this process, so that two equal lines get two ids."""

    def __init__(self) -> None:
        self._next = 0
        self._lock = threading.Lock()

    def take(self, count: int) -> int:
        """Reserve ``count`` numbers; return the first."""
        with self._lock:
            first = self._next
            self._next += count
            return first


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Decompress a gzip body (several members allowed), refusing to produce more than ``limit`` bytes.

    Decompression stops as soon as the output passes the limit, so a small "gzip bomb" costs
    ``limit`` bytes of memory, not what it would expand to.
    """
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(rest, limit - size + 1)
            while True:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"the body is larger than {limit} bytes once decompressed")
                parts.append(chunk)
                if not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, limit - size + 1)
        except zlib.error as exc:
            raise BadBody(f"Content-Encoding is gzip but the body is not valid gzip: {exc}") from None
        if not inflater.eof:
            raise BadBody("the gzip body is cut short (its end-of-stream marker is missing)")
        rest = inflater.unused_data
        if not rest.strip(b"\x00"):
            break  # some writers pad the last member with zeros
    return b"".join(parts)


def parse_body(
    body: bytes,
    media_type: str,
    *,
    agent_id: str,
    received_at: datetime,
    sequence: RecordSequence,
    max_events: int = DEFAULT_MAX_EVENTS,
) -> AgentBatch:
    """Turn an agent's body into records; ``media_type`` is an NDJSON type or ``application/json``."""
    if media_type in JSON_TYPES:
        texts, rejected = _json_items(body)
    elif media_type in NDJSON_TYPES:
        texts, rejected = _ndjson_lines(body)
    else:
        raise ValueError(f"unsupported media type {media_type!r}")
    if len(texts) > max_events:
        raise BodyTooLarge(f"{len(texts)} events in one request; at most {max_events} are accepted")
    first = sequence.take(len(texts))
    records = [
        RawRecord(text, received_at, agent_id, AGENT_INPUT, "jsonl", first + i) for i, text in enumerate(texts)
    ]
    return AgentBatch(records, len(texts) - len(rejected), rejected)


def _ndjson_lines(body: bytes) -> tuple[list[str], list[Rejection]]:
    texts: list[str] = []
    rejected: list[Rejection] = []
    for number, raw in enumerate(body.split(b"\n"), 1):
        # Decoded as every input decodes bytes (non-UTF-8 kept as \xNN), and judged on that text,
        # so the verdict here is exactly what the normalizer will make of the line.
        text = decode_line(raw).rstrip("\r")
        if number == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue  # blank lines (a trailing newline, keep-alives) carry nothing
        error = _not_an_object(text)
        if error is not None:
            rejected.append(Rejection("line", number, error))
        texts.append(text)
    return texts, rejected


def _json_items(body: bytes) -> tuple[list[str], list[Rejection]]:
    body = body.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM, which orjson refuses
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(document, dict):
        # One object: its record keeps the text exactly as sent (minus the UTF-8 BOM and outer blanks).
        return [body.decode("utf-8").removeprefix("\ufeff").strip()], []
    if not isinstance(document, list):
        raise BadBody(f"expected a JSON object or an array of objects, got {_kind(document)}")
    texts: list[str] = []
    rejected: list[Rejection] = []
    # Array items are written back out one by one: the array's own formatting cannot be kept per item.
    for index, item in enumerate(document):
        if not isinstance(item, dict):
            rejected.append(Rejection("index", index, f"expected a JSON object, got {_kind(item)}"))
        texts.append(orjson.dumps(item).decode())
    return texts, rejected


def _not_an_object(text: str) -> str | None:
    """Why ``text`` is not one JSON object, or None when it is."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(document, dict):
        return f"expected a JSON object, got {_kind(document)}"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return orjson.dumps(value).decode()
    return "a number"


def stamp_agents(records: Sequence[RawRecord], events: Sequence[dict[str, Any]]) -> None:
    """Set ``agent.id`` on events that came from an agent, from its key: an agent cannot claim another's id."""
    for record, event in zip(records, events, strict=True):
        if record.input != AGENT_INPUT:
            continue
        agent = event.get("agent")
        if not isinstance(agent, dict):
            agent = event["agent"] = {}
        agent["id"] = record.source
        log = event.get("log")
        if isinstance(log, dict) and log.get("source") == {"address": record.source}:
            # The normalizer files a network record's source as an address; an agent id is not one.
            del log["source"]
            if not log:
                del event["log"]
