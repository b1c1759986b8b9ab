"""Raw records -> ECS events. Pure: no I/O, no clock, no randomness; the same record gives the same event."""

from __future__ import annotations

import hashlib
from datetime import UTC, tzinfo
from functools import lru_cache
from typing import Any

from normalizers import sources  # noqa: F401 - registers every source parser in ROUTES
from normalizers.jsonl import parse_jsonl
from normalizers.record import REPLAYABLE_INPUTS, RawRecord, RecordFormat
from normalizers.repeats import REPEATED, read_repeat
from normalizers.routing import ROUTES
from normalizers.syslog import PARSE_FAILURE, parse_syslog
from normalizers.timestamps import format_timestamp

__all__ = ["RawRecord", "event_id", "normalize", "sniff_format"]

TRUNCATED = "truncated"
_FIELD_SEPARATOR = "\x1f"  # ASCII unit separator: absent from real paths, addresses and numbers


def sniff_format(text: str) -> RecordFormat:
    """Guess a line's format: a JSON object is ``jsonl``, anything else ``syslog``."""
    return "jsonl" if text.lstrip(" \t").startswith("{") else "syslog"


def event_id(record: RawRecord) -> str:
    """The record's deterministic ``event.id`` (32 hex digits).

    A file line is identified by path, line number and text, so ingesting the same file again
    stores nothing twice. A network record also includes its receive time and arrival sequence:
    two identical lines sent a second apart are two events, yet re-normalizing the same received
    record (a retried batch) gives the same id, so the retry is a no-op in the store.
    """
    if record.input in REPLAYABLE_INPUTS:
        parts = (record.input, record.source or "", str(record.position), record.text)
    else:
        parts = (
            record.input,
            record.source or "",
            record.received_at.isoformat(),
            str(record.position),
            record.text,
        )
    key = _FIELD_SEPARATOR.join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=16).hexdigest()


# Records read from one file (or one datagram burst) share a receive time: format it once.
_created = lru_cache(maxsize=64)(format_timestamp)


def normalize(record: RawRecord, source_tz: tzinfo = UTC) -> dict[str, Any]:
    """Parse a raw record into an ECS event with ``event.id``, ``event.created`` and where it came from.

    ``source_tz`` is the time zone for syslog timestamps that carry no offset.
    """
    fmt = record.format if record.format != "auto" else sniff_format(record.text)
    event = parse_jsonl(record) if fmt == "jsonl" else parse_syslog(record, source_tz)
    # Where the record came from is set first: a source parser may use the file path (an access log
    # under /var/log/nginx/ is Nginx's).
    if record.source:
        log = event.get("log")
        if not isinstance(log, dict):
            log = event["log"] = {}
        if record.input in REPLAYABLE_INPUTS:
            log.setdefault("file", {"path": record.source})
        else:
            log.setdefault("source", {"address": record.source})
    if fmt != "jsonl":
        _refine(event)
    meta = event["event"]
    if not meta.get("id"):
        meta["id"] = event_id(record)
    if "created" not in meta:
        meta["created"] = _created(record.received_at)
    if record.truncated:
        _add_tag(event, TRUNCATED)
    return event


def _add_tag(event: dict[str, Any], tag: str) -> None:
    tags = event.get("tags")
    if isinstance(tags, list):
        tags.append(tag)
    else:
        event["tags"] = [tags, tag] if isinstance(tags, str) else [tag]


def _refine(event: dict[str, Any]) -> None:
    """Hand a syslog event (or a line that is not syslog at all) to its source parser, if one claims it.

    A "message repeated N times" line gets ``event.count`` N. rsyslog's form wraps the repeated
    message, which is parsed as the message while ``message`` itself stays as sent; the BSD form
    ("last message repeated N times") repeats the previous line of the same host and is tagged
    ``repeated``.
    """
    message = event.get("message")
    if not isinstance(message, str):
        return
    repeat = read_repeat(message)
    if repeat is not None:
        event["event"]["count"] = repeat.count
        if repeat.inner is None:
            _add_tag(event, REPEATED)
            return
        event["message"] = repeat.inner
        try:
            _route(event, repeat.inner)
        finally:
            if event.get("message") == repeat.inner:  # unless the source parser chose another message
                event["message"] = message
        return
    _route(event, message)


def _route(event: dict[str, Any], message: str) -> None:
    """Give the event to the source parser of its program (else of its message content), if any."""
    tags = event.get("tags")
    failed = isinstance(tags, list) and PARSE_FAILURE in tags
    process = event.get("process")
    program = None if failed or not isinstance(process, dict) else process.get("name")
    parser = ROUTES.route(program, message)
    if parser is None:
        return
    base_dataset = event["event"].get("dataset")
    try:
        understood = parser.refine(event)
    except Exception:  # a source parser bug must never lose the event: keep it generic, tagged
        event.setdefault("tags", []).append("source_parser_error")
        return
    if understood:
        if event["event"].get("dataset") == base_dataset:  # refine may name a more specific dataset
            event["event"]["dataset"] = parser.dataset
        if failed:
            tags.remove(PARSE_FAILURE)
            if not tags:
                del event["tags"]
