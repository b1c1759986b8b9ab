"""The EventStore contract on OpenSearch: daily indices, bulk creates, query_string searches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from opensearchpy.exceptions import RequestError, TransportError

from normalizers.schema import field_type, get_field, index_template
from storage.base import (
    Bucket,
    EventStore,
    QueryError,
    SearchResult,
    SortSpec,
    StoreError,
    StoreKind,
    TermCount,
    WriteResult,
)
from storage.opensearch.bulk import BulkItem, BulkWriter
from storage.opensearch.connection import ClusterAddress, describe_error, error_reason
from storage.opensearch.dsl import filtered, fixed_interval, sort_clause, sort_field, time_filter
from storage.opensearch.indices import DailyIndices, day_start
from storage.opensearch.retry import Backoff
from storage.timefmt import from_epoch_ms

log = logging.getLogger(__name__)
T = TypeVar("T")

# A store whose indices do not exist yet (nothing written, or all purged) answers "nothing".
_ANY_INDICES = {"ignore_unavailable": True, "allow_no_indices": True}
# OpenSearch's default limit on an HTTP request line is 4 KiB: index lists go in groups below it.
_MAX_INDEX_LIST = 3000
# Deleting a day's events one by one can take minutes on a busy cluster.
_PURGE_TIMEOUT = 600
# An OpenSearch document _id is at most 512 bytes.
_MAX_ID_BYTES = 512


class OpenSearchEventStore(EventStore):
    """Events (or alerts) in daily OpenSearch indices ``{prefix}-{kind}-YYYY.MM.DD``."""

    def __init__(
        self,
        url: str,
        kind: StoreKind = "events",
        *,
        index_prefix: str = "sontra",
        username: str | None = None,
        password: str | None = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 30,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        shards: int = 1,
        replicas: int = 0,
    ) -> None:
        if not isinstance(shards, int) or shards < 1 or not isinstance(replicas, int) or replicas < 0:
            raise ValueError(f"shards must be >= 1 and replicas >= 0, got shards={shards!r} replicas={replicas!r}")
        self.kind = kind
        self._indices = DailyIndices(index_prefix, kind)
        self._shards = shards
        self._replicas = replicas
        self._address = ClusterAddress.parse(
            url, username=username, password=password, verify_certs=verify_certs, ca_certs=ca_certs, timeout=timeout
        )
        self._backoff = Backoff(max_retries=max_retries, base=backoff_base)
        self._client = self._address.client()
        self._bulk = BulkWriter(self._client, self._backoff)
        self._template_lock = threading.Lock()
        self._template_installed = False

    def __repr__(self) -> str:
        where = str(self._address)  # the URL and user name, never the password
        return f"OpenSearchEventStore({where!r}, kind={self.kind!r}, index_prefix={self._indices.prefix!r})"

    @property
    def index_prefix(self) -> str:
        """The prefix of this store's index and template names."""
        return self._indices.prefix

    # --- writes -----------------------------------------------------------------------------

    def install_template(self) -> None:
        """Put this store's composable index template; safe to repeat (the same body replaces itself)."""
        body = index_template([self._indices.pattern], shards=self._shards, replicas=self._replicas)
        self._call("install the index template", lambda: self._client.indices.put_index_template(
            name=self._indices.base, body=body))
        self._template_installed = True

    def write(self, events: Sequence[dict[str, Any]]) -> WriteResult:
        """Store events; ids already present are counted as duplicates and left unchanged."""
        items, repeats = self._bulk_items(events)
        if not items:
            return WriteResult(0, repeats)
        # The template must exist before the first bulk request creates a daily index from it.
        # Only writers install it, so a read-only analyst account needs no template rights.
        with self._template_lock:
            if not self._template_installed:
                self.install_template()
        tally = self._bulk.write(items)
        return WriteResult(tally.written, tally.duplicates + repeats, tally.rejected)

    def _bulk_items(self, events: Sequence[dict[str, Any]]) -> tuple[list[BulkItem], int]:
        """One bulk item per distinct event.id, and how many repeats of an id the batch held."""
        items: list[BulkItem] = []
        seen: set[str] = set()
        problems: list[str] = []
        for position, event in enumerate(events):
            if not isinstance(event, Mapping):
                problems.append(f"event {position}: not an object ({type(event).__name__})")
                continue
            event_id = get_field(event, "event.id")
            if not isinstance(event_id, str) or not event_id:
                problems.append(f"event {position}: event.id missing or not a string")
                continue
            if len(event_id.encode()) > _MAX_ID_BYTES:
                problems.append(f"event {position}: event.id longer than {_MAX_ID_BYTES} bytes")
                continue
            try:
                index = self._indices.name_for(event.get("@timestamp"))
            except ValueError as exc:
                problems.append(f"event {position} ({event_id}): {exc}")
                continue
            if event_id in seen:
                continue
            seen.add(event_id)
            items.append(BulkItem.create(event_id, index, dict(event)))
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise ValueError(f"cannot write {len(problems)} of {len(events)} events: {'; '.join(problems[:5])}{more}")
        return items, len(events) - len(items)

    # --- queries ----------------------------------------------------------------------------

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
        _require_count("size", size)
        _require_count("offset", offset)
        body = {
            "query": filtered(query, start, end),
            "sort": sort_clause(sort),
            "from": offset,
            "size": size,
            "track_total_hits": True,
        }
        answer = self._search(body, query)
        hits = answer["hits"]
        total = hits["total"]["value"] if isinstance(hits["total"], dict) else int(hits["total"])
        return SearchResult(total, [hit["_source"] for hit in hits["hits"]])

    def count(self, query: str = "", start: datetime | None = None, end: datetime | None = None) -> int:
        """Number of matching events."""
        body = {"query": filtered(query, start, end)}
        answer = self._query_call(query, lambda: self._client.count(index=self._indices.pattern, body=body,
                                                                    **_ANY_INDICES))
        return int(answer["count"])

    def histogram(
        self,
        query: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        interval: str = "1h",
    ) -> list[Bucket]:
        """Non-empty fixed-interval buckets (``30s``, ``5m``, ``1h``, ``1d``), ascending."""
        agg = {"date_histogram": {"field": "@timestamp", "fixed_interval": fixed_interval(interval),
                                  "min_doc_count": 1}}
        answer = self._search({"query": filtered(query, start, end), "size": 0, "aggs": {"buckets": agg}}, query)
        buckets = answer.get("aggregations", {}).get("buckets", {}).get("buckets", [])
        return [Bucket(from_epoch_ms(int(b["key"])), int(b["doc_count"])) for b in buckets if b["doc_count"] > 0]

    def terms(
        self,
        field: str,
        query: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        size: int = 10,
    ) -> list[TermCount]:
        """Top ``size`` values of ``field`` by count (ties by value ascending)."""
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        agg = {"terms": {"field": sort_field(field), "size": size, "order": [{"_count": "desc"}, {"_key": "asc"}]}}
        answer = self._search({"query": filtered(query, start, end), "size": 0, "aggs": {"top": agg}}, query)
        buckets = answer.get("aggregations", {}).get("top", {}).get("buckets", [])
        return [TermCount(_term_value(field, b), int(b["doc_count"])) for b in buckets]

    def get(self, event_id: str) -> dict[str, Any] | None:
        """The stored event with this ``event.id``, or None."""
        if not event_id:
            return None
        body = {"query": {"ids": {"values": [event_id]}}, "size": 1}
        hits = self._search(body, "")["hits"]["hits"]
        return hits[0]["_source"] if hits else None

    # --- retention and housekeeping ---------------------------------------------------------

    def purge(self, before: datetime) -> int:
        """Delete events with ``@timestamp`` before ``before``; return how many were deleted.

        Whole days before ``before`` go by deleting their index, which is immediate and frees
        the disk at once; the day that ``before`` falls inside loses its earlier events by a
        delete-by-query.
        """
        window = time_filter(None, before)
        assert window is not None
        if before.tzinfo is None:  # naive means UTC, as everywhere in the stores
            before = before.replace(tzinfo=UTC)
        # Counting needs every write so far to be searchable.
        self.flush()
        whole: list[str] = []
        partial: list[str] = []
        for name in self._index_names():
            day = self._indices.day_of(name)
            if day is None:
                continue
            first = day_start(day)
            if first + timedelta(days=1) <= before:
                whole.append(name)
            elif first < before:
                partial.append(name)
        deleted = 0
        for group in _index_groups(whole):
            deleted += int(self._call("count events to purge", lambda g=group: self._client.count(index=g))["count"])
            self._call("delete old indices", lambda g=group: self._client.indices.delete(index=g, **_ANY_INDICES))
        for name in partial:
            answer = self._call(
                f"purge events from {name}",
                lambda n=name: self._client.delete_by_query(
                    index=n, body={"query": window}, refresh=True, conflicts="proceed", request_timeout=_PURGE_TIMEOUT
                ),
            )
            deleted += int(answer.get("deleted", 0))
        if whole or partial:
            log.info("purged %d %s before %s (%d whole indices)", deleted, self.kind, before.isoformat(), len(whole))
        return deleted

    def flush(self) -> None:
        """Refresh this store's indices so that every write so far is visible to search."""
        self._call("refresh", lambda: self._client.indices.refresh(index=self._indices.pattern, **_ANY_INDICES))

    def drop_all(self) -> None:
        """Delete every index of this store and its index template (tests and decommissioning)."""
        for group in _index_groups(self._index_names()):
            self._call("delete indices", lambda g=group: self._client.indices.delete(index=g, **_ANY_INDICES))
        # ignore=404: a store that never wrote has no template, and that is the state we want.
        self._call("delete the index template",
                   lambda: self._client.indices.delete_index_template(name=self._indices.base, ignore=404))
        self._template_installed = False

    def sibling(self, kind: StoreKind) -> OpenSearchEventStore:
        """A store of the given kind on the same cluster, with the same prefix and login."""
        a = self._address
        return OpenSearchEventStore(
            a.url, kind, index_prefix=self._indices.prefix, username=a.username, password=a.password,
            verify_certs=a.verify_certs, ca_certs=a.ca_certs, timeout=a.timeout,
            max_retries=self._backoff.max_retries, backoff_base=self._backoff.base, shards=self._shards,
            replicas=self._replicas,
        )

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _index_names(self) -> list[str]:
        """Every existing index that matches this store's pattern, oldest day first."""
        answer = self._call("list indices", lambda: self._client.indices.get_alias(
            index=self._indices.pattern, **_ANY_INDICES))
        return sorted(answer)

    def _search(self, body: dict[str, Any], query: str) -> dict[str, Any]:
        return self._query_call(query, lambda: self._client.search(index=self._indices.pattern, body=body,
                                                                   **_ANY_INDICES))

    def _query_call(self, query: str, request: Callable[[], T]) -> T:
        """Run a read; a 400 means the query (sort, field, interval) is wrong, not the cluster."""
        try:
            return self._call("search", request)
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, RequestError):
                raise QueryError(f"OpenSearch rejected the query: {error_reason(cause.info)}", query) from None
            raise

    def _call(self, action: str, request: Callable[[], T]) -> T:
        """Run one request with retries; failures become StoreError naming the action and the cluster."""
        try:
            return self._backoff.call(request)
        except TransportError as exc:
            raise StoreError(f"OpenSearch at {self._address}: could not {action}: {describe_error(exc)}") from exc


def _require_count(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _index_groups(names: list[str]) -> list[str]:
    """Comma-joined index lists, each short enough for one request line."""
    groups: list[str] = []
    current: list[str] = []
    length = 0
    for name in names:
        if current and length + len(name) + 1 > _MAX_INDEX_LIST:
            groups.append(",".join(current))
            current, length = [], 0
        current.append(name)
        length += len(name) + 1
    if current:
        groups.append(",".join(current))
    return groups


def _term_value(field: str, bucket: dict[str, Any]) -> Any:
    """A terms bucket key in the field's own type: int for long, datetime for date, bool for boolean."""
    key = bucket["key"]
    kind = field_type(field)
    if kind == "date":
        return from_epoch_ms(int(key))
    if kind == "boolean":
        return bool(key)
    if kind == "long" and isinstance(key, float) and key.is_integer():
        return int(key)
    if kind is None and "key_as_string" in bucket and isinstance(key, int | float):
        # A field outside the schema that OpenSearch mapped as a date or boolean by itself.
        return bucket["key_as_string"]
    return key
