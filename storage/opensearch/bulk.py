"""Bulk ``create`` requests that retry only the items the cluster asked to retry.

Every event is sent as a ``create`` with ``_id = event.id``: a second write of the same id is a
409 that changes nothing and is counted as a duplicate. Items rejected with 429/5xx (a full
write queue, a shard moving) are sent again, alone, after a backoff; an item rejected with any
other 4xx (a value that does not fit the mapping) is counted as rejected and logged, and the
rest of the batch is still written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from storage.base import StoreError
from storage.opensearch.connection import describe_error, error_reason
from storage.opensearch.retry import Backoff, is_retryable_error, is_retryable_status

log = logging.getLogger(__name__)

# OpenSearch recommends bulk requests of a few MiB; larger ones mostly add latency and memory.
MAX_DOCS_PER_REQUEST = 1000
MAX_BYTES_PER_REQUEST = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BulkItem:
    """One event ready to send: its id, target index and the two NDJSON lines of a ``create``."""

    event_id: str
    index: str
    lines: bytes

    @classmethod
    def create(cls, event_id: str, index: str, event: dict[str, Any]) -> BulkItem:
        """Serialize ``event`` as a ``create`` of ``_id = event_id`` into ``index``."""
        action = orjson.dumps({"create": {"_index": index, "_id": event_id}})
        try:
            source = orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)
        except TypeError as exc:  # orjson.JSONEncodeError: a value JSON cannot hold
            raise ValueError(f"event {event_id!r} cannot be serialized to JSON: {exc}") from None
        return cls(event_id, index, action + b"\n" + source + b"\n")


@dataclass(slots=True)
class BulkTally:
    """Running counts of one write: stored, already present, refused by the mapping."""

    written: int = 0
    duplicates: int = 0
    rejected: int = 0


class BulkWriteError(StoreError):
    """Some events could not be written after every retry; the counts say what did happen."""

    def __init__(self, message: str, tally: BulkTally, not_written: int) -> None:
        super().__init__(message)
        self.written = tally.written
        self.duplicates = tally.duplicates
        self.rejected = tally.rejected
        self.not_written = not_written


class _Unsent(Exception):
    """Part of a chunk that will not be written: how many items and why."""

    def __init__(self, count: int, reason: str) -> None:
        super().__init__(reason)
        self.count = count
        self.reason = reason


class BulkWriter:
    """Sends events in bounded bulk requests and retries the retryable failures with backoff."""

    def __init__(
        self,
        client: OpenSearch,
        backoff: Backoff,
        *,
        max_docs: int = MAX_DOCS_PER_REQUEST,
        max_bytes: int = MAX_BYTES_PER_REQUEST,
    ) -> None:
        self._client = client
        self._backoff = backoff
        self._max_docs = max_docs
        self._max_bytes = max_bytes

    def write(self, items: list[BulkItem]) -> BulkTally:
        """Write every item; raise BulkWriteError naming how many were not written once retries run out."""
        tally = BulkTally()
        chunks = list(self._chunks(items))
        for number, chunk in enumerate(chunks):
            try:
                self._send(chunk, tally)
            except _Unsent as unsent:
                not_written = unsent.count + sum(len(c) for c in chunks[number + 1 :])
                raise BulkWriteError(
                    f"{not_written} of {len(items)} events were not written to OpenSearch: {unsent.reason}",
                    tally,
                    not_written,
                ) from None
        return tally

    def _chunks(self, items: Iterable[BulkItem]) -> Iterator[list[BulkItem]]:
        chunk: list[BulkItem] = []
        size = 0
        for item in items:
            if chunk and (len(chunk) >= self._max_docs or size + len(item.lines) > self._max_bytes):
                yield chunk
                chunk, size = [], 0
            chunk.append(item)
            size += len(item.lines)
        if chunk:
            yield chunk

    def _send(self, chunk: list[BulkItem], tally: BulkTally) -> None:
        """Send one chunk, retrying the retryable part with backoff until it is all answered."""
        pending = chunk
        attempt = 0
        while True:
            retry, reason = self._attempt(pending, tally)
            if not retry:
                return
            if attempt >= self._backoff.max_retries:
                raise _Unsent(len(retry), f"gave up after {attempt} retries; last answer: {reason}")
            log.info("retrying %d of %d bulk items after %s", len(retry), len(pending), reason)
            self._backoff.pause(attempt)
            attempt += 1
            pending = retry

    def _attempt(self, pending: list[BulkItem], tally: BulkTally) -> tuple[list[BulkItem], str]:
        """One bulk request: count what succeeded and return the items to send again, with why."""
        try:
            response = self._client.bulk(body=b"".join(item.lines for item in pending))
        except TransportError as exc:
            if not is_retryable_error(exc):
                raise _Unsent(len(pending), f"bulk request refused: {describe_error(exc)}") from None
            return pending, describe_error(exc)
        results = response.get("items") or []
        if len(results) != len(pending):
            # Which items were stored is unknown; a retry of the batch is safe because creates are idempotent.
            raise _Unsent(len(pending), f"OpenSearch answered {len(results)} bulk items for {len(pending)} sent")
        results = response.get("items") or []
        if len(results) != len(pending):
            raise StoreError(f"OpenSearch answered {len(results)} bulk items for {len(pending)} sent")
        retry: list[BulkItem] = []
        reason = ""
        for item, result in zip(pending, results, strict=True):
            outcome = next(iter(result.values()))
            status = int(outcome.get("status", 0))
            if status in (200, 201):
                tally.written += 1
            elif status == 409:
                tally.duplicates += 1
            elif is_retryable_status(status):
                retry.append(item)
                reason = f"HTTP {status}: {error_reason(outcome.get('error'))}"
            else:
                tally.rejected += 1
                # The id and the reason, not the event: events may hold personal data or secrets.
                log.warning(
                    "OpenSearch rejected event %r in %s: HTTP %s %s",
                    item.event_id,
                    item.index,
                    status,
                    error_reason(outcome.get("error")),
                )
        return retry, reason
