"""The on-disk layout of the SQLite store: one table per day, hot columns, FTS, the id index.

For each kind (``events``, ``alerts``) the file holds:

- ``{kind}_partitions(day, marked)``: the day partitions that exist (day = days since the epoch)
  and which hot columns of each hold markers (see codec.MARKER_TEXT);
- ``{kind}_ids(id, day, rid)``: every ``event.id`` with the partition and row holding it, so
  writes stay idempotent across days and ``get`` is two primary-key lookups;
- per day ``{kind}_YYYY_MM_DD``: hot columns, the event as JSON in ``doc``, an index on
  ``ts`` and a partial ``(column, ts)`` index per hot field; and ``{kind}_YYYY_MM_DD_fts``, a
  contentless FTS5 index of ``message`` sharing the table's rowids.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from storage.lucene.sql import Column, SqlLayout
from storage.sqlite.codec import DAY_MS, MARKER_BLOB, MARKER_TEXT, epoch_ms, ip_key

# Hot fields: searched often, so each is a column with its own (column, ts) index.
HOT_FIELDS: dict[str, Column] = {
    "@timestamp": Column("ts", "date"),
    "event.id": Column("eid", "keyword"),
    "event.category": Column("category", "keyword"),
    "event.action": Column("action", "keyword"),
    "host.name": Column("host_name", "keyword"),
    "user.name": Column("user_name", "keyword"),
    "source.ip": Column("source_ip", "ip", hour_bucketed=True),
    "destination.ip": Column("destination_ip", "ip", hour_bucketed=True),
    "rule.id": Column("rule_id", "keyword"),
}
LAYOUT = SqlLayout(HOT_FIELDS)
# event.id needs no per-day index: the {kind}_ids table answers lookups by id.
INDEXED = ("category", "action", "host_name", "user_name", "source_ip", "destination_ip", "rule_id")
COLUMNS = ("rowid", "ts", "eid", *INDEXED, "doc")
HOUR_MS = 3_600_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELD_OF = {column.name: field for field, column in HOT_FIELDS.items()}


def partition_table(kind: str, day: int) -> str:
    """Table name of one day partition, e.g. ``events_2026_11_20``."""
    return f"{kind}_{(_EPOCH + timedelta(days=day)).strftime('%Y_%m_%d')}"


def base_ddl(kind: str) -> list[str]:
    """Statements creating the tables every store of this kind needs, whatever its data."""
    return [
        f"CREATE TABLE IF NOT EXISTS {kind}_partitions (day INTEGER PRIMARY KEY, marked TEXT NOT NULL DEFAULT '')",
        f"CREATE TABLE IF NOT EXISTS {kind}_ids (id TEXT PRIMARY KEY, day INTEGER NOT NULL, rid INTEGER NOT NULL)"
        " WITHOUT ROWID",
    ]


def partition_ddl(table: str) -> list[str]:
    """Statements creating one day partition with its indexes and full-text table."""
    cols = ", ".join(f"{c} {'BLOB' if c.endswith('_ip') else 'TEXT'}" for c in INDEXED)
    statements = [
        f"CREATE TABLE IF NOT EXISTS {table} (ts INTEGER NOT NULL, eid TEXT, {cols}, doc TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {table}_ts ON {table} (ts)",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table}_fts USING fts5(message, content='', columnsize=0, "
        "tokenize='unicode61 remove_diacritics 0')",
    ]
    # Partial indexes skip rows without the field (no user on a firewall event), so writes stay cheap.
    # Addresses take thousands of values a day: an index led by the address alone gets each batch's
    # entries scattered over all its pages, and writing those pages back costs more than the rows.
    # Led by the hour instead, a batch lands in the current hour's few pages; a query seeks once per hour.
    for c in INDEXED:
        key = f"ts / {HOUR_MS}, {c}, ts" if LAYOUT.columns[_FIELD_OF[c]].hour_bucketed else f"{c}, ts"
        statements.append(f"CREATE INDEX IF NOT EXISTS {table}_{c} ON {table} ({key}) WHERE {c} IS NOT NULL")
    return statements


# One event ready to insert: (day, event.id, column values after rowid, message). A plain tuple,
# not a class: the writer makes one per event and this is the hot path.
Row = tuple[int, str | None, tuple[Any, ...], str | None]


def _text(value: Any) -> Any:
    if type(value) is list:
        if len(value) == 1 and type(value[0]) is str:  # ECS arrays of one, e.g. event.category
            return value[0]
        present = [v for v in value if v is not None]
        if not present:
            return None
        if len(present) == 1 and type(present[0]) is str:
            return present[0]
    return MARKER_TEXT


def _ip(value: Any) -> Any:
    if type(value) is list:
        present = [v for v in value if v is not None]
        if not present:
            return None
        value = present[0] if len(present) == 1 else None
    key = ip_key(value) if type(value) is str else None
    return MARKER_BLOB if key is None else key


def to_row(event: dict[str, Any]) -> Row:
    """Extract the hot columns of one event once and serialize it; ValueError names a bad event."""
    if type(event) is not dict:
        raise ValueError(f"an event must be a JSON object, got {type(event).__name__}")
    ev = event.get("event")
    if type(ev) is not dict:
        ev = {}
    eid = ev.get("id")
    if eid is not None and type(eid) is not str:
        raise ValueError(f"event.id must be a string, got {eid!r}")
    try:
        ts = epoch_ms(event.get("@timestamp"))
        doc = orjson.dumps(event).decode()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"event {eid or '(no event.id)'} cannot be stored: {exc}") from None
    # Inline lookups with str fast paths: this runs once per stored event.
    host, user, source, destination, rule = (event.get(k) for k in ("host", "user", "source", "destination", "rule"))
    category, action = ev.get("category"), ev.get("action")
    values = (
        ts,
        eid,
        category if category is None or type(category) is str else _text(category),
        action if action is None or type(action) is str else _text(action),
        _field_text(host, "name"),
        _field_text(user, "name"),
        _field_ip(source),
        _field_ip(destination),
        _field_text(rule, "id"),
        doc,
    )
    message = event.get("message")
    return ts // DAY_MS, eid, values, message if type(message) is str else None


def _field_text(node: Any, name: str) -> Any:
    if type(node) is not dict:
        return None
    value = node.get(name)
    return value if value is None or type(value) is str else _text(value)


def _field_ip(node: Any) -> Any:
    if type(node) is not dict:
        return None
    value = node.get("ip")
    if type(value) is str:
        key = ip_key(value)
        return MARKER_BLOB if key is None else key
    return None if value is None else _ip(value)


def marked_columns(values: tuple[Any, ...]) -> set[str]:
    """Names of the hot columns that hold a marker in one row's values."""
    return {c for c, v in zip(INDEXED, values[2:9], strict=True) if v is MARKER_TEXT or v is MARKER_BLOB}
