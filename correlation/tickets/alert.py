"""What triage reads from an alert: its id, rule, level, tactics, times and entity.

This is the whole input contract between detectors and tickets. An alert is an ECS event with
``event.kind: alert``, a deterministic ``event.id``, ``rule.id`` / ``rule.name`` / ``rule.level``,
``threat.tactic.name`` (ATT&CK), ``@timestamp`` = when the triggering event happened and
``event.created`` = when the alert was raised, plus ``host.name`` / ``user.name`` / ``source.ip``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from correlation.tickets.entity import Entity, EntityPolicy
from normalizers.schema import get_field
from storage.timefmt import parse_timestamp
from storage.workflow.models import Severity

# Sigma levels in rising order; each maps to the severity its ticket gets.
LEVELS = ("informational", "low", "medium", "high", "critical")
SEVERITY_OF_LEVEL: dict[str, Severity] = {
    "informational": Severity.LOW,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
SEVERITY_RANK = {s: i for i, s in enumerate((Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL))}
# An alert without a known level is ticketed as medium: seen in the queue, not silently dropped.
UNKNOWN_LEVEL = "unknown"
UNKNOWN_LEVEL_SEVERITY = Severity.MEDIUM
MAX_ID_LENGTH = 128  # TicketAlert.alert_id and Ticket.rule_id
_NOT_A_WORD = re.compile(r"[^a-z0-9]+")


class InvalidAlert(ValueError):
    """An alert triage cannot ticket (no id, no rule, no time); the message says which field."""


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """The fields of one alert that decide its ticket."""

    alert_id: str
    rule_id: str
    rule_name: str
    level: str  # one of LEVELS, or "unknown"
    timestamp: datetime  # when the triggering event happened
    created: datetime | None  # when the alert was raised
    entity: Entity | None
    tactics: tuple[str, ...]

    @property
    def severity(self) -> Severity:
        """The ticket severity its rule level stands for."""
        return SEVERITY_OF_LEVEL.get(self.level, UNKNOWN_LEVEL_SEVERITY)

    @property
    def group(self) -> tuple[str, str | None, str | None]:
        """The key of the one open ticket it belongs to: (rule id, entity type, entity value)."""
        if self.entity is None:
            return (self.rule_id, None, None)
        return (self.rule_id, self.entity.type.value, self.entity.value)


def read_alert(alert: Mapping[str, Any], entities: EntityPolicy) -> AlertFacts:
    """The facts of ``alert``; InvalidAlert names the missing or malformed field."""
    alert_id = _required_text(alert, "event.id")
    rule_id = _required_text(alert, "rule.id")
    raw_time = alert.get("@timestamp")
    if not isinstance(raw_time, str) or not raw_time:
        raise InvalidAlert(f"alert {alert_id}: @timestamp is missing")
    try:
        timestamp = parse_timestamp(raw_time)
    except ValueError:
        raise InvalidAlert(f"alert {alert_id}: @timestamp {raw_time!r} is not an ISO 8601 time") from None
    created = None
    raw_created = get_field(alert, "event.created")
    if isinstance(raw_created, str) and raw_created:
        try:
            created = parse_timestamp(raw_created)
        except ValueError:
            created = None  # only the lag metric needs it; the alert is still ticketed
    level = get_field(alert, "rule.level")
    level = level.strip().lower() if isinstance(level, str) and level.strip().lower() in LEVELS else UNKNOWN_LEVEL
    name = get_field(alert, "rule.name")
    return AlertFacts(
        alert_id=alert_id,
        rule_id=rule_id,
        rule_name=name.strip() if isinstance(name, str) and name.strip() else rule_id,
        level=level,
        timestamp=timestamp,
        created=created,
        entity=entities.choose(alert),
        tactics=tactic_keys(get_field(alert, "threat.tactic.name")),
    )


def tactic_keys(names: Any) -> tuple[str, ...]:
    """ATT&CK tactic names as the ticket stores them: ``Command and Control`` -> ``command_and_control``."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        return ()
    keys: list[str] = []
    for name in names:
        if isinstance(name, str):
            key = _NOT_A_WORD.sub("_", name.lower()).strip("_")
            if key and key not in keys:
                keys.append(key)
    return tuple(keys)


def _required_text(alert: Mapping[str, Any], name: str) -> str:
    value = get_field(alert, name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidAlert(f"alert has no {name}: {_short(alert)}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidAlert(f"alert {name} is longer than {MAX_ID_LENGTH} characters: {value[:40]}...")
    return value.strip()


def _short(alert: Mapping[str, Any]) -> str:
    return repr({k: alert.get(k) for k in ("@timestamp", "event", "rule") if k in alert})[:200]
