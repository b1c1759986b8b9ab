"""Sigma rule files and folders -> pySigma rules, with the reason for every rule that did not parse.

Each file is read on its own, so a broken file costs only its own rules and the report can name
it. YAML is read with pySigma's loader (libyaml, duplicate keys rejected), then handed to
``SigmaCollection.from_dicts`` with error collection on. Sigma filters (``filter:`` documents)
found anywhere in the loaded paths are applied to every rule they name; correlation rules are
stateful and belong to the correlation stage, so they are reported as skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaYAMLLoader

RULE_SUFFIXES = (".yml", ".yaml")


class RulePathError(ValueError):
    """A path given to load rules from does not exist or is not a file or folder."""


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """A rule (or a whole file) that did not load, and why."""

    path: Path
    reason: str
    title: str | None = None
    rule_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``sontra rules check --json``."""
        return {"path": str(self.path), "title": self.title, "id": self.rule_id, "reason": self.reason}


@dataclass
class LoadReport:
    """How many rules loaded, and each one that did not (failed) or was left to another stage (skipped)."""

    loaded: int = 0
    failures: list[LoadFailure] = field(default_factory=list)
    skipped: list[LoadFailure] = field(default_factory=list)
    files: int = 0
    filters: int = 0

    @property
    def total(self) -> int:
        """Detection rules found: loaded plus failed (skipped correlation rules are not counted)."""
        return self.loaded + len(self.failures)

    @property
    def loaded_share(self) -> float:
        """Loaded / total, 1.0 when there was nothing to load."""
        return self.loaded / self.total if self.total else 1.0

    def add(self, other: LoadReport) -> None:
        """Fold another report into this one."""
        self.loaded += other.loaded
        self.failures.extend(other.failures)
        self.skipped.extend(other.skipped)
        self.files += other.files
        self.filters += other.filters

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with every failure."""
        return {
            "files": self.files,
            "total": self.total,
            "loaded": self.loaded,
            "failed": len(self.failures),
            "skipped": len(self.skipped),
            "filters": self.filters,
            "failures": [failure.to_dict() for failure in self.failures],
            "skipped_rules": [item.to_dict() for item in self.skipped],
        }


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """A detection rule pySigma parsed without errors, and the file it came from."""

    rule: SigmaRule
    path: Path


@dataclass
class ParsedRules:
    """What reading the rule files gave: parsed rules plus the report of what did not parse."""

    rules: list[ParsedRule] = field(default_factory=list)
    report: LoadReport = field(default_factory=LoadReport)


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """The rule files to read: each file as given, each folder's .yml/.yaml files (recursive, sorted)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.suffix.lower() in RULE_SUFFIXES and not p.name.startswith(".")
                )
            )
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise RulePathError(f"{path}: not a regular file or folder")
        else:
            raise RulePathError(f"{path}: no such file or folder")
    return files


def read_rules(paths: Iterable[str | Path]) -> ParsedRules:
    """Parse every rule in the given files and folders."""
    result = ParsedRules()
    filters: list[SigmaFilter] = []
    for path in rule_files(paths):
        result.report.files += 1
        filters.extend(_read_file(path, result))
    if filters:
        result.report.filters = len(filters)
        for parsed in result.rules:
            for sigma_filter in filters:
                sigma_filter.apply_on_rule(parsed.rule)
    return result


def read_text(text: str, source: Path) -> ParsedRules:
    """Parse the rules in one YAML text (tests, API uploads); ``source`` names it in failures."""
    result = ParsedRules()
    result.report.files = 1
    filters = _read_documents(text, source, result)
    result.report.filters = len(filters)
    for parsed in result.rules:
        for sigma_filter in filters:
            sigma_filter.apply_on_rule(parsed.rule)
    return result


def _read_file(path: Path, result: ParsedRules) -> list[SigmaFilter]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        result.report.failures.append(LoadFailure(path, f"cannot read file: {exc}"))
        return []
    return _read_documents(text, path, result)


def _read_documents(text: str, path: Path, result: ParsedRules) -> list[SigmaFilter]:
    """Parse one file's YAML documents into ``result``; returns the filters it defines."""
    try:
        documents = [doc for doc in yaml.load_all(text, Loader=SigmaYAMLLoader) if doc is not None]
    except yaml.YAMLError as exc:
        result.report.failures.append(LoadFailure(path, f"invalid YAML: {_one_line(exc)}"))
        return []
    if not documents:
        result.report.failures.append(LoadFailure(path, "no Sigma rule in file (empty YAML)"))
        return []
    if not all(isinstance(doc, dict) for doc in documents):
        result.report.failures.append(LoadFailure(path, "a YAML document in this file is not a mapping"))
        return []
    try:
        collection = SigmaCollection.from_dicts(
            documents, collect_errors=True, collect_filters=True, resolve_references=False
        )
    except (SigmaError, ValueError, TypeError, KeyError, AttributeError) as exc:
        result.report.failures.append(LoadFailure(path, _reason(exc)))
        return []
    for error in collection.errors:
        if not _belongs_to_a_rule(error, collection):
            result.report.failures.append(LoadFailure(path, _reason(error)))
    for rule in collection.rules:
        title = getattr(rule, "title", None) or None
        rule_id = str(rule.id) if getattr(rule, "id", None) else None
        if rule.errors:
            reason = "; ".join(_reason(error) for error in rule.errors)
            result.report.failures.append(LoadFailure(path, reason, title, rule_id))
        elif isinstance(rule, SigmaCorrelationRule):
            reason = "correlation rule: stateful, run by the correlation stage, not the single-event engine"
            result.report.skipped.append(LoadFailure(path, reason, title, rule_id))
        elif isinstance(rule, SigmaRule):
            result.rules.append(ParsedRule(rule, path))
    return list(collection.filters)


def _belongs_to_a_rule(error: SigmaError, collection: SigmaCollection) -> bool:
    return any(error in rule.errors for rule in collection.rules)


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {_one_line(error)}"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
