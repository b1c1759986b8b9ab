"""The detection stage: one pipeline detector running Sigma, IOC, Sigma correlations and the kill chain in order.

The pipeline runs each detector independently on a batch, but the correlation evaluator needs the
Sigma engine's matches (not its alerts) and the kill chain needs every alert of the batch, so the
four run inside one callable, in this order:

1. single-event Sigma matches -> alerts (rules that only feed a ``generate: false`` correlation
   stay silent);
2. IOC alerts;
3. Sigma correlation alerts from the matches;
4. kill-chain alerts from all of the above.

Not thread-safe (the evaluator and tracker keep state): give it one writer thread, as the ingest
worker does. Replays build their own stage, so the live watermark never sees old events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from correlation.killchain import KillChainTracker, load_definition
from correlation.sigma import SigmaEngine, to_alert
from correlation.sigma_correlation import CorrelationEvaluator, CorrelationLoad
from normalizers.timestamps import format_timestamp

Detector = Callable[[Sequence[dict[str, Any]]], Sequence[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class KillChainSettings:
    """How the kill-chain tracker follows an entity: the window a chain must fit in, and the phases it needs."""

    window: timedelta = timedelta(hours=6)
    min_phases: int = 3


class DetectionStage:
    """Sigma (single event), IOC, Sigma correlations, then the kill chain on every alert of the batch."""

    def __init__(
        self,
        engine: SigmaEngine,
        correlations: CorrelationLoad | None = None,
        ioc: Detector | None = None,
        *,
        killchain: KillChainSettings | KillChainTracker | None = KillChainSettings(),
        evaluator: CorrelationEvaluator | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.correlations = correlations
        self.ioc = ioc
        self._clock = clock
        if evaluator is None and correlations is not None and correlations.rules:
            evaluator = CorrelationEvaluator(correlations.rules, clock=clock)
        self.evaluator = evaluator
        if isinstance(killchain, KillChainSettings):
            killchain = KillChainTracker(
                load_definition(), window=killchain.window, min_phases=killchain.min_phases, clock=clock
            )
        self.killchain = killchain

    def __call__(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alerts this batch of normalized events raises."""
        matches = self.engine.match_batch(events)
        created = format_timestamp(self._clock())
        silenced = self.correlations.is_silenced if self.correlations is not None else None
        alerts = [
            to_alert(m, self.engine.ruleset, created=created)
            for m in matches
            if silenced is None or not silenced(m.rule.id)
        ]
        if self.ioc is not None:
            alerts.extend(self.ioc(events))
        if self.evaluator is not None:
            alerts.extend(self.evaluator.observe_matches(matches))
        if self.killchain is not None:
            alerts.extend(self.killchain.observe(alerts))
        return alerts

    def advance(self) -> list[dict[str, Any]]:
        """Decide correlation windows that closed on a quiet stream (call from a timer)."""
        if self.evaluator is None:
            return []
        return self._with_killchain(self.evaluator.advance(self._clock()))

    def flush(self) -> list[dict[str, Any]]:
        """Decide every open correlation window (the end of an imported file or a replay)."""
        if self.evaluator is None:
            return []
        return self._with_killchain(self.evaluator.flush())

    def _with_killchain(self, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if alerts and self.killchain is not None:
            alerts = alerts + self.killchain.observe(alerts)
        return alerts
