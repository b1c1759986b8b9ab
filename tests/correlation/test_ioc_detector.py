"""IocDetector alerts: indicator and feed in ECS threat.* fields, levels, deterministic ids, the pipeline hook."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.pipeline import IngestPipeline
from correlation.ioc.detector import IocDetector, confidence_label, level_for
from correlation.ioc.feeds import FeedSpec, IocFeeds
from correlation.ioc.indicators import make_indicator
from correlation.ioc.matcher import IocMatcher
from normalizers.record import RawRecord
from normalizers.schema import FIELD_BY_NAME, iter_leaves, validate_event
from storage.sqlite import SqliteEventStore
from tests.correlation.ioc_samples import SHA256, network_event

CREATED = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
EVER = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


def detector_for(*indicators: Any, **kwargs: Any) -> IocDetector:
    return IocDetector(IocMatcher(indicators), clock=lambda: CREATED, **kwargs)


def test_an_ip_alert_names_the_indicator_its_feed_and_the_matched_field() -> None:
    ind = make_indicator("ip", "203.0.113.9", "cert-vn", confidence=90, description="Botnet C2",
                         labels=("botnet",), source_id="indicator--0e9a")  # fmt: skip
    event = network_event("ev-77", source__ip="10.0.0.5", destination__ip="203.0.113.9", user__name="alice")
    [alert] = detector_for(ind)([event])
    assert alert["@timestamp"] == event["@timestamp"]
    assert alert["event"]["kind"] == "alert"
    assert alert["event"]["created"] == "2026-11-20T12:30:00.000Z"
    assert alert["event"]["severity"] == 4
    assert alert["event"]["category"] == ["network"]  # copied for ticket grouping
    assert alert["rule"] == {
        "id": "sontra-ioc-ip",
        "name": "IOC match: ip 203.0.113.9 (feed cert-vn)",
        "level": "high",
        "ruleset": "ioc",
        "description": "destination.ip '203.0.113.9' matched ip indicator '203.0.113.9' from feed 'cert-vn' "
        "(indicator--0e9a). Botnet C2",
    }
    assert alert["threat"] == {
        "indicator": {"type": "ipv4-addr", "name": "203.0.113.9", "ip": "203.0.113.9", "confidence": "High",
                      "description": "Botnet C2"},
        "feed": {"name": "cert-vn"},
    }  # fmt: skip
    assert alert["sontra"] == {
        "alert": {"source_event_ids": ["ev-77"]},
        "ioc": {"matched": {"field": "destination.ip", "atomic": "203.0.113.9"}, "indicator_id": "indicator--0e9a"},
    }
    assert (alert["host"]["name"], alert["user"]["name"], alert["source"]["ip"]) == ("ws-17", "alice", "10.0.0.5")
    assert alert["destination"]["ip"] == "203.0.113.9"
    assert alert["related"] == {"ip": ["203.0.113.9"]}
    assert alert["tags"] == ["botnet"]


@pytest.mark.parametrize(
    ("kind", "value", "fields", "indicator_fields", "ecs_type"),
    [
        ("cidr", "198.51.100.0/24", {"client__ip": "198.51.100.7"}, {}, "ipv4-addr"),
        ("ip", "2001:db8::bad", {"server__ip": "2001:db8::bad"}, {"ip": "2001:db8::bad"}, "ipv6-addr"),
        ("domain", "evil.example", {"dns__question__name": "x.evil.example"}, {"url": {"domain": "evil.example"}},
         "domain-name"),
        ("url", "http://evil.example/a", {"url__original": "http://evil.example/a"},
         {"url": {"original": "http://evil.example/a"}}, "url"),
        ("sha256", SHA256, {"process__hash__sha256": SHA256}, {"file": {"hash": {"sha256": SHA256}}}, "file"),
    ],
)  # fmt: skip
def test_each_type_fills_its_ecs_indicator_field(
    kind: str, value: str, fields: dict, indicator_fields: dict, ecs_type: str
) -> None:
    [alert] = detector_for(make_indicator(kind, value, "f"))([network_event(**fields)])
    indicator = alert["threat"]["indicator"]
    assert indicator["type"] == ecs_type
    assert indicator["name"] == value
    assert {k: v for k, v in indicator.items() if k not in ("type", "name", "confidence")} == indicator_fields
    assert alert["rule"]["id"] == f"sontra-ioc-{kind}"
    assert alert["rule"]["name"] == f"IOC match: {kind} {value} (feed f)"
    matched_field = next(iter(fields)).replace("__", ".")
    assert alert["sontra"]["ioc"]["matched"]["field"] == matched_field


def test_alerts_fit_the_schema() -> None:
    """Every field an IOC alert sets is declared in normalizers/schema.py with the right type."""
    detector = detector_for(
        make_indicator("ip", "203.0.113.9", "f", confidence=50, source_id="a"),
        make_indicator("domain", "evil.example", "f"),
        make_indicator("url", "http://evil.example/a", "f"),
        make_indicator("sha256", SHA256, "f", labels=("x",)),
        make_indicator("cidr", "198.51.100.0/24", "f"),
    )
    event = network_event(destination__ip="203.0.113.9", source__ip="198.51.100.1", url__original="http://evil.example/a",
                          file__hash__sha256=SHA256)  # fmt: skip
    alerts = detector([event])
    assert len(alerts) == 5
    for alert in alerts:
        assert validate_event(alert) == []
        undeclared = [name for name, _ in iter_leaves(alert) if name not in FIELD_BY_NAME]
        assert undeclared == []


@pytest.mark.parametrize(
    ("confidence", "label", "level"),
    [(None, "Not Specified", "high"), (0, "None", "informational"), (10, "Low", "low"), (29, "Low", "low"),
     (30, "Medium", "medium"), (69, "Medium", "medium"), (70, "High", "high"), (100, "High", "high")],
)  # fmt: skip
def test_level_follows_confidence(confidence: int | None, label: str, level: str) -> None:
    assert confidence_label(confidence) == label
    assert level_for(confidence) == level
    [alert] = detector_for(make_indicator("ip", "203.0.113.9", "f", confidence=confidence))(
        [network_event(source__ip="203.0.113.9")]
    )
    assert alert["rule"]["level"] == level


def test_default_level_applies_without_confidence_and_is_validated() -> None:
    [alert] = detector_for(make_indicator("ip", "203.0.113.9", "f"), default_level="critical")(
        [network_event(source__ip="203.0.113.9")]
    )
    assert (alert["rule"]["level"], alert["event"]["severity"]) == ("critical", 5)
    with pytest.raises(ValueError, match="default_level must be one of"):
        detector_for(default_level="urgent")


def test_alert_ids_are_deterministic_per_feed_indicator_and_event() -> None:
    a = make_indicator("ip", "203.0.113.9", "feed-a")
    b = make_indicator("ip", "203.0.113.9", "feed-b")
    cidr = make_indicator("cidr", "203.0.113.0/24", "feed-a")
    detector = detector_for(a, b, cidr)
    first = detector([network_event("e1", source__ip="203.0.113.9", client__ip="203.0.113.9")])
    again = IocDetector(IocMatcher([cidr, b, a]))([network_event("e1", source__ip="203.0.113.9")])
    other = detector([network_event("e2", source__ip="203.0.113.9")])
    ids = [alert["event"]["id"] for alert in first]
    assert len(ids) == 3 == len(set(ids))  # one per (event, indicator): the same address twice is one alert
    assert sorted(ids) == sorted(alert["event"]["id"] for alert in again)  # replay: same ids
    assert not set(ids) & {alert["event"]["id"] for alert in other}
    anonymous = network_event(source__ip="203.0.113.9")
    del anonymous["event"]["id"]
    twice = [detector([anonymous])[0]["event"]["id"] for _ in range(2)]
    assert twice[0] == twice[1]


def test_nothing_matches_nothing_is_raised() -> None:
    detector = detector_for(make_indicator("ip", "203.0.113.9", "f"))
    assert detector([network_event(source__ip="192.0.2.1"), network_event(dns__question__name="ok.example")]) == []
    assert IocDetector(IocMatcher())([network_event(source__ip="203.0.113.9")]) == []


def test_wired_into_the_ingest_pipeline_alerts_are_stored_once(tmp_path: Path) -> None:
    feed = tmp_path / "attackers.txt"
    feed.write_text("203.0.113.9  # brute-forcing city VPNs\n", encoding="utf-8")
    feeds = IocFeeds([FeedSpec("city-blocklist", feed, "list", confidence=75)])
    events = SqliteEventStore(tmp_path / "events.db", kind="events")
    alerts = SqliteEventStore(tmp_path / "alerts.db", kind="alerts")
    try:
        pipeline = IngestPipeline(events, alerts, detectors=[IocDetector(feeds)])
        line = "Nov 20 10:00:00 web-01 sshd[5]: Failed password for root from 203.0.113.9 port 4242 ssh2"
        records = [RawRecord(line, datetime(2026, 11, 20, 12, tzinfo=UTC), "10.0.0.1:514", "syslog-udp", "syslog", 0)]
        assert pipeline.process(records).alerts == 1
        pipeline.process(records)  # a retried batch
        stored = alerts.search("threat.feed.name:city-blocklist", *EVER).hits
        assert len(stored) == 1
        assert stored[0]["rule"]["name"] == "IOC match: ip 203.0.113.9 (feed city-blocklist)"
        assert stored[0]["host"]["name"] == "web-01"
        assert alerts.count("threat.indicator.ip:203.0.113.9", *EVER) == 1
    finally:
        events.close()
        alerts.close()
