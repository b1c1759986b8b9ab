"""The ingest pipeline: raw records -> normalized ECS events -> detectors -> the event and alert stores.

Every input (syslog listeners, file import, later HTTP) goes through one ``IngestPipeline`` so
that counting, ``event.ingested`` and idempotent batched writes behave the same everywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from itertools import islice
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from collectors.agent_http import stamp_agents
from collectors.filters import IngestFilter, NoiseFilters, Verdict
from normalizers import normalize
from normalizers.record import RawRecord
from normalizers.timestamps import format_timestamp
from storage.base import EventStore, WriteResult

log = logging.getLogger(__name__)

PARSE_FAILURE = "parse_failure"
DEFAULT_BATCH_SIZE = 1000

# A detector looks at a batch of normalized events and returns the alerts they raise. Alerts are
# ECS events with event.kind "alert" and their own deterministic event.id, so a retried batch
# does not store an alert twice.
Detector = Callable[[Sequence[dict[str, Any]]], Sequence[dict[str, Any]]]
# Where newly stored alerts go next (ticket triage). It sees each alert once: alerts already in the
# alert store (a retried batch, a re-imported file) are not handed on again.
AlertSink = Callable[[list[dict[str, Any]]], Any]


@dataclass(slots=True)
class PipelineStats:
    """What one run (or the pipeline's whole life) did."""

    events: int = 0
    parse_failures: int = 0
    alerts: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    dropped: int = 0  # matched by a drop filter: normalized, then neither stored nor detected

    def add(self, other: PipelineStats) -> None:
        """Add another run's counts to this one."""
        self.events += other.events
        self.parse_failures += other.parse_failures
        self.alerts += other.alerts
        self.duplicates += other.duplicates
        self.seconds += other.seconds
        self.dropped += other.dropped

    def summary(self) -> dict[str, Any]:
        """The summary ``sontra ingest`` prints: events, parse_failures, alerts, duplicates, dropped, seconds."""
        return {
            "events": self.events,
            "parse_failures": self.parse_failures,
            "alerts": self.alerts,
            "duplicates": self.duplicates,
            "dropped": self.dropped,
            "seconds": round(self.seconds, 3),
        }


class IngestMetrics:
    """The pipeline's Prometheus counters, registered in the registry the /metrics endpoint serves."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "sontra_ingest_events",
            "Events normalized and written, by input (events a drop filter matched are not counted)",
            ["input"],
            registry=registry,
        )
        self.parse_failures = Counter(
            "sontra_ingest_parse_failures", "Records stored as parse_failure, by input", ["input"], registry=registry
        )
        self.duplicates = Counter(
            "sontra_ingest_duplicates", "Events already in the store (same event.id)", registry=registry
        )
        self.alerts = Counter("sontra_ingest_alerts", "Alerts raised by detectors at ingest", registry=registry)
        self.detector_errors = Counter(
            "sontra_ingest_detector_errors",
            "Detector calls that raised; their events are still stored",
            registry=registry,
        )
        self.triage_errors = Counter(
            "sontra_ingest_triage_errors",
            "Alert sink (triage) calls that raised; their alerts are still stored",
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "sontra_ingest_batch_seconds",
            "Time to normalize, detect and write one batch",
            registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


class IngestPipeline:
    """Normalizes raw records, applies the noise filters, runs detectors and writes events and alerts in batches.

    Not thread-safe for concurrent ``process`` calls: give each pipeline one writer thread (the
    syslog ingest worker does), because embedded stores are single-writer anyway.
    """

    def __init__(
        self,
        events_store: EventStore,
        alerts_store: EventStore | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        detectors: Sequence[Detector] = (),
        alert_sink: AlertSink | None = None,
        filters: Sequence[IngestFilter] = (),
        registry: CollectorRegistry | None = None,
        source_tz: tzinfo = UTC,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if detectors and alerts_store is None:
            raise ValueError("detectors were given but no alerts_store to write their alerts to")
        self.events_store = events_store
        self.alerts_store = alerts_store
        self.batch_size = batch_size
        self.detectors = tuple(detectors)
        self.alert_sink = alert_sink
        self.source_tz = source_tz
        # A private registry by default, so that two pipelines (in tests, say) never collide.
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = IngestMetrics(self.registry)
        self.filters = NoiseFilters(filters, self.registry)
        self._clock = clock
        self._totals = PipelineStats()
        self._totals_lock = threading.Lock()

    @property
    def totals(self) -> PipelineStats:
        """Everything this pipeline has processed since it was created (a copy)."""
        with self._totals_lock:
            t = self._totals
            return PipelineStats(t.events, t.parse_failures, t.alerts, t.duplicates, t.seconds, t.dropped)

    def process(self, records: Iterable[RawRecord]) -> PipelineStats:
        """Normalize and store every record, in batches; return what this call did."""
        stats = PipelineStats()
        started = time.perf_counter()
        for batch in _batches(records, self.batch_size):
            stats.add(self._process_batch(batch))
        stats.seconds = time.perf_counter() - started
        with self._totals_lock:
            self._totals.add(stats)
        return stats

    def flush(self) -> None:
        """Make everything written so far durable and searchable."""
        self.events_store.flush()
        if self.alerts_store is not None:
            self.alerts_store.flush()

    def _process_batch(self, batch: list[RawRecord]) -> PipelineStats:
        started = time.perf_counter()
        source_tz = self.source_tz
        normalized = [normalize(record, source_tz) for record in batch]
        stamp_agents(batch, normalized)  # before the filters, so that they can match on agent.id
        # Filters run after normalization (their queries name ECS fields) and before the store.
        verdicts = self.filters.decide(normalized) if self.filters else None
        ingested = format_timestamp(self._clock())
        by_input: Tally[str] = Tally()
        failures_by_input: Tally[str] = Tally()
        events: list[dict[str, Any]] = []
        to_detect: list[dict[str, Any]] = []
        for i, (record, event) in enumerate(zip(batch, normalized, strict=True)):
            verdict = Verdict.KEEP if verdicts is None else verdicts[i]
            if verdict is Verdict.DROP:
                continue
            event["event"]["ingested"] = ingested
            events.append(event)
            if verdict is Verdict.KEEP:
                to_detect.append(event)
            by_input[record.input] += 1
            tags = event.get("tags")
            if tags and PARSE_FAILURE in tags:
                failures_by_input[record.input] += 1
        # Events are written before detection so that a failing detector can never lose them.
        written = self.events_store.write(events) if events else WriteResult(0, 0)
        alerts = self._detect(to_detect) if to_detect else []
        if alerts:
            self._store_alerts(alerts)

        for name, n in by_input.items():
            self.metrics.events.labels(name).inc(n)
        for name, n in failures_by_input.items():
            self.metrics.parse_failures.labels(name).inc(n)
        self.metrics.duplicates.inc(written.duplicates)
        self.metrics.alerts.inc(len(alerts))
        elapsed = time.perf_counter() - started
        self.metrics.batch_seconds.observe(elapsed)
        return PipelineStats(
            events=len(events),
            parse_failures=sum(failures_by_input.values()),
            alerts=len(alerts),
            duplicates=written.duplicates,
            seconds=elapsed,
            dropped=len(normalized) - len(events),
        )

    def store_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Write alerts raised outside a batch (a correlation window closing on a quiet stream) and hand them on."""
        if alerts:
            self._store_alerts(alerts)
            self.metrics.alerts.inc(len(alerts))

    def _store_alerts(self, alerts: list[dict[str, Any]]) -> None:
        store = self.alerts_store
        assert store is not None  # guaranteed by __init__
        if self.alert_sink is None:
            store.write(alerts)
            return
        # Only alerts not stored before go to the sink, so a retried batch opens no ticket twice.
        fresh: dict[str, dict[str, Any]] = {}
        for alert in alerts:
            alert_id = alert.get("event", {}).get("id")
            if isinstance(alert_id, str) and alert_id not in fresh and store.get(alert_id) is None:
                fresh[alert_id] = alert
        store.write(alerts)
        if not fresh:
            return
        try:
            self.alert_sink(list(fresh.values()))
        except Exception:
            # Triage failing (the workflow DB away) must not stop ingest; the alerts are stored.
            self.metrics.triage_errors.inc()
            log.exception("alert sink %r failed on %d new alerts", self.alert_sink, len(fresh))

    def _detect(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = []
        for detector in self.detectors:
            try:
                alerts.extend(detector(events))
            except Exception:
                # One broken rule must not stop ingest; the error is logged and counted.
                self.metrics.detector_errors.inc()
                log.exception("detector %r failed on a batch of %d events", detector, len(events))
        return alerts


def _batches(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch
