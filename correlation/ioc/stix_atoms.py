"""From a parsed STIX pattern to the atomic (type, value) pairs the matcher can look up.

Only what is a plain "any of these values" survives the reduction: equality and ``IN`` on the
supported object paths, ``ISSUBSET`` of an address network, combined by OR (and hashes of one
file combined by AND, since each names that same file). Everything else (AND across objects or
observations, FOLLOWEDBY, MATCHES, LIKE, NOT, qualifiers, other object paths) is reported as
unsupported with its reason, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from correlation.ioc.indicators import IndicatorType
from correlation.ioc.stix_pattern import MAX_PATTERN_LENGTH, Comparison, Node, ObjectPath, parse_pattern, unquote

_HASH_NAMES = {
    "MD5": IndicatorType.MD5,
    "SHA-1": IndicatorType.SHA1,
    "SHA1": IndicatorType.SHA1,
    "SHA-256": IndicatorType.SHA256,
    "SHA256": IndicatorType.SHA256,
}


class Unsupported(Exception):
    """A valid pattern (part) that cannot become atomic indicators; the message is the reason."""


@dataclass(frozen=True, slots=True)
class Atom:
    """One value the pattern matches on: its indicator type hint and the raw value."""

    kind: IndicatorType
    value: str
    path: str


# Most feed patterns are one equality in brackets; reading those without the full parser makes
# a 100k-indicator bundle load several times faster. Anything else goes through the parser.
_SIMPLE = re.compile(
    r"\[\s*(?:(?P<type>ipv4-addr|ipv6-addr|domain-name|url):value|file:hashes\.(?:'(?P<qhash>[A-Za-z0-9-]+)'"
    r"|(?P<hash>[A-Za-z0-9]+)))\s*=\s*'(?P<value>(?:[^'\\]|\\.)*)'\s*\]"
)
_SIMPLE_TYPES = {
    "ipv4-addr": IndicatorType.IP,
    "ipv6-addr": IndicatorType.IP,
    "domain-name": IndicatorType.DOMAIN,
    "url": IndicatorType.URL,
}


def reduce_pattern(text: str) -> tuple[list[Atom], list[str]]:
    """``pattern_atoms(parse_pattern(text))``, with a fast path for single-equality patterns."""
    m = _SIMPLE.fullmatch(text.strip()) if isinstance(text, str) and len(text) <= MAX_PATTERN_LENGTH else None
    if m is not None:
        value = unquote(f"'{m['value']}'")
        if m["type"]:
            return [Atom(_SIMPLE_TYPES[m["type"]], value, f"{m['type']}:value")], []
        name = m["qhash"] or m["hash"]
        kind = _HASH_NAMES.get(name.upper())
        if kind is not None:
            return [Atom(kind, value, f"file:hashes.{name}")], []
    return pattern_atoms(parse_pattern(text))


def pattern_atoms(tree: Any) -> tuple[list[Atom], list[str]]:
    """The atoms an OR-only pattern matches on, and the reasons for every part that was not usable."""
    atoms: list[Atom] = []
    reasons: list[str] = []
    for branch in _or_branches(tree, ("obs-or",)):
        try:
            atoms.extend(_observation_atoms(branch))
        except Unsupported as exc:
            reasons.append(str(exc))
    return atoms, reasons


def _or_branches(tree: Any, kinds: tuple[str, ...]) -> list[Any]:
    if isinstance(tree, Node) and tree.kind in kinds:
        return [leaf for item in tree.items for leaf in _or_branches(item, kinds)]
    return [tree]


def _observation_atoms(node: Any) -> list[Atom]:
    if not isinstance(node, Node):
        raise Unsupported("malformed pattern")
    if node.kind == "followedby":
        raise Unsupported("FOLLOWEDBY")
    if node.kind == "obs-and":
        raise Unsupported("AND of observations")
    if node.kind == "qualified":
        raise Unsupported(f"{node.detail.split()[0]} qualifier")
    atoms: list[Atom] = []
    for branch in _or_branches(node.items[0], ("cmp-or",)):
        atoms.extend(_comparison_atoms(branch))
    return atoms


def _comparison_atoms(node: Any) -> list[Atom]:
    if isinstance(node, Comparison):
        return _atoms_of(node)
    if isinstance(node, Node) and node.kind == "exists":
        raise Unsupported("EXISTS")
    if isinstance(node, Node) and node.kind == "cmp-and":
        # Hashes ANDed on one file all name that same file: any one of them identifies it.
        leaves = [leaf for item in node.items for leaf in _and_leaves(item)]
        if all(isinstance(leaf, Comparison) and _hash_type(leaf.path) is not None for leaf in leaves):
            return [atom for leaf in leaves for atom in _atoms_of(leaf)]
        raise Unsupported("AND of comparisons")
    if isinstance(node, Node) and node.kind == "cmp-or":
        return [atom for item in node.items for atom in _comparison_atoms(item)]
    raise Unsupported("malformed pattern")


def _and_leaves(node: Any) -> list[Any]:
    if isinstance(node, Node) and node.kind == "cmp-and":
        return [leaf for item in node.items for leaf in _and_leaves(item)]
    return [node]


def _atoms_of(cmp: Comparison) -> list[Atom]:
    if cmp.negated:
        raise Unsupported("NOT")
    if cmp.op not in ("=", "IN", "ISSUBSET"):
        raise Unsupported(f"{cmp.op} operator")
    kind = _path_type(cmp.path)
    if cmp.op == "=":
        values: tuple[Any, ...] = (cmp.value,)
    elif cmp.op == "IN":
        values = cmp.value
    elif cmp.op == "ISSUBSET" and kind is IndicatorType.IP:
        values = (cmp.value,)
        kind = IndicatorType.CIDR
    else:
        raise Unsupported(f"{cmp.op} operator")
    atoms = []
    for value in values:
        if not isinstance(value, str):
            raise Unsupported(f"non-string value for {cmp.path}")
        atoms.append(Atom(kind, value, str(cmp.path)))
    return atoms


def _path_type(path: ObjectPath) -> IndicatorType:
    if path.steps == ("value",):
        if path.object_type in ("ipv4-addr", "ipv6-addr"):
            return IndicatorType.IP
        if path.object_type == "domain-name":
            return IndicatorType.DOMAIN
        if path.object_type == "url":
            return IndicatorType.URL
    hash_type = _hash_type(path)
    if hash_type is not None:
        return hash_type
    if path.object_type == "file" and len(path.steps) == 2 and path.steps[0] == "hashes":
        raise Unsupported(f"hash type {path.steps[1]}")
    raise Unsupported(f"object path {_path_family(path)}")


def _hash_type(path: ObjectPath) -> IndicatorType | None:
    if path.object_type == "file" and len(path.steps) == 2 and path.steps[0] == "hashes":
        return _HASH_NAMES.get(path.steps[1].upper())
    return None


def _path_family(path: ObjectPath) -> str:
    # Reasons are counted, so keep them few: object type and first property, not every list index.
    return f"{path.object_type}:{path.steps[0]}" if path.steps else path.object_type
