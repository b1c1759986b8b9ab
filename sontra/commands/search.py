"""`sontra search QUERY`: Lucene query over stored events, from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from normalizers.schema import get_field
from sontra.commands.common import add_config_options, config_from_args
from sontra.stores import open_event_store
from storage.base import QueryError
from storage.timefmt import parse_interval, parse_timestamp


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra search`."""
    parser = sub.add_parser(
        "search",
        help="search stored events with a Lucene query",
        description="Search stored events. QUERY uses Lucene syntax, e.g. "
        "'event.action:ssh_login AND source.ip:\"10.0.0.0/8\"'. Use '*' for everything.",
    )
    parser.add_argument("query", metavar="QUERY", help="Lucene query string ('*' matches everything)")
    window = parser.add_mutually_exclusive_group()
    window.add_argument("--since", metavar="AGE", help="look back this far, e.g. 15m, 24h, 7d (default 24h)")
    window.add_argument("--from", dest="from_", metavar="T", help="window start, ISO 8601 (with --to)")
    parser.add_argument("--to", metavar="T", help="window end, ISO 8601 (default now)")
    parser.add_argument("--limit", type=_positive_int, default=20, metavar="N", help="hits to print (default 20)")
    parser.add_argument("--alerts", action="store_true", help="search alerts instead of events")
    parser.add_argument("--json", action="store_true", help='print {"total": N, "hits": [...]}')
    add_config_options(parser)
    parser.set_defaults(run=run, _parser=parser)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 10000, got {value}")
    return value


def _window(args: argparse.Namespace) -> tuple[datetime, datetime]:
    parser: argparse.ArgumentParser = args._parser
    now = datetime.now(UTC)
    if args.to and args.since:
        parser.error("--to goes with --from, not with --since")
    try:
        if args.from_:
            start = parse_timestamp(args.from_)
            end = parse_timestamp(args.to) if args.to else now
        else:
            start = now - parse_interval(args.since or "24h")
            end = parse_timestamp(args.to) if args.to else now
    except ValueError as exc:
        parser.error(str(exc))
    if start >= end:
        parser.error("the window start must be before its end")
    return start, end


def run(args: argparse.Namespace) -> int:
    """Run the search and print the hits."""
    start, end = _window(args)
    config = config_from_args(args)
    store = open_event_store(config)
    if args.alerts:
        store = store.sibling("alerts")
    try:
        result = store.search(args.query, start, end, size=args.limit)
    except QueryError as exc:
        print(f"sontra search: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if args.json:
        print(json.dumps({"total": result.total, "hits": result.hits}, ensure_ascii=False))
        return 0
    for hit in result.hits:
        print(_one_line(hit))
    shown = len(result.hits)
    print(f"-- {shown} of {result.total} events, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    return 0


def _one_line(hit: dict) -> str:
    parts = [
        str(hit.get("@timestamp", "")),
        str(get_field(hit, "host.name") or get_field(hit, "host.hostname") or "-"),
        str(get_field(hit, "event.action") or get_field(hit, "process.name") or "-"),
        str(hit.get("message") or get_field(hit, "event.original") or "")[:160],
    ]
    return "  ".join(parts)
