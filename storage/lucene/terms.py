"""A query term as the analyst typed it: unescaped text and, when it holds wildcards, its pieces.

Shared by the SQL translator and the in-memory matcher so both read escapes and wildcards alike.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import luqum.tree as lq

from storage.sqlite.codec import ip_key


@dataclass(frozen=True, slots=True)
class Term:
    """Unescaped text, whether it holds ``*``/``?`` wildcards, and its (is_wildcard, character) pieces."""

    text: str
    wildcard: bool
    pieces: tuple[tuple[bool, str], ...] = ()

    def glob(self, lower: bool = False) -> str:
        """The SQLite GLOB pattern of this wildcard term (GLOB is case-sensitive)."""
        escape = {"*": "[*]", "?": "[?]", "[": "[[]"}
        return "".join(
            ch if wild else escape.get(ch, ch).lower() if lower else escape.get(ch, ch) for wild, ch in self.pieces
        )

    def pattern(self, lower: bool = False) -> str:
        """The term as a regular expression for a full match (``*`` any run, ``?`` one character)."""
        return "".join(
            (".*" if ch == "*" else ".") if wild else re.escape(ch.lower() if lower else ch) for wild, ch in self.pieces
        )


def parse_term(node: lq.Word | lq.Phrase) -> Term:
    """Read a luqum Word or Phrase into a Term (backslash escapes removed, wildcards marked)."""
    raw = node.value
    if isinstance(node, lq.Phrase):
        return Term(re.sub(r"\\(.)", r"\1", raw[1:-1], flags=re.S), False)
    pieces: list[tuple[bool, str]] = []
    escaped = False
    for ch in raw:
        if escaped:
            pieces.append((False, ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            pieces.append((ch in "*?", ch))
    return Term("".join(ch for _, ch in pieces), any(w for w, _ in pieces), tuple(pieces))


def ip_range(text: str) -> tuple[bytes, bytes] | None:
    """The first and last 16-byte IP keys of an address or CIDR block; None when ``text`` is neither."""
    if "/" not in text:
        key = ip_key(text)
        return None if key is None else (key, key)
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    low, high = ip_key(str(net.network_address)), ip_key(str(net.broadcast_address))
    assert low is not None and high is not None
    return low, high
