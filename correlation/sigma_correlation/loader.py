"""Sigma rule files -> loaded correlation rules, with the reason for every one that did not load.

Rules are read with pySigma 1.x. Base rules and correlation rules may sit in the same file
(YAML documents separated by ``---``, as in the Sigma specification) or in different files of the
loaded folders: references (``rules:`` by id or name) are resolved across everything loaded. A
broken correlation rule costs only itself and the correlation rules that reference it; the report
names each one and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaYAMLLoader

from correlation.sigma.loader import rule_files
from correlation.sigma_correlation.rules import (
    CorrelationRule,
    CorrelationRuleError,
    convert,
    one_line,
    reason,
    rule_key,
    silenced_keys,
)


@dataclass(frozen=True, slots=True)
class CorrelationFailure:
    """A correlation rule (or a file) that did not load, and why."""

    path: Path | None
    reason: str
    title: str | None = None
    rule_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        what = f"{self.title!r}: " if self.title else ""
        return f"{where}{what}{self.reason}"


@dataclass
class CorrelationLoad:
    """The correlation rules that loaded, each one that did not, and the rules whose own alerts are off.

    ``silenced`` holds the ids and names of rules referenced by a correlation rule with
    ``generate: false`` (the Sigma default): their matches feed the correlation but raise no alert
    of their own. The single-event engine's detector must drop alerts of these rules.
    """

    rules: list[CorrelationRule] = field(default_factory=list)
    failures: list[CorrelationFailure] = field(default_factory=list)
    silenced: frozenset[str] = frozenset()
    files: int = 0

    def is_silenced(self, rule_id: str) -> bool:
        """Whether a rule (by id or name) only feeds correlations and raises no alert of its own."""
        return rule_id in self.silenced


def load_correlations(paths: Iterable[str | Path], pipeline: ProcessingPipeline | None = None) -> CorrelationLoad:
    """Load the correlation rules of these files and folders, resolving references across all of them.

    ``pipeline`` (the Sigma engine's field mapping) is applied to each correlation rule, so its
    group-by and value fields get the same event field names as its base rules' fields.
    """
    files = rule_files(paths)
    load = CorrelationLoad(files=len(files))
    documents: list[tuple[Path, list[dict[str, Any]]]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            load.failures.append(CorrelationFailure(path, f"cannot read file: {exc}"))
            continue
        parsed = _documents(text, path, load)
        if parsed:
            documents.append((path, parsed))
    _build(documents, load, pipeline)
    return load


def parse_correlations(
    text: str, source: str = "<text>", pipeline: ProcessingPipeline | None = None
) -> CorrelationLoad:
    """Load the correlation rules of one YAML text (base rules they reference may be in it too)."""
    path = Path(source)
    load = CorrelationLoad(files=1)
    parsed = _documents(text, path, load)
    _build([(path, parsed)] if parsed else [], load, pipeline)
    return load


def _documents(text: str, path: Path, load: CorrelationLoad) -> list[dict[str, Any]]:
    try:
        documents = [doc for doc in yaml.load_all(text, Loader=SigmaYAMLLoader) if doc is not None]
    except yaml.YAMLError as exc:
        load.failures.append(CorrelationFailure(path, f"invalid YAML: {one_line(exc)}"))
        return []
    if not all(isinstance(doc, dict) for doc in documents):
        load.failures.append(CorrelationFailure(path, "a YAML document in this file is not a mapping"))
        return []
    return documents


def _build(
    documents: list[tuple[Path, list[dict[str, Any]]]], load: CorrelationLoad, pipeline: ProcessingPipeline | None
) -> None:
    base: list[SigmaRule] = []
    correlations: list[tuple[Path, SigmaCorrelationRule]] = []
    for path, docs in documents:
        source = SigmaRuleLocation(path)
        plain = [doc for doc in docs if "correlation" not in doc]
        for doc in docs:
            if "correlation" not in doc:
                continue
            # One document at a time: pySigma raises from some checks even when collecting errors,
            # and one bad correlation rule must not hide the others.
            try:
                rule = SigmaCorrelationRule.from_dict(doc, collect_errors=True, source=source)
            except (SigmaError, ValueError, TypeError, KeyError, AttributeError) as exc:
                title, rule_id = _str(doc.get("title")), _str(doc.get("id"))
                load.failures.append(CorrelationFailure(path, reason(exc), title, rule_id))
                continue
            correlations.append((path, rule))
        try:
            collection = SigmaCollection.from_dicts(plain, collect_errors=True, source=source, resolve_references=False)
        except (SigmaError, ValueError, TypeError, KeyError, AttributeError):
            continue  # the single-event engine reports these files; only correlation rules are ours
        base.extend(rule for rule in collection.rules if isinstance(rule, SigmaRule))
    everything = SigmaCollection([*base, *(rule for _, rule in correlations)], resolve_references=False)
    converted: dict[int, CorrelationRule] = {}
    for path, rule in correlations:
        try:
            if rule.errors:
                raise CorrelationRuleError("; ".join(reason(error) for error in rule.errors))
            rule.resolve_rule_references(everything)
            _check_references(rule)
            if pipeline is not None:
                pipeline.apply(rule)
            converted[id(rule)] = convert(rule, path)
        except (SigmaError, CorrelationRuleError, ValueError, TypeError, KeyError) as exc:
            load.failures.append(CorrelationFailure(path, reason(exc), rule.title or None, rule_key(rule)))
    _drop_dependents_of_failures(correlations, converted, load)
    load.rules = [converted[id(rule)] for _, rule in correlations if id(rule) in converted]
    load.silenced = silenced_keys(load.rules)


def _check_references(rule: SigmaCorrelationRule) -> None:
    for ref in rule.referenced_rules:
        target = ref.rule
        if target.errors:
            reason = "; ".join(reason(error) for error in target.errors)
            raise CorrelationRuleError(f"referenced rule {ref.reference!r} does not load: {reason}")


def _drop_dependents_of_failures(
    correlations: list[tuple[Path, SigmaCorrelationRule]], converted: dict[int, CorrelationRule], load: CorrelationLoad
) -> None:
    """A correlation rule that references a failed (or cyclic) correlation rule can never fire: fail it too."""
    changed = True
    while changed:
        changed = False
        for path, rule in correlations:
            if id(rule) not in converted:
                continue
            for ref in rule.referenced_rules:
                target = ref.rule
                if isinstance(target, SigmaCorrelationRule) and (id(target) not in converted or _reaches(target, rule)):
                    why = "is part of a reference cycle" if id(target) in converted else "did not load"
                    load.failures.append(
                        CorrelationFailure(
                            path,
                            f"referenced correlation rule {ref.reference!r} {why}",
                            rule.title or None,
                            rule_key(rule),
                        )
                    )
                    del converted[id(rule)]
                    changed = True
                    break


def _reaches(start: SigmaCorrelationRule, goal: SigmaCorrelationRule) -> bool:
    """Whether ``start`` references ``goal``, directly or through other correlation rules."""
    seen: set[int] = set()
    stack = [start]
    while stack:
        rule = stack.pop()
        if rule is goal:
            return True
        if id(rule) in seen:
            continue
        seen.add(id(rule))
        stack.extend(
            ref.rule
            for ref in rule.referenced_rules
            if hasattr(ref, "rule") and isinstance(ref.rule, SigmaCorrelationRule)
        )
    return False


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None
