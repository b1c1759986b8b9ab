"""`sontra ingest PATH...`: push log files through the same pipeline as the listeners."""

from __future__ import annotations

import argparse
import json
import sys
from zoneinfo import ZoneInfo

from collectors.files import FileIngestError, ingest_files
from collectors.pipeline import IngestPipeline
from normalizers.record import FORMATS
from sontra.commands.common import add_config_options, config_from_args
from sontra.detection import alert_triage, detection_stage, ioc_feeds, load_configured_rules
from sontra.stores import open_event_store
from storage.workflow import WorkflowDatabase


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra ingest`."""
    parser = sub.add_parser(
        "ingest",
        help="import log files (plain or .gz syslog, JSON lines)",
        description="Normalize and store log files. Re-importing the same file stores nothing twice.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to import")
    parser.add_argument("--format", choices=FORMATS, default="auto", help="record format (default: auto-detect)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_config_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Import the files and print {"events", "parse_failures", "alerts", "seconds"}."""
    config = config_from_args(args)
    rules = load_configured_rules(config)
    stage = detection_stage(config, rules, ioc_feeds(config))
    workflow = WorkflowDatabase(config.database_url)
    events = open_event_store(config)
    alerts = events.sibling("alerts")
    pipeline = IngestPipeline(
        events,
        alerts,
        batch_size=config.storage.batch_size,
        detectors=[stage],
        alert_sink=alert_triage(workflow, rules).handle,
        filters=[f.to_filter() for f in config.filters],
        source_tz=ZoneInfo(config.syslog.timezone),
    )
    try:
        stats = ingest_files(args.paths, pipeline, args.format)
        # The end of the files: decide every open correlation window now.
        closing = stage.flush()
        pipeline.store_alerts(closing)
        stats.alerts += len(closing)
        pipeline.flush()
    except FileIngestError as exc:
        print(f"sontra ingest: {exc}", file=sys.stderr)
        return 1
    finally:
        alerts.close()
        events.close()
        workflow.close()
    summary = stats.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['events']} events stored ({summary['parse_failures']} parse failures, "
            f"{summary['alerts']} alerts) in {summary['seconds']} s"
        )
    return 0
