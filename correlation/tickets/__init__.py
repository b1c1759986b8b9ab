"""Alerts into tickets: one open ticket per rule and entity, suppressions for known false positives.

``AlertTriage(workflow_db, SuppressionSet(workflow_db), registry).handle(new_alerts)`` is the entry
point; ``entity`` decides what a ticket is about, ``queue`` lists tickets for the CLI and console.
"""

from correlation.tickets.alert import AlertFacts, InvalidAlert, read_alert
from correlation.tickets.entity import Entity, EntityPolicy
from correlation.tickets.queue import TicketPage, list_tickets, ticket_detail
from correlation.tickets.suppressions import (
    SuppressionError,
    SuppressionSet,
    create_suppression,
    disable_suppression,
    expire_suppression,
    list_suppressions,
)
from correlation.tickets.triage import AlertTriage, TriageStats, triage_metrics

__all__ = [
    "AlertFacts",
    "AlertTriage",
    "Entity",
    "EntityPolicy",
    "InvalidAlert",
    "SuppressionError",
    "SuppressionSet",
    "TicketPage",
    "TriageStats",
    "create_suppression",
    "disable_suppression",
    "expire_suppression",
    "list_suppressions",
    "list_tickets",
    "read_alert",
    "ticket_detail",
    "triage_metrics",
]
