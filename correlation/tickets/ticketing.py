"""Ticket rows: find the open ticket of a rule and entity, open one, attach alerts, write history lines.

Called by triage inside its write transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from correlation.tickets.alert import SEVERITY_RANK, AlertFacts
from storage.timefmt import format_timestamp
from storage.workflow.models import (
    OPEN_STATUSES,
    EntityType,
    Ticket,
    TicketAction,
    TicketAlert,
    TicketEvent,
    TicketStatus,
)

SYSTEM_ACTOR = "system"
MAX_TITLE_LENGTH = 512  # Ticket.title
_ID_CHUNK = 500  # alert ids per IN (...) lookup, well under every backend's parameter limit

# (rule id, entity type, entity value): the key of at most one open ticket.
GroupKey = tuple[str, str | None, str | None]


def attached_ids(session: Session, alert_ids: Sequence[str]) -> set[str]:
    """The ids among ``alert_ids`` already attached to some ticket."""
    found: set[str] = set()
    for i in range(0, len(alert_ids), _ID_CHUNK):
        chunk = alert_ids[i : i + _ID_CHUNK]
        found.update(session.scalars(select(TicketAlert.alert_id).where(TicketAlert.alert_id.in_(chunk))))
    return found


def _same_group(key: GroupKey) -> list[Any]:
    rule_id, kind, value = key
    return [
        Ticket.rule_id == rule_id,
        Ticket.entity_type.is_(None) if kind is None else Ticket.entity_type == EntityType(kind),
        Ticket.entity_value.is_(None) if value is None else Ticket.entity_value == value,
    ]


def ticket_key(ticket: Ticket) -> GroupKey:
    """The (rule, entity type, entity value) key a ticket is filed under."""
    kind = ticket.entity_type.value if ticket.entity_type is not None else None
    return (ticket.rule_id or "", kind, ticket.entity_value)


def find_open_tickets(session: Session, keys: Sequence[GroupKey]) -> dict[GroupKey, Ticket]:
    """The open tickets of these keys, in one query, row-locked (PostgreSQL) until the batch commits."""
    wanted = set(keys)
    found: dict[GroupKey, Ticket] = {}
    rule_ids = sorted({key[0] for key in wanted})
    values = sorted({key[2] for key in wanted if key[2] is not None})
    # A superset (these rules, these values) narrowed in Python: one indexed query instead of one per key.
    # With very many values, the rules alone narrow it (the IN list would exceed parameter limits).
    entities = (
        or_(Ticket.entity_value.is_(None), Ticket.entity_value.in_(values)) if len(values) <= _ID_CHUNK else true()
    )
    for i in range(0, len(rule_ids), _ID_CHUNK):
        statement = (
            select(Ticket)
            .where(Ticket.rule_id.in_(rule_ids[i : i + _ID_CHUNK]), Ticket.status.in_(OPEN_STATUSES), entities)
            # Locked in id order: two workers take the rows in the same order and cannot deadlock.
            .order_by(Ticket.id)
            .with_for_update()
        )
        for ticket in session.scalars(statement):
            key = ticket_key(ticket)
            if key in wanted and key not in found:
                found[key] = ticket
    return found


def last_history_lines(session: Session, ticket_ids: Sequence[int]) -> dict[int, TicketEvent]:
    """The newest history line of each ticket."""
    lines: dict[int, TicketEvent] = {}
    for i in range(0, len(ticket_ids), _ID_CHUNK):
        newest = (
            select(func.max(TicketEvent.id))
            .where(TicketEvent.ticket_id.in_(ticket_ids[i : i + _ID_CHUNK]))
            .group_by(TicketEvent.ticket_id)
        )
        for line in session.scalars(select(TicketEvent).where(TicketEvent.id.in_(newest))):
            lines[line.ticket_id] = line
    return lines


def open_ticket(session: Session, key: GroupKey, members: list[AlertFacts], now: datetime) -> Ticket:
    """A new ticket for these alerts, with its ``created`` history line; IntegrityError if one is already open."""
    latest = members[-1]
    entity = latest.entity
    title = latest.rule_name if entity is None else f"{latest.rule_name} {entity.describe()}"
    ticket = Ticket(
        title=title[:MAX_TITLE_LENGTH],
        status=TicketStatus.NEW,
        severity=max((f.severity for f in members), key=SEVERITY_RANK.__getitem__),
        rule_id=latest.rule_id,
        rule_name=latest.rule_name[:MAX_TITLE_LENGTH],
        entity_type=entity.type if entity else None,
        entity_value=entity.value if entity else None,
        alert_count=len(members),
        first_seen=min(f.timestamp for f in members),
        last_seen=max(f.timestamp for f in members),
        tactics=_merged([], members),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()  # the one-open-ticket index speaks here: IntegrityError if another worker won
    detail: dict[str, Any] = {"alerts": len(members), "first_alert_id": members[0].alert_id}
    previous = session.scalars(
        select(Ticket).where(*_same_group(key), Ticket.id != ticket.id).order_by(Ticket.id.desc()).limit(1)
    ).first()
    if previous is not None:
        detail["previous_ticket"] = {"id": previous.id, "status": previous.status.value}
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor=SYSTEM_ACTOR,
            action=TicketAction.CREATED,
            to_value=TicketStatus.NEW.value,
            detail=detail,
        )
    )
    return ticket


def attach_alerts(
    session: Session, ticket: Ticket, members: list[AlertFacts], now: datetime, last: TicketEvent | None
) -> None:
    """Count these alerts on an open ticket: times, tactics, severity, and its history (one line per run).

    ``last`` is the ticket's newest history line: an ``alert_attached`` line is extended, not repeated.
    """
    before = ticket.alert_count
    earliest = min(f.timestamp for f in members)
    latest = max(f.timestamp for f in members)
    ticket.alert_count = before + len(members)
    ticket.first_seen = earliest if ticket.first_seen is None else min(ticket.first_seen, earliest)
    ticket.last_seen = latest if ticket.last_seen is None else max(ticket.last_seen, latest)
    tactics = _merged(ticket.tactics or [], members)
    if tactics != list(ticket.tactics or []):
        ticket.tactics = tactics
    ticket.updated_at = now
    if last is not None and last.action == TicketAction.ALERT_ATTACHED and last.actor == SYSTEM_ACTOR:
        detail = dict(last.detail)
        detail["alerts"] = int(detail.get("alerts", 0)) + len(members)
        # format_timestamp is fixed-width, so comparing the text compares the times ('~' sorts after digits).
        detail["first_alert_at"] = min(str(detail.get("first_alert_at") or "~"), format_timestamp(earliest))
        detail["last_alert_at"] = max(str(detail.get("last_alert_at") or ""), format_timestamp(latest))
        last.detail = detail
        last.to_value = str(ticket.alert_count)
    else:
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=now,
                actor=SYSTEM_ACTOR,
                action=TicketAction.ALERT_ATTACHED,
                from_value=str(before),
                to_value=str(ticket.alert_count),
                detail={
                    "alerts": len(members),
                    "first_alert_at": format_timestamp(earliest),
                    "last_alert_at": format_timestamp(latest),
                },
            )
        )
    highest = max((f.severity for f in members), key=SEVERITY_RANK.__getitem__)
    if SEVERITY_RANK[highest] > SEVERITY_RANK[ticket.severity]:
        # The rule's level was raised since the ticket opened; never lowered (an analyst may have raised it).
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=now,
                actor=SYSTEM_ACTOR,
                action=TicketAction.SEVERITY_CHANGED,
                from_value=ticket.severity.value,
                to_value=highest.value,
                detail={"reason": "rule level"},
            )
        )
        ticket.severity = highest


def _merged(tactics: list[str], members: Iterable[AlertFacts]) -> list[str]:
    merged = list(tactics)
    for fact in members:
        merged.extend(t for t in fact.tactics if t not in merged)
    return merged
