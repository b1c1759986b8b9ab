"""Small builders for the Sigma engine tests: an engine from inline rules, events from dotted fields."""

from __future__ import annotations

import textwrap
from typing import Any

from correlation.sigma import SigmaEngine
from normalizers.schema import set_field

# Events of the made-up source "test.unit" route to rules with this log source (dataset naming
# convention product.service), whose fields are not mapped: tests use the rule's names as they are.
UNIT_LOGSOURCE = "logsource:\n  product: test\n  service: unit\n"


def unit_rule(detection: str, title: str = "unit rule", extra: str = "") -> str:
    """A complete rule for the test.unit log source around a ``detection:`` body (indented YAML)."""
    body = textwrap.indent(textwrap.dedent(detection).strip("\n"), "  ")
    return f"title: {title}\n{UNIT_LOGSOURCE}detection:\n{body}\n{extra}"


def engine_with(*rules: str, **options: Any) -> SigmaEngine:
    """An engine with these rules (YAML texts); fails the test if any rule did not load."""
    engine = SigmaEngine(**options)
    for text in rules:
        report = engine.load_yaml(text, source="<test>")
        assert not report.failures, [failure.reason for failure in report.failures]
    assert engine.rules, "no rule loaded"
    return engine


def unit_event(**fields: Any) -> dict[str, Any]:
    """A test.unit event; keyword names use ``__`` for dots (``process__name`` -> ``process.name``)."""
    event: dict[str, Any] = {"event": {"dataset": "test.unit"}}
    for name, value in fields.items():
        set_field(event, name.replace("__", "."), value)
    return event


def fires(engine: SigmaEngine, event: dict[str, Any]) -> bool:
    """Whether any loaded rule matches the event."""
    return bool(engine.match(event))


SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"


def windows_event(
    event_id: int,
    event_data: dict[str, Any] | None = None,
    *,
    provider: str = SYSMON_PROVIDER,
    channel: str = SYSMON_CHANNEL,
    **ecs: Any,
) -> dict[str, Any]:
    """A Winlogbeat-style Windows event: ``winlog.*`` with raw ``event_data``, plus ECS fields (``a__b`` = a.b)."""
    event: dict[str, Any] = {
        "event": {"code": str(event_id), "kind": "event"},
        "winlog": {
            "event_id": str(event_id),
            "provider_name": provider,
            "channel": channel,
            "event_data": dict(event_data or {}),
        },
    }
    for name, value in ecs.items():
        set_field(event, name.replace("__", "."), value)
    return event
