"""AlertTriage on a real workflow DB: tickets opened and attached, suppressions, idempotency, metrics."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import event, func, select

from correlation.tickets import AlertTriage, EntityPolicy, SuppressionSet, create_suppression, disable_suppression
from correlation.tickets.entity import EntityType
from storage.workflow import (
    Suppression,
    Ticket,
    TicketAction,
    TicketAlert,
    TicketEvent,
    TicketStatus,
    WorkflowDatabase,
)
from tests.correlation.ticket_support import T0, Clock, db, make_alert

__all__ = ["db"]  # the fixture, imported for pytest


def _triage(
    db: WorkflowDatabase, clock: Clock | None = None, registry: CollectorRegistry | None = None, **kwargs
) -> AlertTriage:
    clock = clock or Clock()
    return AlertTriage(db, SuppressionSet(db, clock=clock), registry or CollectorRegistry(), clock=clock, **kwargs)


def _tickets(db: WorkflowDatabase) -> list[Ticket]:
    with db.transaction() as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


def _history(db: WorkflowDatabase, ticket_id: int) -> list[TicketEvent]:
    with db.transaction() as s:
        return list(s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)))


def _set_status(db: WorkflowDatabase, ticket_id: int, status: TicketStatus, actor: str = "lan") -> None:
    with db.transaction(write=True) as s:
        ticket = s.get(Ticket, ticket_id)
        s.add(
            TicketEvent(
                ticket_id=ticket_id,
                actor=actor,
                action=TicketAction.STATUS_CHANGED,
                from_value=ticket.status.value,
                to_value=status.value,
            )
        )
        ticket.status = status


def test_first_alert_opens_a_ticket_with_rule_entity_severity_and_tactics(db: WorkflowDatabase) -> None:
    stats = _triage(db).handle([make_alert("e1", at=T0, tactics=("Credential Access", "Initial Access"))])

    [ticket] = _tickets(db)
    assert stats.opened_tickets == [ticket.id] and stats.ticketed == 1 and stats.alerts == 1
    assert ticket.title == "SSH brute force on host web-01"
    assert (ticket.status, ticket.severity) == (TicketStatus.NEW, "high")
    assert (ticket.rule_id, ticket.rule_name) == ("rule-ssh-brute", "SSH brute force")
    assert (ticket.entity_type, ticket.entity_value) == (EntityType.HOST, "web-01")
    assert (ticket.alert_count, ticket.first_seen, ticket.last_seen) == (1, T0, T0)
    assert ticket.tactics == ["credential_access", "initial_access"]
    with db.transaction() as s:
        evidence = s.execute(select(TicketAlert.ticket_id, TicketAlert.alert_id, TicketAlert.alert_timestamp)).all()
    assert evidence == [(ticket.id, make_alert("e1")["event"]["id"], T0)]
    [created] = _history(db, ticket.id)
    assert (created.action, created.actor, created.to_value) == ("created", "system", "new")
    assert created.detail["alerts"] == 1


def test_alerts_of_the_same_rule_and_entity_attach_to_the_open_ticket(db: WorkflowDatabase) -> None:
    triage = _triage(db)
    triage.handle([make_alert("e1", at=T0 + timedelta(minutes=1))])
    # Out of order on purpose: first_seen/last_seen are the min/max of the alerts' event times.
    stats = triage.handle(
        [make_alert("e2", at=T0 + timedelta(minutes=3)), make_alert("e3", at=T0, tactics=("Discovery",))]
    )

    [ticket] = _tickets(db)
    assert stats.opened_tickets == [] and stats.updated_tickets == [ticket.id] and stats.ticketed == 2
    assert ticket.alert_count == 3
    assert (ticket.first_seen, ticket.last_seen) == (T0, T0 + timedelta(minutes=3))
    assert ticket.tactics == ["credential_access", "discovery"]
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(TicketAlert).where(TicketAlert.ticket_id == ticket.id)) == 3


def test_history_gets_one_attach_line_per_run_not_one_per_alert(db: WorkflowDatabase) -> None:
    triage = _triage(db)
    triage.handle([make_alert("e0")])
    ticket_id = _tickets(db)[0].id
    for i in range(1, 6):  # five batches of one alert each: a trickle that must not flood the history
        triage.handle([make_alert(f"e{i}", at=T0 + timedelta(minutes=i))])
    history = _history(db, ticket_id)
    assert [h.action for h in history] == ["created", "alert_attached"]
    attached = history[1]
    assert attached.detail["alerts"] == 5
    assert attached.detail["first_alert_at"] == "2026-11-20T08:31:00.000Z"
    assert attached.detail["last_alert_at"] == "2026-11-20T08:35:00.000Z"
    assert (attached.from_value, attached.to_value) == ("1", "6")

    # An analyst picks the ticket up: alerts arriving after that get a new line of their own.
    _set_status(db, ticket_id, TicketStatus.IN_PROGRESS)
    triage.handle([make_alert("e6", at=T0 + timedelta(minutes=6)), make_alert("e7", at=T0 + timedelta(minutes=7))])
    history = _history(db, ticket_id)
    assert [h.action for h in history] == ["created", "alert_attached", "status_changed", "alert_attached"]
    assert history[-1].detail["alerts"] == 2 and (history[-1].from_value, history[-1].to_value) == ("6", "8")
    [ticket] = _tickets(db)
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.alert_count == 8


def test_different_entity_or_rule_opens_its_own_ticket(db: WorkflowDatabase) -> None:
    stats = _triage(db).handle(
        [
            make_alert("e1", host="web-01"),
            make_alert("e2", host="WEB-01"),  # host names are case-insensitive: same ticket
            make_alert("e3", host="web-02"),
            make_alert("e4", host="web-01", rule_id="rule-webshell", rule_name="Webshell written"),
        ]
    )
    tickets = _tickets(db)
    assert stats.opened == 3
    assert [(t.rule_id, t.entity_value, t.alert_count) for t in tickets] == [
        ("rule-ssh-brute", "web-01", 2),
        ("rule-ssh-brute", "web-02", 1),
        ("rule-webshell", "web-01", 1),
    ]


@pytest.mark.parametrize("closed", [TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.FALSE_POSITIVE])
def test_a_finished_ticket_is_not_reopened_the_next_alert_opens_a_new_one(
    db: WorkflowDatabase, closed: TicketStatus
) -> None:
    triage = _triage(db)
    triage.handle([make_alert("e1")])
    first = _tickets(db)[0]
    _set_status(db, first.id, closed)

    stats = triage.handle([make_alert("e2", at=T0 + timedelta(hours=1))])

    old, new = _tickets(db)
    assert stats.opened_tickets == [new.id]
    assert (old.status, old.alert_count) == (closed, 1)
    assert (new.status, new.alert_count, new.entity_value) == (TicketStatus.NEW, 1, "web-01")
    assert _history(db, new.id)[0].detail["previous_ticket"] == {"id": old.id, "status": closed.value}


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("critical", "critical"),
        ("Critical", "critical"),
        (None, "medium"),
        ("severe", "medium"),
    ],
)
def test_severity_comes_from_the_rule_level(db: WorkflowDatabase, level: str | None, severity: str) -> None:
    _triage(db).handle([make_alert("e1", level=level)])
    assert _tickets(db)[0].severity == severity


def test_informational_alerts_are_counted_but_open_no_ticket_unless_asked(db: WorkflowDatabase) -> None:
    registry = CollectorRegistry()
    stats = _triage(db, registry=registry).handle([make_alert("e1", level="informational")])
    assert _tickets(db) == [] and stats.not_ticketed == 1
    assert registry.get_sample_value("sontra_alerts_total", {"level": "informational"}) == 1

    _triage(db, min_ticket_level="informational").handle([make_alert("e2", level="informational")])
    assert [t.severity for t in _tickets(db)] == ["low"]


def test_severity_rises_with_the_rule_level_and_is_never_lowered(db: WorkflowDatabase) -> None:
    triage = _triage(db)
    triage.handle([make_alert("e1", level="medium")])
    triage.handle([make_alert("e2", level="critical")])
    triage.handle([make_alert("e3", level="low")])
    [ticket] = _tickets(db)
    assert ticket.severity == "critical"
    changes = [(h.from_value, h.to_value) for h in _history(db, ticket.id) if h.action == "severity_changed"]
    assert changes == [("medium", "critical")]


def test_suppressed_alert_opens_no_ticket_and_counts_on_its_suppression(db: WorkflowDatabase) -> None:
    clock = Clock()
    suppression = create_suppression(
        db,
        query='rule.id:rule-ssh-brute AND source.ip:"10.20.0.0/16"',
        reason="Vulnerability scanner",
        owner="lan",
        expires_at=T0 + timedelta(days=7),
        now=T0,
    )
    registry = CollectorRegistry()
    triage = _triage(db, clock, registry)

    stats = triage.handle(
        [
            make_alert("e1", ip="10.20.3.4", host=None),
            make_alert("e2", ip="10.20.9.9", host=None),
            make_alert("e3", ip="203.0.113.7", host=None),
        ]
    )

    assert (stats.suppressed, stats.ticketed) == (2, 1)
    assert [t.entity_value for t in _tickets(db)] == ["203.0.113.7"]
    with db.transaction() as s:
        stored = s.get(Suppression, suppression.id)
        assert (stored.hit_count, stored.last_hit_at) == (2, clock.now)
    assert registry.get_sample_value("sontra_alerts_suppressed_total") == 2
    assert registry.get_sample_value("sontra_alerts_total", {"level": "high"}) == 3


def test_expired_or_disabled_suppression_no_longer_applies(db: WorkflowDatabase) -> None:
    clock = Clock(T0)
    create_suppression(
        db, query="host.name:backup-01", reason="Backup job", owner="lan", expires_at=T0 + timedelta(hours=1), now=T0
    )
    triage = _triage(db, clock)
    assert triage.handle([make_alert("e1", host="backup-01")]).suppressed == 1

    clock.advance(timedelta(hours=1))  # expiry is checked at match time, not at the next reload
    stats = triage.handle([make_alert("e2", host="backup-01")])
    assert (stats.suppressed, stats.ticketed) == (0, 1)

    second = create_suppression(
        db, query="host.name:db-01", reason="Maintenance", owner="lan", expires_at=None, now=clock.now
    )
    triage.suppressions.invalidate()
    assert triage.handle([make_alert("e3", host="db-01")]).suppressed == 1
    disable_suppression(db, second.id, actor="lan")
    triage.suppressions.invalidate()
    assert triage.handle([make_alert("e4", host="db-01")]).ticketed == 1


def test_the_same_alert_handled_twice_counts_once(db: WorkflowDatabase) -> None:
    registry = CollectorRegistry()
    triage = _triage(db, registry=registry)
    alert = make_alert("e1")
    first = triage.handle([alert, alert])  # twice in one batch
    second = triage.handle([alert])  # and again later (a retried batch, a replay)
    [ticket] = _tickets(db)
    assert ticket.alert_count == 1
    assert (first.alerts, first.duplicates, second.alerts, second.duplicates) == (1, 1, 0, 1)
    assert registry.get_sample_value("sontra_alerts_total", {"level": "high"}) == 1
    assert registry.get_sample_value("sontra_detection_lag_seconds_count") == 1

    # Even after its ticket is resolved, an alert already handled opens nothing new.
    _set_status(db, ticket.id, TicketStatus.RESOLVED)
    assert triage.handle([alert]).opened == 0
    assert len(_tickets(db)) == 1


def test_metrics_detection_lag_alerts_by_level_tickets_opened(db: WorkflowDatabase) -> None:
    registry = CollectorRegistry()
    clock = Clock(T0 + timedelta(minutes=10))
    _triage(db, clock, registry).handle(
        [
            make_alert("e1", at=T0, created=T0 + timedelta(seconds=4), level="high"),
            make_alert("e2", at=T0, created=T0 + timedelta(seconds=65), level="high", host="web-02"),
            make_alert("e3", at=T0, created=T0 - timedelta(seconds=3), level="low", host="web-03"),  # clock skew
            {
                **make_alert("e4", at=T0, level="medium", host="web-04"),
                "event": {"kind": "alert", "id": "no-created-field"},
            },  # lag runs to triage time: 600 s
        ]
    )

    lag = "sontra_detection_lag_seconds"
    assert registry.get_sample_value(f"{lag}_count") == 4
    assert registry.get_sample_value(f"{lag}_sum") == pytest.approx(4 + 65 + 0 + 600)
    assert registry.get_sample_value(f"{lag}_bucket", {"le": "5.0"}) == 2
    assert registry.get_sample_value(f"{lag}_bucket", {"le": "120.0"}) == 3
    assert registry.get_sample_value("sontra_alerts_total", {"level": "high"}) == 2
    assert registry.get_sample_value("sontra_alerts_total", {"level": "low"}) == 1
    assert registry.get_sample_value("sontra_alerts_total", {"level": "critical"}) == 0
    assert registry.get_sample_value("sontra_tickets_opened_total") == 4

    # Replays of old events feed tickets but not the lag histogram.
    _triage(db, clock, registry).handle([make_alert("e9", at=T0 - timedelta(days=1))], measure_lag=False)
    assert registry.get_sample_value(f"{lag}_count") == 4


def test_two_triages_on_one_registry_share_the_metrics(db: WorkflowDatabase) -> None:
    registry = CollectorRegistry()
    _triage(db, registry=registry).handle([make_alert("e1")])
    _triage(db, registry=registry).handle([make_alert("e2", host="web-02")])
    assert registry.get_sample_value("sontra_tickets_opened_total") == 2


def test_alerts_that_cannot_be_ticketed_are_counted_not_raised(db: WorkflowDatabase) -> None:
    no_rule = make_alert("e1")
    del no_rule["rule"]["id"]
    no_time = make_alert("e2")
    del no_time["@timestamp"]
    stats = _triage(db).handle([no_rule, no_time, make_alert("e3")])
    assert (stats.invalid, stats.ticketed) == (2, 1)


def test_entity_follows_the_rule_log_source_and_overrides(db: WorkflowDatabase) -> None:
    policy = EntityPolicy.from_rules(
        [
            ("fw-scan", ("fortios", "firewall", None)),
            ("proc", ("windows", "process_creation", None)),
            ("ssh", ("linux", None, "sshd")),
        ],
        overrides={"admin-added": ["user", "host"]},
    )
    both = {"host": "fw-01", "ip": "198.51.100.9", "user": "alice"}
    _triage(db, entities=policy).handle(
        [
            make_alert("e1", rule_id="fw-scan", **both),  # network: the source, not the firewall that logged it
            make_alert("e2", rule_id="proc", **both),  # endpoint: the machine
            make_alert("e3", rule_id="ssh", host="srv-01", user="root", ip="2001:db8:0:0::1"),
            make_alert("e4", rule_id="ssh", host="srv-01", user="root"),  # no address: then the user
            make_alert("e5", rule_id="admin-added", **both),
            make_alert("e6", rule_id="unknown", **both, sontra={"alert": {"entity_type": "user"}}),
            make_alert("e7", rule_id="nothing", host=None),
            # The alert names an entity type it has no value for: the usual order decides.
            make_alert("e8", rule_id="says-user", host="ws-09", sontra={"alert": {"entity_type": "user"}}),
        ]
    )
    got = {t.rule_id + ("/" + t.entity_value if t.entity_value else ""): t for t in _tickets(db)}
    assert {k: (t.entity_type.value if t.entity_type else None) for k, t in got.items()} == {
        "fw-scan/198.51.100.9": "source_ip",
        "proc/fw-01": "host",
        "ssh/2001:db8::1": "source_ip",
        "ssh/root": "user",
        "admin-added/alice": "user",
        "unknown/alice": "user",
        "nothing": None,
        "says-user/ws-09": "host",
    }
    assert got["nothing"].title == "SSH brute force"
    assert got["ssh/root"].title == "SSH brute force by user root"
    # Grouped on the rule alone, the entity-less alerts still share one ticket.
    _triage(db, entities=policy).handle([make_alert("e9", rule_id="nothing", host=None)])
    assert [t.alert_count for t in _tickets(db) if t.rule_id == "nothing"] == [2]


def test_concurrent_triage_workers_keep_one_open_ticket(db: WorkflowDatabase) -> None:
    # Four workers, each with its own connection pool, attach alerts of one rule and entity at once.
    workers = [_triage(WorkflowDatabase(db.url.render_as_string(hide_password=False))) for _ in range(4)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                workers[n].handle([make_alert(f"w{n}-{i}"), make_alert(f"shared-{i}")])
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w.db.close()
    assert errors == []
    [ticket] = _tickets(db)
    assert ticket.alert_count == 4 * 10 + 10  # the shared alerts count once each


def test_losing_the_race_to_open_a_ticket_retries_and_attaches(db: WorkflowDatabase) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite serialises triage batches at BEGIN IMMEDIATE: the race cannot happen there")
    rival = WorkflowDatabase(db.url.render_as_string(hide_password=False))
    raced = []

    def open_the_same_ticket_first(session, _context, _instances) -> None:
        # Between this worker's lookup (no open ticket) and its insert, another worker opens it.
        if raced or not any(isinstance(o, Ticket) for o in session.new):
            return
        raced.append(True)
        _triage(rival).handle([make_alert("rival")])

    event.listen(db.sessions, "before_flush", open_the_same_ticket_first)
    try:
        stats = _triage(db).handle([make_alert("mine")])
    finally:
        event.remove(db.sessions, "before_flush", open_the_same_ticket_first)
        rival.close()
    [ticket] = _tickets(db)
    assert raced == [True]
    assert stats.opened == 0 and stats.updated_tickets == [ticket.id]
    assert ticket.alert_count == 2
