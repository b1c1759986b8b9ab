"""`sontra rules check DIR...` (which Sigma rules load, and why the others do not) and `sontra rules import PATH`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from correlation.replay import replay_stored_events, write_new_alerts
from correlation.sigma import LoadReport, RulePathError, SigmaEngine
from sontra.commands.common import add_config_options, config_from_args
from sontra.detection import alert_triage, detection_stage, ioc_feeds, load_configured_rules
from sontra.rule_import import ImportResult, RuleImportError, import_rules
from sontra.stores import open_event_store
from storage.base import QueryError
from storage.timefmt import parse_interval
from storage.workflow import WorkflowDatabase


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra rules`."""
    parser = sub.add_parser("rules", help="work with Sigma detection rules")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="load Sigma rules and report the ones that do not load",
        description="Load Sigma rule files and folders (recursively, *.yml/*.yaml) into the streaming "
        "engine, print how many loaded and, for each rule that did not, the reason. "
        "Exit status 1 when a rule failed to load, 2 for a path that does not exist.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(run=run_check)
    replay = actions.add_parser(
        "replay",
        help="run the configured rules over stored events again (after a rule change)",
        description="Read the stored events of the look-back window in time order, run the configured detection "
        "(rules.paths, IOC feeds, correlations, kill chain) over them, store only alerts not stored before and "
        "ticket them. Running it twice writes nothing the second time.",
    )
    replay.add_argument("--since", default="24h", help="look-back window: 30m, 24h, 7d (default 24h)")
    replay.add_argument("--query", default="", help="only events matching this Lucene query")
    replay.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_config_options(replay)
    replay.set_defaults(run=run_replay)
    imports = actions.add_parser(
        "import",
        help="add a Sigma rule folder or a SigmaHQ release archive to the active rules",
        description="Load every rule of a folder, .zip or .tar.gz archive (SigmaHQ release packages included), "
        "report how many loaded and why the others did not, and copy the rule files into "
        "<data_dir>/rules/imported/<name>/, which the service loads with its own rule pack. Rules that "
        "fail to load are reported and stay inactive. Exit status 2 when nothing could be imported.",
    )
    imports.add_argument("path", type=Path, metavar="PATH", help="rule folder, .zip or .tar.gz archive")
    imports.add_argument("--name", help="name of the imported rule set (default: the folder or archive name)")
    imports.add_argument("--replace", action="store_true", help="replace an imported rule set of the same name")
    imports.add_argument("--json", action="store_true", help="print the result as JSON")
    add_config_options(imports)
    imports.set_defaults(run=run_import)


def run_check(args: argparse.Namespace) -> int:
    """Load the rules and print the report."""
    engine = SigmaEngine()
    try:
        report = engine.load(args.paths)
    except RulePathError as exc:
        print(f"sontra rules check: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**report.to_dict(), "loaded_percent": round(100 * report.loaded_share, 2)}, indent=2))
    else:
        _print_text(report)
    return 1 if report.failures else 0


def run_replay(args: argparse.Namespace) -> int:
    """Replay the stored events of the window through a fresh detection stage and print what it did."""
    try:
        since = parse_interval(args.since)
    except ValueError as exc:
        print(f"sontra rules replay: --since: {exc}", file=sys.stderr)
        return 2
    config = config_from_args(args)
    rules = load_configured_rules(config)
    stage = detection_stage(config, rules, ioc_feeds(config))  # fresh state: old events are not late here
    workflow = WorkflowDatabase(config.database_url)
    events = open_event_store(config)
    alerts = events.sibling("alerts")
    try:
        triage = alert_triage(workflow, rules)
        try:
            stats = replay_stored_events(events, alerts, [stage], since, query=args.query, triage=triage)
        except (QueryError, ValueError) as exc:
            print(f"sontra rules replay: {exc}", file=sys.stderr)
            return 2
        # Correlation windows still open at the window's end are decided now, as at the end of a file.
        closing = write_new_alerts(alerts, stage.flush())
        stats.written += closing.stored
        stats.alerts += len(closing.alerts) + closing.duplicates
        stats.duplicates += closing.duplicates
        if closing.alerts:
            stats.triage.add(triage.handle(closing.alerts, measure_lag=False))
        alerts.flush()
    finally:
        alerts.close()
        events.close()
        workflow.close()
    summary = {**stats.summary(), "rules_loaded": rules.loaded, "rules_failed": rules.failed}
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"replayed {summary['events']} events from {summary['start']} to {summary['end']}: "
            f"{summary['alerts']} alerts, {summary['written']} new, {summary['duplicates']} already stored "
            f"({summary['rules_loaded']} rules, {summary['seconds']} s)"
        )
    return 0


def _print_text(report: LoadReport) -> None:
    print(
        f"loaded {report.loaded} of {report.total} rules ({100 * report.loaded_share:.1f}%) from {report.files} files"
    )
    if report.filters:
        print(f"applied {report.filters} Sigma filters")
    for failure in report.failures:
        print(f"FAILED {_where(failure.path, failure.title, failure.rule_id)}: {failure.reason}")
    for skipped in report.skipped:
        print(f"SKIPPED {_where(skipped.path, skipped.title, skipped.rule_id)}: {skipped.reason}")


def _where(path: object, title: str | None, rule_id: str | None) -> str:
    names = ", ".join(part for part in (title, rule_id) if part)
    return f"{path} ({names})" if names else str(path)


def run_import(args: argparse.Namespace) -> int:
    """Import the rule set and print what loaded."""
    config = config_from_args(args)
    try:
        result = import_rules(args.path, config.data_dir, name=args.name, replace=args.replace)
    except RuleImportError as exc:
        print(f"sontra rules import: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        _print_import(result)
    return 0


def _print_import(result: ImportResult) -> None:
    print(f"imported {result.files} rule files as {result.name!r} into {result.destination}")
    _print_text(result.report)
    print(f"correlation rules: {result.correlations} loaded, {len(result.correlation_failures)} failed")
    for failure in result.correlation_failures:
        print(f"FAILED {_where(failure['path'], failure['title'], failure['id'])}: {failure['reason']}")
