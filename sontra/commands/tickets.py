"""`sontra tickets list|show`: the ticket queue from the terminal."""

from __future__ import annotations

import argparse
import json
import sys

from correlation.tickets.queue import list_tickets, parse_severities, parse_statuses, ticket_detail
from sontra.commands.common import add_config_options, config_from_args
from storage.workflow import WorkflowDatabase


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra tickets`."""
    parser = sub.add_parser("tickets", help="list and show tickets", description="The ticket queue.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list",
        help="list tickets, most recent activity first",
        description="List tickets, most recent activity first. Open tickets (new, in_progress) by default.",
    )
    listing.add_argument(
        "--status",
        default="open",
        metavar="S",
        type=_statuses,
        help="open (default), all, or a comma list of new, in_progress, resolved, closed, false_positive",
    )
    listing.add_argument(
        "--severity",
        metavar="S",
        type=_severities,
        help="only these severities: comma list of low, medium, high, critical",
    )
    listing.add_argument("--limit", type=_count, default=50, metavar="N", help="tickets to print (default 50)")
    listing.add_argument("--json", action="store_true", help='print {"total": N, "tickets": [...]}')
    add_config_options(listing)
    listing.set_defaults(run=run_list)

    show = actions.add_parser("show", help="one ticket with its alerts and history")
    show.add_argument("ticket_id", metavar="ID", type=_ticket_id, help="ticket number")
    show.add_argument("--alerts", type=_count, default=100, metavar="N", help="newest alerts to list (default 100)")
    show.add_argument("--json", action="store_true", help="print the ticket as JSON")
    add_config_options(show)
    show.set_defaults(run=run_show)


def _statuses(text: str) -> tuple:
    try:
        return parse_statuses(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _severities(text: str) -> tuple:
    try:
        return parse_severities(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 10000, got {value}")
    return value


def _ticket_id(text: str) -> int:
    try:
        value = int(text.lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a ticket id is a number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a ticket id is a positive number, got {text!r}")
    return value


def run_list(args: argparse.Namespace) -> int:
    """Print the tickets matching the filters."""
    config = config_from_args(args)
    with WorkflowDatabase(config.database_url) as db:
        page = list_tickets(db, statuses=args.status, severities=args.severity, limit=args.limit)
    if args.json:
        print(json.dumps({"total": page.total, "tickets": page.tickets}, ensure_ascii=False))
        return 0
    if page.tickets:
        print(f"{'ID':>6}  {'SEVERITY':<8}  {'STATUS':<14}  {'ALERTS':>6}  {'LAST SEEN':<24}  TITLE")
    for t in page.tickets:
        print(
            f"{t['id']:>6}  {t['severity']:<8}  {t['status']:<14}  {t['alert_count']:>6}  "
            f"{t['last_seen'] or '-':<24}  {t['title']}"
        )
    print(f"-- {len(page.tickets)} of {page.total} tickets", file=sys.stderr)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one ticket, its newest alerts and its history."""
    config = config_from_args(args)
    with WorkflowDatabase(config.database_url) as db:
        detail = ticket_detail(db, args.ticket_id, alert_limit=args.alerts)
    if detail is None:
        print(f"sontra tickets show: no ticket with id {args.ticket_id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(detail, ensure_ascii=False))
        return 0
    entity = detail["entity"]
    rule = detail["rule"]
    print(f"#{detail['id']}  {detail['title']}")
    print(f"  status {detail['status']}, severity {detail['severity']}, assignee {detail['assignee'] or '-'}")
    if rule:
        print(f"  rule {rule['name']} ({rule['id']})")
    if entity:
        print(f"  entity {entity['type']} {entity['value']}")
    print(f"  {detail['alert_count']} alerts, first {detail['first_seen'] or '-'}, last {detail['last_seen'] or '-'}")
    if detail["tactics"]:
        print(f"  tactics {', '.join(detail['tactics'])}")
    print(f"alerts (newest {len(detail['alerts'])}; `sontra search --alerts --since 90d 'event.id:ID'` shows one):")
    for alert in detail["alerts"]:
        print(f"  {alert['timestamp']}  {alert['alert_id']}")
    print("history:")
    for line in detail["history"]:
        change = f" {line['from'] or ''} -> {line['to']}" if line["to"] is not None else ""
        extra = f"  {json.dumps(line['detail'], ensure_ascii=False)}" if line["detail"] else ""
        print(f"  {line['at']}  {line['actor']}  {line['action']}{change}{extra}")
    for comment in detail["comments"]:
        print(f"comment {comment['at']} {comment['author']}: {comment['body']}")
    return 0
