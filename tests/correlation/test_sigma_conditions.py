"""Sigma condition forms: and, or, not, parentheses, ``1 of``/``all of`` with ``them`` and name patterns."""

from __future__ import annotations

import pytest

from correlation.sigma import SigmaEngine
from tests.correlation.sigma_support import engine_with, fires, unit_event, unit_rule

# Three named detections over one field each: a, b, c (set to "1" to make the detection true).
DETECTIONS = """
sel_a:
  A: '1'
sel_b:
  B: '1'
filter_c:
  C: '1'
"""


def with_condition(condition: str) -> SigmaEngine:
    return engine_with(unit_rule(f"{DETECTIONS}condition: {condition}"))


def truth_table(condition: str) -> dict[str, bool]:
    """Which of the eight a/b/c combinations the condition accepts, keyed like 'a.c' ('' for none)."""
    engine = with_condition(condition)
    table = {}
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                values = {"A": str(a), "B": str(b), "C": str(c)}
                key = ".".join(name for name, on in zip("abc", (a, b, c), strict=True) if on)
                table[key] = fires(engine, unit_event(**values))
    return table


def accepted(condition: str) -> set[str]:
    return {key for key, value in truth_table(condition).items() if value}


def test_and_or_not() -> None:
    assert accepted("sel_a and sel_b") == {"a.b", "a.b.c"}
    assert accepted("sel_a or sel_b") == {"a", "b", "a.b", "a.c", "b.c", "a.b.c"}
    assert accepted("not sel_a") == {"", "b", "c", "b.c"}


def test_precedence_not_then_and_then_or_and_parentheses() -> None:
    # a or (b and (not c))
    assert accepted("sel_a or sel_b and not filter_c") == {"a", "b", "a.b", "a.c", "a.b.c"}
    # (a or b) and not c
    assert accepted("(sel_a or sel_b) and not filter_c") == {"a", "b", "a.b"}
    assert accepted("not (sel_a or sel_b)") == {"", "c"}


def test_one_of_and_all_of_name_patterns() -> None:
    assert accepted("1 of sel_*") == accepted("sel_a or sel_b")
    assert accepted("all of sel_*") == accepted("sel_a and sel_b")
    assert accepted("all of sel_* and not 1 of filter_*") == {"a.b"}
    assert accepted("any of sel_*") == accepted("1 of sel_*")


def test_them_means_every_detection() -> None:
    assert accepted("1 of them") == {"a", "b", "c", "a.b", "a.c", "b.c", "a.b.c"}
    assert accepted("all of them") == {"a.b.c"}


def test_a_map_is_and_a_list_of_maps_is_or() -> None:
    both = engine_with(unit_rule("sel:\n  A: '1'\n  B: '1'\ncondition: sel"))
    either = engine_with(unit_rule("sel:\n  - A: '1'\n  - B: '1'\ncondition: sel"))
    assert not fires(both, unit_event(A="1", B="0"))
    assert fires(both, unit_event(A="1", B="1"))
    assert fires(either, unit_event(A="1", B="0"))
    assert not fires(either, unit_event(A="0", B="0"))


def test_several_conditions_are_alternatives() -> None:
    engine = engine_with(unit_rule(f"{DETECTIONS}condition:\n  - sel_a and sel_b\n  - filter_c"))
    assert fires(engine, unit_event(A="1", B="1"))
    assert fires(engine, unit_event(C="1"))
    assert not fires(engine, unit_event(A="1"))


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ("sel_a and missing", "'missing'"),
        ("1 of nothing_*", "matches no detection"),
        ("sel_a | count() > 5", "pipe"),
        ("sel_a and (sel_b", ""),
    ],
)
def test_bad_conditions_do_not_load_and_say_why(condition: str, reason: str) -> None:
    report = SigmaEngine().load_yaml(unit_rule(f"{DETECTIONS}condition: {condition}"))
    assert report.loaded == 0
    assert len(report.failures) == 1
    assert reason in report.failures[0].reason
    assert report.failures[0].reason
