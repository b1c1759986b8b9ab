"""`sontra rules check DIR...`: how many Sigma rules load into the detection engine, and why the others do not."""

from __future__ import annotations

import argparse
import json
import sys

from correlation.sigma import LoadReport, RulePathError, SigmaEngine


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


def _print_text(report: LoadReport) -> None:
    print(
        f"loaded {report.loaded} of {report.total} rules ({100 * report.loaded_share:.1f}%) "
        f"from {report.files} files"
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
