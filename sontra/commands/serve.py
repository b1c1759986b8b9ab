"""`sontra serve`: run the single-node service until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from sontra.commands.common import add_config_options, config_from_args
from sontra.service import ServiceStartError, SingleNodeService


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra serve`."""
    parser = sub.add_parser(
        "serve",
        help="run the API, syslog listeners and ingest in one process",
        description="Run Sontra on one machine: REST API and console, syslog UDP/TCP listeners, ingest into "
        "the configured store. Defaults: API 127.0.0.1:8080, syslog 127.0.0.1:5514, data in ./sontra-data. "
        "SIGTERM drains and flushes everything accepted before exit.",
    )
    add_config_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the config and run the service until a signal stops it."""
    config = config_from_args(args)
    logging.basicConfig(
        level=config.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    service = SingleNodeService(config, announce=lambda text: print(text, flush=True))
    try:
        asyncio.run(service.run())
    except ServiceStartError as exc:
        print(f"sontra serve: {exc}", file=sys.stderr)
        return 1
    return 0
