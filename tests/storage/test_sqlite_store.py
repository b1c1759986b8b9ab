"""What only the SQLite store promises: WAL, day tables, indexes and FTS in use, threads, chunked windows."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import sqlite as sqlite_pkg
from storage.base import QueryError, StoreError
from storage.sqlite import SqliteEventStore
from storage.sqlite.layout import INDEXED
from storage.timefmt import format_timestamp
from tests.storage.test_contract import WINDOW, dataset

T0 = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(tmp_path / "sontra.db")
    s.write(dataset())
    yield s
    s.close()


def raw(store: SqliteEventStore) -> sqlite3.Connection:
    """A separate connection to the same file, as another tool would open it."""
    return sqlite3.connect(store.path)


def plan(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> str:
    return " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_database_is_in_wal_mode(store: SqliteEventStore) -> None:
    with raw(store) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.get().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: a returned write is on disk


def test_one_table_per_day(store: SqliteEventStore) -> None:
    with raw(store) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        days = [r[0] for r in conn.execute("SELECT day FROM events_partitions ORDER BY day")]
    assert {"events_2026_11_19", "events_2026_11_20", "events_2026_11_21", "events_2026_11_22"} <= tables
    assert {"events_2026_11_19_fts", "events_2026_11_22_fts"} <= tables
    assert [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=d) for d in days] == [
        T0 - timedelta(days=1), T0, T0 + timedelta(days=1), T0 + timedelta(days=2)]
    with raw(store) as conn:
        per_day = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                   for t in ("events_2026_11_19", "events_2026_11_20", "events_2026_11_21", "events_2026_11_22")}
    assert per_day == {"events_2026_11_19": 1, "events_2026_11_20": 7, "events_2026_11_21": 2, "events_2026_11_22": 1}


def test_hot_fields_are_indexed_and_used(store: SqliteEventStore) -> None:
    with raw(store) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                              "AND tbl_name = 'events_2026_11_20'")}
        assert {f"events_2026_11_20_{c}" for c in (*INDEXED, "ts")} <= indexes
        term = plan(conn, "SELECT rowid FROM events_2026_11_20 WHERE action = ? ORDER BY ts DESC, rowid DESC LIMIT 100",
                    ("sudo",))
    assert "INDEX events_2026_11_20_action (action=?)" in term and "TEMP B-TREE" not in term


def test_address_queries_seek_the_hour_led_index(store: SqliteEventStore) -> None:
    # The address indexes lead with the hour: the clause the store builds names the window's hours.
    start, end = T0 + timedelta(hours=2, minutes=30), T0 + timedelta(hours=5)
    for query in ('source.ip:"10.0.0.0/8"', "destination.ip:10.0.0.5", 'source.ip:"2001:db8::/32" OR event.action:x'):
        conn, scope = store._scope(query, start, end)
        (p,) = scope.partitions
        where, params = scope.where(p)
        hours = [int((T0.timestamp() * 1000) // 3_600_000) + h for h in (2, 3, 4)]
        assert f"ts / 3600000 IN ({', '.join(map(str, hours))})" in where
        column = "destination_ip" if query.startswith("destination") else "source_ip"
        used = plan(conn, f"SELECT count(*) FROM {p.table} WHERE {where}", params)
        assert f"INDEX events_2026_11_20_{column} (<expr>=?" in used


def test_hours_before_the_epoch_truncate_like_sqlite(tmp_path: Path) -> None:
    # SQLite's integer division truncates towards zero; the hours listed must agree with it.
    old = datetime(1969, 12, 31, 23, 30, tzinfo=UTC)
    with SqliteEventStore(tmp_path / "old.db") as s:
        s.write([{"@timestamp": format_timestamp(old), "event": {"id": "e1"}, "source": {"ip": "10.1.2.3"}}])
        assert s.count("source.ip:10.1.2.3") == 1
        assert s.count("source.ip:10.1.2.3", old - timedelta(minutes=5), old + timedelta(minutes=5)) == 1


def test_message_search_goes_through_fts(store: SqliteEventStore) -> None:
    with raw(store) as conn:
        assert conn.execute("SELECT count(*) FROM events_2026_11_20_fts WHERE events_2026_11_20_fts MATCH 'password'"
                            ).fetchone()[0] == 2
        fts_plan = plan(conn, "SELECT doc FROM events_2026_11_20 WHERE rowid IN (SELECT rowid FROM "
                              "events_2026_11_20_fts WHERE events_2026_11_20_fts MATCH ?)", ('"failed password"',))
    assert "VIRTUAL TABLE INDEX" in fts_plan
    assert store.count('"for root from"', *WINDOW) == 2


def test_purge_drops_old_days_and_cleans_the_boundary_day(store: SqliteEventStore) -> None:
    assert store.purge(T0 + timedelta(minutes=7)) == 3  # the day before (1) + ev-001, ev-002
    with raw(store) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        fts_left = conn.execute("SELECT count(*) FROM events_2026_11_20_fts WHERE events_2026_11_20_fts "
                                "MATCH 'password'").fetchone()[0]
        ids_left = conn.execute("SELECT count(*) FROM events_ids").fetchone()[0]
    assert "events_2026_11_19" not in tables and "events_2026_11_19_fts" not in tables
    assert fts_left == 0  # the FTS index forgot the deleted rows too
    assert ids_left == 8
    # A purged event.id can be stored again (its id entry went with it).
    again = store.write([e for e in dataset() if e["event"]["id"] == "ev-001"])
    assert (again.written, again.duplicates) == (1, 0)


def test_several_values_in_a_hot_field_are_all_searchable(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "m.db") as s:
        s.write([
            {"@timestamp": "2026-11-20T10:00:00Z", "source": {"ip": "not-an-ip"},
             "event": {"id": "m1", "category": ["network", "intrusion_detection"]}},
            {"@timestamp": "2026-11-20T10:01:00Z", "event": {"id": "m2", "category": ["network"]},
             "source": {"ip": ["10.0.0.1", "10.0.0.2"]}},
        ])
        with raw(s) as conn:
            assert conn.execute("SELECT marked FROM events_partitions").fetchone()[0] == "category,source_ip"
        assert s.count("event.category:intrusion_detection", *WINDOW) == 1
        assert s.count("event.category:network", *WINDOW) == 2
        assert s.count('source.ip:"10.0.0.2"', *WINDOW) == 1
        assert s.count("_exists_:source.ip", *WINDOW) == 2
        assert [(t.value, t.count) for t in s.terms("event.category", "", *WINDOW)] == [
            ("network", 2), ("intrusion_detection", 1)]


def test_a_bad_event_rejects_the_whole_batch(tmp_path: Path) -> None:
    with SqliteEventStore(tmp_path / "b.db") as s:
        good = dataset()[0]
        with pytest.raises(ValueError, match=r"bad-1.*@timestamp"):
            s.write([good, {"@timestamp": "yesterday", "event": {"id": "bad-1"}}])
        assert s.count("", *WINDOW) == 0
        with pytest.raises(ValueError, match=r"event\.id must be a string"):
            s.write([{"@timestamp": "2026-11-20T00:00:00Z", "event": {"id": 5}}])


def test_get_returns_unicode_and_numbers_unchanged(tmp_path: Path) -> None:
    event = {"@timestamp": "2026-11-20T10:00:00.123+07:00", "event": {"id": "u1", "risk_score": 0.1 + 0.2},
             "message": "Đăng nhập thất bại cho người dùng quản trị", "labels": {"đơn_vị": "Sở TT&TT"}}
    with SqliteEventStore(tmp_path / "u.db") as s:
        s.write([event])
        assert s.get("u1") == event
        assert s.count("message:\"đăng nhập\"", *WINDOW) == 1
        assert s.count("@timestamp:[2026-11-20T03:00:00.123Z TO 2026-11-20T03:00:00.123Z]", *WINDOW) == 1


def test_search_arguments_are_checked(store: SqliteEventStore) -> None:
    assert store.search("", *WINDOW, size=0).total == 11
    for call in (lambda: store.search("", *WINDOW, offset=-1), lambda: store.search("", *WINDOW, sort="message:asc"),
                 lambda: store.search("", *WINDOW, sort="@timestamp:up"), lambda: store.histogram("", *WINDOW, "5x"),
                 lambda: store.terms("message", "", *WINDOW), lambda: store.terms("user.name", "", *WINDOW, size=0)):
        with pytest.raises(QueryError):
            call()
    with pytest.raises(QueryError):  # the query is checked even when no day is in the window
        store.count("a:[1 TO", T0 + timedelta(days=300), T0 + timedelta(days=301))
    assert store.search("", T0 + timedelta(days=300), T0 + timedelta(days=301)).total == 0


def test_long_windows_run_in_chunks_with_the_same_answers(store: SqliteEventStore,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    expected = (
        [h["event"]["id"] for h in store.search("", *WINDOW, size=5, offset=2, sort="destination.port:desc").hits],
        [(t.value, t.count) for t in store.terms("user.name", "", *WINDOW, size=3)],
        store.count("event.action:ssh_login", *WINDOW),
    )
    monkeypatch.setattr("storage.sqlite.scope.MAX_UNION", 1)
    monkeypatch.setattr("storage.sqlite.store.MAX_UNION", 1)
    chunked = (
        [h["event"]["id"] for h in store.search("", *WINDOW, size=5, offset=2, sort="destination.port:desc").hits],
        [(t.value, t.count) for t in store.terms("user.name", "", *WINDOW, size=3)],
        store.count("event.action:ssh_login", *WINDOW),
    )
    assert chunked == expected
    assert expected[0][:2] == ["ev-005", "ev-006"]  # after 3389 and 2222 come the two 443s, in write order


def test_writer_and_readers_on_threads(tmp_path: Path) -> None:
    s = SqliteEventStore(tmp_path / "t.db")
    errors: list[BaseException] = []
    seen: list[int] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for batch in range(20):
                s.write([{"@timestamp": format_timestamp(T0 + timedelta(seconds=batch * 50 + i)),
                          "event": {"id": f"t-{batch}-{i}", "action": "tick"}, "message": f"tick {i}"}
                         for i in range(50)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                seen.append(s.count("event.action:tick", *WINDOW))
                s.search("tick", *WINDOW, size=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert all(n % 50 == 0 for n in seen)  # a reader sees whole batches, never half of one
    assert s.count("event.action:tick", *WINDOW) == 1000
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.count("", *WINDOW)


def test_alerts_live_in_the_same_file_under_their_own_tables(store: SqliteEventStore) -> None:
    alerts = store.sibling("alerts")
    alerts.write([{"@timestamp": "2026-11-20T00:00:00Z", "event": {"id": "al-1", "kind": "alert"},
                   "rule": {"id": "r-1"}}])
    assert alerts.path == store.path
    with raw(store) as conn:
        assert conn.execute("SELECT count(*) FROM alerts_2026_11_20").fetchone()[0] == 1
    assert store.get("al-1") is None and alerts.get("al-1") is not None
    alerts.close()
    with pytest.raises(ValueError, match="kind"):
        SqliteEventStore(store.path, kind="logs")  # type: ignore[arg-type]


def test_package_exports_the_store_lazily() -> None:
    assert sqlite_pkg.SqliteEventStore is SqliteEventStore
    with pytest.raises(AttributeError):
        _ = sqlite_pkg.NoSuchThing  # type: ignore[attr-defined]


_LUCENE_BITS = st.sampled_from([
    "user.name:", "event.action:", "source.ip:", "destination.port:", "message:", "fortinet.x:", "_exists_:",
    "root", "\"failed password\"", "10.0.0.0/8", "\"10.0.0.0/8\"", "[1 TO 5]", "{* TO 9}", ">=3", "a*", "?b",
    " AND ", " OR ", " NOT ", "-", "+", "(", ")", "~2", "^3", "/x/", ":", "\\", "\"", "*", "@timestamp:", "now-1h",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_LUCENE_BITS, max_size=8))
def test_any_query_either_runs_or_raises_query_error(store: SqliteEventStore, parts: list[str]) -> None:
    query = "".join(parts)
    try:
        total = store.count(query, *WINDOW)
    except QueryError as exc:
        assert "position" in str(exc) or "invalid" in str(exc)
    else:
        assert 0 <= total <= 11
