"""Collector fixtures: a real SQLite event store in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.base import EventStore
from storage.sqlite import SqliteEventStore

# Wide enough for any timestamp the tests produce (year inference, fixed 2003 RFC examples, now).
EVER = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


@pytest.fixture
def events_store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    """An empty SQLite events store."""
    store = SqliteEventStore(tmp_path / "events.db", kind="events")
    try:
        yield store
    finally:
        store.close()


def stored_events(store: EventStore, query: str = "") -> list[dict[str, Any]]:
    """Every event in the store matching ``query``, oldest first."""
    result = store.search(query, *EVER, size=1_000_000, sort="@timestamp:asc")
    assert result.total == len(result.hits)
    return result.hits


def sample_value(registry: Any, name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of one Prometheus sample (0 when it was never set)."""
    value = registry.get_sample_value(name, labels or {})
    return 0.0 if value is None else value
