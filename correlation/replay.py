"""Replay stored events through detectors after a rule change, without raising any alert twice.

Events are read from the store in ``@timestamp`` order, one page at a time, and handed to the
detectors as the ingest pipeline would. Alerts carry deterministic ids (rule + triggering event),
so an alert raised before, live or by an earlier replay, is found in the alert store and counted
as a duplicate; only alerts written now go on to triage. Running the same replay twice therefore
writes nothing and opens no ticket the second time.

Paging is by position after a time cursor, not by a growing offset: each page starts at the last
millisecond read and skips the events of that millisecond already seen. The window's end is fixed
when the replay starts, so events that keep arriving are left to live detection, and an event
stored meanwhile at the cursor's millisecond sorts after those already read and is not skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from correlation.tickets.triage import AlertTriage, TriageStats
from normalizers.schema import get_field
from storage.base import EventStore
from storage.timefmt import from_epoch_ms, parse_timestamp, to_epoch_ms

log = logging.getLogger(__name__)

# What collectors.pipeline calls a Detector: a batch of events in, the alerts they raise out.
Detector = Callable[[Sequence[dict[str, Any]]], Sequence[dict[str, Any]]]
DEFAULT_PAGE_SIZE = 1000


@dataclass(slots=True)
class ReplayStats:
    """What a replay read, raised, stored and ticketed."""

    events: int = 0
    pages: int = 0
    alerts: int = 0  # raised by the detectors (with an event.id)
    written: int = 0  # new alerts stored now
    duplicates: int = 0  # raised before (already in the alert store) or twice in one page
    without_id: int = 0  # alerts with no event.id: not stored (they could not be deduplicated)
    detector_errors: int = 0
    seconds: float = 0.0
    start: datetime | None = None
    end: datetime | None = None
    triage: TriageStats = field(default_factory=TriageStats)

    def summary(self) -> dict[str, Any]:
        """The counts as a plain dict, for ``sontra rules replay --json``."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "events": self.events,
            "pages": self.pages,
            "alerts": self.alerts,
            "written": self.written,
            "duplicates": self.duplicates,
            "without_id": self.without_id,
            "detector_errors": self.detector_errors,
            "seconds": round(self.seconds, 3),
            "triage": self.triage.summary(),
        }


def replay_stored_events(
    events_store: EventStore,
    alerts_store: EventStore,
    detectors: Sequence[Detector],
    since: datetime | timedelta,
    *,
    until: datetime | None = None,
    query: str = "",
    page_size: int = DEFAULT_PAGE_SIZE,
    triage: AlertTriage | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReplayStats:
    """Run ``detectors`` over the stored events of ``[since, until)`` (``since`` may be a look-back such as 24h).

    ``query`` narrows the events (Lucene); new alerts are written to ``alerts_store`` and, when
    ``triage`` is given, ticketed (without detection-lag samples: these events are old on purpose).
    """
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    if not detectors:
        raise ValueError("no detectors to replay the events through")
    now = clock()
    start = now - since if isinstance(since, timedelta) else since
    end = until or now
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("since and until must be aware datetimes (UTC)")
    if start >= end:
        raise ValueError(f"empty replay window: {start.isoformat()} is not before {end.isoformat()}")
    stats = ReplayStats(start=start, end=end)
    began = time.perf_counter()
    cursor_ms = to_epoch_ms(start)
    seen_at_cursor = 0  # events of the cursor's millisecond already read
    while True:
        page = events_store.search(
            query, from_epoch_ms(cursor_ms), end, size=page_size, sort="@timestamp:asc", offset=seen_at_cursor
        ).hits
        if not page:
            break
        stats.pages += 1
        stats.events += len(page)
        _detect_and_store(page, alerts_store, detectors, triage, stats)
        last_ms = _event_ms(page[-1])
        if last_ms == cursor_ms:
            seen_at_cursor += len(page)
        else:
            cursor_ms = last_ms
            seen_at_cursor = sum(1 for event in page if _event_ms(event) == last_ms)
        if len(page) < page_size:
            break
    alerts_store.flush()
    stats.seconds = time.perf_counter() - began
    return stats


@dataclass(frozen=True, slots=True)
class NewAlerts:
    """What ``write_new_alerts`` did: the alerts stored now, and those it left alone."""

    alerts: list[dict[str, Any]]  # the new ones: pass these to triage
    stored: int = 0  # how many of them the store wrote (fewer only if live ingest raced it)
    duplicates: int = 0  # already stored (same event.id), or twice in the list
    without_id: int = 0  # no event.id: not stored, since nothing could recognise them later


def write_new_alerts(alerts_store: EventStore, alerts: Sequence[dict[str, Any]]) -> NewAlerts:
    """Store the alerts whose ``event.id`` is not in ``alerts_store`` yet; return them (the ones to triage).

    The ingest pipeline can use it too, in place of a plain ``write``, to hand triage only new alerts.
    """
    raised: dict[str, dict[str, Any]] = {}
    duplicates = without_id = 0
    for alert in alerts:
        alert_id = get_field(alert, "event.id")
        if not isinstance(alert_id, str) or not alert_id:
            without_id += 1
        elif alert_id in raised:
            duplicates += 1
        else:
            raised[alert_id] = alert
    new = [alert for alert_id, alert in raised.items() if alerts_store.get(alert_id) is None]
    duplicates += len(raised) - len(new)
    stored = 0
    if new:
        # A duplicate in this write means live ingest stored the same alert a moment ago; triage
        # recognises an alert already on a ticket, so handing the whole list on stays safe.
        result = alerts_store.write(new)
        stored, duplicates = result.written, duplicates + result.duplicates
    return NewAlerts(new, stored, duplicates, without_id)


def _detect_and_store(
    events: list[dict[str, Any]],
    alerts_store: EventStore,
    detectors: Sequence[Detector],
    triage: AlertTriage | None,
    stats: ReplayStats,
) -> None:
    raised: list[dict[str, Any]] = []
    for detector in detectors:
        try:
            raised.extend(detector(events))
        except Exception:
            # As at ingest: one broken detector must not stop the others; it is logged and counted.
            stats.detector_errors += 1
            log.exception("replay: detector %r failed on a page of %d events", detector, len(events))
    if not raised:
        return
    outcome = write_new_alerts(alerts_store, raised)
    stats.alerts += len(raised) - outcome.without_id
    stats.written += outcome.stored
    stats.duplicates += outcome.duplicates
    stats.without_id += outcome.without_id
    if triage is not None and outcome.alerts:
        stats.triage.add(triage.handle(outcome.alerts, measure_lag=False))


def _event_ms(event: dict[str, Any]) -> int:
    """The epoch millisecond of a stored event's ``@timestamp``, as the stores index it."""
    return to_epoch_ms(parse_timestamp(str(event["@timestamp"])))
