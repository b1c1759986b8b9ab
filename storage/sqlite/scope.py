"""The day partitions a query touches in its time window, and the SQL each of them runs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from luqum.tree import Item

from normalizers.schema import FIELD_BY_NAME
from storage.base import QueryError
from storage.lucene.sql import FTS_TABLE, HOURS, SqlWhere, translate
from storage.sqlite.codec import DAY_MS
from storage.sqlite.layout import HOUR_MS, LAYOUT, partition_table
from storage.timefmt import to_epoch_ms

# SQLite refuses a compound SELECT of more than 500 parts; longer windows are run in chunks.
MAX_UNION = 400
_MIN_MS, _MAX_MS = -(2**62), 2**62
_FTS_ONLY = f"rowid IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)"


@dataclass(frozen=True, slots=True)
class Partition:
    """One day table in the window; ``whole`` when the window covers the entire day."""

    day: int
    table: str
    marked: frozenset[str]
    whole: bool


@dataclass(frozen=True, slots=True)
class Arm:
    """One partition's SELECT, ready to run alone or inside a UNION ALL."""

    partition: Partition
    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort criterion: a field and its direction."""

    field: str
    desc: bool


def parse_sort(spec: str) -> list[SortKey]:
    """Parse ``"@timestamp:desc"`` or ``"a:asc,b:desc"``; QueryError names a bad part."""
    keys: list[SortKey] = []
    for part in (spec or "@timestamp:desc").split(","):
        name, _, direction = part.strip().rpartition(":") if ":" in part else (part.strip(), "", "asc")
        direction = direction.strip().lower()
        if not name or direction not in ("asc", "desc"):
            raise QueryError(f"invalid sort {part.strip()!r}: expected field:asc or field:desc")
        if FIELD_BY_NAME.get(name) is not None and FIELD_BY_NAME[name].type == "text":
            raise QueryError(f"cannot sort on text field {name!r}; sort on a keyword field or @timestamp")
        keys.append(SortKey(name, direction == "desc"))
    return keys


class Scope:
    """The partitions of ``[start, end)`` that exist, each with its translated WHERE clause."""

    def __init__(self, conn: sqlite3.Connection, kind: str, tree: Item | None, query: str,
                 start: datetime | None, end: datetime | None) -> None:
        self.kind = kind
        self.start_ms = to_epoch_ms(start) if start is not None else _MIN_MS
        self.end_ms = to_epoch_ms(end) if end is not None else _MAX_MS
        self.partitions: list[Partition] = []
        self._where: dict[frozenset[str], SqlWhere] = {}
        if self.start_ms >= self.end_ms:
            return
        rows = conn.execute(
            f"SELECT day, marked FROM {kind}_partitions WHERE day BETWEEN ? AND ? ORDER BY day",
            (self.start_ms // DAY_MS, (self.end_ms - 1) // DAY_MS),
        ).fetchall()
        for day, marked in rows:
            whole = self.start_ms <= day * DAY_MS and (day + 1) * DAY_MS <= self.end_ms
            cols = frozenset(marked.split(",")) - {""}
            self.partitions.append(Partition(day, partition_table(kind, day), cols, whole))
        # Translate once per distinct set of marked columns (nearly always just one); this also
        # raises QueryError for a bad query before any partition runs, even in an empty window.
        for cols in {p.marked for p in self.partitions} | {frozenset()}:
            self._where[cols] = translate(tree, LAYOUT, _fields_of(cols), query)

    def where(self, p: Partition, extra: str = "", extra_params: tuple[Any, ...] = (),
              window: bool = True) -> tuple[str, tuple[Any, ...]]:
        """The WHERE clause (time window unless ``window`` is False, query, ``extra``) for one partition."""
        clauses: list[str] = []
        params: list[Any] = []
        if window and not p.whole:
            clauses.append("ts >= ? AND ts < ?")
            params += [self.start_ms, self.end_ms]
        translated = self._where[p.marked]
        if translated.sql != "1":
            sql = translated.sql.replace(FTS_TABLE, p.table + "_fts")
            if HOURS in sql:
                sql = sql.replace(HOURS, self.hours(p))
            clauses.append(f"({sql})")
            params += translated.params
        if extra:
            clauses.append(extra)
            params += extra_params
        return (" AND ".join(clauses) or "1"), tuple(params)

    def hours(self, p: Partition) -> str:
        """``ts / 3600000 IN (...)`` over every hour of this partition inside the window.

        SQLite's integer division truncates towards zero, so the hours are computed the same way;
        the list covers every row the window admits, so it only steers SQLite to the index.
        """
        lo = max(self.start_ms, p.day * DAY_MS)
        hi = min(self.end_ms, (p.day + 1) * DAY_MS) - 1
        first, last = _hour(lo), _hour(hi)
        return f"ts / {HOUR_MS} IN ({', '.join(str(h) for h in range(first, last + 1))})"

    def full_text_only(self, p: Partition) -> bool:
        """True when the query is one full-text MATCH and nothing else (a phrase, free text)."""
        return self._where[p.marked].sql == _FTS_ONLY

    def source(self, p: Partition) -> str:
        """The partition table as a FROM clause.

        For a query that is only full text, walking the (ts, rowid) index and testing each rowid
        against the FTS matches never reads the wide rows, where SQLite would otherwise fetch
        every matching row (documents included) to sort or count it.
        """
        return f"{p.table} INDEXED BY {p.table}_ts" if self.full_text_only(p) else p.table

    def arms(self, select: str, extra: str = "", extra_params: tuple[Any, ...] = (), tail: str = "") -> list[Arm]:
        """``SELECT {select} FROM <partition> WHERE ... {tail}`` for every partition."""
        out = []
        for p in self.partitions:
            where, params = self.where(p, extra, extra_params)
            sql = f"SELECT {select.replace('{day}', str(p.day))} FROM {self.source(p)} WHERE {where} {tail}"
            out.append(Arm(p, sql.strip(), params))
        return out

    def count_arms(self) -> list[Arm]:
        """``SELECT day, count(*)`` per partition; a whole day searched by full text alone asks FTS5 directly."""
        out = []
        for p in self.partitions:
            if p.whole and self.full_text_only(p):
                fts = f"{p.table}_fts"
                out.append(Arm(p, f"SELECT {p.day}, count(*) FROM {fts} WHERE {fts} MATCH ?",
                               self._where[p.marked].params))
            else:
                out.append(self._arm(p, "{day}, count(*)"))
        return out

    def _arm(self, p: Partition, select: str) -> Arm:
        where, params = self.where(p)
        return Arm(p, f"SELECT {select.replace('{day}', str(p.day))} FROM {self.source(p)} WHERE {where}", params)


def unions(arms: list[Arm]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The arms joined by UNION ALL, in chunks SQLite accepts."""
    for i in range(0, len(arms), MAX_UNION):
        chunk = arms[i : i + MAX_UNION]
        yield " UNION ALL ".join(a.sql for a in chunk), tuple(x for a in chunk for x in a.params)


def _hour(ms: int) -> int:
    return ms // HOUR_MS if ms >= 0 else -(-ms // HOUR_MS)


def _fields_of(columns: frozenset[str]) -> frozenset[str]:
    by_column = {c.name: f for f, c in LAYOUT.columns.items()}
    return frozenset(by_column[c] for c in columns if c in by_column)
