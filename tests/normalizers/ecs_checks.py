"""Shared checks for the source-parser tests: ECS allowed values and a normalize() that validates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from normalizers import normalize
from normalizers.record import RawRecord
from normalizers.schema import validate_event

RECEIVED = datetime(2023, 10, 12, 0, 0, 0, tzinfo=UTC)

# ECS 8.11 allowed values for the categorization fields.
ECS_KINDS = {"alert", "asset", "enrichment", "event", "metric", "state", "pipeline_error", "signal"}
ECS_CATEGORIES = {
    "api", "authentication", "configuration", "database", "driver", "email", "file", "host", "iam",
    "intrusion_detection", "library", "malware", "network", "package", "process", "registry", "session", "threat",
    "vulnerability", "web",
}  # fmt: skip
ECS_TYPES = {
    "access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "end", "error", "group",
    "indicator", "info", "installation", "protocol", "start", "user",
}  # fmt: skip


def assert_ecs_categorization(ev: dict[str, Any]) -> None:
    """event.kind/category/type/outcome hold ECS allowed values only."""
    meta = ev["event"]
    assert meta["kind"] in ECS_KINDS
    assert set(meta.get("category", [])) <= ECS_CATEGORIES, meta
    assert set(meta.get("type", [])) <= ECS_TYPES, meta
    assert meta.get("outcome", "success") in ("success", "failure", "unknown")


def received(line: str) -> dict[str, Any]:
    """Normalize a line as the UDP syslog listener would hand it over; it must fit the schema and ECS."""
    ev = normalize(RawRecord(line, RECEIVED, "192.0.2.1:514", "syslog-udp", "auto", 7))
    assert validate_event(ev) == [], ev
    assert_ecs_categorization(ev)
    return ev
