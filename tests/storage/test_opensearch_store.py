"""What the OpenSearch store does beyond the shared contract: indices, template, retries, credentials.

Runs against osmem-server, or the cluster named by OPENSEARCH_URL. Faults (a full write queue, a
node that answers 503) come from a real HTTP proxy between the store and the cluster, which
changes the answers to some bulk requests the way a busy cluster would.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from opensearchpy import OpenSearch

from storage.base import QueryError, StoreError
from storage.opensearch import BulkWriteError, OpenSearchEventStore
from storage.opensearch.dsl import fixed_interval, sort_clause
from storage.opensearch.retry import Backoff
from storage.timefmt import format_timestamp

T0 = datetime(2026, 11, 20, tzinfo=UTC)
WINDOW = (T0 - timedelta(days=5), T0 + timedelta(days=5))
PASSWORD = "s3cret-Pa55"  # a test login that must never show up in a message, repr or log


def _event(i: int, when: datetime | str | int, **extra: Any) -> dict[str, Any]:
    stamp = format_timestamp(when) if isinstance(when, datetime) else when
    return {"@timestamp": stamp, "event": {"id": f"os-{i:04d}", "kind": "event"}, "message": f"event {i}", **extra}


class FaultyProxy:
    """A real HTTP proxy that forwards to the cluster and refuses ``_bulk`` requests as planned.

    Plan entries, one per bulk request (then "ok"): "ok" forwards; "503" answers 503 for the whole
    request; "429-half" forwards the first half of the items and answers 429 for the rest;
    "429-all" answers 429 for every item without forwarding.
    """

    def __init__(self, upstream: str, plan: list[str] | None = None, default: str = "ok") -> None:
        self.upstream = urlsplit(upstream)
        self.plan = list(plan or [])
        self.default = default
        self.bulk_items: list[int] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_request(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.split("?")[0].endswith("/_bulk"):
                    proxy.bulk(self, body)
                else:
                    self.reply(*proxy.forward(self.command, self.path, body, self.headers))

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_request

            def reply(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A secured cluster's login rides along: the store sends it, the proxy passes it on.
        login = self.upstream.netloc.rpartition("@")[0]
        self.url = f"http://{login + '@' if login else ''}127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def forward(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, bytes]:
        u = self.upstream
        if u.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                u.hostname, u.port, context=ssl._create_unverified_context(), timeout=30)
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        keep = {k: v for k, v in headers.items() if k.lower() in ("content-type", "authorization")}
        conn.request(method, u.path.rstrip("/") + path, body=body or None, headers=keep)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data

    def bulk(self, handler: Any, body: bytes) -> None:
        lines = [line for line in body.split(b"\n") if line]
        items = len(lines) // 2
        self.bulk_items.append(items)
        mode = self.plan.pop(0) if self.plan else self.default
        busy = {"status": 429, "error": {"type": "rejected_execution_exception", "reason": "write queue full"}}
        if mode == "503":
            handler.reply(503, json.dumps({"error": {"type": "unavailable", "reason": "node away"}, "status": 503})
                          .encode())
            return
        if mode == "429-all":
            handler.reply(200, json.dumps({"errors": True, "items": [{"create": busy}] * items}).encode())
            return
        if mode == "429-half":
            keep = items // 2
            status, data = self.forward("POST", "/_bulk", b"\n".join(lines[: 2 * keep]) + b"\n", handler.headers)
            answer = json.loads(data)
            answer["items"] += [{"create": busy}] * (items - keep)
            answer["errors"] = True
            handler.reply(status, json.dumps(answer).encode())
            return
        handler.reply(*self.forward("POST", handler.path, body, handler.headers))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def prefix() -> str:
    return f"sontra-t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cluster(opensearch_url_base: str) -> Iterator[OpenSearch]:
    """A plain client, to look at what the store left on the cluster."""
    client = OpenSearch(hosts=[opensearch_url_base])
    yield client
    client.close()


@pytest.fixture
def stores(opensearch_url_base: str) -> Iterator[list[OpenSearchEventStore]]:
    """Collects stores made by a test and drops their indices and templates afterwards."""
    made: list[OpenSearchEventStore] = []
    yield made
    for s in made:
        s.close()
        # Straight to the cluster: the store may have talked through a proxy that is gone now.
        with OpenSearchEventStore(opensearch_url_base, s.kind, index_prefix=s.index_prefix) as direct:
            direct.drop_all()


def _store(stores: list, url: str, prefix: str, **kw: Any) -> OpenSearchEventStore:
    s = OpenSearchEventStore(url, index_prefix=prefix, **kw)
    stores.append(s)
    return s


def _indices(cluster: OpenSearch, pattern: str) -> list[str]:
    return sorted(cluster.indices.get_alias(index=pattern, allow_no_indices=True, ignore_unavailable=True))


# --- layout on the cluster --------------------------------------------------------------------

def test_events_go_to_the_daily_index_of_their_utc_day(stores, opensearch_url_base, prefix, cluster) -> None:
    store = _store(stores, opensearch_url_base, prefix)
    events = [
        _event(1, T0 + timedelta(hours=23, minutes=59)),
        _event(2, "2026-11-21T02:00:00+07:00"),  # 19:00 UTC on the 20th: Da Nang's night is the UTC evening
        _event(3, "2026-11-21T08:00:00+07:00"),  # 01:00 UTC on the 21st
        _event(4, int((T0 - timedelta(days=1)).timestamp() * 1000)),  # epoch milliseconds
    ]
    assert store.write(events).written == 4
    store.flush()
    assert _indices(cluster, f"{prefix}-*") == [
        f"{prefix}-events-2026.11.19", f"{prefix}-events-2026.11.20", f"{prefix}-events-2026.11.21"]
    assert cluster.count(index=f"{prefix}-events-2026.11.20")["count"] == 2


def test_template_maps_new_daily_indices_and_is_installed_idempotently(stores, opensearch_url_base, prefix,
                                                                       cluster) -> None:
    store = _store(stores, opensearch_url_base, prefix)
    store.install_template()
    store.install_template()
    templates = cluster.indices.get_index_template(name=f"{prefix}-events")["index_templates"]
    assert templates[0]["index_template"]["index_patterns"] == [f"{prefix}-events-*"]
    store.write([_event(1, T0, source={"ip": "10.0.0.1"})])
    mapping = cluster.indices.get_mapping(index=f"{prefix}-events-2026.11.20")[f"{prefix}-events-2026.11.20"]
    props = mapping["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert props["process"]["properties"]["name"]["fields"]["caseless"]["normalizer"] == "sontra_lowercase"
    store.drop_all()
    assert _indices(cluster, f"{prefix}-*") == []
    assert cluster.indices.exists_index_template(name=f"{prefix}-events") is False


def test_empty_store_answers_nothing_instead_of_404(stores, opensearch_url_base, prefix) -> None:
    store = _store(stores, opensearch_url_base, prefix)
    store.flush()
    assert store.search("user.name:root", *WINDOW).total == 0
    assert store.count("", *WINDOW) == 0
    assert store.histogram("", *WINDOW, interval="1d") == []
    assert store.terms("user.name", "", *WINDOW) == []
    assert store.get("os-0001") is None
    assert store.purge(T0) == 0


# --- writes: rejection, retry, backoff --------------------------------------------------------

def test_a_mapping_error_rejects_one_event_and_keeps_the_batch(stores, opensearch_url_base, prefix, caplog) -> None:
    store = _store(stores, opensearch_url_base, prefix)
    events = [_event(i, T0 + timedelta(minutes=i), source={"port": 22}) for i in range(1, 6)]
    events[2]["source"]["port"] = "not-a-port"
    with caplog.at_level(logging.WARNING, logger="storage.opensearch"):
        result = store.write(events)
    store.flush()
    assert (result.written, result.duplicates, result.rejected) == (4, 0, 1)
    assert store.count("", *WINDOW) == 4
    assert store.get("os-0003") is None
    assert any("os-0003" in r.getMessage() and "400" in r.getMessage() for r in caplog.records)


def test_items_refused_with_429_are_retried_alone(stores, opensearch_url_base, prefix) -> None:
    proxy = FaultyProxy(opensearch_url_base, plan=["429-half"])
    try:
        store = _store(stores, proxy.url, prefix, backoff_base=0.01)
        result = store.write([_event(i, T0 + timedelta(seconds=i)) for i in range(10)])
        store.flush()
        assert (result.written, result.duplicates) == (10, 0)
        assert proxy.bulk_items == [10, 5]  # the retry carried only the five refused items
        assert store.count("", *WINDOW) == 10
    finally:
        proxy.close()


def test_a_whole_request_refused_with_503_is_sent_again(stores, opensearch_url_base, prefix) -> None:
    proxy = FaultyProxy(opensearch_url_base, plan=["503", "503"])
    try:
        store = _store(stores, proxy.url, prefix, backoff_base=0.01)
        assert store.write([_event(i, T0) for i in range(3)]).written == 3
        assert proxy.bulk_items == [3, 3, 3]
    finally:
        proxy.close()


def test_giving_up_names_how_many_events_were_not_written(stores, opensearch_url_base, prefix) -> None:
    proxy = FaultyProxy(opensearch_url_base, plan=["ok"], default="429-all")
    try:
        store = _store(stores, proxy.url, prefix, max_retries=2, backoff_base=0.01)
        assert store.write([_event(1, T0)]).written == 1
        with pytest.raises(BulkWriteError) as err:
            store.write([_event(i, T0) for i in range(1, 8)])
        assert isinstance(err.value, StoreError)
        assert "7 of 7 events were not written" in str(err.value)
        assert (err.value.not_written, err.value.written, err.value.duplicates) == (7, 0, 0)
        assert proxy.bulk_items == [1, 7, 7, 7]  # first try and max_retries=2 retries
    finally:
        proxy.close()


def test_retrying_after_a_failure_does_not_duplicate(stores, opensearch_url_base, prefix) -> None:
    proxy = FaultyProxy(opensearch_url_base, plan=["429-half"])
    try:
        store = _store(stores, proxy.url, prefix, max_retries=0, backoff_base=0.01)
        batch = [_event(i, T0 + timedelta(seconds=i)) for i in range(8)]
        with pytest.raises(BulkWriteError) as err:
            store.write(batch)
        assert (err.value.written, err.value.not_written) == (4, 4)
        again = store.write(batch)  # what the ingest spool does with an unacknowledged batch
        store.flush()
        assert (again.written, again.duplicates) == (4, 4)
        assert store.count("", *WINDOW) == 8
    finally:
        proxy.close()


def test_bad_input_is_refused_before_anything_is_sent(stores, opensearch_url_base, prefix) -> None:
    store = _store(stores, opensearch_url_base, prefix)
    no_id = {"@timestamp": format_timestamp(T0), "message": "no id"}
    with pytest.raises(ValueError, match=r"event 1: event.id missing"):
        store.write([_event(1, T0), no_id])
    with pytest.raises(ValueError, match=r"event 0 \(os-0002\): @timestamp must be"):
        store.write([_event(2, "yesterday")])
    store.flush()
    assert store.count("", *WINDOW) == 0
    with pytest.raises(ValueError, match="invalid index prefix 'Sontra Prod'"):
        OpenSearchEventStore(opensearch_url_base, index_prefix="Sontra Prod")
    with pytest.raises(ValueError, match="kind must be 'events' or 'alerts'"):
        OpenSearchEventStore(opensearch_url_base, "tickets")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid OpenSearch URL") as err:
        OpenSearchEventStore(f"opensearch://admin:{PASSWORD}@node1:9200")
    assert PASSWORD not in str(err.value)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    backoff = Backoff(max_retries=5, base=0.5, cap=4.0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter: collectors refused together do not come back together


def test_connection_refused_becomes_store_error_without_the_password(caplog) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = OpenSearchEventStore(f"http://analyst:{PASSWORD}@127.0.0.1:{port}", max_retries=1, backoff_base=0.01)
    with caplog.at_level(logging.DEBUG), pytest.raises(StoreError) as err:
        store.write([_event(1, T0)])
    with pytest.raises(StoreError) as search_err:
        store.count("", *WINDOW)
    store.close()
    for text in (str(err.value), str(search_err.value), repr(store), caplog.text):
        assert PASSWORD not in text
    assert "analyst@127.0.0.1" in str(err.value)
    assert "connection failed" in str(search_err.value)


def test_credentials_in_the_url_are_used_and_hidden(stores, opensearch_url_base, prefix, caplog) -> None:
    u = urlsplit(opensearch_url_base)
    # osmem and a cluster without the security plugin ignore the login; a secured one brings its own.
    password = u.password or PASSWORD
    url = opensearch_url_base if u.password else f"{u.scheme}://analyst:{PASSWORD}@{u.netloc}{u.path}"
    with caplog.at_level(logging.DEBUG):
        store = _store(stores, url, prefix)
        assert store.write([_event(1, T0)]).written == 1
        store.flush()
        assert store.count("", *WINDOW) == 1
    assert caplog.records  # the client did log its requests, and none of them holds the password
    assert password not in caplog.text
    assert password not in repr(store)
    assert f"{u.username or 'analyst'}@" in repr(store)


# --- queries ----------------------------------------------------------------------------------

def test_query_errors_come_from_the_shared_parser(stores, opensearch_url_base, prefix) -> None:
    store = _store(stores, opensearch_url_base, prefix)
    with pytest.raises(QueryError) as err:
        store.search("user.name:(root OR", *WINDOW)
    assert err.value.position is not None
    with pytest.raises(ValueError, match="order must be 'asc' or 'desc'"):
        store.search("", *WINDOW, sort="@timestamp:up")
    with pytest.raises(ValueError, match="invalid interval"):
        store.histogram("", *WINDOW, interval="soon")
    with pytest.raises(ValueError, match="offset must be a non-negative integer"):
        store.search("", *WINDOW, offset=-1)


def test_weekly_histogram_and_typed_terms(stores, opensearch_url_base, prefix) -> None:
    store = _store(stores, opensearch_url_base, prefix)
    store.write([
        _event(1, T0, event={"id": "a", "severity": 3}),
        _event(2, T0 + timedelta(days=1), event={"id": "b", "severity": 3}),
        _event(3, T0 + timedelta(days=9), event={"id": "c", "severity": 7}),
    ])
    store.flush()
    weeks = store.histogram("", T0 - timedelta(days=30), T0 + timedelta(days=30), interval="1w")
    assert sum(b.count for b in weeks) == 3 and all(b.start.tzinfo is not None for b in weeks)
    assert all((b.start - datetime(1970, 1, 1, tzinfo=UTC)) % timedelta(weeks=1) == timedelta(0) for b in weeks)
    top = store.terms("event.severity", "", T0 - timedelta(days=30), T0 + timedelta(days=30))
    assert [(t.value, t.count) for t in top] == [(3, 2), (7, 1)]
    assert all(type(t.value) is int for t in top)


def test_sort_ends_with_event_id_and_intervals_avoid_weeks() -> None:
    assert [next(iter(k)) for k in sort_clause("@timestamp:desc,message:asc")] == [
        "@timestamp", "message.keyword", "event.id"]
    assert fixed_interval("2w") == "14d" and fixed_interval("90m") == "90m" and fixed_interval("120s") == "2m"


# --- retention --------------------------------------------------------------------------------

def test_purge_deletes_whole_old_days_and_part_of_the_boundary_day(stores, opensearch_url_base, prefix,
                                                                     cluster) -> None:
    store = _store(stores, opensearch_url_base, prefix)
    alerts = store.sibling("alerts")
    stores.append(alerts)
    days = [T0 - timedelta(days=2), T0 - timedelta(days=1), T0, T0 + timedelta(hours=12)]
    store.write([_event(i, when) for i, when in enumerate(days)])
    alerts.write([_event(100, T0 - timedelta(days=2))])
    assert store.purge(T0 + timedelta(hours=6)) == 3
    store.flush()
    assert _indices(cluster, f"{prefix}-events-*") == [f"{prefix}-events-2026.11.20"]
    assert store.count("", *WINDOW) == 1 and store.get("os-0003") is not None
    assert alerts.count("", *WINDOW) == 1  # retention of events leaves alerts alone
