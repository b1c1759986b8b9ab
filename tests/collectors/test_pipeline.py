"""The ingest pipeline: batching, event.ingested, counting, the detector hook and its metrics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from collectors.pipeline import IngestPipeline
from normalizers.record import RawRecord
from storage.base import WriteResult
from storage.sqlite import SqliteEventStore
from tests.collectors.conftest import sample_value, stored_events

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def records(n: int, text: str = "Nov 20 10:00:00 web-01 sshd[5]: Failed password for root") -> list[RawRecord]:
    return [RawRecord(text, NOW, "10.0.0.1:514", "syslog-udp", "syslog", i) for i in range(n)]


class CountingStore(SqliteEventStore):
    """A real SQLite store that remembers the size of every write it was given."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, kind="events")
        self.batches: list[int] = []

    def write(self, events: Sequence[dict[str, Any]]) -> WriteResult:
        self.batches.append(len(events))
        return super().write(events)


def test_writes_in_batches_and_stamps_ingested(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "e.db")
    clock = datetime(2026, 11, 20, 12, 0, 1, 500000, tzinfo=UTC)
    pipeline = IngestPipeline(store, batch_size=40, clock=lambda: clock)
    stats = pipeline.process(records(100))
    assert store.batches == [40, 40, 20]
    assert stats.events == 100
    assert {e["event"]["ingested"] for e in stored_events(store)} == {"2026-11-20T12:00:01.500Z"}
    store.close()


def test_counts_failures_duplicates_and_totals(events_store: SqliteEventStore) -> None:
    registry = CollectorRegistry()
    pipeline = IngestPipeline(events_store, registry=registry)
    batch = [*records(5), RawRecord("\x00\x01 junk", NOW, "10.0.0.2:514", "syslog-tcp", "syslog", 9)]
    first = pipeline.process(batch)
    again = pipeline.process(batch)  # the same received records, e.g. a retried batch
    assert (first.events, first.parse_failures, first.duplicates) == (6, 1, 0)
    assert (again.events, again.duplicates) == (6, 6)
    assert events_store.count() == 6
    totals = pipeline.totals
    assert (totals.events, totals.parse_failures, totals.duplicates) == (12, 2, 6)
    assert sample_value(registry, "sontra_ingest_events_total", {"input": "syslog-udp"}) == 10
    assert sample_value(registry, "sontra_ingest_parse_failures_total", {"input": "syslog-tcp"}) == 2
    assert sample_value(registry, "sontra_ingest_duplicates_total") == 6
    assert sample_value(registry, "sontra_ingest_batch_seconds_count") == 2


def test_two_pipelines_do_not_collide_in_metrics(events_store: SqliteEventStore) -> None:
    a = IngestPipeline(events_store)
    b = IngestPipeline(events_store)
    a.process(records(3))
    assert sample_value(a.registry, "sontra_ingest_events_total", {"input": "syslog-udp"}) == 3
    assert sample_value(b.registry, "sontra_ingest_events_total", {"input": "syslog-udp"}) == 0


def failed_root_logins(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stand-in detection rule: one alert per failed root password."""
    return [
        {
            "@timestamp": e["@timestamp"],
            "message": "Failed root login",
            "event": {"id": "alert-" + e["event"]["id"], "kind": "alert"},
            "rule": {"id": "root-fail", "name": "Failed root login"},
            "host": e.get("host", {}),
        }
        for e in events
        if "Failed password for root" in e.get("message", "")
    ]


def broken_rule(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    raise RuntimeError("rule bug")


def test_detectors_raise_alerts_into_the_alert_store(tmp_path: Path) -> None:
    events = SqliteEventStore(tmp_path / "e.db", kind="events")
    alerts = events.sibling("alerts")
    pipeline = IngestPipeline(events, alerts, detectors=[broken_rule, failed_root_logins])
    mixed = records(3) + records(2, "Nov 20 10:00:00 web-01 sshd[5]: Accepted password for bob")[:1]
    stats = pipeline.process(mixed)
    assert stats.alerts == 3
    assert stats.summary()["alerts"] == 3
    assert events.count() == 4  # the broken rule did not cost a single event
    assert alerts.count() == 3
    assert alerts.count("rule.id:root-fail") == 3
    assert sample_value(pipeline.registry, "sontra_ingest_detector_errors_total") == 1
    assert sample_value(pipeline.registry, "sontra_ingest_alerts_total") == 3
    events.close()
    alerts.close()


def test_alert_sink_sees_only_newly_stored_alerts(tmp_path: Path) -> None:
    events = SqliteEventStore(tmp_path / "e.db", kind="events")
    alerts = events.sibling("alerts")
    handed: list[list[str]] = []
    pipeline = IngestPipeline(
        events,
        alerts,
        detectors=[failed_root_logins],
        alert_sink=lambda new: handed.append([a["event"]["id"] for a in new]),
    )
    pipeline.process(records(3))
    assert len(handed) == 1 and len(set(handed[0])) == 3
    again = pipeline.process(records(4))  # a retried batch plus one new record
    assert again.alerts == 4  # raised again (deterministic ids), stored once
    assert alerts.count() == 4
    assert len(handed) == 2 and len(handed[1]) == 1 and handed[1][0] not in handed[0]
    pipeline.process(records(4))
    assert len(handed) == 2  # nothing new: the sink is not called
    events.close()
    alerts.close()


def test_a_failing_alert_sink_is_counted_and_ingest_goes_on(tmp_path: Path) -> None:
    events = SqliteEventStore(tmp_path / "e.db", kind="events")
    alerts = events.sibling("alerts")

    def workflow_db_away(new: list[dict[str, Any]]) -> None:
        raise ConnectionError("workflow database unreachable")

    pipeline = IngestPipeline(events, alerts, detectors=[failed_root_logins], alert_sink=workflow_db_away)
    stats = pipeline.process(records(2))
    assert (stats.events, stats.alerts) == (2, 2)
    assert alerts.count() == 2 and events.count() == 2
    assert sample_value(pipeline.registry, "sontra_ingest_triage_errors_total") == 1
    events.close()
    alerts.close()


def test_bad_configuration_is_rejected(events_store: SqliteEventStore) -> None:
    with pytest.raises(ValueError, match="no alerts_store"):
        IngestPipeline(events_store, detectors=[failed_root_logins])
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        IngestPipeline(events_store, batch_size=0)
