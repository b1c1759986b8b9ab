"""The STIX 2.1 patterning language: tokenizer and parser into a small syntax tree.

A pattern such as ``[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '5.6.7.0/24']`` is parsed
following the grammar of STIX 2.1 section 9 (FOLLOWEDBY < OR < AND at the observation level, OR <
AND inside brackets, qualifiers, every comparison operator and literal type), so that a pattern
Sontra cannot use is still recognized as valid and reported with the right reason.
``stix_atoms`` turns the tree into the values the matcher looks up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# A bound on input size and nesting so that hostile feed content costs bounded time and stack.
MAX_PATTERN_LENGTH = 65536
MAX_DEPTH = 64

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<typed>[thb]'(?:[^'\\]|\\.)*')
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[\[\]().,:*])
  | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = {
    "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "IN", "EXISTS",
    "WITHIN", "SECONDS", "REPEATS", "TIMES", "START", "STOP", "TRUE", "FALSE",
}  # fmt: skip
_COMPARISON_WORDS = {"LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "IN"}


class PatternError(ValueError):
    """A STIX pattern is not valid patterning-language text; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token and where it starts in the pattern."""

    kind: str
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class ObjectPath:
    """``object-type:property.sub[0]`` split into the type and its path steps."""

    object_type: str
    steps: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.object_type}:{'.'.join(self.steps)}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``path [NOT] op value``; ``value`` is a str, number, bool or tuple (for IN)."""

    path: ObjectPath
    op: str
    negated: bool
    value: Any


@dataclass(frozen=True, slots=True)
class Node:
    """An operator over sub-expressions: AND/OR of comparisons or observations, FOLLOWEDBY, EXISTS, a qualifier."""

    kind: str  # "cmp-and", "cmp-or", "obs-and", "obs-or", "followedby", "exists", "qualified", "observation"
    items: tuple[Any, ...]
    detail: str = ""


def tokenize(text: str) -> list[Token]:
    """Split a pattern into tokens; PatternError at the first character that starts none."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise PatternError(f"unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    return tokens


def parse_pattern(text: str) -> Node:
    """Parse a STIX pattern into its syntax tree; PatternError names the problem and its position."""
    if not isinstance(text, str):
        raise PatternError(f"pattern must be text, got {type(text).__name__}")
    parser = _Parser(tokenize(text))
    tree = parser.observations()
    if not parser.at_end():
        tok = parser.peek()
        raise PatternError(f"unexpected {tok.text!r} at position {tok.pos}")
    return tree


class _Parser:
    """Recursive descent over the STIX 2.1 pattern grammar (FOLLOWEDBY < OR < AND, at both levels)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def peek(self) -> Token:
        if self.at_end():
            raise PatternError("pattern ends too early")
        return self.tokens[self.i]

    def keyword(self, *words: str) -> str | None:
        if not self.at_end():
            tok = self.tokens[self.i]
            if tok.kind == "word" and tok.text.upper() in words:
                self.i += 1
                return tok.text.upper()
        return None

    def expect(self, text: str) -> Token:
        tok = self.peek()
        if tok.text != text:
            raise PatternError(f"expected {text!r} at position {tok.pos}, found {tok.text!r}")
        self.i += 1
        return tok

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PatternError(f"pattern nests deeper than {MAX_DEPTH} levels")

    def _chain(self, kind: str, word: str, part: Any) -> Any:
        items = [part()]
        while self.keyword(word):
            items.append(part())
        return items[0] if len(items) == 1 else Node(kind, tuple(items))

    def observations(self) -> Any:
        return self._chain("followedby", "FOLLOWEDBY", self.observation_or)

    def observation_or(self) -> Any:
        return self._chain("obs-or", "OR", self.observation_and)

    def observation_and(self) -> Any:
        return self._chain("obs-and", "AND", self.observation)

    def observation(self) -> Any:
        tok = self.peek()
        self._nest()
        if tok.text == "[":
            self.i += 1
            inner = self.comparison_or()
            self.expect("]")
            node: Any = Node("observation", (inner,))
        elif tok.text == "(":
            self.i += 1
            node = self.observations()
            self.expect(")")
        else:
            raise PatternError(f"expected '[' or '(' at position {tok.pos}, found {tok.text!r}")
        self.depth -= 1
        while (qualifier := self.qualifier()) is not None:
            node = Node("qualified", (node,), qualifier)
        return node

    def qualifier(self) -> str | None:
        word = self.keyword("WITHIN", "REPEATS", "START")
        if word == "WITHIN":
            amount = self.literal()
            self.keyword("SECONDS") or self._fail("SECONDS")
            return f"WITHIN {amount} SECONDS"
        if word == "REPEATS":
            amount = self.literal()
            self.keyword("TIMES") or self._fail("TIMES")
            return f"REPEATS {amount} TIMES"
        if word == "START":
            start = self.literal()
            self.keyword("STOP") or self._fail("STOP")
            stop = self.literal()
            return f"START {start} STOP {stop}"
        return None

    def _fail(self, wanted: str) -> str:
        where = self.peek().pos if not self.at_end() else "the end"
        raise PatternError(f"expected {wanted} at position {where}")

    def comparison_or(self) -> Any:
        return self._chain("cmp-or", "OR", self.comparison_and)

    def comparison_and(self) -> Any:
        return self._chain("cmp-and", "AND", self.prop_test)

    def prop_test(self) -> Any:
        tok = self.peek()
        if tok.text == "(":
            self._nest()
            self.i += 1
            inner = self.comparison_or()
            self.expect(")")
            self.depth -= 1
            return inner
        if self.keyword("EXISTS"):
            return Node("exists", (self.object_path(),))
        path = self.object_path()
        negated = self.keyword("NOT") is not None
        tok = self.peek()
        if tok.kind == "op":
            self.i += 1
            return Comparison(path, "!=" if tok.text == "<>" else tok.text, negated, self.literal())
        word = self.keyword(*_COMPARISON_WORDS)
        if word == "IN":
            return Comparison(path, "IN", negated, self.set_literal())
        if word is not None:
            return Comparison(path, word, negated, self.literal())
        raise PatternError(f"expected a comparison operator at position {tok.pos}, found {tok.text!r}")

    def object_path(self) -> ObjectPath:
        tok = self.peek()
        if tok.kind != "word" or tok.text.upper() in _KEYWORDS:
            raise PatternError(f"expected an object type at position {tok.pos}, found {tok.text!r}")
        self.i += 1
        self.expect(":")
        steps = [self.path_step()]
        while not self.at_end():
            nxt = self.tokens[self.i]
            if nxt.text == ".":
                self.i += 1
                steps.append(self.path_step())
            elif nxt.text == "[" and self.i + 2 < len(self.tokens) and self.tokens[self.i + 2].text == "]":
                index = self.tokens[self.i + 1]
                if index.kind != "number" and index.text != "*":
                    raise PatternError(f"list index must be a number or '*' at position {index.pos}")
                self.i += 3
                steps.append(f"[{index.text}]")
            else:
                break
        return ObjectPath(tok.text.lower(), tuple(steps))

    def path_step(self) -> str:
        tok = self.peek()
        self.i += 1
        if tok.kind == "word":
            return tok.text
        if tok.kind == "string":
            return unquote(tok.text)
        raise PatternError(f"expected a property name at position {tok.pos}, found {tok.text!r}")

    def literal(self) -> Any:
        tok = self.peek()
        self.i += 1
        if tok.kind == "string":
            return unquote(tok.text)
        if tok.kind == "number":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind == "typed":
            return f"{tok.text[0]}'{unquote(tok.text[1:])}'"
        if tok.kind == "word" and tok.text.lower() in ("true", "false"):
            return tok.text.lower() == "true"
        raise PatternError(f"expected a literal value at position {tok.pos}, found {tok.text!r}")

    def set_literal(self) -> tuple[Any, ...]:
        self.expect("(")
        values: list[Any] = []
        if self.peek().text != ")":
            values.append(self.literal())
            while self.peek().text == ",":
                self.i += 1
                values.append(self.literal())
        self.expect(")")
        return tuple(values)


def unquote(quoted: str) -> str:
    """The text of a quoted STIX string literal."""
    # STIX escapes only the quote and the backslash inside string literals.
    return re.sub(r"\\(.)", r"\1", quoted[1:-1], flags=re.DOTALL)
