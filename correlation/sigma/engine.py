"""The streaming Sigma engine: load rules once, then match events one by one or in batches.

Per event: the router gives the event's log source keys; the route for that key set (built on
first use, then cached) holds the rules that apply and their literal pre-filter; the event's
text is scanned once, and only the rules that survive are evaluated in full.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sigma.exceptions import SigmaError
from sigma.modifiers import SigmaWideModifier, modifier_mapping

from correlation.sigma.alert import to_alert
from correlation.sigma.compiler import CompiledRule, Match, RuleInfo, compile_rule, failure_reason
from correlation.sigma.fields import EventView, ReaderCatalog
from correlation.sigma.loader import LoadFailure, LoadReport, ParsedRules, read_rules, read_text
from correlation.sigma.logsource import LogsourceKey, Router
from correlation.sigma.pipelines import FIELD_TABLES, FieldTable, build_pipeline, fallbacks_for
from correlation.sigma.prefilter import DEFAULT_SCANNER, SCANNERS, RuleFilter
from correlation.sigma.values import CompileError

log = logging.getLogger(__name__)

# The Sigma specification names UTF-16LE both "wide" and "utf16le"; pySigma 1.x knows only "wide".
modifier_mapping.setdefault("utf16le", SigmaWideModifier)


class _Route:
    """The rules for one set of log source keys, with their pre-filter (None: evaluate every rule)."""

    __slots__ = ("filter", "rules")

    def __init__(self, rules: Sequence[CompiledRule], scanner: str) -> None:
        self.rules = tuple(rules)
        self.filter = RuleFilter([rule.tree for rule in rules], scanner) if scanner != "none" else None


class SigmaEngine:
    """Sigma rules compiled to in-process matchers, routed by log source and pre-filtered by literals.

    ``placeholders`` gives the values of ``%name%`` placeholders (``expand`` modifier);
    ``ruleset`` is written to ``rule.ruleset`` of every alert; ``scanner`` picks the literal
    pre-filter (``hyperscan``, ``ahocorasick``) or turns it off (``none``: every routed rule is
    evaluated, for checking the pre-filter).
    """

    def __init__(
        self,
        placeholders: Mapping[str, Sequence[str]] | None = None,
        ruleset: str = "sigma",
        tables: Sequence[FieldTable] = FIELD_TABLES,
        scanner: str = DEFAULT_SCANNER,
    ) -> None:
        if scanner not in (*SCANNERS, "none"):
            raise ValueError(f"unknown scanner {scanner!r}: expected one of {', '.join(SCANNERS)}, none")
        self.ruleset = ruleset
        self.scanner = scanner
        self._tables = tuple(tables)
        self._pipeline = build_pipeline(placeholders, self._tables)
        self._readers = ReaderCatalog()
        self._router = Router()
        self._rules: list[CompiledRule] = []
        self._by_key: dict[LogsourceKey, list[int]] = {}
        self._routes: dict[tuple[LogsourceKey, ...], _Route] = {}
        self._failing: set[str] = set()
        self.evaluation_errors = 0

    @property
    def rules(self) -> tuple[RuleInfo, ...]:
        """The loaded rules, in load order."""
        return tuple(rule.info for rule in self._rules)

    def load(self, paths: Iterable[str | Path]) -> LoadReport:
        """Load every rule from these files and folders; the report lists each rule that did not load."""
        return self._add_parsed(read_rules(paths))

    def load_yaml(self, text: str, source: str = "<text>") -> LoadReport:
        """Load the rules of one YAML text (one or more documents)."""
        return self._add_parsed(read_text(text, Path(source)))

    def _add_parsed(self, parsed: ParsedRules) -> LoadReport:
        report = parsed.report
        for item in parsed.rules:
            rule = item.rule
            try:
                self._pipeline.apply(rule)
                compiled = compile_rule(rule, fallbacks_for(rule.logsource, self._tables), self._readers, item.path)
            except (SigmaError, CompileError, ValueError, TypeError, KeyError) as exc:
                rule_id = str(rule.id) if rule.id else None
                report.failures.append(LoadFailure(item.path, failure_reason(exc), rule.title, rule_id))
                continue
            self._register(compiled)
            report.loaded += 1
        return report

    def _register(self, compiled: CompiledRule) -> None:
        position = len(self._rules)
        self._rules.append(compiled)
        self._by_key.setdefault(compiled.info.logsource, []).append(position)
        self._routes.clear()

    def match(self, event: Mapping[str, Any]) -> list[Match]:
        """Every rule this event matches, in load order."""
        keys = self._router.event_keys(event)
        route = self._routes.get(keys)
        if route is None:
            route = self._route(keys)
        rules = route.rules
        if not rules:
            return []
        view = EventView(event)
        positions = route.filter.candidates(view) if route.filter is not None else range(len(rules))
        found: list[Match] = []
        for position in positions:
            rule = rules[position]
            try:
                matched = rule.matches(view)
            except Exception:  # a rule must never stop detection for the other rules or events
                self._evaluation_failed(rule)
                continue
            if matched:
                found.append(Match(rule.info, event))
        return found

    def match_batch(self, events: Iterable[Mapping[str, Any]]) -> list[Match]:
        """The matches of every event, event by event."""
        found: list[Match] = []
        for event in events:
            found.extend(self.match(event))
        return found

    def detect(self, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The ingest pipeline's detector: a batch of normalized events in, their ECS alerts out."""
        return [to_alert(match, self.ruleset) for match in self.match_batch(events)]

    def _route(self, keys: tuple[LogsourceKey, ...]) -> _Route:
        positions = sorted({p for key in keys for p in self._by_key.get(key, ())})
        route = _Route([self._rules[p] for p in positions], self.scanner)
        self._routes[keys] = route
        return route

    def _evaluation_failed(self, rule: CompiledRule) -> None:
        self.evaluation_errors += 1
        if rule.info.id not in self._failing:
            self._failing.add(rule.info.id)
            log.exception("Sigma rule %s (%s) failed on an event; later failures are counted only",
                          rule.info.id, rule.info.title)
