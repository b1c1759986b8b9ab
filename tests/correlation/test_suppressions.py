"""Suppressions: creation rules, the in-memory set and its refresh, audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from correlation.tickets import (
    SuppressionError,
    SuppressionSet,
    create_suppression,
    disable_suppression,
    expire_suppression,
    list_suppressions,
)
from storage.workflow import AuditLog, Suppression, WorkflowDatabase
from tests.correlation.ticket_support import T0, Clock, db, make_alert

__all__ = ["db"]


def _add(db: WorkflowDatabase, query: str = "host.name:backup-01", **kwargs) -> Suppression:
    fields = {"reason": "Nightly backup", "owner": "lan", "expires_at": T0 + timedelta(days=7), "now": T0}
    fields.update(kwargs)
    return create_suppression(db, query=query, **fields)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": "*"}, "matches every alert"),
        ({"query": "  "}, "matches every alert"),
        ({"query": "host.name:(a"}, "position"),
        ({"query": "host.name:/back.*/"}, "regular expressions"),
        ({"reason": " "}, "needs a reason"),
        ({"owner": ""}, "needs an owner"),
        ({"expires_at": T0 - timedelta(seconds=1)}, "not in the future"),
    ],
)
def test_a_suppression_needs_a_narrow_query_a_reason_an_owner_and_a_future_expiry(
    db: WorkflowDatabase, kwargs: dict, message: str
) -> None:
    with pytest.raises(SuppressionError, match=message):
        _add(db, **kwargs)
    assert list_suppressions(db) == []


def test_names_are_derived_from_the_reason_and_kept_unique(db: WorkflowDatabase) -> None:
    first = _add(db, reason="Nightly backup: rsync over SSH")
    second = _add(db, reason="Nightly backup: rsync over SSH")
    named = _add(db, name="scanner-10.20")
    assert (first.name, second.name, named.name) == (
        "nightly-backup-rsync-over-ssh",
        "nightly-backup-rsync-over-ssh-2",
        "scanner-10.20",
    )
    with pytest.raises(SuppressionError, match="already exists"):
        _add(db, name="scanner-10.20")


def test_changes_are_audited(db: WorkflowDatabase) -> None:
    s = _add(db)
    disable_suppression(db, s.id, actor="lan")
    disable_suppression(db, s.id, actor="lan")  # already off: nothing more to record
    other = _add(db, query="host.name:db-01")
    expire_suppression(db, other.id, actor="minh", now=T0 + timedelta(hours=1))
    with db.transaction() as session:
        rows = session.execute(select(AuditLog.actor, AuditLog.action, AuditLog.target).order_by(AuditLog.id)).all()
    assert rows == [
        ("lan", "suppression_created", f"suppression:{s.id}"),
        ("lan", "suppression_disabled", f"suppression:{s.id}"),
        ("lan", "suppression_created", f"suppression:{other.id}"),
        ("minh", "suppression_expired", f"suppression:{other.id}"),
    ]
    with pytest.raises(SuppressionError, match="no suppression with id 999"):
        disable_suppression(db, 999, actor="lan")


def test_the_set_loads_only_suppressions_in_force_and_reloads_periodically(db: WorkflowDatabase) -> None:
    clock = Clock(T0)
    active = _add(db, query="host.name:backup-01")
    off = _add(db, query="host.name:db-01")
    disable_suppression(db, off.id, actor="lan")
    _add(db, query="host.name:old-01", expires_at=T0 + timedelta(minutes=1), now=T0 - timedelta(days=1))
    clock.advance(timedelta(minutes=2))
    suppressions = SuppressionSet(db, refresh_every=timedelta(seconds=30), clock=clock)
    suppressions.refresh_if_stale()
    assert [s.id for s in suppressions.active] == [active.id]
    assert suppressions.match(make_alert("e1", host="backup-01")).id == active.id
    assert suppressions.match(make_alert("e2", host="db-01")) is None

    # Another process (the CLI, the console) adds one: seen after refresh_every, not before.
    with WorkflowDatabase(db.url.render_as_string(hide_password=False)) as other_process:
        added = _add(other_process, query="host.name:web-01", now=clock.now)
    clock.advance(timedelta(seconds=10))
    suppressions.refresh_if_stale()
    assert suppressions.match(make_alert("e3", host="web-01")) is None
    clock.advance(timedelta(seconds=20))
    suppressions.refresh_if_stale()
    assert suppressions.match(make_alert("e3", host="web-01")).id == added.id


def test_a_stored_query_that_no_longer_compiles_is_skipped_and_reported(db: WorkflowDatabase) -> None:
    good = _add(db)
    with db.transaction() as session:  # as an older Sontra might have stored it: past today's validation
        session.execute(
            insert(Suppression).values(
                name="legacy", query="host.name:/web-0[0-9]/", reason="old", owner="lan", created_at=T0,
                is_enabled=True, hit_count=0,
            )
        )
        bad_id = session.scalar(select(Suppression.id).where(Suppression.name == "legacy"))
    suppressions = SuppressionSet(db, clock=Clock(T0))
    suppressions.refresh()
    assert [s.id for s in suppressions.active] == [good.id]
    assert "regular expressions" in suppressions.broken[bad_id]
