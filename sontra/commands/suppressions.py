"""`sontra suppressions add|list|disable`: silence known false positives, with an owner, a reason and an expiry."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime

from correlation.tickets.suppressions import (
    SuppressionError,
    create_suppression,
    disable_suppression,
    list_suppressions,
    suppression_as_dict,
)
from sontra.commands.common import add_config_options, config_from_args
from storage.timefmt import parse_interval, parse_timestamp
from storage.workflow import WorkflowDatabase

DEFAULT_EXPIRY = "30d"


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra suppressions`."""
    parser = sub.add_parser(
        "suppressions",
        help="silence known false positives",
        description="Suppressions keep matching alerts stored and searchable but out of the ticket queue, "
        "and count them.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a suppression")
    add.add_argument(
        "--query",
        required=True,
        metavar="Q",
        help="Lucene query over the alert, e.g. 'rule.id:X AND host.name:backup-01'",
    )
    add.add_argument("--reason", required=True, metavar="R", help="why these alerts are false positives")
    add.add_argument("--owner", required=True, metavar="O", help="who answers for it (a console username)")
    add.add_argument(
        "--expires",
        default=DEFAULT_EXPIRY,
        metavar="WHEN",
        help=f"a duration from now (7d, 12h), an ISO 8601 time, or 'never' (default {DEFAULT_EXPIRY})",
    )
    add.add_argument("--name", metavar="N", help="a short unique name (default: derived from the reason)")
    add.add_argument("--json", action="store_true", help="print the suppression as JSON")
    add_config_options(add)
    add.set_defaults(run=run_add)

    listing = actions.add_parser("list", help="list suppressions with their hit counts")
    listing.add_argument("--active", action="store_true", help="only those in force (enabled, not expired)")
    listing.add_argument("--json", action="store_true", help='print {"suppressions": [...]}')
    add_config_options(listing)
    listing.set_defaults(run=run_list)

    disable = actions.add_parser("disable", help="turn a suppression off (kept for the record)")
    disable.add_argument("suppression_id", metavar="ID", type=int, help="suppression id (see `list`)")
    disable.add_argument("--by", metavar="NAME", help="who disables it (default: cli:<your login>)")
    disable.add_argument("--json", action="store_true", help="print the suppression as JSON")
    add_config_options(disable)
    disable.set_defaults(run=run_disable)


def parse_expiry(text: str, now: datetime) -> datetime | None:
    """``7d`` (from now), an ISO 8601 time (naive means UTC), or ``never``; ValueError explains the forms."""
    value = (text or "").strip()
    if value.lower() == "never":
        return None
    try:
        return now + parse_interval(value)
    except ValueError:
        pass
    try:
        return parse_timestamp(value)
    except ValueError:
        raise ValueError(
            f"invalid --expires {text!r}: use a duration such as 7d or 12h, an ISO 8601 time such as "
            "2026-12-31T00:00:00Z, or never"
        ) from None


def run_add(args: argparse.Namespace) -> int:
    """Create the suppression and print it."""
    now = datetime.now(UTC)
    try:
        expires_at = parse_expiry(args.expires, now)
    except ValueError as exc:
        print(f"sontra suppressions add: {exc}", file=sys.stderr)
        return 2
    config = config_from_args(args)
    with WorkflowDatabase(config.database_url) as db:
        try:
            suppression = create_suppression(
                db,
                query=args.query,
                reason=args.reason,
                owner=args.owner,
                expires_at=expires_at,
                name=args.name,
                now=now,
            )
        except SuppressionError as exc:
            print(f"sontra suppressions add: {exc}", file=sys.stderr)
            return 2
    data = suppression_as_dict(suppression, now)
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        until = data["expires_at"] or "never expires"
        print(f"suppression {data['id']} ({data['name']}) added, until {until}: {data['query']}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print the suppressions, oldest first."""
    config = config_from_args(args)
    now = datetime.now(UTC)
    with WorkflowDatabase(config.database_url) as db:
        rows = [suppression_as_dict(s, now) for s in list_suppressions(db, include_inactive=not args.active)]
    if args.json:
        print(json.dumps({"suppressions": rows}, ensure_ascii=False))
        return 0
    if rows:
        print(f"{'ID':>4}  {'STATE':<8}  {'HITS':>8}  {'EXPIRES':<24}  {'OWNER':<16}  NAME / QUERY")
    for r in rows:
        print(
            f"{r['id']:>4}  {r['state']:<8}  {r['hit_count']:>8}  {r['expires_at'] or 'never':<24}  "
            f"{r['owner']:<16}  {r['name']}: {r['query']}"
        )
    print(f"-- {len(rows)} suppressions", file=sys.stderr)
    return 0


def run_disable(args: argparse.Namespace) -> int:
    """Disable one suppression."""
    config = config_from_args(args)
    actor = args.by or f"cli:{getpass.getuser()}"
    with WorkflowDatabase(config.database_url) as db:
        try:
            suppression = disable_suppression(db, args.suppression_id, actor=actor)
        except SuppressionError as exc:
            print(f"sontra suppressions disable: {exc}", file=sys.stderr)
            return 1
    data = suppression_as_dict(suppression)
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(f"suppression {data['id']} ({data['name']}) disabled after {data['hit_count']} hits")
    return 0
