"""Builders for the Sigma correlation tests: inline base rules, events at offsets from a fixed time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from correlation.sigma_correlation import CorrelationEvaluator, parse_correlations
from normalizers.schema import set_field
from normalizers.timestamps import format_timestamp

BASE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
# "Now" for the evaluators: a day after the events, so the wall-clock cap never gets in the way.
LATER = BASE + timedelta(days=1)

FAILED = "5f0b1c7e-3d1a-4c55-9a10-000000000001"
SUCCESS = "5f0b1c7e-3d1a-4c55-9a10-000000000002"
USERADD = "5f0b1c7e-3d1a-4c55-9a10-000000000003"
EGRESS = "5f0b1c7e-3d1a-4c55-9a10-000000000004"

# Base (single-event) rules on the fields Sontra's Linux normalizers produce; correlation rules
# in the tests reference them by name or id, as the Sigma specification's examples do.
BASE_RULES = f"""
title: SSH failed password
id: {FAILED}
name: ssh_failed_password
status: test
logsource: {{product: linux, service: sshd}}
detection:
  selection:
    event.action: ssh_login
    event.outcome: failure
  condition: selection
level: low
---
title: SSH successful login
id: {SUCCESS}
name: ssh_login_success
status: test
logsource: {{product: linux, service: sshd}}
detection:
  selection:
    event.action: ssh_login
    event.outcome: success
  condition: selection
level: informational
---
title: Local user created
id: {USERADD}
name: local_user_created
status: test
logsource: {{product: linux}}
detection:
  selection:
    event.action: user_created
  condition: selection
level: medium
tags: [attack.persistence, attack.t1136.001]
---
title: Outbound connection allowed by the host firewall
id: {EGRESS}
name: egress_connection
status: test
logsource: {{product: linux, category: firewall}}
detection:
  selection:
    event.action: firewall_allow
    network.direction: egress
  condition: selection
level: informational
"""


def at(seconds: float) -> str:
    """``@timestamp`` this many seconds after BASE."""
    return format_timestamp(BASE + timedelta(seconds=seconds))


def event(seconds: float, event_id: str, **fields: Any) -> dict[str, Any]:
    """An event at BASE + seconds; keyword names use ``__`` for dots (``source__ip``)."""
    result: dict[str, Any] = {"@timestamp": at(seconds), "event": {"id": event_id}}
    for name, value in fields.items():
        set_field(result, name.replace("__", "."), value)
    return result


def failure(seconds: float, event_id: str, ip: str = "203.0.113.7", user: str = "root", host: str = "web01") -> dict:
    """An sshd failed-password event."""
    return event(seconds, event_id, source__ip=ip, user__name=user, host__name=host)


def evaluator_for(correlations: str, now: datetime = LATER, **options: Any) -> CorrelationEvaluator:
    """An evaluator for these correlation rules (YAML) plus BASE_RULES; fails on any load failure."""
    load = parse_correlations(BASE_RULES + "---\n" + correlations.strip() + "\n")
    assert not load.failures, [str(failure) for failure in load.failures]
    return CorrelationEvaluator(load.rules, clock=lambda: now, **options)


def feed(evaluator: CorrelationEvaluator, rule: str, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Observe every event as a match of ``rule``; all alerts raised."""
    alerts: list[dict[str, Any]] = []
    for item in events:
        alerts.extend(evaluator.observe(rule, item))
    return alerts
