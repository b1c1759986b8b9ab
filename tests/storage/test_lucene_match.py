"""Lucene queries evaluated in memory on one event: the same answers as the SQLite store, and clear errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.base import QueryError
from storage.lucene.match import compile_query
from storage.sqlite import SqliteEventStore
from storage.timefmt import format_timestamp
from tests.storage.test_contract import dataset
from tests.storage.test_lucene_sql import EVENTS

CORPUS: list[dict[str, Any]] = [*dataset(), *EVENTS]
WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def matched(query: str, events: list[dict[str, Any]] = CORPUS) -> set[str]:
    test = compile_query(query)
    return {e["event"]["id"] for e in events if test(e)}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteEventStore]:
    """A real SQLite store holding the corpus: the reference the in-memory matcher must agree with."""
    s = SqliteEventStore(Path(tmp_path_factory.mktemp("match")) / "events.db", kind="events")
    s.write(CORPUS)
    s.flush()
    yield s
    s.close()


# Queries across every field type and operator; for each, memory and store must pick the same events.
AGREEMENT = [
    "event.action:ssh_login", 'user.name:"alice"', "user.name:Alice", "user.name.caseless:ALICE",
    "http.response.status_code:404", "process.pid:77", "fortinet.action:deny", "fortinet.policyid:12",
    "tags:parse_failure", "tags:night", "event.category:authentication", "event.category:start",
    'message:"failed password"', "invalid", '"accepted publickey"', "message:wp-login.php", "message:ALICE",
    "pass*", "wp-log*", "message:*ccept*", "message:*.php", "failed password", "root", "GET",
    'rule.description:"ROOT shell"', "rule.description:sudo",
    "user.name:adm*", "host.name:web-0?", "process.command_line:*198.51.100.7*", "user.name:?lice",
    "user.name:adm\\*in", "user.name.caseless:AL*",
    "event.action:ssh_login AND event.outcome:success", "event.action:sudo OR event.action:process_start",
    "event.action:ssh_login AND NOT user.name:root", "event.action:ssh_login -user.name:root",
    "(user.name:alice OR user.name:bob) AND host.name:db-01", "user.name:(alice OR bob)",
    "event.action:ssh_login OR NOT user.name:root", "+event.action:sudo user.name:root",
    "ssh_login OR event.action:sudo", "NOT destination.port:22", "-message:alice", "NOT _exists_:user.name",
    "_exists_:process.command_line", "_exists_:http.response.status_code", "_exists_:fortinet",
    "_exists_:source.ip", "user.name:*", "*:*",
    "destination.port:[22 TO 443]", "destination.port:{22 TO 443]", "destination.port:>2222",
    "destination.port:>=2222", "http.response.status_code:[400 TO *]", "destination.port:{* TO 2222}",
    "process.pid:[70 TO 80]", "fortinet.policyid:[10 TO 20]", "user.name:[a TO b]",
    "@timestamp:[2026-11-20T01:00:00Z TO 2026-11-20T02:00:00Z}", "@timestamp:2026-11-20",
    "@timestamp:[2026-11-21 TO *]", "@timestamp:<2026-11-20",
    'source.ip:"10.0.0.0/8"', 'source.ip:"10.1.2.0/24" AND NOT source.ip:"10.1.2.4"', 'source.ip:"2001:db8::/32"',
    'destination.ip:"10.9.0.0/16"', 'source.ip:"192.168.7.20"', "source.ip:[10.0.0.0 TO 10.255.255.255]",
    'host.ip:"fe80::/10"', "user.name:root^2", "message:(password AND root)", '"port 4242"',
]  # fmt: skip


@pytest.mark.parametrize("query", AGREEMENT)
def test_memory_and_store_agree(store: SqliteEventStore, query: str) -> None:
    hits = store.search(query, *WINDOW, size=1000).hits
    assert matched(query) == {h["event"]["id"] for h in hits}


# --- the semantics, stated -----------------------------------------------------------------------------


def test_keyword_terms_are_exact_unless_caseless() -> None:
    assert matched("user.name:alice") == {"ev-003", "ev-004", "c"}
    assert matched("user.name:Alice") == {"b"}
    assert matched("user.name.caseless:ALICE") == {"ev-003", "ev-004", "b", "c"}
    assert matched("user.name:ali") == set()


def test_text_fields_match_tokens_and_phrases_case_insensitively() -> None:
    assert matched('"FAILED password for ROOT"') == {"ev-001", "ev-011", "a"}
    assert matched('"password failed"') == set()  # a phrase keeps its word order
    assert matched("pass") == set()  # a token is a whole word
    assert matched("pass*") == {"ev-001", "ev-002", "ev-008", "ev-011", "a"}
    assert matched('message:"-- ::"') == set()  # no token at all: nothing, as in the stores


def test_free_text_searches_message_only() -> None:
    assert matched("ssh_login") == set()  # the action is not in any message
    assert matched("sudo") == {"c"}


def test_arrays_match_when_any_element_does() -> None:
    assert matched("event.category:start") == {"c"}
    assert matched("tags:vpn AND tags:night") == {"a"}
    assert matched('host.ip:"10.9.0.1"') == {"d"}


def test_numbers_in_keyword_and_vendor_fields() -> None:
    events = [
        {"event": {"id": "n", "code": 4624}, "fortinet": {"port": 443, "ok": True}},
        {"event": {"id": "s", "code": "4624"}, "fortinet": {"port": "443", "ok": "true"}},
    ]
    assert matched("event.code:4624", events) == {"n", "s"}  # a number in a keyword field matches its text
    assert matched("fortinet.port:443", events) == {"n", "s"}
    assert matched("fortinet.ok:true", events) == {"n", "s"}
    assert matched("fortinet.port:[400 TO 500]", events) == {"n"}  # a range compares numbers only


def test_not_includes_events_without_the_field() -> None:
    assert matched("NOT destination.port:22") >= {"ev-004", "ev-009", "ev-010", "c", "d"}
    assert "ev-001" not in matched("NOT destination.port:22")


def test_lucene_boolean_semantics() -> None:
    assert matched("event.action:ssh_login OR NOT user.name:root") == {"ev-002", "ev-003", "ev-008", "b"}
    assert matched("+event.action:sudo user.name:root") == {"ev-004", "c"}
    assert matched("-event.action:*") == set()


def test_cidr_and_ip_ranges() -> None:
    assert matched('source.ip:"10.1.2.0/24"') == {"ev-001", "ev-002", "ev-011", "a"}
    assert matched('source.ip:"::ffff:10.1.2.3"') == {"ev-001", "ev-011", "a"}  # mapped form, same key
    assert matched("source.ip:[10.1.2.4 TO 10.200.0.1]") == {"ev-002", "ev-008"}
    events = [{"event": {"id": "x"}, "source": {"ip": "not-an-ip"}}]
    assert matched('source.ip:"0.0.0.0/0"', events) == set()


def test_relative_dates_are_evaluated_at_each_match() -> None:
    recent = compile_query("@timestamp:>=now-1h")
    event = {"@timestamp": format_timestamp(datetime.now(UTC) - timedelta(minutes=30))}
    assert recent(event)
    assert not recent({"@timestamp": format_timestamp(datetime.now(UTC) - timedelta(hours=2))})
    assert not recent({"@timestamp": "yesterday"})  # a value that is not a date never matches a range


def test_match_all_and_exists() -> None:
    assert compile_query("")({}) and compile_query("*")({})
    assert matched("_exists_:event.category") == {"ev-001", "a", "c"}
    assert not compile_query("_exists_:tags")({"tags": []})
    assert compile_query("_exists_:labels")({"labels": {"stream": "x"}})


def test_compiled_query_is_shared_safely_between_threads() -> None:
    test = compile_query('source.ip:"10.0.0.0/8" AND message:password')
    results: list[set[str]] = []

    def run() -> None:
        results.append({e["event"]["id"] for e in CORPUS * 50 if test(e)})

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [{"ev-001", "ev-002", "ev-008", "ev-011", "a"}] * 4


# --- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "position", "words"),
    [
        ("user.name:rooot~1", 10, "fuzzy"),
        ('message:"failed root"~3', 8, "proximity"),
        ("user.name:/ro+t/", 10, "regular expressions"),
        ("[1 TO 5]", 0, "needs a field"),
        ("process.pid:abc", 12, "not a number"),
        ("destination.port:[1 TO x]", 17, "not a number"),
        ('source.ip:"10.0.0.300"', 10, "not an IP"),
        ("source.ip:10.1.*", 10, "CIDR"),
        ("process.pid:7*", 12, "wildcards are not supported"),
        ("@timestamp:[yesterday TO now]", 11, "not a date"),
        ("user.*:root", 7, "one field"),
        ("message:[a TO b]", 8, "text field"),
        ("user.name:(root OR", 18, "invalid query"),
    ],
)
def test_invalid_queries_raise_query_error_with_position(query: str, position: int, words: str) -> None:
    with pytest.raises(QueryError) as err:
        compile_query(query)
    assert err.value.position == position
    assert f"position {position}" in str(err.value) and words in str(err.value)
