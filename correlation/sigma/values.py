"""A detection item's values -> field tests, after pySigma's modifiers have transformed them.

pySigma applies the value modifiers when it parses a rule (``contains`` adds wildcards,
``base64offset`` and ``windash`` expand into ``SigmaExpansion`` alternatives, ``re`` gives a
``SigmaRegularExpression`` with its flags, ``cidr`` a network, ``lt``/``gte`` a comparison,
``expand`` placeholders that the pipeline fills in). What is left here is matching: Sigma
strings compare case-insensitively (``cased`` excepted) with ``*``/``?`` wildcards, and the
values of one item are OR-linked unless the item has ``all``.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sigma.conditions import ConditionAND
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from correlation.sigma.fields import KEYWORDS, UNSEARCHED, EventView, FieldReader
from correlation.sigma.nodes import Node, all_of, any_of, negate, test
from correlation.sigma.strings import Pattern, StringSet, longest_literal, pattern_of, regex_literal


class CompileError(ValueError):
    """A rule that parsed but cannot be turned into a matcher (the message says why)."""


# Resolves a field name used as a field reference to its reader (with that field's fallbacks).
ReaderLookup = Callable[[str], FieldReader]


def item_node(item: SigmaDetectionItem, reader: FieldReader, lookup: ReaderLookup) -> Node:
    """The test tree of one detection item: its values OR-linked (AND with ``all``), negated with ``neq``."""
    keyword = item.field is None
    values = list(item.value)
    if not values:
        if keyword:
            raise CompileError("a detection item without field needs a value")
        node = _null(reader)
    elif item.value_linking is ConditionAND:
        node = all_of(_values_node(_expanded(value), reader, lookup, keyword) for value in values)
    else:
        flat = [inner for value in values for inner in _expanded(value)]
        node = _values_node(flat, reader, lookup, keyword)
    return negate(node) if item.negated else node


def _expanded(value: SigmaType) -> list[SigmaType]:
    """The alternatives a value stands for: an expansion's values (OR-linked whatever the item's linking)."""
    if isinstance(value, SigmaExpansion):
        return [inner for nested in value.values for inner in _expanded(nested)]
    return [value]


def _values_node(values: Sequence[SigmaType], reader: FieldReader, lookup: ReaderLookup, keyword: bool) -> Node:
    """OR of the values, with every plain (and every cased) string combined into one test."""
    plain = StringSet(cased=False)
    cased = StringSet(cased=True)
    others: list[Node] = []
    for value in values:
        if isinstance(value, SigmaString):
            text = _keyword_pattern(value) if keyword else value
            (cased if isinstance(value, SigmaCasedString) else plain).add(pattern_of(text, _placeholder_error))
        elif keyword and isinstance(value, SigmaNumber | SigmaBool):
            plain.add(Pattern("contains", str(value)))
        else:
            others.append(_other_node(value, reader, lookup, keyword))
    nodes = [_strings_node(group, reader) for group in (plain, cased) if group]
    return any_of([*nodes, *others])


def _keyword_pattern(value: SigmaString) -> SigmaString:
    """A keyword matches anywhere inside a value, as full-text search does."""
    if not value.startswith(SpecialChars.WILDCARD_MULTI):
        value = SpecialChars.WILDCARD_MULTI + value
    if not value.endswith(SpecialChars.WILDCARD_MULTI):
        value = value + SpecialChars.WILDCARD_MULTI
    return value


def _placeholder_error(placeholder: Placeholder) -> CompileError:
    return CompileError(
        f"placeholder %{placeholder.name}% (expand modifier) has no value: configure it in the engine's placeholders"
    )


def _strings_node(group: StringSet, reader: FieldReader) -> Node:
    matches = group.build()
    if group.cased:

        def check(view: EventView) -> bool:
            return any(map(matches, view.strings[reader]))

    else:

        def check(view: EventView) -> bool:
            return any(map(matches, view.lowered[reader]))

    searched = not any(path in UNSEARCHED for path, _ in reader.paths)
    return test(check, [longest_literal(p) for p in group.patterns] if searched else None)


def _other_node(value: SigmaType, reader: FieldReader, lookup: ReaderLookup, keyword: bool) -> Node:
    """A test for a value that is not a Sigma string: number, bool, null, regex, CIDR, comparison..."""
    if isinstance(value, SigmaRegularExpression):
        return _regex(value, reader)
    if keyword:
        raise CompileError(f"a keyword (detection item without field) cannot be {type(value).__name__}")
    if isinstance(value, SigmaNull):
        return _null(reader)
    if isinstance(value, SigmaExists):
        wanted = bool(value)
        return test(lambda view: view.present(reader) is wanted)
    if isinstance(value, SigmaBool):
        return _raw_test(reader, _equals_bool(bool(value)))
    if isinstance(value, SigmaTimestampPart):
        return _raw_test(reader, _timestamp_part(value.timestamp_part, value.number))
    if isinstance(value, SigmaNumber):
        node = _raw_test(reader, _equals_number(value.number))
        wanted = numeric_key(value.number)
        return test(node.check, key=(reader, frozenset([wanted]))) if wanted is not None else node
    if isinstance(value, SigmaCompareExpression):
        return _raw_test(reader, _compares(value.op, value.number.number))
    if isinstance(value, SigmaCIDRExpression):
        return _cidr(value, reader)
    if isinstance(value, SigmaFieldReference):
        return _field_reference(value, reader, lookup(value.field))
    raise CompileError(f"value type {type(value).__name__} is not supported by the streaming matcher")


def _null(reader: FieldReader) -> Node:
    return test(lambda view: not view.present(reader))


def _raw_test(reader: FieldReader, accepts: Callable[[Any], bool]) -> Node:
    def check(view: EventView) -> bool:
        return any(map(accepts, view.values[reader]))

    return test(check)


_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}


def _regex(value: SigmaRegularExpression, reader: FieldReader) -> Node:
    flags = 0
    for flag in value.flags:
        flags |= _REGEX_FLAGS[flag]
    try:
        search = re.compile(str(value.regexp), flags).search
    except re.error as exc:  # pySigma checks this too; a pipeline could have changed the text
        raise CompileError(f"invalid regular expression {str(value.regexp)!r}: {exc}") from exc
    caseless = bool(flags & re.IGNORECASE)
    # A literal every match contains: a C-level substring test that spares most regex searches.
    guard = regex_literal(str(value.regexp), caseless)

    if guard is None:

        def check(view: EventView) -> bool:
            return any(map(search, view.strings[reader]))

    elif caseless:

        def check(view: EventView) -> bool:
            return any(
                guard in lowered and search(text) is not None
                for text, lowered in zip(view.strings[reader], view.lowered[reader], strict=True)
            )

    else:
        exact = regex_literal(str(value.regexp), caseless, lower=False)

        def check(view: EventView) -> bool:
            return any(exact in text and search(text) is not None for text in view.strings[reader])

    searched = not any(path in UNSEARCHED for path, _ in reader.paths)
    return test(check, [guard] if guard and searched else None)


def _cidr(value: SigmaCIDRExpression, reader: FieldReader) -> Node:
    network = value.network

    def check(view: EventView) -> bool:
        for text in view.strings[reader]:
            address = _ip(text)
            if address is not None and address in network:
                return True
        return False

    return test(check)


@lru_cache(maxsize=4096)
def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _field_reference(value: SigmaFieldReference, reader: FieldReader, other: FieldReader) -> Node:
    if value.starts_with and value.ends_with:
        relation: Callable[[str, str], bool] = lambda mine, theirs: theirs in mine  # noqa: E731
    elif value.starts_with:
        relation = str.startswith
    elif value.ends_with:
        relation = str.endswith
    else:
        relation = operator.eq

    def check(view: EventView) -> bool:
        theirs = view.lowered[other]
        for mine in view.lowered[reader]:
            for value in theirs:
                if relation(mine, value):
                    return True
        return False

    return test(check)


def _number(value: Any) -> float | int | None:
    """An event value as a number: numbers as they are, numeric text parsed, anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


@lru_cache(maxsize=4096, typed=True)  # typed: True and 1 are equal keys otherwise
def numeric_key(value: Any) -> str | None:
    """A number's canonical text (``16``, ``0.5``): equal numbers, however written, share it; None if not a number."""
    number = _number(value)
    if number is None or number != number:  # NaN equals nothing
        return None
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    return str(number)


def _equals_number(number: float) -> Callable[[Any], bool]:
    return lambda value: _number(value) == number


_COMPARISONS: dict[CompareOperators, Callable[[Any, Any], bool]] = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}


def _compares(op: CompareOperators, number: float) -> Callable[[Any], bool]:
    compare = _COMPARISONS[op]

    def accepts(value: Any) -> bool:
        found = _number(value)
        return found is not None and compare(found, number)

    return accepts


def _equals_bool(wanted: bool) -> Callable[[Any], bool]:
    text = "true" if wanted else "false"

    def accepts(value: Any) -> bool:
        if isinstance(value, bool):
            return value is wanted
        return isinstance(value, str) and value.strip().lower() == text

    return accepts


def _timestamp_part(part: TimestampPart, number: float) -> Callable[[Any], bool]:
    def accepts(value: Any) -> bool:
        when = _datetime(value)
        if when is None:
            return False
        found = {
            TimestampPart.MINUTE: when.minute,
            TimestampPart.HOUR: when.hour,
            TimestampPart.DAY: when.day,
            TimestampPart.WEEK: when.isocalendar().week,
            TimestampPart.MONTH: when.month,
            TimestampPart.YEAR: when.year,
        }[part]
        return found == number

    return accepts


def _datetime(value: Any) -> datetime | None:
    """An ISO 8601 text or epoch seconds as a UTC datetime; None for anything else."""
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def keyword_reader() -> FieldReader:
    """The reader field-less (keyword) items search: every value of the event."""
    return KEYWORDS
