"""replay_stored_events on a real SqliteEventStore: every event once, every alert once, tickets once."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from correlation.replay import replay_stored_events, write_new_alerts
from correlation.tickets import AlertTriage, SuppressionSet
from storage.sqlite import SqliteEventStore
from storage.timefmt import format_timestamp, from_epoch_ms
from storage.workflow import Ticket, WorkflowDatabase, sqlite_url

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RULE = "replay-test-ssh-failed"


def _event(n: int, at: datetime, action: str = "ssh_login", host: str = "srv-01") -> dict[str, Any]:
    return {
        "@timestamp": format_timestamp(at),
        "event": {
            "id": f"ev-{n:04d}",
            "kind": "event",
            "category": ["authentication"],
            "action": action,
            "outcome": "failure",
        },
        "host": {"name": host},
        "source": {"ip": "203.0.113.7"},
        "message": f"event {n}",
    }


class FailedLoginDetector:
    """A stand-in for a newly added rule: one alert per failed SSH login, id from rule + event."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        alerts = []
        for event in events:
            self.seen[event["event"]["id"]] += 1
            if event["event"]["action"] != "ssh_failed":
                continue
            alerts.append(
                {
                    "@timestamp": event["@timestamp"],
                    "event": {
                        "kind": "alert",
                        "id": hashlib.blake2b(f"{RULE}|{event['event']['id']}".encode(), digest_size=16).hexdigest(),
                        "created": format_timestamp(NOW),
                        "category": event["event"]["category"],
                    },
                    "rule": {"id": RULE, "name": "SSH login failed", "level": "medium"},
                    "host": event["host"],
                    "source": event["source"],
                }
            )
        return alerts


@pytest.fixture
def stores(tmp_path: Path):
    events = SqliteEventStore(tmp_path / "events.db", kind="events")
    alerts = events.sibling("alerts")
    yield events, alerts
    alerts.close()
    events.close()


@pytest.fixture
def workflow(tmp_path: Path):
    with WorkflowDatabase(sqlite_url(tmp_path / "sontra.db")) as db:
        yield db


def _store_day(events: SqliteEventStore) -> None:
    """30 events in the last 24 hours (10 failed logins, 7 of them in the same millisecond), 5 older ones."""
    burst = NOW - timedelta(hours=3)
    batch = [_event(i, NOW - timedelta(hours=20) + timedelta(minutes=i), "ssh_login") for i in range(20)]
    batch += [_event(20 + i, burst, "ssh_failed") for i in range(7)]
    batch += [_event(27 + i, NOW - timedelta(minutes=30 - i), "ssh_failed") for i in range(3)]
    batch += [_event(100 + i, NOW - timedelta(days=2, minutes=i), "ssh_failed") for i in range(5)]
    assert events.write(batch).written == 35


def test_replay_writes_each_alert_once_and_a_second_replay_writes_none(stores, workflow) -> None:
    events, alerts = stores
    _store_day(events)
    registry = CollectorRegistry()
    triage = AlertTriage(workflow, SuppressionSet(workflow), registry)
    detector = FailedLoginDetector()

    first = replay_stored_events(
        events, alerts, [detector], timedelta(hours=24), page_size=4, triage=triage, clock=lambda: NOW
    )

    # Pages of 4 across a run of 7 events sharing one millisecond: each event read exactly once.
    assert first.events == 30 and set(detector.seen.values()) == {1} and len(detector.seen) == 30
    assert first.pages == 8
    assert (first.alerts, first.written, first.duplicates) == (10, 10, 0)
    assert alerts.count("rule.id:" + RULE) == 10
    assert first.triage.opened == 1 and first.triage.ticketed == 10
    with workflow.transaction() as s:
        [ticket] = s.scalars(select(Ticket)).all()
    assert (ticket.alert_count, ticket.entity_value) == (10, "203.0.113.7")  # authentication: the attacker
    # Replayed alerts are old on purpose: they must not count as detection lag.
    assert registry.get_sample_value("sontra_detection_lag_seconds_count") == 0

    second = replay_stored_events(
        events, alerts, [FailedLoginDetector()], timedelta(hours=24), page_size=4, triage=triage, clock=lambda: NOW
    )
    assert (second.events, second.alerts, second.written, second.duplicates) == (30, 10, 0, 10)
    assert second.triage.summary()["alerts"] == 0
    assert alerts.count("*") == 10
    with workflow.transaction() as s:
        assert [t.alert_count for t in s.scalars(select(Ticket))] == [10]


def test_an_alert_raised_live_before_is_a_duplicate_not_a_second_ticket_entry(stores, workflow) -> None:
    events, alerts = stores
    _store_day(events)
    live = FailedLoginDetector()([_event(20, NOW - timedelta(hours=3), "ssh_failed")])
    alerts.write(live)

    stats = replay_stored_events(
        events, alerts, [FailedLoginDetector()], NOW - timedelta(hours=24), until=NOW, triage=AlertTriage(workflow)
    )

    assert (stats.alerts, stats.written, stats.duplicates) == (10, 9, 1)
    assert stats.triage.ticketed == 9


def test_events_stored_at_the_cursor_during_the_replay_are_not_skipped(stores) -> None:
    events, alerts = stores
    same = NOW - timedelta(hours=1)
    events.write([_event(i, same, "ssh_failed") for i in range(3)])
    detector = FailedLoginDetector()

    def late_arrival(batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        # Live ingest stores another event of the same millisecond while the replay is on page one.
        if "ev-0050" not in detector.seen:
            events.write([_event(50, same, "ssh_failed")])
        return detector(batch)

    stats = replay_stored_events(events, alerts, [late_arrival], timedelta(hours=24), page_size=2, clock=lambda: NOW)
    assert sorted(detector.seen) == ["ev-0000", "ev-0001", "ev-0002", "ev-0050"]
    assert set(detector.seen.values()) == {1}
    assert stats.written == 4


def test_a_failing_detector_is_counted_and_the_others_still_run(stores) -> None:
    events, alerts = stores
    _store_day(events)

    def broken(batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        raise RuntimeError("rule compiled wrong")

    def without_id(batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"@timestamp": e["@timestamp"], "event": {"kind": "alert"}} for e in batch[:1]]

    stats = replay_stored_events(
        events,
        alerts,
        [broken, without_id, FailedLoginDetector()],
        timedelta(hours=24),
        page_size=10,
        clock=lambda: NOW,
    )
    assert stats.pages == 3 and stats.detector_errors == 3
    assert stats.without_id == 3  # not stored: a replay could not recognise them next time
    assert stats.written == 10 and alerts.count("*") == 10


def test_the_window_and_query_limit_what_is_replayed(stores) -> None:
    events, alerts = stores
    _store_day(events)
    detector = FailedLoginDetector()
    stats = replay_stored_events(
        events,
        alerts,
        [detector],
        NOW - timedelta(hours=4),
        until=NOW - timedelta(minutes=29),
        query="event.action:ssh_failed",
    )
    # The 7-event burst at -3h and the failed logins at -30m (in) and -29m (the end is exclusive).
    assert stats.events == 8 and stats.written == 8

    with pytest.raises(ValueError, match="empty replay window"):
        replay_stored_events(events, alerts, [detector], NOW, until=NOW - timedelta(hours=1))
    with pytest.raises(ValueError, match="no detectors"):
        replay_stored_events(events, alerts, [], timedelta(hours=1))


def test_the_window_start_is_exact_to_the_millisecond(stores) -> None:
    # 2004-09-27T03:28:39.761Z: a time whose float epoch (x.761 * 1000) falls just short of the integer;
    # a window starting there once began a millisecond early and replayed the event before it again.
    events, alerts = stores
    start = from_epoch_ms(1096255719761)
    events.write([_event(1, start - timedelta(milliseconds=1), "ssh_failed"), _event(2, start, "ssh_failed")])
    detector = FailedLoginDetector()
    replay_stored_events(events, alerts, [detector], start, until=start + timedelta(seconds=1))
    assert list(detector.seen) == ["ev-0002"]


def test_write_new_alerts_stores_each_id_once_and_returns_only_the_new(stores) -> None:
    _, alerts = stores
    raised = FailedLoginDetector()([_event(i, NOW, "ssh_failed") for i in range(3)])
    alerts.write(raised[:1])  # raised live before
    outcome = write_new_alerts(alerts, [*raised, raised[2], {"@timestamp": raised[0]["@timestamp"]}])
    assert [a["event"]["id"] for a in outcome.alerts] == [raised[1]["event"]["id"], raised[2]["event"]["id"]]
    assert (outcome.stored, outcome.duplicates, outcome.without_id) == (2, 2, 1)
    assert alerts.count("*") == 3
