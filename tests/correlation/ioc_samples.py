"""Feed contents for the IOC tests, written here in each format's documented shape.

STIX 2.1 indicator objects follow the STIX 2.1 specification (section 4.7: id, spec_version,
created, modified, pattern, pattern_type, valid_from, valid_until, revoked, confidence, labels);
MISP events follow the MISP core format (Event.Attribute, Event.Object[].Attribute, to_ids, Tag).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

SHA256 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
MD5 = "5f4dcc3b5aa765d61d8327deb882cf99"
_NS = uuid.UUID("6f0c9a5e-1f4e-4b53-9a3e-6c1b0b6a0d11")


def stix_indicator(pattern: str, name: str = "", **extra: Any) -> dict[str, Any]:
    """A STIX 2.1 indicator object with a stable id derived from its pattern."""
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(_NS, pattern + name)}",
        "created": "2026-01-10T08:00:00.000Z",
        "modified": "2026-01-10T08:00:00.000Z",
        "name": name or f"indicator for {pattern[:40]}",
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-01-10T08:00:00Z",
    }
    obj.update(extra)
    return obj


def stix_bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    """A STIX 2.1 bundle around the objects."""
    return {"type": "bundle", "id": f"bundle--{uuid.uuid5(_NS, json.dumps(objects))}", "objects": list(objects)}


def misp_attribute(kind: str, value: str, *, to_ids: Any = True, **extra: Any) -> dict[str, Any]:
    """A MISP attribute in the core format (values as a MISP export writes them)."""
    attribute: dict[str, Any] = {
        "uuid": str(uuid.uuid5(_NS, kind + value)),
        "type": kind,
        "category": "Network activity",
        "value": value,
        "to_ids": to_ids,
        "comment": "",
        "deleted": False,
        "timestamp": "1767945600",
    }
    attribute.update(extra)
    return attribute


def misp_event(
    attributes: list[dict[str, Any]], objects: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A MISP event export: ``{"Event": {...}}``."""
    event: dict[str, Any] = {
        "uuid": "5f6e7d8c-0000-4000-8000-00000000e001",
        "info": "Phishing campaign against city agencies",
        "threat_level_id": "1",
        "analysis": "2",
        "date": "2026-01-09",
        "published": True,
        "Orgc": {"name": "CERT-Test"},
        "Tag": [{"name": "tlp:amber"}],
        "Attribute": attributes,
        "Object": list(objects or []),
    }
    event.update(extra)
    return {"Event": event}


def write_json(path: Path, data: Any) -> Path:
    """Write JSON to a feed file and return its path."""
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def network_event(event_id: str = "ev-1", **fields: Any) -> dict[str, Any]:
    """A normalized ECS event; dotted keyword arguments (source__ip=...) become nested fields."""
    event: dict[str, Any] = {
        "@timestamp": "2026-11-20T10:00:00.000Z",
        "event": {"id": event_id, "kind": "event", "category": ["network"]},
        "host": {"name": "ws-17"},
    }
    for key, value in fields.items():
        node = event
        parts = key.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return event
