"""Translate a parsed Lucene query (a luqum tree) into a SQLite WHERE clause over one day partition.

The SQLite store keeps hot fields as columns (``@timestamp`` as epoch ms, IPs as 16-byte keys), the
whole event as JSON in ``doc`` and ``message`` in an FTS5 table. Every value taken from the query
becomes a bound parameter; the SQL text holds only names this module controls.

Semantics follow OpenSearch's ``query_string``: keyword terms are exact and case-sensitive, text
fields match by token or phrase case-insensitively, a term without a field searches ``message``,
array fields match when any element matches, NOT includes events that lack the field, and
clauses combine like Lucene's boolean query (``a OR NOT b`` keeps ``a`` and drops ``b``).
A column may hold a marker (storage.sqlite.codec) instead of a value when the event's value is not a single scalar
(a list of several categories, say); the store tells the translator which columns of a partition
hold markers, and only there does the clause fall back to reading the JSON document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from luqum import tree as lq

from normalizers.schema import FIELD_BY_NAME, FieldType
from storage.base import QueryError
from storage.lucene.terms import Term, ip_range, parse_term
from storage.timefmt import parse_timestamp, to_epoch_ms

FTS_TABLE = "__fts__"  # replaced by the store with the partition's FTS table
# Replaced by the store with the hours of the partition's window (``ts / 3600000 IN (...)``): the
# leading key of an hour-bucketed index, so an equality or range on its column becomes a few seeks.
HOURS = "__hours__"


@dataclass(frozen=True, slots=True)
class Column:
    """A hot field stored in its own column of type ``type`` (keyword, ip or date).

    ``hour_bucketed``: the column's index leads with the hour of ``ts``, so every predicate on it
    carries the ``HOURS`` placeholder for the store to fill in.
    """

    name: str
    type: FieldType
    hour_bucketed: bool = False


@dataclass(frozen=True, slots=True)
class SqlLayout:
    """How a partition stores events: hot columns by field, the JSON column, the full-text field."""

    columns: Mapping[str, Column]
    doc: str = "doc"
    fts_field: str = "message"


@dataclass(frozen=True, slots=True)
class SqlWhere:
    """A WHERE clause with ``?`` placeholders and its parameters, in order."""

    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Sql:
    text: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class _Fts:
    """An FTS5 match expression, kept apart so that sibling clauses merge into one MATCH."""

    expr: str


_Part = _Sql | _Fts
TRUE, FALSE = _Sql("1"), _Sql("0")
_MUST, _SHOULD, _MUST_NOT = "must", "should", "must_not"


def json_path(field: str) -> str:
    """SQLite JSON path of a dotted ECS field in the nested document."""
    if field.startswith("@"):
        return f'$."{field}"'
    return "$" + "".join(f'."{part}"' for part in field.split("."))


def field_value_sql(field: str, layout: SqlLayout) -> _Sql:
    """A scalar SQL expression for a field's value, comparable within its type (for sort and terms)."""
    column = layout.columns.get(field)
    if column is not None:
        return _Sql(column.name)
    kind = FIELD_BY_NAME[field].type if field in FIELD_BY_NAME else None
    wrap = {"ip": "sontra_ip({})", "date": "sontra_ms({})"}.get(kind or "", "{}")
    return _Sql(wrap.format(f"json_extract({layout.doc}, ?)"), (json_path(field),))


def translate(
    tree: lq.Item | None, layout: SqlLayout, marked: frozenset[str] = frozenset(), query: str = ""
) -> SqlWhere:
    """Translate a tree from ``parse_query`` into a WHERE clause; raises QueryError for unsupported forms."""
    if tree is None:
        return SqlWhere("1", ())
    part = _Translator(layout, marked, query).node(tree, None)
    sql = _as_sql(part)
    return SqlWhere(sql.text, sql.params)


def _as_sql(part: _Part) -> _Sql:
    if isinstance(part, _Fts):
        return _Sql(f"rowid IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)", (part.expr,))
    return part


def _join(parts: list[_Sql], op: str) -> _Sql:
    if len(parts) == 1:
        return parts[0]
    return _Sql(f" {op} ".join(f"({p.text})" for p in parts), tuple(x for p in parts for x in p.params))


def _negate(part: _Part) -> _Sql:
    if isinstance(part, _Fts):
        return _Sql(f"rowid NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)", (part.expr,))
    # A comparison with a missing field is NULL; Lucene's NOT keeps events that lack the field.
    return _Sql(f"NOT coalesce(({part.text}), 0)", part.params)


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'




class _Translator:
    """Walks one tree; ``field`` is the field in force (None means free text on message)."""

    def __init__(self, layout: SqlLayout, marked: frozenset[str], query: str) -> None:
        self.layout = layout
        self.marked = marked
        self.query = query

    def error(self, node: lq.Item, reason: str) -> QueryError:
        position = node.pos if node.pos is not None else 0
        return QueryError(f"unsupported query at position {position}: {reason}", self.query, position)

    def node(self, n: lq.Item, field: str | None) -> _Part:
        if isinstance(n, (lq.AndOperation, lq.OrOperation, lq.UnknownOperation)):
            return self.boolean(n, field)
        if isinstance(n, (lq.Not, lq.Prohibit)):
            return _negate(self.node(n.a, field))
        if isinstance(n, (lq.Plus, lq.Group, lq.FieldGroup)):
            return self.node(n.expr if not isinstance(n, lq.Plus) else n.a, field)
        if isinstance(n, lq.Boost):  # relevance only; a filter ignores it
            return self.node(n.expr, field)
        if isinstance(n, lq.SearchField):
            return self.node(n.expr, n.name)
        if isinstance(n, (lq.Word, lq.Phrase)):
            return self.term(n, field)
        if isinstance(n, (lq.Range, lq.From, lq.To)):
            return self.range(n, field)
        raise self.error(n, f"{type(n).__name__} is not supported")

    def boolean(self, n: lq.Item, field: str | None) -> _Part:
        default = _MUST if isinstance(n, lq.AndOperation) else _SHOULD
        groups: dict[str, list[_Part]] = {_MUST: [], _SHOULD: [], _MUST_NOT: []}
        for child in n.children:
            if isinstance(child, (lq.Not, lq.Prohibit)):
                groups[_MUST_NOT].append(self.node(child.a, field))
            elif isinstance(child, lq.Plus):
                groups[_MUST].append(self.node(child.a, field))
            else:
                groups[default].append(self.node(child, field))
        parts: list[_Sql] = []
        if groups[_MUST]:
            parts.append(_join(self.merge(groups[_MUST], "AND"), "AND"))
        elif groups[_SHOULD]:  # with a MUST clause present, SHOULD clauses only score in Lucene
            parts.append(_join(self.merge(groups[_SHOULD], "OR"), "OR"))
        if groups[_MUST_NOT]:
            merged = self.merge(groups[_MUST_NOT], "OR", keep_fts=True)
            parts.extend(_negate(p) for p in merged)
        return _join(parts, "AND") if parts else TRUE

    @staticmethod
    def merge(parts: list[_Part], op: str, keep_fts: bool = False) -> list[Any]:
        """Fold the full-text clauses of one boolean group into a single FTS5 MATCH."""
        fts = [p.expr for p in parts if isinstance(p, _Fts)]
        out: list[Any] = [p for p in parts if isinstance(p, _Sql)]
        if fts:
            merged = _Fts(fts[0] if len(fts) == 1 else f" {op} ".join(f"({e})" for e in fts))
            out.append(merged if keep_fts else _as_sql(merged))
        return out

    # --- leaves ---------------------------------------------------------------------------------

    def term(self, n: lq.Word | lq.Phrase, field: str | None) -> _Part:
        value = parse_term(n)
        if field is None:
            return self.text_term(n, self.layout.fts_field, value)
        if field == "_exists_":
            return self.exists(n, value.text)
        if "*" in field or "?" in field:
            if field == "*" and value.pieces == ((True, "*"),):
                return TRUE
            raise self.error(n, f"field name patterns such as {field!r} are not supported; name one field")
        if value.pieces == ((True, "*"),):
            return self.exists(n, field)
        base, caseless = field, False
        if field.endswith(".caseless") and field[: -len(".caseless")] in FIELD_BY_NAME:
            base, caseless = field[: -len(".caseless")], True
        elif field.endswith(".keyword") and FIELD_BY_NAME.get(field[: -len(".keyword")], None) is not None:
            base = field[: -len(".keyword")]
            return self.keyword_term(n, base, value, False, as_text=True)
        kind = FIELD_BY_NAME[base].type if base in FIELD_BY_NAME else None
        if kind == "text":
            return self.text_term(n, base, value)
        if kind == "ip":
            return self.ip_term(n, base, value)
        if kind in ("long", "float", "date"):
            if value.wildcard:
                raise self.error(n, f"wildcards are not supported on {kind} field {base}; use a range [a TO b]")
            if kind == "date":
                return self.date_term(n, base, value)
            return self.compare(n, base, kind, [("=", value.text)])
        return self.keyword_term(n, base, value, caseless)

    def text_term(self, n: lq.Item, field: str, value: Term) -> _Part:
        if not any(ch.isalnum() for ch in value.text):
            return FALSE  # the analyzer keeps no token: OpenSearch matches nothing either
        if field == self.layout.fts_field:
            if not value.wildcard:
                return _Fts(_fts_phrase(value.text))
            *head, last = value.pieces
            prefix = "".join(ch for _, ch in head)
            if last == (True, "*") and not any(w for w, _ in head) and any(c.isalnum() for c in prefix):
                return _Fts(_fts_phrase(prefix) + "*")  # FTS5 prefix query on the last token
        doc = f"json_extract({self.layout.doc}, ?)"
        if value.wildcard:
            return _Sql(f"sontra_text_like({doc}, ?)", (json_path(field), value.pattern(lower=True)))
        return _Sql(f"sontra_text_has({doc}, ?)", (json_path(field), value.text))

    def keyword_term(self, n: lq.Item, field: str, value: Term, caseless: bool, as_text: bool = False) -> _Sql:
        text = value.text.lower() if caseless else value.text
        if value.wildcard:
            return self.predicate(field, "{v} GLOB ?", (value.glob(lower=caseless),), caseless=caseless, typed="text")
        if caseless or as_text or field in FIELD_BY_NAME:
            return self.predicate(field, "{v} = ?", (text,), caseless=caseless)
        # A vendor field has no declared type: match the typed JSON value too (443, true).
        alternatives: list[tuple[str, tuple[Any, ...]]] = [("{v} = ?", (text,))]
        number = _number(text)
        if number is not None:
            alternatives.append(("({v} = ? AND type IN ('integer', 'real'))", (number,)))
        if text in ("true", "false"):
            alternatives.append((f"type = '{text}'", ()))
        template = " OR ".join(a for a, _ in alternatives)
        return self.predicate(field, template, tuple(x for _, p in alternatives for x in p))

    def ip_term(self, n: lq.Item, field: str, value: Term) -> _Sql:
        if value.wildcard:
            raise self.error(n, f"wildcards are not supported on IP field {field}; use CIDR such as "
                                f'{field}:"10.1.0.0/16"')
        low, high = self.ip_bounds(n, value.text)
        if low == high:
            return self.predicate(field, "{v} = ?", (low,), ip=True)
        return self.predicate(field, "{v} BETWEEN ? AND ?", (low, high), ip=True)

    def ip_bounds(self, n: lq.Item, text: str) -> tuple[bytes, bytes]:
        bounds = ip_range(text)
        if bounds is None:
            raise self.error(n, f"{text!r} is not an IP address or CIDR block")
        return bounds

    def date_term(self, n: lq.Item, field: str, value: Term) -> _Sql:
        ms = self.date_ms(n, value.text)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.text):  # a bare day matches the whole day
            return self.compare(n, field, "date", [(">=", ms), ("<", ms + 86_400_000)])
        return self.compare(n, field, "date", [("=", ms)])

    def exists(self, n: lq.Item, field: str) -> _Sql:
        if field in self.layout.columns:
            return _Sql(f"{self.layout.columns[field].name} IS NOT NULL")
        path = json_path(field)
        doc = self.layout.doc
        return _Sql(
            f"CASE json_type({doc}, ?) WHEN 'array' THEN json_array_length({doc}, ?) > 0 WHEN 'null' THEN 0 "
            f"ELSE json_type({doc}, ?) IS NOT NULL END",
            (path, path, path),
        )

    # --- ranges ---------------------------------------------------------------------------------

    def range(self, n: lq.Range | lq.From | lq.To, field: str | None) -> _Sql:
        if field is None or field == "_exists_":
            raise self.error(n, "a range needs a field, such as destination.port:[1 TO 1024]")
        if isinstance(n, lq.Range):
            bounds = [(">=" if n.include_low else ">", n.low), ("<=" if n.include_high else "<", n.high)]
        elif isinstance(n, lq.From):
            bounds = [(">=" if n.include else ">", n.a)]
        else:
            bounds = [("<=" if n.include else "<", n.a)]
        values = [(op, parse_term(b)) for op, b in bounds if not (isinstance(b, lq.Word) and b.value == "*")]
        if not values:
            return self.exists(n, field)
        kind = FIELD_BY_NAME[field].type if field in FIELD_BY_NAME else None
        if kind == "text":
            raise self.error(n, f"ranges are not supported on text field {field}")
        if kind == "ip":
            keys = [(op, self.ip_bounds(n, v.text)[0 if op.startswith(">") else 1]) for op, v in values]
            return self.compare(n, field, "ip", keys)
        if kind == "date":
            return self.compare(n, field, "date", [(op, self.date_ms(n, v.text)) for op, v in values])
        if kind in ("long", "float"):
            return self.compare(n, field, kind, [(op, v.text) for op, v in values])
        if kind is None and all(_number(v.text) is not None for _, v in values):
            return self.compare(n, field, "long", [(op, v.text) for op, v in values])
        return self.compare(n, field, "keyword", [(op, v.text) for op, v in values])

    def compare(self, n: lq.Item, field: str, kind: str, ops: list[tuple[str, Any]]) -> _Sql:
        params: list[Any] = []
        for _, raw in ops:
            if kind in ("long", "float") and isinstance(raw, str):
                number = _number(raw)
                if number is None:
                    raise self.error(n, f"{field} is numeric and {raw!r} is not a number")
                raw = number
            params.append(raw)
        template = " AND ".join(f"{{v}} {op} ?" for op, _ in ops)
        typed = {"long": "number", "float": "number", "keyword": "text"}.get(kind)
        return self.predicate(field, template, tuple(params), ip=kind == "ip", date=kind == "date", typed=typed)

    def date_ms(self, n: lq.Item, text: str) -> int:
        if text.isdigit():
            return int(text)
        m = re.fullmatch(r"now((?:[+-]\d+[smhdw])*)(?:/([smhd]))?", text)
        if m:
            now = datetime.now(UTC)
            for sign, amount, unit in re.findall(r"([+-])(\d+)([smhdw])", m.group(1)):
                delta = timedelta(**{_UNITS[unit]: int(amount)})
                now = now + delta if sign == "+" else now - delta
            if m.group(2):
                now = _round_down(now, m.group(2))
            return to_epoch_ms(now)
        try:
            return to_epoch_ms(parse_timestamp(text))
        except ValueError:
            raise self.error(n, f"{text!r} is not a date (use ISO 8601 such as 2026-11-20T01:00:00Z, "
                                "epoch milliseconds, or now-1h)") from None

    # --- one predicate on a column or on the JSON document ---------------------------------------

    def predicate(self, field: str, template: str, params: tuple[Any, ...], *, caseless: bool = False,
                  ip: bool = False, date: bool = False, typed: str | None = None) -> _Sql:
        """``template`` tests ``{v}``; on a hot column directly, else on every JSON value of the field."""
        column = self.layout.columns.get(field)
        if column is not None:
            v = f"sontra_lower({column.name})" if caseless else column.name
            direct = _Sql(template.replace("{v}", v), params)
            if column.hour_bucketed:
                direct = _Sql(f"{HOURS} AND ({direct.text})", direct.params)
            if field not in self.marked:
                return direct
            marker = "X'1E'" if column.type == "ip" else "char(30)"
            fallback = self.doc_predicate(field, template, params, caseless, ip, date, typed)
            return _Sql(
                f"(({direct.text}) AND {column.name} != {marker}) OR ({column.name} = {marker} AND {fallback.text})",
                direct.params + fallback.params,
            )
        return self.doc_predicate(field, template, params, caseless, ip, date, typed)

    def doc_predicate(self, field: str, template: str, params: tuple[Any, ...], caseless: bool, ip: bool,
                      date: bool, typed: str | None) -> _Sql:
        v = "sontra_ip(value)" if ip else "sontra_ms(value)" if date else "value"
        if caseless:
            v = f"sontra_lower({v})"
        guard = {"number": " AND type IN ('integer', 'real')", "text": " AND type = 'text'"}.get(typed or "", "")
        # typeof(key) = 'text' marks the members of an object, which are not values of this field.
        return _Sql(
            f"EXISTS (SELECT 1 FROM json_each({self.layout.doc}, ?) WHERE typeof(key) != 'text' "
            f"AND ({template.replace('{v}', v)}){guard})",
            (json_path(field), *params),
        )


_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _round_down(dt: datetime, unit: str) -> datetime:
    fields = {"s": {"microsecond": 0}, "m": {"second": 0, "microsecond": 0},
              "h": {"minute": 0, "second": 0, "microsecond": 0},
              "d": {"hour": 0, "minute": 0, "second": 0, "microsecond": 0}}
    return dt.replace(**fields[unit])


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None
