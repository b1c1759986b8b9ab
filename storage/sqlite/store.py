"""SqliteEventStore: the embedded EventStore, one SQLite file in WAL mode, one table per day."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from normalizers.schema import FIELD_BY_NAME
from storage.base import Bucket, EventStore, QueryError, SearchResult, StoreKind, TermCount, WriteResult
from storage.lucene import parse_query
from storage.lucene.sql import field_value_sql, json_path
from storage.sqlite.codec import DAY_MS, MARKER_BLOB, MARKER_TEXT, ip_text
from storage.sqlite.connection import Connections
from storage.sqlite.layout import COLUMNS, LAYOUT, Row, base_ddl, marked_columns, partition_ddl, partition_table, to_row
from storage.sqlite.scope import MAX_UNION, Arm, Scope, SortKey, parse_sort, unions
from storage.timefmt import format_timestamp, from_epoch_ms, parse_interval, to_epoch_ms

_KINDS = ("events", "alerts")
_MAX_RANGE_BUCKETS = 3000  # per day; finer histograms group by bucket instead


class SqliteEventStore(EventStore):
    """Events (or alerts) in one SQLite file: day partitions, hot-field indexes, FTS5 on message.

    Thread safety: each thread uses its own connection (see connection.Connections); writes are
    serialized by a per-file lock and run as one transaction per ``write`` call, so a write is
    committed, durable against a process crash and visible to search when it returns.
    """

    def __init__(self, path: Path | str, kind: StoreKind = "events") -> None:
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
        self.path = Path(path)
        self.kind: StoreKind = kind
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = Connections(self.path)
        with self._db.transaction() as conn:
            for statement in base_ddl(kind):
                conn.execute(statement)

    # --- writes ---------------------------------------------------------------------------------

    def write(self, events: Sequence[dict[str, Any]]) -> WriteResult:
        """Store events in one transaction; ids already stored (or repeated in the batch) are duplicates."""
        rows: list[Row] = []
        seen: set[str] = set()
        duplicates = 0
        for event in events:
            row = to_row(event)
            eid = row[1]
            if eid is not None:
                if eid in seen:
                    duplicates += 1
                    continue
                seen.add(eid)
            rows.append(row)
        if not rows:
            return WriteResult(0, duplicates)
        with self._db.transaction() as conn:
            stored = self._stored_ids(conn, seen)
            by_day: dict[int, list[Row]] = {}
            for row in rows:
                if row[1] is not None and row[1] in stored:
                    duplicates += 1
                else:
                    by_day.setdefault(row[0], []).append(row)
            for day, day_rows in by_day.items():
                self._insert(conn, day, day_rows)
        return WriteResult(sum(len(r) for r in by_day.values()), duplicates)

    def _stored_ids(self, conn: sqlite3.Connection, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        found = conn.execute(
            f"SELECT id FROM {self.kind}_ids WHERE id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(ids)).decode(),),
        )
        return {r[0] for r in found}

    def _insert(self, conn: sqlite3.Connection, day: int, rows: list[Row]) -> None:
        table = self._partition(conn, day)
        base = conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0] + 1
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [(base + i, *row[2]) for i, row in enumerate(rows)],
        )
        conn.executemany(
            f"INSERT INTO {table}_fts (rowid, message) VALUES (?, ?)",
            [(base + i, row[3]) for i, row in enumerate(rows) if row[3] is not None],
        )
        conn.executemany(
            f"INSERT INTO {self.kind}_ids (id, day, rid) VALUES (?, ?, ?)",
            [(row[1], day, base + i) for i, row in enumerate(rows) if row[1] is not None],
        )
        marked: set[str] = set()
        for row in rows:
            if MARKER_TEXT in row[2] or MARKER_BLOB in row[2]:
                marked |= marked_columns(row[2])
        if marked:
            old = conn.execute(f"SELECT marked FROM {self.kind}_partitions WHERE day = ?", (day,)).fetchone()[0]
            now = ",".join(sorted(marked | (set(old.split(",")) - {""})))
            conn.execute(f"UPDATE {self.kind}_partitions SET marked = ? WHERE day = ?", (now, day))

    def _partition(self, conn: sqlite3.Connection, day: int) -> str:
        table = partition_table(self.kind, day)
        if conn.execute(f"SELECT 1 FROM {self.kind}_partitions WHERE day = ?", (day,)).fetchone() is None:
            for statement in partition_ddl(table):
                conn.execute(statement)
            conn.execute(f"INSERT INTO {self.kind}_partitions (day) VALUES (?)", (day,))
        return table

    # --- reads ----------------------------------------------------------------------------------

    def _scope(self, query: str, start: datetime | None, end: datetime | None) -> tuple[sqlite3.Connection, Scope]:
        tree = parse_query(query)
        conn = self._db.get()
        return conn, Scope(conn, self.kind, tree, query, start, end)

    def search(
        self,
        query: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        size: int = 100,
        sort: str = "@timestamp:desc",
        offset: int = 0,
    ) -> SearchResult:
        """Matching events sorted by ``sort``, ``size`` of them from ``offset``, and the total count."""
        if size < 0 or offset < 0:
            raise QueryError(f"size and offset must not be negative (size={size}, offset={offset})")
        keys = parse_sort(sort)
        conn, scope = self._scope(query, start, end)
        counts = self._counts(conn, scope)
        total = sum(counts.values())
        if size == 0 or offset >= total:
            return SearchResult(total, [])
        if len(keys) == 1 and keys[0].field == "@timestamp":
            docs = self._page_by_time(conn, scope, counts, keys[0].desc, size, offset)
        else:
            docs = self._page_by_keys(conn, scope, keys, size, offset)
        return SearchResult(total, [orjson.loads(d) for d in docs])

    def _counts(self, conn: sqlite3.Connection, scope: Scope) -> dict[int, int]:
        counts: dict[int, int] = {}
        for sql, params in unions(scope.count_arms()):
            counts.update(conn.execute(sql, params).fetchall())
        return counts

    def _page_by_time(self, conn: sqlite3.Connection, scope: Scope, counts: dict[int, int], desc: bool,
                      size: int, offset: int) -> list[str]:
        # Days do not overlap in time, so a time-sorted page reads the days in order and stops early.
        direction = "DESC" if desc else "ASC"
        docs: list[str] = []
        for p in sorted(scope.partitions, key=lambda p: p.day, reverse=desc):
            n = counts.get(p.day, 0)
            if offset >= n:
                offset -= n
                continue
            where, params = scope.where(p)
            order = f"ORDER BY ts {direction}, rowid {direction}"
            # Pick the rowids first, then read only their documents: a sort never carries documents.
            sql = (f"SELECT doc FROM {p.table} WHERE rowid IN (SELECT rowid FROM {scope.source(p)} WHERE {where} "
                   f"{order} LIMIT ? OFFSET ?) {order}")
            docs += [r[0] for r in conn.execute(sql, (*params, size - len(docs), offset))]
            offset = 0
            if len(docs) >= size:
                break
        return docs

    def _page_by_keys(self, conn: sqlite3.Connection, scope: Scope, keys: list[SortKey], size: int,
                      offset: int) -> list[str]:
        select, select_params, order = [], [], []
        for i, key in enumerate(keys):
            value = field_value_sql(key.field, LAYOUT)
            select.append(f"{value.text} AS k{i}")
            select_params += value.params
            order.append(f"k{i} {'DESC' if key.desc else 'ASC'} NULLS LAST")
        arms = scope.arms(", ".join([*select, "{day} AS day", "rowid AS rid", "doc"]))
        arms = [Arm(a.partition, a.sql, (*select_params, *a.params)) for a in arms]
        order += ["day", "rid"]  # ties in insertion order, as OpenSearch breaks them by document order
        limit = offset + size
        rows: list[tuple[Any, ...]] = []
        for sql, params in unions(arms):
            rows += conn.execute(f"SELECT * FROM ({sql}) ORDER BY {', '.join(order)} LIMIT ?", (*params, limit))
        if len(arms) > MAX_UNION:  # each chunk was sorted alone: sort their tops together
            _sort_like_sqlite(rows, [k.desc for k in keys])
        return [r[-1] for r in rows[offset:limit]]

    def count(self, query: str = "", start: datetime | None = None, end: datetime | None = None) -> int:
        """Number of events matching ``query`` in ``[start, end)``."""
        conn, scope = self._scope(query, start, end)
        return sum(self._counts(conn, scope).values())

    def histogram(self, query: str = "", start: datetime | None = None, end: datetime | None = None,
                  interval: str = "1h") -> list[Bucket]:
        """Non-empty buckets of ``interval`` aligned to the epoch (UTC), ascending."""
        try:
            step = int(parse_interval(interval).total_seconds() * 1000)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        if step <= 0:
            raise QueryError(f"invalid interval {interval!r}: it must be at least 1ms")
        conn, scope = self._scope(query, start, end)
        totals: dict[int, int] = {}
        for p in scope.partitions:
            lo = max(scope.start_ms, p.day * DAY_MS)
            hi = min(scope.end_ms, (p.day + 1) * DAY_MS)
            first = lo - lo % step
            if (hi - first) // step <= _MAX_RANGE_BUCKETS:
                # One index range count per bucket, clipped to the window: no sort of every timestamp.
                where, params = scope.where(p, window=False)
                ranges = ", ".join(f"({b}, {max(b, lo)}, {min(b + step, hi)})" for b in range(first, hi, step))
                sql = (f"WITH b(s, lo, hi) AS (VALUES {ranges}) SELECT s, (SELECT count(*) FROM {scope.source(p)} "
                       f"WHERE {where} AND ts >= lo AND ts < hi) FROM b")
            else:
                where, params = scope.where(p)
                bucket = f"ts - (((ts % {step}) + {step}) % {step})"
                sql = f"SELECT {bucket} AS s, count(*) FROM {scope.source(p)} WHERE {where} GROUP BY s"
            for b, c in conn.execute(sql, params):
                if c:
                    totals[b] = totals.get(b, 0) + c
        return [Bucket(from_epoch_ms(b), c) for b, c in sorted(totals.items())]

    def terms(self, field: str, query: str = "", start: datetime | None = None, end: datetime | None = None,
              size: int = 10) -> list[TermCount]:
        """The ``size`` most frequent values of ``field`` (ties by value), each array element counted."""
        if size <= 0:
            raise QueryError(f"size must be positive, got {size}")
        known = FIELD_BY_NAME.get(field)
        if known is not None and known.type == "text":
            raise QueryError(f"cannot aggregate text field {field!r}; use a keyword field")
        conn, scope = self._scope(query, start, end)
        arms = self._value_arms(scope, field)
        counts: dict[Any, int] = {}
        for sql, params in unions(arms):
            grouped = f"SELECT v, count(*) AS c FROM ({sql}) GROUP BY v"
            if len(arms) <= MAX_UNION:
                grouped += f" ORDER BY c DESC, v ASC LIMIT {int(size)}"
            for v, c in conn.execute(grouped, params):
                counts[v] = counts.get(v, 0) + c
        top = sorted(counts.items(), key=lambda vc: (-vc[1], vc[0]))[:size]
        return [TermCount(self._term_value(field, v), c) for v, c in top]

    def _value_arms(self, scope: Scope, field: str) -> list[Arm]:
        column = LAYOUT.columns.get(field)
        kind = FIELD_BY_NAME[field].type if field in FIELD_BY_NAME else None
        convert = {"ip": "sontra_ip(je.value)", "date": "sontra_ms(je.value)"}.get(kind or "", "je.value")
        from_doc = (f"{convert} AS v FROM ({{sub}}) AS s, json_each(s.doc, ?) AS je "
                    "WHERE typeof(je.key) != 'text' AND je.type NOT IN ('null', 'object', 'array')")
        arms = []
        for p in scope.partitions:
            if column is None:
                where, params = scope.where(p)
                sub = f"SELECT doc FROM {p.table} WHERE {where}"
                arms.append(Arm(p, "SELECT " + from_doc.format(sub=sub), (*params, json_path(field))))
                continue
            marker = "X'1E'" if column.type == "ip" else "char(30)"
            where, params = scope.where(p, f"{column.name} IS NOT NULL AND {column.name} != {marker}")
            arms.append(Arm(p, f"SELECT {column.name} AS v FROM {p.table} WHERE {where}", params))
            if column.name in p.marked:
                where, params = scope.where(p, f"{column.name} = {marker}")
                sub = f"SELECT doc FROM {p.table} WHERE {where}"
                arms.append(Arm(p, "SELECT " + from_doc.format(sub=sub), (*params, json_path(field))))
        return arms

    @staticmethod
    def _term_value(field: str, value: Any) -> Any:
        if isinstance(value, bytes) and len(value) == 16:
            return ip_text(value)
        if field == "@timestamp" and isinstance(value, int):
            return format_timestamp(from_epoch_ms(value))
        return value

    def get(self, event_id: str) -> dict[str, Any] | None:
        """The event with this ``event.id`` exactly as written, or None."""
        conn = self._db.get()
        found = conn.execute(f"SELECT day, rid FROM {self.kind}_ids WHERE id = ?", (event_id,)).fetchone()
        if found is None:
            return None
        try:
            row = conn.execute(f"SELECT doc FROM {partition_table(self.kind, found[0])} WHERE rowid = ?",
                               (found[1],)).fetchone()
        except sqlite3.OperationalError:  # the day was purged between the two lookups
            return None
        return orjson.loads(row[0]) if row else None

    # --- retention ------------------------------------------------------------------------------

    def purge(self, before: datetime) -> int:
        """Drop days that end before ``before``, delete older rows of the boundary day; return the count."""
        cut = to_epoch_ms(before)
        deleted = 0
        with self._db.transaction() as conn:
            days = [r[0] for r in conn.execute(
                f"SELECT day FROM {self.kind}_partitions WHERE day <= ? ORDER BY day", (cut // DAY_MS,))]
            for day in days:
                table = partition_table(self.kind, day)
                if (day + 1) * DAY_MS <= cut:
                    deleted += conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    conn.execute(f"DELETE FROM {self.kind}_ids WHERE id IN (SELECT eid FROM {table})")
                    conn.execute(f"DROP TABLE {table}")
                    conn.execute(f"DROP TABLE {table}_fts")
                    conn.execute(f"DELETE FROM {self.kind}_partitions WHERE day = ?", (day,))
                else:
                    deleted += self._purge_rows(conn, table, cut)
        return deleted

    def _purge_rows(self, conn: sqlite3.Connection, table: str, cut: int) -> int:
        # A contentless FTS5 table forgets a row only when told the text it indexed.
        conn.execute(
            f"INSERT INTO {table}_fts ({table}_fts, rowid, message) SELECT 'delete', rowid, "
            f"json_extract(doc, '$.message') FROM {table} WHERE ts < ? AND json_type(doc, '$.message') = 'text'",
            (cut,),
        )
        conn.execute(f"DELETE FROM {self.kind}_ids WHERE id IN (SELECT eid FROM {table} WHERE ts < ?)", (cut,))
        return conn.execute(f"DELETE FROM {table} WHERE ts < ?", (cut,)).rowcount

    # --- lifecycle ------------------------------------------------------------------------------

    def sibling(self, kind: StoreKind) -> SqliteEventStore:
        """The store of ``kind`` in the same file (its tables carry the kind as prefix)."""
        return SqliteEventStore(self.path, kind)

    def flush(self) -> None:
        """Nothing to do: every ``write`` commits before it returns."""

    def close(self) -> None:
        """Close every connection this store opened."""
        self._db.close()

    def __repr__(self) -> str:
        return f"SqliteEventStore({str(self.path)!r}, kind={self.kind!r})"


def _sort_like_sqlite(rows: list[tuple[Any, ...]], desc: list[bool]) -> None:
    """Sort (k0.., day, rid, doc) rows as the SQL ORDER BY does: NULLS LAST, ties by day and rowid."""
    rank = {int: 1, float: 1, str: 2, bytes: 3}  # SQLite orders numbers < text < blobs
    rows.sort(key=lambda r: (r[-3], r[-2]))
    for i in reversed(range(len(desc))):
        def key(r: tuple[Any, ...], i: int = i) -> tuple[Any, ...]:
            v = r[i]
            return (v is not None) == desc[i], (0, 0) if v is None else (rank.get(type(v), 4), v)
        rows.sort(key=key, reverse=desc[i])
