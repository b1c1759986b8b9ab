"""A satisfied correlation -> an ECS alert, shaped like the single-event engine's alerts.

``@timestamp`` is the time of the latest contributing event (the one that completed the
condition), ``event.start``/``event.end`` the span of the contributing events, ``event.created``
when the alert was raised. ``event.id`` is a hash of the correlation rule id, the group-by values
and the contributing event ids, so replaying the same events raises the same alert id and the
store keeps one copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from correlation.sigma.alert import SEVERITY, threat_of
from correlation.sigma_correlation.rules import CorrelationRule
from correlation.sigma_correlation.windows import Firing
from normalizers.schema import ECS_VERSION, FIELD_BY_NAME, set_field
from normalizers.timestamps import format_timestamp

# Entity fields copied from the contributing events when they all agree (in this order in Entry.entities).
ENTITY_FIELDS = ("host.name", "user.name", "source.ip")
# sontra.alert.entity_type: the entity a grouped alert is about (its first group-by entity field),
# which ticket grouping prefers over its own guess.
ENTITY_TYPES = {"host.name": "host", "user.name": "user", "source.ip": "source_ip"}
# Evidence lists are capped: an alert stays small even when a window held thousands of events.
MAX_SOURCE_IDS = 100
MAX_VALUES = 20
DATASET = "sigma.correlation"

_WHAT = {"event_count": "events", "value_count": "distinct values", "temporal": "rules", "temporal_ordered": "rules"}


def correlation_id(rule_id: str, group: Sequence[Any], event_ids: Sequence[str]) -> str:
    """The alert's deterministic ``event.id``."""
    parts = ["sigma-correlation", rule_id, *(repr(value) for value in group), *sorted(set(event_ids))]
    key = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def to_alert(
    rule: CorrelationRule, group: Sequence[Any], firing: Firing, ruleset: str, created: datetime
) -> dict[str, Any]:
    """The ECS alert for one firing of a correlation rule for one group."""
    entries = firing.entries
    event_ids = list(dict.fromkeys(entry.event_id for entry in entries))
    alert: dict[str, Any] = {
        "@timestamp": _iso(firing.end),
        "message": _message(rule, group, firing),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "alert",
            "id": correlation_id(rule.id, group, event_ids),
            "dataset": DATASET,
            "start": _iso(firing.start),
            "end": _iso(firing.end),
            "created": format_timestamp(created.astimezone(UTC)),
        },
        "rule": _rule_fields(rule, ruleset),
    }
    if rule.level in SEVERITY:
        alert["event"]["severity"] = SEVERITY[rule.level]
    threat = threat_of(rule.tags)
    if threat is not None:
        alert["threat"] = threat
    if rule.tags:
        alert["tags"] = list(rule.tags)
    for position, name in enumerate(ENTITY_FIELDS):
        values = {entry.entities[position] for entry in entries if len(entry.entities) > position}
        if len(values) == 1 and (value := values.pop()) is not None:
            set_field(alert, name, list(value) if isinstance(value, tuple) else value)
    # Group-by values last: they win over an entity copy of the same field.
    for field_name, value in zip(rule.output_fields, group, strict=True):
        if field_name is not None and _settable(field_name):
            set_field(alert, field_name, list(value) if isinstance(value, tuple) else value)
    sontra: dict[str, Any] = {
        "alert": {
            "source_event_ids": event_ids[:MAX_SOURCE_IDS],
            "source_timestamps": [_iso(entry.time) for entry in entries[:MAX_SOURCE_IDS]],
        },
        "correlation": {
            "type": rule.kind,
            "count": firing.measured,
            "timespan": int(rule.timespan),
            "group": [f"{name}={_text(value)}" for name, value in zip(rule.group_by, group, strict=True)],
        },
    }
    entity_type = next((ENTITY_TYPES[name] for name in rule.output_fields if name in ENTITY_TYPES), None)
    if entity_type is not None:
        sontra["alert"]["entity_type"] = entity_type
    if rule.kind == "value_count":
        values_seen = list(dict.fromkeys(_text(entry.value) for entry in entries))
        sontra["correlation"]["values"] = values_seen[:MAX_VALUES]
    alert["sontra"] = sontra
    return alert


def _rule_fields(rule: CorrelationRule, ruleset: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": rule.id, "name": rule.title, "ruleset": ruleset, "category": "correlation"}
    if rule.level:
        fields["level"] = rule.level
    if rule.description:
        fields["description"] = rule.description
    if rule.author:
        fields["author"] = rule.author
    if rule.references:
        fields["reference"] = rule.references[0]
    return fields


def _message(rule: CorrelationRule, group: Sequence[Any], firing: Firing) -> str:
    minutes = rule.timespan / 60
    span = f"{minutes:g}m" if rule.timespan >= 60 else f"{rule.timespan:g}s"
    text = f"{rule.title}: {firing.measured} {_WHAT[rule.kind]} within {span}"
    if group:
        text += " for " + ", ".join(f"{name}={_text(value)}" for name, value in zip(rule.group_by, group, strict=True))
    return text


def _settable(name: str) -> bool:
    """Group-by values go to their own field unless that would clobber the alert's own metadata."""
    root = name.split(".", 1)[0]
    return root not in ("event", "rule", "threat", "sontra", "ecs", "message", "@timestamp", "tags") and (
        name in FIELD_BY_NAME or "." in name
    )


def _iso(seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(seconds, tz=UTC))


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(_text(item) for item in value)
    return str(value)
