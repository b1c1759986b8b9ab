"""The Lucene-to-SQL translator: the SQL it emits, what that SQL matches in a real SQLite table, and errors."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from storage.base import QueryError
from storage.lucene import parse_query
from storage.lucene.sql import FTS_TABLE, HOURS, SqlWhere, translate
from storage.sqlite.codec import SQL_FUNCTIONS, ip_key
from storage.sqlite.layout import COLUMNS, LAYOUT, partition_ddl, to_row

TABLE = "events_2026_11_20"


def sql(query: str, marked: frozenset[str] = frozenset()) -> SqlWhere:
    return translate(parse_query(query), LAYOUT, marked, query)


def _event(eid: str, **fields: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"@timestamp": "2026-11-20T10:00:00.000Z", "event": {"id": eid}}
    for name, value in fields.items():
        node = ev
        parts = name.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return ev


EVENTS = [
    _event("a", event__action="ssh_login", user__name="root", source__ip="10.1.2.3", message="Failed password for root",
           event__category=["authentication"], tags=["vpn", "night"], destination__port=22),
    _event("b", event__action="ssh_login", user__name="Alice", source__ip="2001:db8::5",
           message="Accepted key for Alice", destination__port=2222, fortinet__policyid=12, fortinet__action="deny"),
    _event("c", event__action="sudo", user__name="alice", message="alice ran sudo", process__pid=77,
           event__category=["process", "start"], rule__description="Sudo to root shell"),
    _event("d", event__action="firewall_deny", source__ip="192.168.1.9", message="deny tcp 192.168.1.9 -> 10.0.0.5",
           host__ip=["10.9.0.1", "fe80::1"], user__name="adm*in"),
]


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    """A real in-memory SQLite day partition holding EVENTS, laid out exactly as the store lays it out."""
    conn = sqlite3.connect(":memory:")
    for name, (nargs, fn) in SQL_FUNCTIONS.items():
        conn.create_function(name, nargs, fn, deterministic=True)
    for statement in partition_ddl(TABLE):
        conn.execute(statement)
    for rid, event in enumerate(EVENTS, start=1):
        _day, _eid, values, message = to_row(event)
        conn.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                     (rid, *values))
        conn.execute(f"INSERT INTO {TABLE}_fts (rowid, message) VALUES (?, ?)", (rid, message))
    yield conn
    conn.close()


def matches(db: sqlite3.Connection, query: str, marked: frozenset[str] = frozenset()) -> set[str]:
    where = sql(query, marked)
    # The store fills in the window's hours; every row of this test table is inside any window.
    text = where.sql.replace(FTS_TABLE, TABLE + "_fts").replace(HOURS, "1")
    rows = db.execute(f"SELECT eid FROM {TABLE} WHERE {text}", where.params)
    return {r[0] for r in rows}


# --- the SQL itself ---------------------------------------------------------------------------------

def test_match_all_is_a_true_clause() -> None:
    assert sql("") == SqlWhere("1", ())
    assert sql("*") == SqlWhere("1", ())


def test_hot_field_term_compares_the_indexed_column() -> None:
    where = sql("event.action:ssh_login")
    assert where.sql == "action = ?"
    assert where.params == ("ssh_login",)


def test_marked_column_falls_back_to_the_document() -> None:
    where = sql("event.category:network", frozenset({"event.category"}))
    assert "category = ?" in where.sql and "json_each" in where.sql
    assert "json_each" not in sql("event.category:network").sql


def test_free_text_terms_merge_into_one_fts_match() -> None:
    where = sql("failed password")
    assert where.sql.count("MATCH") == 1
    assert where.params == ('("failed") OR ("password")',)


def test_values_are_parameters_never_sql_text() -> None:
    where = sql("user.name:\"x'; DROP TABLE t; --\" OR fortinet.action:\"')--\"")
    assert "DROP" not in where.sql and "')--" not in where.sql
    assert "x'; DROP TABLE t; --" in where.params


def test_wildcard_escapes_glob_specials() -> None:
    assert sql(r"user.name:a\*\[b*").params == ("a[*][[]b*",)


def test_cidr_becomes_a_range_of_ip_keys() -> None:
    where = sql('source.ip:"10.0.0.0/8"')
    # HOURS leads: the store fills in the window's hours, the first key of the address indexes.
    assert where.sql == f"{HOURS} AND (source_ip BETWEEN ? AND ?)"
    assert where.params == (ip_key("10.0.0.0"), ip_key("10.255.255.255"))


def test_relative_dates_resolve_against_now() -> None:
    where = sql("@timestamp:>=now-1h")
    assert where.sql == "ts >= ?"
    assert abs(where.params[0] - (time.time() - 3600) * 1000) < 5000


# --- what the SQL matches in a real table ---------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("event.action:ssh_login", {"a", "b"}),
    ("user.name:alice", {"c"}),                      # keyword terms are exact and case-sensitive
    ("user.name.caseless:ALICE", {"b", "c"}),        # unless the analyst asks for the caseless sub-field
    ("user.name:adm\\*in", {"d"}),                   # an escaped * is a literal star
    ("user.name:?lice", {"b", "c"}),
    ("message:ALICE", {"b", "c"}),                   # text is matched by token, case-insensitively
    ('"failed password"', {"a"}),
    ("pass*", {"a"}),                                # prefix on message uses FTS5
    ("message:*ccept*", {"b"}),                      # other wildcards match a token of the message
    ("rule.description:\"ROOT shell\"", {"c"}),      # text fields outside FTS match by token too
    ("tags:night", {"a"}),                           # any element of an array
    ("host.ip:\"fe80::/10\"", {"d"}),                # CIDR on an IP array outside the hot columns
    ("fortinet.policyid:12", {"b"}),                 # a vendor number, typed in the JSON
    ("fortinet.action:deny", {"b"}),
    ("process.pid:[70 TO 80]", {"c"}),
    ("destination.port:>22", {"b"}),
    ("destination.port:{* TO 2222}", {"a"}),
    ('source.ip:"2001:db8::/32"', {"b"}),
    ("source.ip:10.1.2.3", {"a"}),
    ("source.ip:[10.0.0.0 TO 10.255.255.255]", {"a"}),
    ("_exists_:fortinet", {"b"}),
    ("_exists_:source.ip", {"a", "b", "d"}),
    ("user.name:*", {"a", "b", "c", "d"}),
    ("@timestamp:2026-11-20", {"a", "b", "c", "d"}),  # a bare day matches the whole day
    ("@timestamp:[2026-11-21 TO *]", set()),
])
def test_query_matches(db: sqlite3.Connection, query: str, expected: set[str]) -> None:
    assert matches(db, query) == expected


def test_not_keeps_events_that_lack_the_field(db: sqlite3.Connection) -> None:
    assert matches(db, "NOT destination.port:22") == {"b", "c", "d"}
    assert matches(db, "-message:alice") == {"a", "d"}


def test_boolean_clauses_combine_like_lucene(db: sqlite3.Connection) -> None:
    # In Lucene, a NOT clause in an OR group is a MUST_NOT: "a OR NOT b" means "a and not b".
    assert matches(db, "event.action:ssh_login OR NOT user.name:root") == {"b"}
    # With a required (+) clause present, plain clauses only affect scoring.
    assert matches(db, "+event.action:sudo user.name:root") == {"c"}
    assert matches(db, "user.name:(root OR alice) AND message:sudo") == {"c"}
    assert matches(db, "ssh_login OR event.action:sudo") == {"c"}  # free text is message only


def test_marked_fallback_finds_every_element(db: sqlite3.Connection) -> None:
    # "process" is stored as a marker for event c (two categories); the fallback reads the JSON.
    assert matches(db, "event.category:process", frozenset({"event.category"})) == {"c"}
    assert matches(db, "event.category:authentication", frozenset({"event.category"})) == {"a"}
    assert matches(db, "event.category:start", frozenset({"event.category"})) == {"c"}
    assert matches(db, "event.category:start") == set()  # why the store must say which columns hold markers


# --- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "position", "words"), [
    ("user.name:rooot~1", 10, "fuzzy"),
    ('message:"failed root"~3', 8, "proximity"),
    ("user.name:/ro+t/", 10, "regular expressions"),
    ("[1 TO 5]", 0, "needs a field"),
    ("process.pid:abc", 12, "not a number"),
    ("destination.port:[1 TO x]", 17, "not a number"),
    ('source.ip:"10.0.0.300"', 10, "not an IP"),
    ('source.ip:"10.0.0.0/33"', 10, "not an IP"),
    ("source.ip:10.1.*", 10, "CIDR"),
    ("process.pid:7*", 12, "wildcards are not supported"),
    ("@timestamp:[yesterday TO now]", 11, "not a date"),
    ("user.*:root", 7, "one field"),
    ("message:[a TO b]", 8, "text field"),
])
def test_unsupported_or_invalid_parts_raise_query_error(query: str, position: int, words: str) -> None:
    with pytest.raises(QueryError) as err:
        sql(query)
    assert err.value.position == position
    assert f"position {position}" in str(err.value) and words in str(err.value)
    assert err.value.query == query


def test_malformed_boost_is_a_query_error_with_position() -> None:
    from storage.lucene import parse_query

    with pytest.raises(QueryError) as err:
        parse_query("root^310.0.0.0/810.0.0.0/8")
    assert err.value.position == 4
    assert "boost" in str(err.value)
