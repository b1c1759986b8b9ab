"""Search request bodies: an analyst's Lucene query, the time window, the sort and the buckets."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from normalizers.schema import field_type
from storage.base import SortSpec
from storage.lucene import parse_query
from storage.timefmt import format_timestamp, parse_interval

# Field names an analyst may sort or aggregate on: ECS dotted names, '@timestamp', vendor fields.
_FIELD = re.compile(r"^@?[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_UNIT_MS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1))
# Sorting needs a type for indices where the field is not mapped (no event had it that day).
_SORT_TYPE = {"keyword": "keyword", "text": "keyword", "ip": "ip", "date": "date", "long": "long",
              "float": "float", "boolean": "boolean"}


def query_clause(query: str) -> dict[str, Any]:
    """The query part for ``query``: validated with the shared Lucene parser, then passed through.

    Parsing first makes a syntax error the same QueryError, with the same position, on every
    backend. ``lenient`` makes a value of the wrong type for a field (``source.ip:foo``) match
    nothing instead of failing the whole search, as the SQLite store does.
    """
    if parse_query(query) is None:
        return {"match_all": {}}
    return {
        "query_string": {
            "query": query.strip(),
            "default_field": "message",
            "default_operator": "OR",
            "analyze_wildcard": True,
            "allow_leading_wildcard": True,
            "lenient": True,
        }
    }


def time_filter(start: datetime | None, end: datetime | None) -> dict[str, Any] | None:
    """A ``@timestamp`` range with ``start`` inclusive and ``end`` exclusive; None when unbounded."""
    bounds: dict[str, Any] = {}
    if start is not None:
        bounds["gte"] = format_timestamp(_datetime(start, "start"))
    if end is not None:
        bounds["lt"] = format_timestamp(_datetime(end, "end"))
    if not bounds:
        return None
    bounds["format"] = "strict_date_optional_time"
    return {"range": {"@timestamp": bounds}}


def filtered(query: str, start: datetime | None, end: datetime | None) -> dict[str, Any]:
    """The full ``query`` object: the analyst's query within the time window."""
    window = time_filter(start, end)
    clause = query_clause(query)
    if window is None:
        return clause
    return {"bool": {"must": [clause], "filter": [window]}}


def sort_clause(sort: SortSpec) -> list[dict[str, Any]]:
    """``"field:asc|desc,..."`` as OpenSearch sort keys, ending with ``event.id`` ascending for a stable order."""
    keys: list[dict[str, Any]] = []
    for raw in (sort or "").split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, order = item.rpartition(":")
        if not name:  # no ":" at all: a bare field sorts ascending
            name, order = order, "asc"
        name, order = name.strip(), order.strip().lower()
        if order not in ("asc", "desc"):
            raise ValueError(f"invalid sort {item!r}: order must be 'asc' or 'desc'")
        keys.append({sort_field(name): {"order": order, "unmapped_type": _unmapped_type(name)}})
    if not any("event.id" in key for key in keys):
        keys.append({"event.id": {"order": "asc", "unmapped_type": "keyword"}})
    return keys


def sort_field(name: str) -> str:
    """The field to sort or aggregate on for ``name``: text fields use their ``.keyword`` sub-field."""
    if not _FIELD.match(name or ""):
        raise ValueError(f"invalid field name {name!r}")
    return f"{name}.keyword" if field_type(name) == "text" else name


def _unmapped_type(name: str) -> str:
    return _SORT_TYPE.get(field_type(name) or "keyword", "keyword")


def fixed_interval(interval: str) -> str:
    """An interval such as ``1h`` or ``2w`` in the units OpenSearch's ``fixed_interval`` accepts (no weeks)."""
    ms = int(parse_interval(interval).total_seconds() * 1000)
    for unit, size in _UNIT_MS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    raise AssertionError("unreachable: every interval is a whole number of milliseconds")


def _datetime(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    return dt
