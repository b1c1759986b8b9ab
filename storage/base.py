"""The EventStore contract that every backend (SQLite, OpenSearch) fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

StoreKind = Literal["events", "alerts"]


class QueryError(ValueError):
    """A Lucene query could not be parsed or translated; the message names the position."""

    def __init__(self, message: str, query: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.query = query
        self.position = position


class StoreError(RuntimeError):
    """The backend failed (connection lost, retries exhausted)."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did: documents stored, already present (by event.id), refused by the backend's mapping."""

    written: int
    duplicates: int = 0
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One page of hits and the total number of matching events."""

    total: int
    hits: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Bucket:
    """One date-histogram bucket: its start (UTC) and the number of events in it."""

    start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class TermCount:
    """One top-N terms entry."""

    value: Any
    count: int


# "@timestamp:desc", "source.port:asc" or several separated by commas.
SortSpec = str


class EventStore(ABC):
    """Stores ECS events (or alerts) and answers Lucene queries over a time window.

    Times are timezone-aware datetimes; ``start`` is inclusive and ``end`` exclusive. A query
    of ``""`` or ``"*"`` matches everything. Writes are idempotent by ``event.id``.
    """

    kind: StoreKind

    @abstractmethod
    def write(self, events: Sequence[dict[str, Any]]) -> WriteResult:
        """Store events; ids already present are counted as duplicates and left unchanged."""

    @abstractmethod
    def search(
        self,
        query: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        size: int = 100,
        sort: SortSpec = "@timestamp:desc",
        offset: int = 0,
    ) -> SearchResult:
        """Return matching events, sorted, from ``offset`` for ``size`` hits."""

    @abstractmethod
    def count(self, query: str = "", start: datetime | None = None, end: datetime | None = None) -> int:
        """Number of matching events."""

    @abstractmethod
    def histogram(
        self,
        query: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        interval: str = "1h",
    ) -> list[Bucket]:
        """Non-empty fixed-interval buckets (``30s``, ``5m``, ``1h``, ``1d``), ascending."""

    @abstractmethod
    def terms(
        self,
        field: str,
        query: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        size: int = 10,
    ) -> list[TermCount]:
        """Top ``size`` values of ``field`` by count (ties by value ascending)."""

    @abstractmethod
    def get(self, event_id: str) -> dict[str, Any] | None:
        """The stored event with this ``event.id``, or None."""

    @abstractmethod
    def purge(self, before: datetime) -> int:
        """Delete events with ``@timestamp`` before ``before``; return how many were deleted."""

    @abstractmethod
    def sibling(self, kind: StoreKind) -> EventStore:
        """A store of the given kind (events or alerts) on the same backend and location."""

    def flush(self) -> None:  # noqa: B027 - optional hook, most backends write through
        """Make every write so far visible to search and durable."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
