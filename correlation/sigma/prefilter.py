"""Pre-filter: skip rules that cannot match an event, before evaluating them.

Two necessary conditions are read off each rule's condition tree:

- literal groups (``literal_groups``): groups of lower-cased literals such that, for the rule to
  match, every group has a literal in the event's searched text. A test's literals form a group;
  an AND collects its children's groups; an OR gives one group, the union of the best group of
  each branch (every branch must promise one); a NOT promises nothing.
- a key (``required_keys``): the numbers a field must equal (Windows rules' ``EventID``).

Per route, one multi-literal scan of the event text (Hyperscan when installed, else pyahocorasick)
finds the literals present; a rule is evaluated only if its trigger group was hit and its key (if
any) allows the event's value. Which group is the trigger is first decided statically (longest
literals), then re-decided from the literal frequencies seen in the route's first events: every
group is necessary, so the choice changes speed, never results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from correlation.sigma.fields import EventView, FieldReader
from correlation.sigma.nodes import Node
from correlation.sigma.scanners import DEFAULT_SCANNER, SCANNERS, TextScanner
from correlation.sigma.values import numeric_key

# Before calibration a group's worth is guessed from its shortest literal: short ASCII literals
# tend to occur everywhere, a non-ASCII character (a Cyrillic homoglyph, U+202E, an emoji) is
# rare whatever its length, so it counts as this many ASCII characters.
NON_ASCII_WEIGHT = 3
CALIBRATION_EVENTS = 100
# After calibration, a rule whose best group still occurred in more than this share of the
# events is simply evaluated every time: scanning for its literals would cost more than it saves.
USELESS_SHARE = 0.5
# Relative costs, per event, of evaluating a rule and of having one more literal in the scan
# (scan time grows with the number of literals): a trigger of 100 literals that never occur
# costs about as much as a single literal found in one event out of ten.
EVALUATION_COST = 1.0
LITERAL_SCAN_COST = 0.001

LiteralGroup = frozenset[str]
Score = Callable[[LiteralGroup], Any]  # lower is better: cheaper to use as a trigger


def _weight(literal: str) -> int:
    """How selective a literal is: its length, with a non-ASCII character worth an ASCII trigram."""
    return len(literal) + (0 if literal.isascii() else NON_ASCII_WEIGHT)


def static_score(group: LiteralGroup) -> tuple[int, int]:
    """Before any event was seen: the longest shortest literal first, then the fewest literals."""
    return (-min(map(_weight, group)), len(group))


def literal_groups(node: Node, score: Score = static_score) -> list[LiteralGroup]:
    """Groups of literals, each of which must have one literal in the event for the tree to be true."""
    if node.op == "test":
        return [node.literals] if node.literals else []
    if node.op == "not":
        return []
    if node.op == "and":
        groups: list[LiteralGroup] = []
        for child in node.children:
            for group in literal_groups(child, score):
                if group not in groups:
                    groups.append(group)
        return groups
    union: set[str] = set()
    for child in node.children:
        branch = literal_groups(child, score)
        if not branch:
            return []
        union.update(min(branch, key=score))
    return [frozenset(union)]


def every_literal(node: Node) -> set[str]:
    """Every usable literal of every test in the tree (what calibration counts)."""
    if node.op == "test":
        return set(node.literals or ())
    found: set[str] = set()
    for child in node.children:
        found.update(every_literal(child))
    return found


def required_keys(node: Node) -> dict[FieldReader, frozenset[str]]:
    """Field -> the numeric keys one of which the field must have for the tree to be true."""
    if node.op == "test":
        return {node.key[0]: node.key[1]} if node.key else {}
    if node.op == "not":
        return {}
    found = [required_keys(child) for child in node.children]
    if node.op == "and":
        merged: dict[FieldReader, frozenset[str]] = {}
        for keys in found:
            for reader, allowed in keys.items():
                merged[reader] = merged[reader] & allowed if reader in merged else allowed
        return merged
    shared = set(found[0]).intersection(*found[1:]) if found else set()
    return {reader: frozenset().union(*(keys[reader] for keys in found)) for reader in shared}


@dataclass(frozen=True, slots=True)
class _Index:
    """Trigger literals, the rules each one triggers, the rules always evaluated; the first ``counted`` literals
    are scanned only to count them (calibration)."""

    scanner: TextScanner | None
    literals: list[str]
    owners: list[tuple[int, ...]]
    always: tuple[int, ...]
    counted: int


class RuleFilter:
    """The rules of one route (by position), indexed by trigger literals and by key."""

    def __init__(self, trees: Sequence[Node], scanner: str = DEFAULT_SCANNER, calibration: int = CALIBRATION_EVENTS):
        if scanner not in SCANNERS:
            raise ValueError(f"unknown literal scanner {scanner!r}: expected one of {', '.join(SCANNERS)}")
        self._scanner_kind = scanner
        self._trees = list(trees)
        self._key_reader, keys = _choose_key(self._trees)
        # Rules that need certain keys: blocked unless the event has one (set operations, in C).
        self._keyed = frozenset(keys)
        self._allowed: dict[str, frozenset[int]] = {}
        for position, wanted in keys.items():
            for key in wanted:
                self._allowed[key] = self._allowed.get(key, frozenset()) | {position}
        self._calibration = calibration
        self._events = 0
        self._counts: dict[str, int] = {}
        counting = set().union(*(every_literal(tree) for tree in self._trees)) if calibration > 0 else set()
        self._build(static_score, sorted(counting))

    def _build(self, score: Score, counted: Sequence[str], useless: float | None = None) -> None:
        """Index every rule under its best-scoring group; ``counted`` literals are scanned for calibration.

        With ``useless`` (a share of events), a rule whose best group was hit more often is always evaluated.
        """
        literals: list[str] = list(counted)
        index = {literal: i for i, literal in enumerate(literals)}
        owners: list[list[int]] = [[] for _ in literals]
        always: list[int] = []
        for position, tree in enumerate(self._trees):
            groups = literal_groups(tree, score)
            best = min(groups, key=score) if groups else None
            if best is None or (useless is not None and score(best)[1] > useless):
                always.append(position)
                continue
            for literal in sorted(best):
                if literal not in index:
                    index[literal] = len(literals)
                    literals.append(literal)
                    owners.append([])
                owners[index[literal]].append(position)
        scanner = TextScanner(literals, self._scanner_kind) if literals else None
        # One attribute, replaced whole: a thread matching while calibration ends sees either the
        # old index or the new one, never literal ids of one with owners of the other.
        self._index = _Index(scanner, literals, [tuple(positions) for positions in owners], tuple(always), len(counted))

    def candidates(self, view: EventView) -> list[int]:
        """Positions (ascending) of the rules that may match this event."""
        index = self._index
        found = set(index.always)
        if index.scanner is not None:
            seen = index.scanner.scan(view.text())
            owners = index.owners
            for literal in seen:
                found.update(owners[literal])
            if index.counted:
                self._learn(index, seen)
        if self._keyed:
            allowed = self._allowed
            permitted = frozenset().union(
                *[allowed.get(numeric_key(value), ()) for value in view.values[self._key_reader]]  # type: ignore[index]
            )
            found = (found - self._keyed) | (found & permitted)
        return sorted(found)

    def _learn(self, index: _Index, seen: set[int]) -> None:
        """Count literal occurrences; after enough events, re-choose every trigger by observed frequency."""
        counts = self._counts
        for literal in seen:
            if literal < index.counted:
                name = index.literals[literal]
                counts[name] = counts.get(name, 0) + 1
        self._events += 1
        if self._events < self._calibration:
            return

        events = self._events

        def observed(group: LiteralGroup) -> tuple[float, float, tuple[int, int]]:
            # Expected cost per event: evaluating the rule when the group is hit, plus scanning for
            # its ASCII literals (non-ASCII ones are looked for in a few bytes only: nearly free).
            hits = sum(counts.get(literal, 0) for literal in group) / events
            scanned = sum(1 for literal in group if literal.isascii())
            return (hits * EVALUATION_COST + scanned * LITERAL_SCAN_COST, hits, static_score(group))

        self._build(observed, (), useless=USELESS_SHARE)


def _choose_key(trees: Sequence[Node]) -> tuple[FieldReader | None, Mapping[int, frozenset[str]]]:
    """The field most rules of the route require numbers of (EventID), and each such rule's numbers."""
    required = [required_keys(tree) for tree in trees]
    usage: dict[FieldReader, int] = {}
    for keys in required:
        for reader in keys:
            usage[reader] = usage.get(reader, 0) + 1
    if not usage:
        return None, {}
    reader = max(usage, key=lambda r: (usage[r], r.name))
    return reader, {position: keys[reader] for position, keys in enumerate(required) if reader in keys}
