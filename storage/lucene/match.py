"""Evaluate a Lucene query on one event in memory: the ingest filters' and suppressions' matcher.

``compile_query`` turns the tree from ``parse_query`` into a Python predicate over a nested ECS
event dict, with the stores' semantics (storage.lucene.sql documents them): keyword terms are
exact and case-sensitive (``.caseless`` lowercases both sides), text fields match by token or
phrase case-insensitively, a term without a field searches ``message``, ``*`` and ``?`` are
wildcards, ranges compare numbers, dates and IP addresses by type, ``field:"10.0.0.0/8"`` is a
CIDR block on IP fields, ``_exists_:field`` tests presence, an array matches when any element
does, NOT includes events that lack the field, and clauses combine like Lucene's boolean query.
One deliberate choice where the two stores differ: a number or boolean stored in a keyword field
matches its text form (``event.code:4624`` matches ``4624``), as in OpenSearch.

A compiled query is immutable and safe to share between threads; relative dates (``now-1h``)
are evaluated at each match, so a long-lived filter keeps meaning what it says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from luqum import tree as lq

from normalizers.schema import FIELD_BY_NAME
from storage.base import QueryError
from storage.lucene.parse import parse_query
from storage.lucene.terms import Term, ip_range, parse_term
from storage.sqlite.codec import TOKEN, epoch_ms, ip_key
from storage.timefmt import parse_timestamp, to_epoch_ms

Event = Mapping[str, Any]
Predicate = Callable[[Event], bool]
_DAY_MS = 86_400_000
_MISSING = object()
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _always(event: Event) -> bool:
    return True


def _never(event: Event) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A Lucene query compiled into a test on one event: ``query(event) -> bool``."""

    query: str
    test: Predicate

    def __call__(self, event: Event) -> bool:
        """True when the event matches the query."""
        return self.test(event)


def compile_query(query: str) -> EventQuery:
    """Compile ``query`` (Lucene syntax; empty or ``*`` matches everything); raises QueryError naming the position."""
    tree = parse_query(query)
    return EventQuery(query, _always if tree is None else _Compiler(query).node(tree, None))


# --- reading a field's values -------------------------------------------------------------------


def _reader(field: str) -> Callable[[Event], Sequence[Any]]:
    """A function giving every scalar value of a dotted field (the elements of an array)."""
    parts = (field,) if field.startswith("@") else tuple(field.split("."))

    def values(event: Event) -> Sequence[Any]:
        node: Any = event
        for part in parts:
            if not isinstance(node, Mapping):
                return ()
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return ()
        if node is None or isinstance(node, Mapping):
            return ()  # an object's members are not values of the field itself
        if isinstance(node, list):
            return [v for v in node if v is not None and not isinstance(v, (Mapping, list))]
        return (node,)

    return values


def _exists(field: str) -> Predicate:
    parts = (field,) if field.startswith("@") else tuple(field.split("."))

    def present(event: Event) -> bool:
        node: Any = event
        for part in parts:
            if not isinstance(node, Mapping):
                return False
            node = node.get(part)
        return node is not None and node != []

    return present


def _any(field: str, test: Callable[[Any], bool]) -> Predicate:
    read = _reader(field)
    return lambda event: any(test(v) for v in read(event))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


def _as_ms(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return epoch_ms(value)
    except ValueError:
        return None


def _as_ip(value: Any) -> bytes | None:
    return ip_key(value) if isinstance(value, str) else None


# --- text (analyzed) fields ---------------------------------------------------------------------


def _phrase_in(tokens: list[str], want: list[str], prefix_last: bool = False) -> bool:
    """``want`` occurs in ``tokens`` as a run; with ``prefix_last`` its last token need only start one."""
    n = len(want)
    head, last = want[:-1], want[-1]
    for i in range(len(tokens) - n + 1):
        if tokens[i : i + n - 1] == head:
            token = tokens[i + n - 1]
            if token == last or (prefix_last and token.startswith(last)):
                return True
    return False


# --- the compiler -------------------------------------------------------------------------------




class _Compiler:
    """Walks one tree into nested closures; ``field`` is the field in force (None: free text on message)."""

    def __init__(self, query: str) -> None:
        self.query = query

    def error(self, n: lq.Item, reason: str) -> QueryError:
        position = n.pos if n.pos is not None else 0
        return QueryError(f"unsupported query at position {position}: {reason}", self.query, position)

    def node(self, n: lq.Item, field: str | None) -> Predicate:
        if isinstance(n, (lq.AndOperation, lq.OrOperation, lq.UnknownOperation)):
            return self.boolean(n, field)
        if isinstance(n, (lq.Not, lq.Prohibit)):
            inner = self.node(n.a, field)
            return lambda event: not inner(event)
        if isinstance(n, lq.Plus):
            return self.node(n.a, field)
        if isinstance(n, (lq.Group, lq.FieldGroup, lq.Boost)):
            return self.node(n.expr, field)
        if isinstance(n, lq.SearchField):
            return self.node(n.expr, n.name)
        if isinstance(n, (lq.Word, lq.Phrase)):
            return self.term(n, field)
        if isinstance(n, (lq.Range, lq.From, lq.To)):
            return self.range(n, field)
        raise self.error(n, f"{type(n).__name__} is not supported")

    def boolean(self, n: lq.Item, field: str | None) -> Predicate:
        # Lucene's boolean query: MUST clauses all hold (SHOULD clauses then only score), else at
        # least one SHOULD holds; no MUST_NOT clause may hold. A bare term is SHOULD unless in AND.
        default_must = isinstance(n, lq.AndOperation)
        must: list[Predicate] = []
        should: list[Predicate] = []
        must_not: list[Predicate] = []
        for child in n.children:
            if isinstance(child, (lq.Not, lq.Prohibit)):
                must_not.append(self.node(child.a, field))
            elif isinstance(child, lq.Plus):
                must.append(self.node(child.a, field))
            else:
                (must if default_must else should).append(self.node(child, field))
        positive = tuple(must) if must else tuple(should)
        negative = tuple(must_not)
        if must:

            def holds(event: Event) -> bool:
                return all(p(event) for p in positive) and not any(p(event) for p in negative)

        elif should:

            def holds(event: Event) -> bool:
                return any(p(event) for p in positive) and not any(p(event) for p in negative)

        else:

            def holds(event: Event) -> bool:
                return not any(p(event) for p in negative)

        return holds

    # --- leaves ---------------------------------------------------------------------------------

    def term(self, n: lq.Word | lq.Phrase, field: str | None) -> Predicate:
        value = parse_term(n)
        if field is None:
            return self.text_term("message", value, full_text=True)
        if field == "_exists_":
            return _exists(value.text)
        if "*" in field or "?" in field:
            if field == "*" and value.pieces == ((True, "*"),):
                return _always
            raise self.error(n, f"field name patterns such as {field!r} are not supported; name one field")
        if value.pieces == ((True, "*"),):
            return _exists(field)
        base = field
        if field.endswith(".caseless") and field[: -len(".caseless")] in FIELD_BY_NAME:
            return self.keyword_term(field[: -len(".caseless")], value, caseless=True)
        if field.endswith(".keyword") and field[: -len(".keyword")] in FIELD_BY_NAME:
            return self.keyword_term(field[: -len(".keyword")], value, exact_text=True)
        kind = FIELD_BY_NAME[base].type if base in FIELD_BY_NAME else None
        if kind == "text":
            return self.text_term(base, value, full_text=base == "message")
        if kind == "ip":
            if value.wildcard:
                raise self.error(
                    n, f'wildcards are not supported on IP field {base}; use CIDR such as {base}:"10.1.0.0/16"'
                )
            low, high = self.ip_bounds(n, value.text)
            return _any(base, lambda v: (k := _as_ip(v)) is not None and low <= k <= high)
        if kind in ("long", "float", "date"):
            if value.wildcard:
                raise self.error(n, f"wildcards are not supported on {kind} field {base}; use a range [a TO b]")
            if kind == "date":
                return self.date_term(n, base, value.text)
            return self.compare(n, base, kind, [("=", value.text)])
        return self.keyword_term(base, value)

    def keyword_term(self, field: str, value: Term, *, caseless: bool = False, exact_text: bool = False) -> Predicate:
        if value.wildcard:
            rx = re.compile(value.pattern(lower=caseless), re.S)
            if caseless:
                return _any(field, lambda v: isinstance(v, str) and rx.fullmatch(v.lower()) is not None)
            return _any(field, lambda v: isinstance(v, str) and rx.fullmatch(v) is not None)
        text = value.text
        if caseless:
            lowered = text.lower()
            return _any(field, lambda v: isinstance(v, str) and v.lower() == lowered)
        if exact_text:
            return _any(field, lambda v: v == text and isinstance(v, str))
        number = _number(text)
        flag = {"true": True, "false": False}.get(text)

        def equal(v: Any) -> bool:
            if isinstance(v, str):
                return v == text
            if isinstance(v, bool):
                return v is flag
            return number is not None and v == number

        return _any(field, equal)

    def text_term(self, field: str, value: Term, *, full_text: bool) -> Predicate:
        if not any(ch.isalnum() for ch in value.text):
            return _never  # the analyzer keeps no token: the stores match nothing either
        if not value.wildcard:
            want = TOKEN.findall(value.text.lower())
            return _any(field, lambda v: isinstance(v, str) and _phrase_in(TOKEN.findall(v.lower()), want))
        *head, last = value.pieces
        prefix = "".join(ch for _, ch in head)
        if full_text and last == (True, "*") and not any(w for w, _ in head) and any(c.isalnum() for c in prefix):
            # What the full-text index does with "adm*" or "wp-log*": a phrase whose last token is a prefix.
            want = TOKEN.findall(prefix.lower())
            return _any(field, lambda v: isinstance(v, str) and _phrase_in(TOKEN.findall(v.lower()), want, True))
        rx = re.compile(value.pattern(lower=True), re.S)

        def like(v: Any) -> bool:
            if not isinstance(v, str):
                return False
            lowered = v.lower()
            return rx.fullmatch(lowered) is not None or any(rx.fullmatch(t) for t in TOKEN.findall(lowered))

        return _any(field, like)

    def ip_bounds(self, n: lq.Item, text: str) -> tuple[bytes, bytes]:
        bounds = ip_range(text)
        if bounds is None:
            raise self.error(n, f"{text!r} is not an IP address or CIDR block")
        return bounds

    def date_term(self, n: lq.Item, field: str, text: str) -> Predicate:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # a bare day matches the whole day
            day = self.date_bound(n, text)
            return self.compare_values(field, _as_ms, [(">=", day), ("<", lambda: day() + _DAY_MS)])
        return self.compare_values(field, _as_ms, [("=", self.date_bound(n, text))])

    # --- ranges ---------------------------------------------------------------------------------

    def range(self, n: lq.Range | lq.From | lq.To, field: str | None) -> Predicate:
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
            return _exists(field)
        kind = FIELD_BY_NAME[field].type if field in FIELD_BY_NAME else None
        if kind == "text":
            raise self.error(n, f"ranges are not supported on text field {field}")
        if kind == "ip":
            ops = []
            for op, v in values:
                low, high = self.ip_bounds(n, v.text)
                key = low if op.startswith(">") else high
                ops.append((op, lambda key=key: key))
            return self.compare_values(field, _as_ip, ops)
        if kind == "date":
            return self.compare_values(field, _as_ms, [(op, self.date_bound(n, v.text)) for op, v in values])
        if kind in ("long", "float") or (kind is None and all(_number(v.text) is not None for _, v in values)):
            return self.compare(n, field, "long", [(op, v.text) for op, v in values])
        return self.compare_values(
            field, lambda v: v if isinstance(v, str) else None, [(op, lambda t=v.text: t) for op, v in values]
        )

    def compare(self, n: lq.Item, field: str, kind: str, ops: list[tuple[str, str]]) -> Predicate:
        numbers = []
        for op, raw in ops:
            number = _number(raw)
            if number is None:
                raise self.error(n, f"{field} is numeric and {raw!r} is not a number")
            numbers.append((op, lambda number=number: number))
        return self.compare_values(field, lambda v: v if _is_number(v) else None, numbers)

    @staticmethod
    def compare_values(
        field: str, convert: Callable[[Any], Any], ops: list[tuple[str, Callable[[], Any]]]
    ) -> Predicate:
        """Any value of ``field``, converted (None: not comparable), satisfies every ``op bound``."""
        checks = [(_COMPARE[op], bound) for op, bound in ops]

        def satisfies(v: Any) -> bool:
            c = convert(v)
            return c is not None and all(test(c, bound()) for test, bound in checks)

        return _any(field, satisfies)

    def date_bound(self, n: lq.Item, text: str) -> Callable[[], int]:
        """The epoch-ms bound a date term stands for; ``now...`` is computed at each call."""
        if text.isdigit():
            ms = int(text)
            return lambda: ms
        m = re.fullmatch(r"now((?:[+-]\d+[smhdw])*)(?:/([smhd]))?", text)
        if m:
            steps = [(sign, int(amount), unit) for sign, amount, unit in re.findall(r"([+-])(\d+)([smhdw])", m[1])]
            rounding = m[2]
            return lambda: to_epoch_ms(_relative_now(steps, rounding))
        try:
            ms = to_epoch_ms(parse_timestamp(text))
        except ValueError:
            raise self.error(
                n, f"{text!r} is not a date (use ISO 8601 such as 2026-11-20T01:00:00Z, epoch milliseconds, or now-1h)"
            ) from None
        return lambda: ms


def _relative_now(steps: list[tuple[str, int, str]], rounding: str | None) -> datetime:
    now = datetime.now(UTC)
    for sign, amount, unit in steps:
        delta = timedelta(**{_UNITS[unit]: amount})
        now = now + delta if sign == "+" else now - delta
    if rounding:
        keep = {"s": {"microsecond": 0}, "m": {"second": 0, "microsecond": 0}}
        keep["h"] = {"minute": 0, **keep["m"]}
        keep["d"] = {"hour": 0, **keep["h"]}
        now = now.replace(**keep[rounding])
    return now
