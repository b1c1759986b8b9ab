"""JSON lines -> ECS events: ECS documents pass through, any other JSON object is wrapped.

``parse_jsonl`` never raises: a line that is not a JSON object becomes an event tagged
``parse_failure`` that keeps the raw text, stamped with the time it was received.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from normalizers.record import RawRecord
from normalizers.routing import JSON_ROUTES
from normalizers.schema import ECS_VERSION, validate_event
from normalizers.timestamps import format_timestamp, parse_iso_timestamp

PARSE_FAILURE = "parse_failure"
INVALID_TIMESTAMP = "invalid_timestamp"
ECS_MISMATCH = "ecs_mismatch"
SOURCE_PARSER_ERROR = "source_parser_error"
DATASET = "json"
# Where non-ECS JSON keeps its fields, so nothing it carried is lost or clashes with ECS names.
WRAP_FIELD = "json"
# Keys that commonly hold the event time in non-ECS JSON logs, tried in this order.
_TIME_KEYS = ("@timestamp", "timestamp", "time", "ts", "@t", "date")
_MESSAGE_KEYS = ("message", "msg", "@m", "log")
# Epoch numbers above this are milliseconds, not seconds (1e11 s is the year 5138).
_EPOCH_MS_THRESHOLD = 1e11


def parse_jsonl(record: RawRecord) -> dict[str, Any]:
    """Parse one JSON line into an ECS event; non-objects and bad JSON become ``parse_failure`` events."""
    try:
        document = orjson.loads(record.text)
    except orjson.JSONDecodeError:
        return failure_event(record)
    if not isinstance(document, dict):
        return failure_event(record)
    if JSON_ROUTES.parsers:
        event = _from_source_parser(document, record)
        if event is not None:
            return event
    if "@timestamp" in document and isinstance(document.get("event", {}), dict):
        return _pass_through(document, record)
    return _wrap(document, record)


def failure_event(record: RawRecord) -> dict[str, Any]:
    """The event stored for a line that is not a JSON object: raw text, received time, tagged."""
    return {
        "@timestamp": format_timestamp(record.received_at),
        "message": record.text,
        "tags": [PARSE_FAILURE],
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "dataset": DATASET, "original": record.text},
    }


def _from_source_parser(document: dict[str, Any], record: RawRecord) -> dict[str, Any] | None:
    """The event built by the JSON source parser that claims this document (see ``routing``), if any."""
    try:
        parser = JSON_ROUTES.route(document)
        if parser is None:
            return None
        event = parser.to_event(document, record)
    except Exception:  # a source parser bug must never lose the event: keep it generic, tagged
        event = _wrap(orjson.loads(record.text), record)
        _add_tag(event, SOURCE_PARSER_ERROR)
        return event
    if event is None:
        return None
    event.setdefault("ecs", {"version": ECS_VERSION})
    meta = event.setdefault("event", {})
    meta.setdefault("kind", "event")
    meta.setdefault("dataset", parser.dataset)
    meta.setdefault("original", record.text)
    return event


def _pass_through(document: dict[str, Any], record: RawRecord) -> dict[str, Any]:
    """Keep an ECS document as sent; only its @timestamp is put in canonical form."""
    stamp = document["@timestamp"]
    when = _read_time(stamp)
    if when is None:
        document["@timestamp"] = format_timestamp(record.received_at)
        _add_tag(document, INVALID_TIMESTAMP)
    else:
        document["@timestamp"] = format_timestamp(when)
    if validate_event(document):
        # A field with the wrong type would be rejected (OpenSearch) or mis-indexed (SQLite):
        # keep the whole document as plain JSON instead.
        document["@timestamp"] = stamp
        event = _wrap(document, record)
        _add_tag(event, ECS_MISMATCH)
        return event
    document.setdefault("ecs", {"version": ECS_VERSION})
    meta = document.setdefault("event", {})
    meta.setdefault("kind", "event")
    meta.setdefault("original", record.text)
    return document


def _wrap(document: dict[str, Any], record: RawRecord) -> dict[str, Any]:
    """Put a non-ECS JSON object under ``json.*``, lifting its time and message when it has them."""
    when = None
    for key in _TIME_KEYS:
        if key in document:
            when = _read_time(document[key])
            if when is not None:
                break
    message = next((v for k in _MESSAGE_KEYS if isinstance(v := document.get(k), str)), record.text)
    event: dict[str, Any] = {
        "@timestamp": format_timestamp(when or record.received_at),
        "message": message,
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "dataset": DATASET, "original": record.text},
        WRAP_FIELD: document,
    }
    return event


def _read_time(value: Any) -> datetime | None:
    """An ISO 8601 string or epoch seconds/milliseconds as a UTC datetime; None when it is neither."""
    try:
        if isinstance(value, str):
            return parse_iso_timestamp(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) > _EPOCH_MS_THRESHOLD else value
            return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _add_tag(event: dict[str, Any], tag: str) -> None:
    tags = event.get("tags")
    if isinstance(tags, list):
        if tag not in tags:
            tags.append(tag)
    elif isinstance(tags, str):
        event["tags"] = [tags, tag]
    else:
        event["tags"] = [tag]
