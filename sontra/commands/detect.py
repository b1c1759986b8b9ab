"""`sontra detect PATH... --rules DIR`: run Sigma rules over log files, no server and no store.

For hunting through an exported EVTX or a log file with a rule set: each file is read and
normalized as `sontra ingest` would, every event goes through the streaming engine, and each match
is printed (one JSON line with --json); correlation rules among the given rules run on the matches.
The summary goes to stderr, so the matches can be piped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from itertools import islice
from typing import Any

from collectors.files import FileIngestError, expand_paths, read_records
from correlation.sigma import Match, RulePathError
from correlation.sigma.alert import threat_of
from correlation.sigma_correlation import CorrelationEvaluator
from normalizers import normalize
from normalizers.record import FORMATS, RawRecord
from normalizers.schema import get_field
from sontra.detection import load_rules

BATCH = 1000


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra detect`."""
    parser = sub.add_parser(
        "detect",
        help="run Sigma rules over log files (EVTX, JSON lines, syslog) and print the matches",
        description="Read and normalize log files, run the given Sigma rules (and their correlation rules) "
        "over them and print each match; nothing is stored. Exit status 2 for a missing file or rule path.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="log files or folders")
    parser.add_argument(
        "--rules", action="append", required=True, metavar="DIR", help="Sigma rule file or folder (repeatable)"
    )
    parser.add_argument("--format", choices=FORMATS, default="auto", help="record format (default: auto-detect)")
    parser.add_argument("--json", action="store_true", help="one JSON object per match")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the rules, scan the files, print matches to stdout and the summary to stderr."""
    started = time.perf_counter()
    try:
        files = expand_paths(args.paths)
        rules = load_rules(args.rules)
    except (FileIngestError, RulePathError) as exc:
        print(f"sontra detect: {exc}", file=sys.stderr)
        return 2
    evaluator = CorrelationEvaluator(rules.correlations.rules) if rules.correlations.rules else None
    events = matches = 0
    for path in files:
        try:
            for batch in _batches(read_records(path, args.format)):
                normalized = [normalize(record, UTC) for record in batch]
                events += len(normalized)
                found = rules.engine.match_batch(normalized)
                matches += len(found)
                for match in found:
                    _print(match_line(match), args.json)
                if evaluator is not None:
                    for alert in evaluator.observe_matches(found):
                        matches += 1
                        _print(correlation_line(alert), args.json)
        except FileIngestError as exc:
            print(f"sontra detect: {exc}", file=sys.stderr)
            return 1
    if evaluator is not None:
        for alert in evaluator.flush():
            matches += 1
            _print(correlation_line(alert), args.json)
    summary = {
        "files": len(files),
        "events": events,
        "matches": matches,
        "rules_loaded": rules.loaded,
        "rules_failed": rules.failed,
        "seconds": round(time.perf_counter() - started, 3),
    }
    print("sontra detect: " + " ".join(f"{k}={v}" for k, v in summary.items()), file=sys.stderr)
    return 0


def match_line(match: Match) -> dict[str, Any]:
    """What one match prints: the rule (id, name, level, ATT&CK tags) and the event it matched."""
    rule, event = match.rule, match.event
    return {
        "rule": {"id": rule.id, "name": rule.title, "level": rule.level},
        "attack": [tag for tag in rule.tags if tag.lower().startswith("attack.")],
        "threat": threat_of(rule.tags),
        "event": {"id": get_field(event, "event.id")},
        "@timestamp": event.get("@timestamp"),
        "host": {"name": get_field(event, "host.name")},
        "log": {"file": {"path": get_field(event, "log.file.path")}},
    }


def correlation_line(alert: dict[str, Any]) -> dict[str, Any]:
    """What one correlation alert prints: its rule, time, entity and the events it counted."""
    return {
        "rule": {key: alert["rule"].get(key) for key in ("id", "name", "level")},
        "attack": [tag for tag in alert.get("tags", ()) if str(tag).lower().startswith("attack.")],
        "threat": alert.get("threat"),
        "correlation": alert.get("sontra", {}).get("correlation"),
        "source_event_ids": get_field(alert, "sontra.alert.source_event_ids"),
        "@timestamp": alert.get("@timestamp"),
        "host": {"name": get_field(alert, "host.name")},
    }


def _print(line: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(line, default=str))
        return
    where = line["log"]["file"]["path"] if "log" in line else "correlation"
    tags = ",".join(line["attack"])
    print(
        f"{line['@timestamp']} [{line['rule']['level'] or '-'}] {line['rule']['name']} ({line['rule']['id']}) "
        f"host={line['host']['name'] or '-'} {where}" + (f" {tags}" if tags else "")
    )


def _batches(records: Iterator[RawRecord]) -> Iterator[list[RawRecord]]:
    while batch := list(islice(records, BATCH)):
        yield batch
