"""JSON lines: ECS documents pass through, other objects are wrapped, anything else is a parse failure."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers.jsonl import parse_jsonl
from normalizers.record import RawRecord
from normalizers.schema import ECS_VERSION, validate_event

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def parse(text: str) -> dict:
    return parse_jsonl(RawRecord(text, RECEIVED, "/var/log/app.jsonl", "file", "jsonl", 7))


def test_ecs_document_is_kept_as_sent_with_a_canonical_timestamp() -> None:
    doc = {
        "@timestamp": "2026-11-20T10:00:00+07:00",
        "event": {"id": "agent-42", "kind": "event", "action": "process_start"},
        "process": {"name": "nc", "pid": 77},
        "host": {"name": "ws-12"},
    }
    line = orjson.dumps(doc).decode()
    ev = parse(line)
    assert ev["@timestamp"] == "2026-11-20T03:00:00.000Z"
    assert ev["event"]["id"] == "agent-42"
    assert ev["event"]["action"] == "process_start"
    assert ev["event"]["original"] == line
    assert ev["process"] == {"name": "nc", "pid": 77}
    assert ev["ecs"] == {"version": ECS_VERSION}
    assert "tags" not in ev
    assert validate_event(ev) == []


def test_existing_original_and_ecs_version_are_not_overwritten() -> None:
    line = '{"@timestamp": "2026-11-20T10:00:00Z", "ecs": {"version": "8.0.0"}, "event": {"original": "raw"}}'
    ev = parse(line)
    assert ev["ecs"] == {"version": "8.0.0"}
    assert ev["event"]["original"] == "raw"


def test_ecs_document_with_bad_timestamp_uses_receive_time_and_is_tagged() -> None:
    ev = parse('{"@timestamp": "yesterday-ish", "message": "m", "tags": ["edr"]}')
    assert ev["@timestamp"] == "2026-11-20T12:00:00.000Z"
    assert ev["tags"] == ["edr", "invalid_timestamp"]
    assert ev["message"] == "m"


def test_document_with_wrongly_typed_ecs_fields_is_wrapped_not_passed_through() -> None:
    line = '{"@timestamp": "2026-11-20T10:00:00Z", "process": {"pid": "not-a-number"}}'
    ev = parse(line)
    assert ev["tags"] == ["ecs_mismatch"]
    assert ev["json"]["process"] == {"pid": "not-a-number"}
    assert "process" not in ev
    assert ev["@timestamp"] == "2026-11-20T10:00:00.000Z"
    assert validate_event(ev) == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("timestamp", "2026-11-19T08:00:00Z", "2026-11-19T08:00:00.000Z"),
        ("time", 1763539200, "2025-11-19T08:00:00.000Z"),
        ("ts", 1763539200123, "2025-11-19T08:00:00.123Z"),
    ],
)
def test_non_ecs_object_is_wrapped_with_its_time_and_message(key: str, value: object, expected: str) -> None:
    doc = {key: value, "msg": "user logged in", "user": "alice", "level": "info"}
    line = orjson.dumps(doc).decode()
    ev = parse(line)
    assert ev["@timestamp"] == expected
    assert ev["message"] == "user logged in"
    assert ev["json"] == doc
    assert ev["event"] == {"kind": "event", "dataset": "json", "original": line}
    assert "tags" not in ev
    assert validate_event(ev) == []


def test_non_ecs_object_without_time_uses_receive_time_and_raw_text_as_message() -> None:
    ev = parse('{"a": 1, "time": "not a time"}')
    assert ev["@timestamp"] == "2026-11-20T12:00:00.000Z"
    assert ev["message"] == '{"a": 1, "time": "not a time"}'


@pytest.mark.parametrize(
    "text", ["", "{", '{"a": }', "[1, 2]", '"just a string"', "42", "null", "not json", "{'a': 1}"]
)
def test_anything_but_a_json_object_is_a_parse_failure(text: str) -> None:
    ev = parse(text)
    assert ev["tags"] == ["parse_failure"]
    assert ev["message"] == text
    assert ev["event"]["original"] == text
    assert ev["@timestamp"] == "2026-11-20T12:00:00.000Z"
    assert validate_event(ev) == []


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["@timestamp", "event", "tags", "time", "msg", "host", "x"]), _JSON))
def test_fuzz_any_json_object_gives_a_valid_event(doc: dict) -> None:
    line = orjson.dumps(doc).decode()
    ev = parse(line)
    assert isinstance(ev["@timestamp"], str) and ev["@timestamp"].endswith("Z")
    assert validate_event(ev) == []
    assert ev["event"]["original"] == line or ev["event"]["original"] == doc.get("event", {}).get("original")
