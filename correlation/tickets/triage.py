"""Alerts into tickets, without flooding: one open ticket per rule and entity, suppressions applied.

For each alert of a batch: already on a ticket (same ``event.id``) -> nothing, it was handled;
matched by a suppression in force -> counted on that suppression, no ticket; below the ticket
level (``informational`` by default: Sigma reserves it for events nobody should be paged for) ->
stored only; otherwise attached to the open ticket (``new`` or ``in_progress``) of its rule and
entity, or a new ticket is opened. A resolved, closed or false-positive ticket is never reopened:
the next alert opens a fresh ticket, whose history names the previous one.

History stays readable: opening a ticket writes one ``created`` line; alerts arriving afterwards
write one ``alert_attached`` line per run, i.e. consecutive attachments with no other history line
in between (an analyst's status change, a comment) update that line's count and last time instead
of adding a line each. The evidence itself, one row per alert, is in ``ticket_alerts``.

A batch is one write transaction. Two triage workers opening the same ticket at once (PostgreSQL)
collide on the one-open-ticket index; the loser rolls back and redoes its batch, then finds the
ticket open and attaches. Metrics are counted only after the commit, so a retry never counts twice.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from correlation.tickets.alert import LEVELS, UNKNOWN_LEVEL, AlertFacts, InvalidAlert, read_alert
from correlation.tickets.entity import EntityPolicy
from correlation.tickets.suppressions import SuppressionSet
from correlation.tickets.ticketing import (
    GroupKey,
    attach_alerts,
    attached_ids,
    find_open_tickets,
    last_history_lines,
    open_ticket,
)
from storage.workflow.columns import utcnow
from storage.workflow.database import WorkflowDatabase
from storage.workflow.models import Suppression, TicketAlert

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
LAG_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)


class TriageMetrics:
    """Detection and ticketing counters in the registry that ``/metrics`` serves."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Histogram(
            "sontra_detection_lag_seconds",
            "Time from the triggering event (@timestamp) to the alert being raised (event.created)",
            registry=registry,
            buckets=LAG_BUCKETS,
        )
        self.alerts = Counter("sontra_alerts", "Alerts triaged, by rule level", ["level"], registry=registry)
        self.suppressed = Counter(
            "sontra_alerts_suppressed", "Alerts kept out of the ticket queue by a suppression", registry=registry
        )
        self.opened = Counter("sontra_tickets_opened", "Tickets opened by alerts", registry=registry)
        for level in (*LEVELS, UNKNOWN_LEVEL):
            self.alerts.labels(level)  # every level shows from the start, at 0


# One set of metrics per registry: a service may run several triages (ingest, replay) on one registry.
_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, TriageMetrics] = weakref.WeakKeyDictionary()


def triage_metrics(registry: CollectorRegistry) -> TriageMetrics:
    """The triage metrics registered in ``registry`` (created on first use)."""
    metrics = _METRICS.get(registry)
    if metrics is None:
        metrics = _METRICS[registry] = TriageMetrics(registry)
    return metrics


@dataclass(slots=True)
class TriageStats:
    """What triaging one batch (or several, added up) did."""

    alerts: int = 0  # alerts seen for the first time
    ticketed: int = 0  # of those, put on a ticket (new or already open)
    suppressed: int = 0
    not_ticketed: int = 0  # below the ticket level
    duplicates: int = 0  # already on a ticket, or twice in the batch
    invalid: int = 0  # no event.id, rule.id or @timestamp
    opened_tickets: list[int] = field(default_factory=list)
    updated_tickets: list[int] = field(default_factory=list)  # already open, got more alerts

    @property
    def opened(self) -> int:
        """Number of tickets opened."""
        return len(self.opened_tickets)

    def add(self, other: TriageStats) -> None:
        """Add another batch's counts to this one."""
        self.alerts += other.alerts
        self.ticketed += other.ticketed
        self.suppressed += other.suppressed
        self.not_ticketed += other.not_ticketed
        self.duplicates += other.duplicates
        self.invalid += other.invalid
        self.opened_tickets.extend(other.opened_tickets)
        self.updated_tickets.extend(t for t in other.updated_tickets if t not in self.updated_tickets)

    def summary(self) -> dict[str, int]:
        """The counts as a plain dict (for ``--json`` output and logs)."""
        return {
            "alerts": self.alerts,
            "ticketed": self.ticketed,
            "suppressed": self.suppressed,
            "not_ticketed": self.not_ticketed,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "tickets_opened": self.opened,
            "tickets_updated": len(self.updated_tickets),
        }


class AlertTriage:
    """Turns batches of stored alerts into tickets in the workflow DB.

    Hand it only alerts that were just written to the alert store (new ``event.id``): an alert
    already on a ticket is recognised and skipped, but a suppressed alert leaves no trace besides
    the suppression's counter, so handing it over twice would count it twice.
    """

    def __init__(
        self,
        workflow_db: WorkflowDatabase,
        suppressions: SuppressionSet | None = None,
        registry: CollectorRegistry | None = None,
        *,
        entities: EntityPolicy | None = None,
        min_ticket_level: str = "low",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if min_ticket_level not in LEVELS:
            raise ValueError(f"min_ticket_level must be one of {', '.join(LEVELS)}, got {min_ticket_level!r}")
        self.db = workflow_db
        self.suppressions = suppressions
        self.entities = entities or EntityPolicy()
        self.min_ticket_rank = LEVELS.index(min_ticket_level)
        self.metrics = triage_metrics(registry if registry is not None else CollectorRegistry())
        self.clock = clock

    def handle(self, alerts: Iterable[Mapping[str, Any]], *, measure_lag: bool = True) -> TriageStats:
        """Ticket or suppress each new alert of the batch; ``measure_lag=False`` for replays of old events."""
        stats = TriageStats()
        facts, documents = self._read(alerts, stats)
        if not facts:
            return stats
        if self.suppressions is not None:
            self.suppressions.refresh_if_stale()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            outcome = TriageStats(duplicates=stats.duplicates, invalid=stats.invalid)
            try:
                fresh = self._apply(facts, documents, outcome)
                break
            except IntegrityError:
                # Another worker opened the same ticket (or attached the same alert) first: redo the
                # batch, which now finds that ticket open or that alert attached.
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("triage: concurrent update of the same ticket, retrying batch (attempt %d)", attempt + 1)
        self._count(fresh, outcome, measure_lag)
        return outcome

    # --- reading ------------------------------------------------------------------------------

    def _read(
        self, alerts: Iterable[Mapping[str, Any]], stats: TriageStats
    ) -> tuple[list[AlertFacts], dict[str, Mapping[str, Any]]]:
        facts: list[AlertFacts] = []
        documents: dict[str, Mapping[str, Any]] = {}
        first_problem = None
        for alert in alerts:
            try:
                fact = read_alert(alert, self.entities)
            except InvalidAlert as exc:
                stats.invalid += 1
                first_problem = first_problem or str(exc)
                continue
            if fact.alert_id in documents:
                stats.duplicates += 1
                continue
            documents[fact.alert_id] = alert
            facts.append(fact)
        if first_problem:
            log.warning("triage: %d alerts cannot be ticketed, e.g. %s", stats.invalid, first_problem)
        return facts, documents

    # --- the transaction ----------------------------------------------------------------------

    def _apply(
        self, facts: list[AlertFacts], documents: Mapping[str, Mapping[str, Any]], stats: TriageStats
    ) -> list[AlertFacts]:
        """Write the batch in one transaction; returns the alerts seen for the first time."""
        # no_autoflush: pending ticket changes are written once at commit, not before every lookup.
        with self.db.transaction(write=True) as session, session.no_autoflush:
            now = self.clock()
            known = attached_ids(session, [f.alert_id for f in facts])
            fresh = [f for f in facts if f.alert_id not in known]
            stats.duplicates += len(facts) - len(fresh)
            stats.alerts = len(fresh)
            groups: dict[GroupKey, list[AlertFacts]] = {}
            hits: dict[int, int] = {}
            for fact in fresh:
                suppression = None
                if self.suppressions is not None:
                    suppression = self.suppressions.match(documents[fact.alert_id], now)
                if suppression is not None:
                    hits[suppression.id] = hits.get(suppression.id, 0) + 1
                elif self._below_ticket_level(fact):
                    stats.not_ticketed += 1
                else:
                    groups.setdefault(fact.group, []).append(fact)
            # Rows are locked in the same order in every worker (suppressions by id here, tickets by id
            # in find_open_tickets), so two PostgreSQL workers wait for each other instead of deadlocking.
            for suppression_id, count in sorted(hits.items()):
                # An SQL increment, not read-modify-write: the console may edit the row meanwhile.
                session.execute(
                    update(Suppression)
                    .where(Suppression.id == suppression_id)
                    .values(hit_count=Suppression.hit_count + count, last_hit_at=now)
                )
            stats.suppressed = sum(hits.values())
            order = sorted(groups, key=_sort_key)
            open_tickets = find_open_tickets(session, order)
            last_lines = last_history_lines(session, sorted(t.id for t in open_tickets.values()))
            evidence: list[dict[str, Any]] = []
            for key in order:
                members = groups[key]
                ticket = open_tickets.get(key)
                if ticket is None:
                    ticket = open_ticket(session, key, members, now)
                    stats.opened_tickets.append(ticket.id)
                else:
                    attach_alerts(session, ticket, members, now, last_lines.get(ticket.id))
                    stats.updated_tickets.append(ticket.id)
                evidence.extend(
                    {"ticket_id": ticket.id, "alert_id": f.alert_id, "alert_timestamp": f.timestamp, "attached_at": now}
                    for f in members
                )
                stats.ticketed += len(members)
            if evidence:
                # One multi-row insert; a concurrent worker attaching the same alert makes it fail -> retry.
                session.execute(insert(TicketAlert), evidence)
            session.flush()
        return fresh

    def _below_ticket_level(self, fact: AlertFacts) -> bool:
        # An unknown level is never below: it is ticketed as medium rather than lost.
        return fact.level in LEVELS and LEVELS.index(fact.level) < self.min_ticket_rank

    def _count(self, fresh: Sequence[AlertFacts], stats: TriageStats, measure_lag: bool) -> None:
        now = self.clock()
        for fact in fresh:
            self.metrics.alerts.labels(fact.level).inc()
            if measure_lag:
                # Without event.created the lag runs to triage time, an upper bound; clock skew that
                # puts the event in the future counts as no lag rather than a negative one.
                raised = fact.created or now
                self.metrics.lag.observe(max((raised - fact.timestamp).total_seconds(), 0.0))
        if stats.suppressed:
            self.metrics.suppressed.inc(stats.suppressed)
        if stats.opened:
            self.metrics.opened.inc(stats.opened)


def _sort_key(key: GroupKey) -> tuple[str, str, str]:
    rule_id, kind, value = key
    return (rule_id, kind or "", value or "")
