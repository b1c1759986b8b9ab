"""A Sigma rule (parsed by pySigma, fields mapped by the pipeline) -> a compiled matcher.

The condition is taken from pySigma's parse tree (``ConditionAND/OR/NOT``, identifiers and
``1 of``/``all of`` selectors, resolved with pySigma's own name-pattern logic), and each named
detection from its ``SigmaDetection``/``SigmaDetectionItem`` objects, so every item keeps its
field, modifiers' results, value linking and negation. Each rule compiles once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from correlation.sigma.fields import FieldReader, ReaderCatalog
from correlation.sigma.logsource import LogsourceKey, rule_key
from correlation.sigma.nodes import Check, Node, all_of, any_of, evaluator, negate
from correlation.sigma.values import CompileError, item_node, keyword_reader


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What an alert says about the rule that raised it."""

    id: str
    title: str
    level: str | None
    description: str | None
    tags: tuple[str, ...]
    logsource: LogsourceKey
    path: Path | None = None
    status: str | None = None
    references: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """One rule matching one event."""

    rule: RuleInfo
    event: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to match: its description, its condition tree and the function evaluating it."""

    info: RuleInfo
    tree: Node
    matches: Check = field(repr=False)


def rule_info(rule: SigmaRule, path: Path | None = None) -> RuleInfo:
    """The alert-facing metadata of a parsed rule."""
    return RuleInfo(
        id=str(rule.id) if rule.id else (rule.name or rule.title),
        title=rule.title,
        level=rule.level.name.lower() if rule.level else None,
        description=rule.description,
        tags=tuple(str(tag) for tag in rule.tags),
        logsource=rule_key(rule.logsource),
        path=path,
        status=rule.status.name.lower() if rule.status else None,
        references=tuple(rule.references),
        falsepositives=tuple(rule.falsepositives),
        author=rule.author,
    )


def compile_rule(
    rule: SigmaRule,
    fallbacks: Mapping[str, tuple[str, ...]],
    readers: ReaderCatalog,
    path: Path | None = None,
) -> CompiledRule:
    """Compile a rule whose pipeline was already applied; raises CompileError (or SigmaError) with the reason."""
    compiler = _RuleCompiler(rule, fallbacks, readers)
    conditions = rule.detection.parsed_condition
    tree = any_of(compiler.condition(condition.parse(postprocess=False)) for condition in conditions)
    return CompiledRule(rule_info(rule, path), tree, evaluator(tree))


class _RuleCompiler:
    """Compiles one rule's condition, sharing the compiled form of each named detection."""

    def __init__(self, rule: SigmaRule, fallbacks: Mapping[str, tuple[str, ...]], readers: ReaderCatalog) -> None:
        self.rule = rule
        self.fallbacks = fallbacks
        self.readers = readers
        self.named: dict[str, Node] = {}

    def condition(self, node: Any) -> Node:
        """The tree of a (not post-processed) pySigma condition node."""
        if isinstance(node, ConditionAND):
            return all_of(self.condition(arg) for arg in node.args)
        if isinstance(node, ConditionOR):
            return any_of(self.condition(arg) for arg in node.args)
        if isinstance(node, ConditionNOT):
            return negate(self.condition(node.args[0]))
        if isinstance(node, ConditionIdentifier):
            return self.detection_named(node.identifier)
        if isinstance(node, ConditionSelector):
            names = [ident.identifier for ident in node.resolve_referenced_detections(self.rule.detection)]
            if not names:
                raise CompileError(f"condition '{node.args[0]} of {node.pattern}' matches no detection name")
            parts = [self.detection_named(name) for name in names]
            return any_of(parts) if node.cond_class is ConditionOR else all_of(parts)
        if isinstance(node, ConditionItem):
            raise CompileError(f"condition element {type(node).__name__} is not supported")
        raise CompileError(f"unexpected condition element {node!r}")

    def detection_named(self, name: str) -> Node:
        """The compiled named detection (``selection``, ``filter_main_x``...)."""
        found = self.named.get(name)
        if found is None:
            try:
                detection = self.rule.detection.detections[name]
            except KeyError:
                raise CompileError(f"condition names detection '{name}', which the rule does not define") from None
            found = self.named[name] = self.detection(detection)
        return found

    def detection(self, detection: SigmaDetection) -> Node:
        """A detection: its items AND-linked (a map) or OR-linked (a list of maps or values)."""
        parts = [
            self.detection(item) if isinstance(item, SigmaDetection) else self.item(item)
            for item in detection.detection_items
        ]
        if not parts:
            raise CompileError("empty detection")
        return all_of(parts) if detection.item_linking is ConditionAND else any_of(parts)

    def item(self, item: SigmaDetectionItem) -> Node:
        """One field (or keyword) with its values."""
        reader = keyword_reader() if item.field is None else self.reader(item.field)
        return item_node(item, reader, self.reader)

    def reader(self, name: str) -> FieldReader:
        """The reader of a mapped field, with its raw fallbacks."""
        return self.readers.get(name, self.fallbacks.get(name, ()))


def failure_reason(exc: Exception) -> str:
    """A one-line reason for a rule that did not load, without pySigma's location suffix noise."""
    if isinstance(exc, CompileError):
        return str(exc)
    if isinstance(exc, SigmaError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
