"""The OpenSearch event store: the EventStore contract for a city-scale deployment.

Layout on the cluster
    One index per UTC day and kind, ``{prefix}-{kind}-YYYY.MM.DD`` (``sontra-events-2026.11.20``,
    ``sontra-alerts-2026.11.20``), chosen by the event's ``@timestamp``. The composable index
    template ``{prefix}-{kind}`` (from ``normalizers.schema.index_template``) gives each new daily
    index the ECS mapping; the store puts it before its first write, and ``install_template()``
    puts it at start-up. Only writers need the template right, so a read-only analyst account
    can search. The cluster must allow auto-creating indices that match ``{prefix}-{kind}-*``.

Writes
    Bulk ``create`` with ``_id = event.id``: a retry of an event already stored is a 409, counted as
    a duplicate, and changes nothing; an id repeated inside one batch is sent once. Items refused
    with 429 or 5xx, and whole requests lost to a connection error, are sent again with
    exponential backoff and jitter, up to ``max_retries`` times; then ``BulkWriteError`` (a
    ``StoreError``) says how many were not written. An item refused for its content (a value
    that does not fit the mapping) is counted in ``WriteResult.rejected`` and logged by id; the
    rest of the batch is stored. An event's day is fixed by its ``@timestamp``, so idempotency
    holds as long as a retried event keeps its timestamp, which ingest guarantees.

Queries
    The Lucene query is checked by ``storage.lucene.parse_query`` (the same QueryError, with its
    position, as the SQLite store) and then sent as a ``query_string`` (default field
    ``message``, default operator OR) inside a ``@timestamp`` range, start inclusive and end
    exclusive. Results are sorted by the requested keys and then ``event.id``, so pages never
    overlap. ``get``, ``search`` and aggregations see writes after ``flush()`` (an index
    refresh), which OpenSearch does by itself about once a second.

Retention
    ``purge(before)`` deletes whole daily indices that end before ``before`` and deletes by query
    inside the day that ``before`` falls in.

Credentials
    ``username``/``password`` (or ``https://user:pass@host`` in the URL, which is split off) go
    only to the HTTP client; ``repr`` and every error and log line show the URL without them.
"""

from storage.opensearch.bulk import BulkWriteError
from storage.opensearch.store import OpenSearchEventStore

__all__ = ["BulkWriteError", "OpenSearchEventStore"]
