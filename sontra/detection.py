"""Detection wired from the config: Sigma rules, correlation rules, IOC feeds, the kill chain, ticket triage.

Shared by `sontra serve`, `sontra ingest`, `sontra detect` and `sontra rules replay`, so that every
entry point runs the same rules the same way. Rules load once; a rule that does not load is logged
with its reason and counted, never fatal; a rule path that does not exist stops start-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge

from correlation.ioc import FeedSpec, IocDetector, IocFeeds
from correlation.sigma import LoadReport, RulePathError, SigmaEngine
from correlation.sigma.pipelines import build_pipeline
from correlation.sigma_correlation import CorrelationLoad, load_correlations
from correlation.stage import DetectionStage, KillChainSettings
from correlation.tickets import AlertTriage, EntityPolicy, SuppressionSet
from sontra.config import ConfigError, SontraConfig
from sontra.rule_paths import active_rule_paths
from storage.workflow import WorkflowDatabase

log = logging.getLogger("sontra.detection")


@dataclass
class RuleSet:
    """The loaded rules: the single-event engine, the correlation rules, and what did not load."""

    engine: SigmaEngine
    report: LoadReport
    correlations: CorrelationLoad
    seconds: float = 0.0
    paths: list[Path] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        """Rules that loaded: single-event plus correlation rules."""
        return self.report.loaded + len(self.correlations.rules)

    @property
    def failed(self) -> int:
        """Rules (or files) that did not load."""
        return len(self.report.failures) + len(self.correlations.failures)

    def entities(self) -> EntityPolicy:
        """How triage groups each rule's alerts into tickets, from the rules' log sources."""
        return EntityPolicy.from_rules((rule.id, rule.logsource) for rule in self.engine.rules)


def load_rules(paths: Sequence[str | Path], placeholders: Mapping[str, Sequence[str]] | None = None) -> RuleSet:
    """Load Sigma single-event and correlation rules from files and folders; RulePathError for a missing path."""
    started = time.perf_counter()
    engine = SigmaEngine(placeholders=placeholders)
    report = engine.load(paths) if paths else LoadReport()
    correlations = (
        load_correlations(paths, pipeline=build_pipeline(placeholders)) if paths else CorrelationLoad()
    )
    rules = RuleSet(engine, report, correlations, time.perf_counter() - started, [Path(p) for p in paths])
    for failure in report.failures:
        log.warning("rule not loaded: %s (%s): %s", failure.path, failure.title or failure.rule_id, failure.reason)
    for problem in correlations.failures:
        log.warning("correlation rule not loaded: %s", problem)
    log.info(
        "rules: %d loaded (%d correlation), %d failed, from %d files in %.1f s",
        rules.loaded,
        len(correlations.rules),
        rules.failed,
        report.files,
        rules.seconds,
    )
    return rules


def load_configured_rules(config: SontraConfig) -> RuleSet:
    """The rules `rules.paths` names (default: the built-in pack) and imported rule sets; ConfigError for a bad path."""
    try:
        return load_rules(active_rule_paths(config), config.rules.placeholders)
    except RulePathError as exc:
        raise ConfigError(f"rules.paths: {exc}") from None


def ioc_feeds(config: SontraConfig) -> IocFeeds | None:
    """The configured IOC feeds, loaded (a feed that fails is in ``status()``, not raised); None without any."""
    if not config.ioc.feeds:
        return None
    specs = [
        FeedSpec(f.name, f.path, f.format, confidence=f.confidence, include_non_ids=f.include_non_ids)
        for f in config.ioc.feeds
    ]
    feeds = IocFeeds(specs)
    for state in feeds.status():
        if state.error:
            log.warning("IOC feed %s not loaded: %s", state.spec.name, state.error)
    return feeds


def detection_stage(
    config: SontraConfig,
    rules: RuleSet,
    feeds: IocFeeds | None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DetectionStage:
    """A fresh detection stage (its own correlation and kill-chain state) over the loaded rules and feeds."""
    killchain = KillChainSettings(config.rules.killchain.window_delta, config.rules.killchain.min_phases)
    return DetectionStage(
        rules.engine,
        rules.correlations,
        IocDetector(feeds, clock=clock) if feeds is not None else None,
        killchain=killchain,
        clock=clock,
    )


def alert_triage(
    workflow: WorkflowDatabase, rules: RuleSet, registry: CollectorRegistry | None = None
) -> AlertTriage:
    """Ticket triage for new alerts: suppressions from the workflow DB, entities from the rules' log sources."""
    return AlertTriage(workflow, SuppressionSet(workflow), registry, entities=rules.entities())


def rule_metrics(registry: CollectorRegistry, rules: RuleSet) -> None:
    """Export how many rules loaded and failed (`sontra_rules_loaded`, `sontra_rules_failed`) in /metrics."""
    loaded = Gauge("sontra_rules_loaded", "Detection rules loaded, by kind", ["kind"], registry=registry)
    loaded.labels("sigma").set(rules.report.loaded)
    loaded.labels("correlation").set(len(rules.correlations.rules))
    Gauge("sontra_rules_failed", "Detection rules that did not load", registry=registry).set(rules.failed)
