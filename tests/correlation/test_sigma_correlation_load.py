"""Loading Sigma correlation rules: references across files, clear failures, field mapping, engine input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from correlation.sigma import SigmaEngine
from correlation.sigma.pipelines import build_pipeline
from correlation.sigma_correlation import CorrelationEvaluator, load_correlations, parse_correlations
from normalizers import normalize
from normalizers.record import RawRecord
from tests.correlation.correlation_support import BASE_RULES, FAILED

BRUTE_FORCE = """
title: SSH brute force
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000201
correlation:
  type: event_count
  rules: [ssh_failed_password]
  group-by: [source.ip, host.name]
  timespan: 5m
  condition: {gte: 5}
level: high
tags: [attack.credential-access, attack.t1110.001]
"""

BROKEN = {
    "Sum of bytes": (
        "correlation:\n  type: value_sum\n  rules: [ssh_failed_password]\n  timespan: 5m\n"
        "  condition: {gte: 100, field: network.bytes}\n",
        "'value_sum' is not supported",
    ),
    "Missing reference": (
        "correlation:\n  type: event_count\n  rules: [no_such_rule]\n  timespan: 5m\n  condition: {gte: 2}\n",
        "no_such_rule",
    ),
    "Temporal with lt": (
        "correlation:\n  type: temporal\n  rules: [ssh_failed_password, ssh_login_success]\n  timespan: 5m\n"
        "  condition: {lt: 2}\n",
        "temporal supports the conditions gte and gt only, got lt",
    ),
    "Ordered with fewer": (
        "correlation:\n  type: temporal_ordered\n  rules: [ssh_failed_password, ssh_login_success]\n"
        "  timespan: 5m\n  condition: {gte: 1}\n",
        "needs all 2 rules in order",
    ),
    "Alias missing a rule": (
        "correlation:\n  type: temporal\n  rules: [ssh_failed_password, ssh_login_success]\n  timespan: 5m\n"
        "  group-by: [ip]\n  aliases:\n    ip:\n      ssh_failed_password: source.ip\n",
        "alias 'ip' has no field for rule(s) ssh_login_success",
    ),
    "Boolean condition": (
        "correlation:\n  type: temporal\n  rules: [ssh_failed_password, ssh_login_success]\n  timespan: 5m\n"
        "  condition: ssh_failed_password and ssh_login_success\n",
        "boolean (extended) correlation conditions are not supported",
    ),
    "Bad timespan": (
        "correlation:\n  type: event_count\n  rules: [ssh_failed_password]\n  timespan: 5 minutes\n"
        "  condition: {gte: 2}\n",
        "Timespan '5 minutes' is invalid",
    ),
    "Cycle A": (
        "name: cycle_a\ncorrelation:\n  type: event_count\n  rules: [cycle_b]\n  timespan: 5m\n  condition: {gte: 2}\n",
        "reference cycle",
    ),
    "Cycle B": (
        "name: cycle_b\ncorrelation:\n  type: event_count\n  rules: [cycle_a]\n  timespan: 5m\n  condition: {gte: 2}\n",
        "'cycle_a' did not load",
    ),
}


def test_each_broken_rule_fails_alone_with_its_reason() -> None:
    documents = [f"title: {title}\n{body}" for title, (body, _) in BROKEN.items()]
    load = parse_correlations("---\n".join([BASE_RULES, *documents, BRUTE_FORCE]), source="pack.yml")
    assert [rule.title for rule in load.rules] == ["SSH brute force"]
    reasons = {failure.title: failure.reason for failure in load.failures}
    assert set(reasons) == set(BROKEN)
    for title, (_, expected) in BROKEN.items():
        assert expected in reasons[title], (title, reasons[title])
    assert all(str(failure.path) == "pack.yml" for failure in load.failures)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\ncorrelation: [unclosed\n", encoding="utf-8")
    load = load_correlations([bad])
    assert load.rules == []
    assert [failure.path for failure in load.failures] == [bad]
    assert "invalid YAML" in load.failures[0].reason


def test_references_resolve_across_files_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "ssh.yml").write_text(BASE_RULES, encoding="utf-8")
    (tmp_path / "correlations.yml").write_text(BRUTE_FORCE, encoding="utf-8")
    load = load_correlations([tmp_path])
    assert not load.failures
    assert load.files == 2
    (rule,) = load.rules
    assert rule.rules[0].id == FAILED and rule.rules[0].name == "ssh_failed_password"
    assert rule.group_by == ("source.ip", "host.name")
    assert rule.timespan == 300.0
    assert load.is_silenced(FAILED)


def test_the_engine_field_mapping_applies_to_group_by() -> None:
    windows = """
title: Failed logon
id: 0a1b2c3d-0000-4000-8000-000000000301
name: failed_logon
status: test
logsource: {product: windows, service: security}
detection:
  selection:
    EventID: 4625
  condition: selection
---
title: Windows brute force
id: 0a1b2c3d-0000-4000-8000-000000000302
correlation:
  type: value_count
  rules: [failed_logon]
  group-by: [IpAddress]
  timespan: 10m
  condition: {gte: 5, field: TargetUserName}
"""
    load = parse_correlations(windows, pipeline=build_pipeline())
    assert not load.failures
    (rule,) = load.rules
    assert rule.group_fields == (("source.ip",),)
    assert rule.output_fields == ("source.ip",)
    unmapped = parse_correlations(windows).rules[0]
    assert unmapped.group_fields == (("IpAddress",),)


SSHD_LINES = [
    *(
        f"Nov 20 10:00:0{i} web01 sshd[2211]: Failed password for root from 203.0.113.7 port 5002{i} ssh2"
        for i in range(5)
    ),
    "Nov 20 10:00:06 web01 sshd[2212]: Failed password for root from 198.51.100.4 port 40000 ssh2",
]


def test_matches_of_the_real_engine_on_normalized_sshd_lines() -> None:
    """The evaluator takes the Sigma engine's Match objects as they are."""
    text = BASE_RULES + "---\n" + BRUTE_FORCE
    engine = SigmaEngine()
    report = engine.load_yaml(text, source="<test>")
    assert not report.failures and len(report.skipped) == 1  # the correlation rule is ours
    load = parse_correlations(text, pipeline=build_pipeline())
    received = datetime(2026, 11, 20, 10, 1, tzinfo=UTC)
    records = [RawRecord(line, received, "/var/log/auth.log", position=i) for i, line in enumerate(SSHD_LINES)]
    events = [normalize(record) for record in records]
    matches = engine.match_batch(events)
    assert len(matches) == 6
    evaluator = CorrelationEvaluator(load.rules, clock=lambda: received + timedelta(hours=1))
    alerts = evaluator.observe_matches(matches)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert["source"]["ip"], alert["host"]["name"]) == ("203.0.113.7", "web01")
    assert alert["sontra"]["alert"]["source_event_ids"] == [e["event"]["id"] for e in events[:5]]
    assert alert["@timestamp"] == "2026-11-20T10:00:04.000Z"
    # Sigma's generate: false: the single failures raise no alert of their own.
    own_alerts = [m for m in matches if not load.is_silenced(m.rule.id)]
    assert own_alerts == []
