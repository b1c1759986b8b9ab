"""The compiled form of a rule's condition: a small boolean tree whose leaves are field tests.

The compiler builds ``Node`` trees; ``evaluator`` turns a tree into one plain function of an
``EventView``; the pre-filter reads the literals on the leaves (``Node.literals``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from correlation.sigma.fields import EventView, FieldReader

Check = Callable[[EventView], bool]
Op = Literal["and", "or", "not", "test"]


@dataclass(frozen=True, slots=True)
class Node:
    """An AND/OR/NOT of children, or a test (a check of one field) at a leaf.

    ``literals`` (tests only): lower-cased strings of which at least one occurs in the event's
    searched text whenever the test is true; None when the test promises no literal (a number,
    a regular expression, a null check, ``*``). ``key`` (tests only): for a test that is true only
    when a field equals one of some numbers (``EventID: 4688``), that field and the numbers' keys
    (``numeric_key``), which lets the pre-filter skip the rule for other event ids.
    """

    op: Op
    children: tuple[Node, ...] = ()
    check: Check | None = None
    literals: frozenset[str] | None = None
    key: tuple[FieldReader, frozenset[str]] | None = None


def test(
    check: Check,
    literals: Iterable[str | None] | None = None,
    key: tuple[FieldReader, frozenset[str]] | None = None,
) -> Node:
    """A leaf; ``literals`` are one per alternative the test accepts (None for one with no literal)."""
    found: frozenset[str] | None = None
    if literals is not None:
        items = list(literals)
        if items and all(items):
            found = frozenset(item for item in items if item)
    return Node("test", check=check, literals=found, key=key)


def all_of(children: Iterable[Node]) -> Node:
    """AND of the children (flattened; a single child stands for itself)."""
    return _join("and", children)


def any_of(children: Iterable[Node]) -> Node:
    """OR of the children (flattened; a single child stands for itself)."""
    return _join("or", children)


def negate(child: Node) -> Node:
    """NOT of the child (double negation cancels)."""
    if child.op == "not":
        return child.children[0]
    return Node("not", (child,))


def _join(op: Op, children: Iterable[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if child.op == op else (child,))
    if not flat:
        raise ValueError(f"an {op.upper()} needs at least one operand")
    return flat[0] if len(flat) == 1 else Node(op, tuple(flat))


def evaluator(node: Node) -> Check:
    """One function that evaluates the tree with short-circuiting, children in rule order."""
    if node.op == "test":
        assert node.check is not None
        return node.check
    if node.op == "not":
        inner = evaluator(node.children[0])
        return lambda view: not inner(view)
    checks = tuple(evaluator(child) for child in node.children)
    if node.op == "and":
        if len(checks) == 2:
            first, second = checks
            return lambda view: first(view) and second(view)

        def every(view: EventView) -> bool:
            for check in checks:  # noqa: SIM110 - a plain loop beats all() over a generator on this hot path
                if not check(view):
                    return False
            return True

        return every
    if len(checks) == 2:
        first, second = checks
        return lambda view: first(view) or second(view)

    def some(view: EventView) -> bool:
        for check in checks:  # noqa: SIM110 - a plain loop beats any() over a generator on this hot path
            if check(view):
                return True
        return False

    return some
