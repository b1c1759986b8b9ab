"""Sigma string values with wildcards -> fast Python string tests.

Most Sigma strings are a literal with a ``*`` at one or both ends (what ``contains``,
``startswith`` and ``endswith`` produce); those become ``in``, ``startswith`` and ``endswith``
on C-level tuples. Only strings with inner wildcards become a regular expression. A
``StringSet`` combines the OR-linked strings of one detection item into a single test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import methodcaller
from typing import Literal

from sigma.types import Placeholder, SigmaString, SpecialChars

Kind = Literal["equal", "prefix", "suffix", "contains", "any", "wildcard"]
StringTest = Callable[[str], object]  # truthy when the value matches


@dataclass(frozen=True, slots=True)
class Pattern:
    """One Sigma string: a literal and where it must sit, or (``wildcard``) a general pattern."""

    kind: Kind
    text: str = ""
    parts: tuple[str | SpecialChars, ...] = ()

    def lowered(self) -> Pattern:
        """The same pattern with its literal text lower-cased (for case-insensitive matching)."""
        parts = tuple(p.lower() if isinstance(p, str) else p for p in self.parts)
        return Pattern(self.kind, self.text.lower(), parts)


def pattern_of(value: SigmaString, on_placeholder: Callable[[Placeholder], Exception]) -> Pattern:
    """Classify a Sigma string; a placeholder left unfilled raises ``on_placeholder(placeholder)``."""
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise on_placeholder(part)
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        elif not (part is SpecialChars.WILDCARD_MULTI and parts and parts[-1] is SpecialChars.WILDCARD_MULTI):
            parts.append(part)  # "**" means the same as "*"
    star = SpecialChars.WILDCARD_MULTI
    literals = [p for p in parts if isinstance(p, str)]
    if not parts:
        return Pattern("equal", "")
    if parts == [star]:
        return Pattern("any")
    if len(literals) == 1:
        text = literals[0]
        if parts == [text]:
            return Pattern("equal", text)
        if parts == [text, star]:
            return Pattern("prefix", text)
        if parts == [star, text]:
            return Pattern("suffix", text)
        if parts == [star, text, star]:
            return Pattern("contains", text)
    return Pattern("wildcard", parts=tuple(parts))


def longest_literal(pattern: Pattern) -> str | None:
    """The longest literal text a matching value must contain (lower-cased), or None if there is none."""
    if pattern.kind == "any":
        return None
    if pattern.kind == "wildcard":
        texts = [p for p in pattern.parts if isinstance(p, str)]
        best = max(texts, key=len, default="")
    else:
        best = pattern.text
    return best.lower() or None


@dataclass
class StringSet:
    """OR-linked string patterns of one detection item, built into one test of a value."""

    cased: bool
    patterns: list[Pattern] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def add(self, pattern: Pattern) -> None:
        """Add one alternative."""
        self.patterns.append(pattern)

    def build(self) -> StringTest:
        """A test that is true when the value matches any pattern (values arrive lower-cased unless cased).

        Single-kind sets (the usual case) get a C-level callable: ``frozenset.__contains__``, or
        ``str.startswith``/``str.endswith`` with a tuple, through ``methodcaller``.
        """
        patterns = self.patterns if self.cased else [p.lowered() for p in self.patterns]
        if any(p.kind == "any" for p in patterns):
            return lambda value: True
        tests: list[StringTest] = []
        equal = frozenset(p.text for p in patterns if p.kind == "equal")
        if equal:
            tests.append(equal.__contains__)
        prefixes = tuple(p.text for p in patterns if p.kind == "prefix")
        if prefixes:
            tests.append(methodcaller("startswith", prefixes))
        suffixes = tuple(p.text for p in patterns if p.kind == "suffix")
        if suffixes:
            tests.append(methodcaller("endswith", suffixes))
        infixes = tuple(p.text for p in patterns if p.kind == "contains")
        if infixes:
            tests.append(_contains_any(infixes))
        wildcards = [p for p in patterns if p.kind == "wildcard"]
        globs = [p for p in wildcards if SpecialChars.WILDCARD_SINGLE not in p.parts]
        if globs:
            tests.extend(_glob(p) for p in globs)
        singles = [p for p in wildcards if SpecialChars.WILDCARD_SINGLE in p.parts]
        if singles:
            tests.append(re.compile("|".join(_regex(p) for p in singles), re.DOTALL).fullmatch)
        if len(tests) == 1:
            return tests[0]
        combined = tuple(tests)

        def any_test(value: str) -> bool:
            return any(check(value) for check in combined)

        return any_test


def _contains_any(infixes: tuple[str, ...]) -> StringTest:
    if len(infixes) == 1:
        return methodcaller("__contains__", infixes[0])

    def contains(value: str) -> bool:
        return any(map(value.__contains__, infixes))

    return contains


def _glob(pattern: Pattern) -> StringTest:
    """A ``*``-only pattern as ordered substring searches: no regex, no backtracking on long values.

    Taking each literal at its leftmost place after the previous one is enough: if any placement
    matches, the leftmost one does (it leaves the most room for what follows).
    """
    parts = pattern.parts
    star = SpecialChars.WILDCARD_MULTI
    head = "" if parts[0] is star else str(parts[0])
    tail = "" if parts[-1] is star else str(parts[-1])
    inner = parts[(1 if head else 0) : (len(parts) - 1 if tail else len(parts))]
    middle = [str(part) for part in inner if part is not star]
    floor = len(head) + len(tail)

    def matches(value: str) -> bool:
        if len(value) < floor or not value.startswith(head) or not value.endswith(tail):
            return False
        position, end = len(head), len(value) - len(tail)
        for literal in middle:
            position = value.find(literal, position, end)
            if position < 0:
                return False
            position += len(literal)
        return True

    return matches


def _regex(pattern: Pattern) -> str:
    pieces = []
    for part in pattern.parts:
        if part is SpecialChars.WILDCARD_MULTI:
            pieces.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append(".")
        else:
            pieces.append(re.escape(str(part)))
    return "(?:" + "".join(pieces) + ")"


# Under IGNORECASE, Python's re also matches these ASCII letters with non-ASCII ones (U+017F long s,
# U+212A Kelvin, U+0130 and U+0131 dotted and dotless i) whose lower case differs: skip them in literal runs.
_UNSAFE_CASELESS = frozenset("sSkKiI")


def regex_literal(pattern: str, ignorecase: bool, lower: bool = True) -> str | None:
    """The longest literal text every match of the regular expression contains (lower-cased), or None.

    Only literal characters at the top level of the pattern count (runs between classes,
    repetitions, groups and alternations); None whenever the pattern cannot be read that way.
    """
    try:
        from re import _parser  # type: ignore[attr-defined]  # the stdlib's own regex parser

        parsed = _parser.parse(pattern)
    except (ImportError, re.error, RecursionError, OverflowError):
        return None
    if parsed.state.flags & re.VERBOSE:  # whitespace and comments are not literal there
        return None
    literal_op = _parser.LITERAL
    best = ""
    run: list[str] = []
    for op, arg in parsed:
        char = chr(arg) if op == literal_op else None
        if char is not None and not (ignorecase and (char in _UNSAFE_CASELESS or not char.isascii())):
            run.append(char)
            continue
        best = max(best, "".join(run), key=len)
        run = []
    best = max(best, "".join(run), key=len)
    return (best.lower() if lower else best) or None
