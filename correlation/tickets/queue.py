"""The ticket queue as analysts read it: filtered lists and one ticket with its evidence and history.

Shared by ``sontra tickets`` and the console API, so both show the same fields the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from storage.timefmt import format_timestamp
from storage.workflow.database import WorkflowDatabase
from storage.workflow.models import OPEN_STATUSES, Comment, Severity, Ticket, TicketAlert, TicketStatus

ALL_STATUSES: tuple[TicketStatus, ...] = tuple(TicketStatus)


@dataclass(frozen=True, slots=True)
class TicketPage:
    """Tickets matching a filter: how many in all, and the first ``limit`` of them as dicts."""

    total: int
    tickets: list[dict[str, Any]]


def parse_statuses(text: str) -> tuple[TicketStatus, ...]:
    """``open`` (new and in progress), ``all``, or a comma list such as ``new,in_progress``."""
    words = [w.strip().lower() for w in (text or "").split(",") if w.strip()]
    if not words:
        raise ValueError("no status given: use open, all, or a comma list of " + _names(TicketStatus))
    chosen: list[TicketStatus] = []
    for word in words:
        if word == "open":
            group: Sequence[TicketStatus] = OPEN_STATUSES
        elif word == "all":
            group = ALL_STATUSES
        else:
            try:
                group = (TicketStatus(word),)
            except ValueError:
                raise ValueError(f"unknown status {word!r}: use open, all, or {_names(TicketStatus)}") from None
        chosen.extend(s for s in group if s not in chosen)
    return tuple(chosen)


def parse_severities(text: str) -> tuple[Severity, ...]:
    """A comma list of severities, such as ``high,critical``."""
    chosen: list[Severity] = []
    for word in (w.strip().lower() for w in (text or "").split(",") if w.strip()):
        try:
            severity = Severity(word)
        except ValueError:
            raise ValueError(f"unknown severity {word!r}: use {_names(Severity)}") from None
        if severity not in chosen:
            chosen.append(severity)
    if not chosen:
        raise ValueError(f"no severity given: use {_names(Severity)}")
    return tuple(chosen)


def list_tickets(
    db: WorkflowDatabase,
    *,
    statuses: Sequence[TicketStatus] = OPEN_STATUSES,
    severities: Sequence[Severity] | None = None,
    limit: int = 50,
) -> TicketPage:
    """Tickets in these statuses (and severities), most recent activity first."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    conditions = [Ticket.status.in_(list(statuses))]
    if severities:
        conditions.append(Ticket.severity.in_(list(severities)))
    with db.transaction() as session:
        total = session.scalar(select(func.count()).select_from(Ticket).where(*conditions)) or 0
        rows = session.scalars(
            select(Ticket)
            .where(*conditions)
            .options(selectinload(Ticket.assignee))
            # NULL last_seen (hand-opened tickets) sorts by creation instead of jumping the queue.
            .order_by(func.coalesce(Ticket.last_seen, Ticket.created_at).desc(), Ticket.id.desc())
            .limit(limit)
        ).all()
        return TicketPage(total, [ticket_as_dict(t) for t in rows])


def ticket_as_dict(ticket: Ticket) -> dict[str, Any]:
    """One ticket as JSON: the queue's columns (assignee must be loaded)."""
    entity = None
    if ticket.entity_type is not None:
        entity = {"type": ticket.entity_type.value, "value": ticket.entity_value}
    return {
        "id": ticket.id,
        "title": ticket.title,
        "status": ticket.status.value,
        "severity": ticket.severity.value,
        "rule": {"id": ticket.rule_id, "name": ticket.rule_name} if ticket.rule_id else None,
        "entity": entity,
        "alert_count": ticket.alert_count,
        "first_seen": _time(ticket.first_seen),
        "last_seen": _time(ticket.last_seen),
        "tactics": list(ticket.tactics or []),
        "assignee": ticket.assignee.username if ticket.assignee is not None else None,
        "created_at": _time(ticket.created_at),
        "updated_at": _time(ticket.updated_at),
        "resolved_at": _time(ticket.resolved_at),
    }


def ticket_detail(db: WorkflowDatabase, ticket_id: int, *, alert_limit: int = 100) -> dict[str, Any] | None:
    """A ticket with its newest ``alert_limit`` alerts, its whole history and its comments; None if unknown."""
    with db.transaction() as session:
        ticket = session.scalars(
            select(Ticket)
            .where(Ticket.id == ticket_id)
            .options(
                selectinload(Ticket.assignee),
                selectinload(Ticket.events),
                selectinload(Ticket.comments).selectinload(Comment.author),
            )
        ).first()
        if ticket is None:
            return None
        alerts = session.execute(
            select(TicketAlert.alert_id, TicketAlert.alert_timestamp, TicketAlert.attached_at)
            .where(TicketAlert.ticket_id == ticket_id)
            .order_by(TicketAlert.alert_timestamp.desc(), TicketAlert.alert_id)
            .limit(alert_limit)
        ).all()
        detail = ticket_as_dict(ticket)
        detail["alerts"] = [{"alert_id": a, "timestamp": _time(ts), "attached_at": _time(at)} for a, ts, at in alerts]
        detail["history"] = [
            {
                "at": _time(e.at),
                "actor": e.actor,
                "action": e.action,
                "from": e.from_value,
                "to": e.to_value,
                "detail": dict(e.detail or {}),
            }
            for e in ticket.events
        ]
        detail["comments"] = [
            {"at": _time(c.created_at), "author": c.author.username, "body": c.body} for c in ticket.comments
        ]
        return detail


def _time(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


def _names(enum_cls: type[TicketStatus] | type[Severity]) -> str:
    return ", ".join(m.value for m in enum_cls)
