"""Ingest noise filters: drop and route by Lucene query, parse failures protected, counted per filter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from collectors.filters import FilterError, IngestFilter
from collectors.pipeline import IngestPipeline
from normalizers.record import RawRecord
from storage.sqlite import SqliteEventStore
from tests.collectors.conftest import sample_value, stored_events

NOW = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
SSH_FAIL = "<38>Nov 23 10:00:00 web-01 sshd[5]: Failed password for root from 203.0.113.7 port {i} ssh2"
HEALTH = '<190>Nov 23 10:00:00 web-02 nginx: 10.0.0.5 - - [23/Nov/2026:10:00:00 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"'  # noqa: E501
PAGE = '<190>Nov 23 10:00:00 web-02 nginx: 198.51.100.4 - - [23/Nov/2026:10:00:00 +0000] "GET /login HTTP/1.1" 200 512 "-" "curl/8.5.0"'  # noqa: E501
FW_ACCEPT = (
    '<189>date=2026-11-23 time=10:00:00 devname="FGT60F" devid="FGT60FTK1" logid="0000000013" type="traffic" '
    'subtype="forward" level="notice" vd="root" srcip=10.0.0.{i} srcport=51234 srcintf="port1" dstip=8.8.8.8 '
    'dstport=53 dstintf="wan1" action="accept" policyid=1 proto=17 service="DNS"'
)
JUNK = "\x00\x01 kube-probe healthz junk that no parser understands"


def records(lines: Sequence[str]) -> list[RawRecord]:
    return [RawRecord(line, NOW, "10.0.0.1:514", "syslog-tcp", "syslog", i) for i, line in enumerate(lines)]


class SeenByDetector:
    """A detector that raises nothing and remembers every event it was shown."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        self.seen.extend(events)
        return []


def pipeline_with(store: SqliteEventStore, *filters: IngestFilter) -> tuple[IngestPipeline, SeenByDetector]:
    detector = SeenByDetector()
    alerts = store.sibling("alerts")
    return IngestPipeline(store, alerts, detectors=[detector], filters=filters, registry=CollectorRegistry()), detector


def test_drop_filter_keeps_matching_events_out_of_the_store(events_store: SqliteEventStore) -> None:
    drop = IngestFilter.build("k8s-probes", 'url.path:"/healthz" AND user_agent.original:kube-probe*', "drop")
    pipeline, detector = pipeline_with(events_store, drop)
    stats = pipeline.process(records([HEALTH, PAGE, HEALTH, SSH_FAIL.format(i=1)]))
    stored = stored_events(events_store)
    assert sorted(e["url"]["path"] for e in stored if "url" in e) == ["/login"]
    assert len(stored) == 2 and len(detector.seen) == 2
    assert (stats.events, stats.dropped) == (2, 2)
    matches = {"filter": "k8s-probes", "action": "drop"}
    assert sample_value(pipeline.registry, "sontra_filter_matches_total", matches) == 2
    assert sample_value(pipeline.registry, "sontra_ingest_events_total", {"input": "syslog-tcp"}) == 2


def test_route_filter_labels_the_stream_and_can_skip_detection(events_store: SqliteEventStore) -> None:
    route = IngestFilter.build(
        "fw-accepts", "event.dataset:fortinet.firewall AND fortinet.firewall.action:accept", "route",
        stream="firewall-accepts", detect=False,
    )  # fmt: skip
    pipeline, detector = pipeline_with(events_store, route)
    pipeline.process(records([FW_ACCEPT.format(i=i) for i in range(5)] + [SSH_FAIL.format(i=7)]))
    routed = stored_events(events_store, "labels.stream:firewall-accepts")
    assert len(routed) == 5 and all(e["source"]["ip"].startswith("10.0.0.") for e in routed)
    assert len(stored_events(events_store)) == 6  # routed events are stored
    assert [e["event"]["dataset"] for e in detector.seen] == ["system.auth"]  # but not detected
    matches = {"filter": "fw-accepts", "action": "route"}
    assert sample_value(pipeline.registry, "sontra_filter_matches_total", matches) == 5


def test_route_with_detection_still_detects(events_store: SqliteEventStore) -> None:
    route = IngestFilter.build("ssh", "event.action:ssh_login", "route", stream="auth")
    pipeline, detector = pipeline_with(events_store, route)
    pipeline.process(records([SSH_FAIL.format(i=1), PAGE]))
    assert len(detector.seen) == 2
    assert [e.get("labels") for e in detector.seen] == [{"stream": "auth"}, None]


def test_first_matching_filter_decides(events_store: SqliteEventStore) -> None:
    keep_login = IngestFilter.build("logins", 'url.path:"/login"', "route", stream="web")
    drop_web = IngestFilter.build("all-web", "event.dataset:nginx.access", "drop")
    pipeline, _ = pipeline_with(events_store, keep_login, drop_web)
    pipeline.process(records([PAGE, HEALTH]))
    stored = stored_events(events_store)
    assert [(e["url"]["path"], e["labels"]["stream"]) for e in stored] == [("/login", "web")]
    registry = pipeline.registry
    assert sample_value(registry, "sontra_filter_matches_total", {"filter": "logins", "action": "route"}) == 1
    assert sample_value(registry, "sontra_filter_matches_total", {"filter": "all-web", "action": "drop"}) == 1


def test_parse_failures_are_kept_unless_a_filter_says_otherwise(events_store: SqliteEventStore) -> None:
    # The query would match the junk line's message; a drop filter still must not lose it.
    broad = IngestFilter.build("probes", "healthz OR kube", "drop")
    pipeline, _ = pipeline_with(events_store, broad)
    pipeline.process(records([JUNK, HEALTH]))
    stored = stored_events(events_store)
    assert [e["tags"] for e in stored] == [["parse_failure"]]

    explicit = IngestFilter.build("junk", "tags:parse_failure AND kube", "drop", include_parse_failures=True)
    pipeline2, _ = pipeline_with(events_store, explicit)
    stats = pipeline2.process([RawRecord(JUNK, NOW, "10.0.0.9:514", "syslog-udp", "syslog", 1)])
    assert stats.dropped == 1 and stats.events == 0
    assert len(stored_events(events_store)) == 1


def test_every_configured_filter_shows_in_metrics_from_the_start(events_store: SqliteEventStore) -> None:
    pipeline, _ = pipeline_with(events_store, IngestFilter.build("never", "event.action:nothing_like_this", "drop"))
    assert (
        pipeline.registry.get_sample_value("sontra_filter_matches_total", {"filter": "never", "action": "drop"}) == 0.0
    )


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": "bad-query", "query": "user.name:(root OR", "action": "drop"}, "filter 'bad-query': invalid query"),
        ({"name": "fuzzy", "query": "user.name:rooot~1", "action": "drop"}, "filter 'fuzzy': unsupported query"),
        ({"name": "all", "query": "*", "action": "drop"}, "matches every event"),
        ({"name": "nostream", "query": "a:b", "action": "route"}, "needs a stream"),
        ({"name": "s", "query": "a:b", "action": "route", "stream": "Bad Stream"}, "stream 'Bad Stream'"),
        ({"name": "d", "query": "a:b", "action": "drop", "stream": "x"}, "only apply to action 'route'"),
        ({"name": "a", "query": "a:b", "action": "archive"}, "must be 'drop' or 'route'"),
    ],
)
def test_misconfigured_filters_are_named(kwargs: dict[str, Any], words: str) -> None:
    name, query, action = kwargs.pop("name"), kwargs.pop("query"), kwargs.pop("action")
    with pytest.raises(FilterError) as err:
        IngestFilter.build(name, query, action, **kwargs)
    assert words in str(err.value)


def test_filter_names_must_be_unique(events_store: SqliteEventStore) -> None:
    twice = IngestFilter.build("same", "a:b", "drop")
    with pytest.raises(FilterError, match="repeated: same"):
        IngestPipeline(events_store, filters=[twice, twice])
