"""Sigma correlation rules as the evaluator needs them: ``CorrelationRule``, checked once at conversion.

``convert`` turns one resolved pySigma ``SigmaCorrelationRule`` into a ``CorrelationRule`` or
says, with ``CorrelationRuleError``, what Sontra cannot evaluate (``loader.py`` reads the files).

What is supported: ``event_count``, ``value_count``, ``temporal``, ``temporal_ordered``, with
``group-by``, ``timespan``, ``aliases`` and ``generate``. Conditions: ``gte``/``gt`` (decided as
soon as they hold) for every type, ``lt``/``lte``/``eq``/``neq`` (decided when the window closes)
for the two counting types. ``temporal_ordered`` needs every listed rule, in order. Not supported,
and reported as such: the ``value_sum``/``value_avg``/``value_percentile``/``value_median`` types
and boolean ("extended") conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
)
from sigma.rule import SigmaRule

CorrelationKind = Literal["event_count", "value_count", "temporal", "temporal_ordered"]
Operator = Literal["gte", "gt", "lt", "lte", "eq", "neq"]
KINDS: tuple[CorrelationKind, ...] = ("event_count", "value_count", "temporal", "temporal_ordered")
# Conditions that, once true, stay true as more events arrive: they are decided on arrival.
EARLY_OPERATORS: frozenset[str] = frozenset({"gte", "gt"})


@dataclass(frozen=True, slots=True)
class Condition:
    """``<op>: <count>`` (and ``field`` for value_count) of a correlation rule."""

    op: Operator
    count: int
    field: str | None = None

    @property
    def early(self) -> bool:
        """Whether the condition is decided when it first holds (gte, gt) rather than when the window closes."""
        return self.op in EARLY_OPERATORS

    def holds(self, measured: int) -> bool:
        """Whether the measured count satisfies the condition."""
        op, count = self.op, self.count
        if op == "gte":
            return measured >= count
        if op == "gt":
            return measured > count
        if op == "lt":
            return measured < count
        if op == "lte":
            return measured <= count
        if op == "eq":
            return measured == count
        return measured != count


@dataclass(frozen=True, slots=True)
class RuleReference:
    """One entry of a correlation rule's ``rules:``, resolved: the referenced rule's id and name."""

    reference: str
    id: str | None
    name: str | None
    is_correlation: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """The strings a match of this rule can be routed by: its id, then its name."""
        return tuple(key for key in (self.id, self.name) if key)


@dataclass(frozen=True, slots=True)
class CorrelationRule:
    """A loaded correlation rule. ``slot`` below is the position of a referenced rule in ``rules``.

    ``group_fields[slot]`` are the event fields giving the group-by values for matches of that
    rule (aliases resolved); ``output_fields[i]`` is where the i-th group-by value goes in the alert
    (None for an alias whose rules use different fields: the value is then only in
    ``sontra.correlation.group``).
    """

    id: str
    title: str
    kind: CorrelationKind
    rules: tuple[RuleReference, ...]
    group_by: tuple[str, ...]
    timespan: float  # seconds
    condition: Condition
    group_fields: tuple[tuple[str, ...], ...]
    output_fields: tuple[str | None, ...]
    value_fields: tuple[str | None, ...] = ()
    name: str | None = None
    level: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    author: str | None = None
    generate: bool = False
    path: Path | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The strings other correlation rules may reference this one by."""
        return tuple(dict.fromkeys(key for key in (self.id, self.name) if key))


class CorrelationRuleError(ValueError):
    """A correlation rule that pySigma parsed but Sontra cannot evaluate; the message says why."""


def convert(rule: SigmaCorrelationRule, path: Path | None = None) -> CorrelationRule:
    """One resolved pySigma correlation rule -> ``CorrelationRule``; CorrelationRuleError says what is unsupported."""
    kind = str(rule.type.name).lower()
    if kind not in KINDS:
        raise CorrelationRuleError(f"correlation type {kind!r} is not supported (supported: {', '.join(KINDS)})")
    if not isinstance(rule.condition, SigmaCorrelationCondition):
        raise CorrelationRuleError("boolean (extended) correlation conditions are not supported")
    references = tuple(_reference(ref.reference, ref.rule) for ref in rule.referenced_rules)
    if not references:
        raise CorrelationRuleError("correlation rule references no rule")
    condition = _condition(kind, rule.condition, len(references))
    group_by = tuple(rule.group_by or ())
    aliases = _aliases(rule, references)
    group_fields = tuple(
        tuple(aliases[name][slot] if name in aliases else name for name in group_by) for slot in range(len(references))
    )
    output_fields = tuple(_output_field(name, aliases) for name in group_by)
    value_fields: tuple[str | None, ...] = ()
    if kind == "value_count":
        value_field = condition.field
        assert value_field is not None  # pySigma rejects value_count without field
        value_fields = tuple(
            aliases[value_field][slot] if value_field in aliases else value_field for slot in range(len(references))
        )
    return CorrelationRule(
        id=rule_key(rule) or rule.title,
        title=rule.title,
        kind=kind,  # type: ignore[arg-type]  # checked against KINDS above
        rules=references,
        group_by=group_by,
        timespan=float(rule.timespan.seconds),
        condition=condition,
        group_fields=group_fields,
        output_fields=output_fields,
        value_fields=value_fields,
        name=rule.name,
        level=rule.level.name.lower() if rule.level else None,
        description=rule.description.strip() if rule.description else None,
        tags=tuple(str(tag) for tag in rule.tags),
        references=tuple(rule.references or ()),
        author=rule.author,
        generate=bool(rule.generate),
        path=path,
    )


def silenced_keys(rules: Iterable[CorrelationRule]) -> frozenset[str]:
    """Ids and names of the rules referenced with ``generate: false``: they raise no alert of their own."""
    keys: set[str] = set()
    for rule in rules:
        if not rule.generate:
            for ref in rule.rules:
                keys.update(ref.keys)
    return frozenset(keys)


def _condition(kind: str, condition: SigmaCorrelationCondition, rule_count: int) -> Condition:
    op = condition.op.name.lower()
    fieldref = condition.fieldref
    if isinstance(fieldref, list):
        if len(fieldref) != 1:
            raise CorrelationRuleError(f"condition field must be one field, got {fieldref}")
        fieldref = fieldref[0]
    if kind in ("temporal", "temporal_ordered") and op not in EARLY_OPERATORS:
        raise CorrelationRuleError(f"{kind} supports the conditions gte and gt only, got {op}")
    if kind == "temporal_ordered" and not (op == "gte" and condition.count == rule_count):
        raise CorrelationRuleError(
            f"temporal_ordered needs all {rule_count} rules in order (condition gte: {rule_count}), "
            f"got {op}: {condition.count}"
        )
    if condition.count < 0:
        raise CorrelationRuleError(f"condition count must not be negative, got {condition.count}")
    return Condition(op, condition.count, fieldref)  # type: ignore[arg-type]  # op is one of Operator


def _reference(reference: str, rule: SigmaRule | SigmaCorrelationRule) -> RuleReference:
    rule_id = str(rule.id) if rule.id else None
    if isinstance(rule, SigmaRule) and rule_id is None and not rule.name:
        # The single-event engine identifies such a rule by its title.
        return RuleReference(reference, rule.title, None, False)
    return RuleReference(reference, rule_id, rule.name, isinstance(rule, SigmaCorrelationRule))


def _aliases(rule: SigmaCorrelationRule, references: tuple[RuleReference, ...]) -> dict[str, tuple[str, ...]]:
    """Alias name -> the event field for each slot, in slot order; every referenced rule must be mapped."""
    result: dict[str, tuple[str, ...]] = {}
    for alias in rule.aliases:
        per_slot: list[str | None] = [None] * len(references)
        for ref, field_name in alias.mapping.items():
            slots = [i for i, known in enumerate(references) if ref.reference in (known.reference, *known.keys)]
            if not slots:
                raise CorrelationRuleError(
                    f"alias {alias.alias!r} maps rule {ref.reference!r}, which is not in this correlation's rules"
                )
            for slot in slots:
                per_slot[slot] = field_name
        missing = [references[i].reference for i, value in enumerate(per_slot) if value is None]
        if missing:
            raise CorrelationRuleError(f"alias {alias.alias!r} has no field for rule(s) {', '.join(missing)}")
        result[alias.alias] = tuple(value for value in per_slot if value is not None)
    return result


def _output_field(name: str, aliases: Mapping[str, tuple[str, ...]]) -> str | None:
    if name not in aliases:
        return name
    fields = set(aliases[name])
    return fields.pop() if len(fields) == 1 else None


def rule_key(rule: SigmaCorrelationRule) -> str | None:
    """How a correlation rule is identified: its id, else its name."""
    if rule.id:
        return str(rule.id)
    return rule.name or None


def reason(error: BaseException) -> str:
    """Why a rule did not load, in one line: the error type, unless the message is our own."""
    if isinstance(error, CorrelationRuleError):
        return one_line(error)  # already says what is wrong in Sontra's words
    return f"{type(error).__name__}: {one_line(error)}"


def one_line(error: BaseException) -> str:
    """An error message on one line."""
    return " ".join(str(error).split())
