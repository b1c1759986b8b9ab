"""The `sontra` command line: one parser, one module per command under sontra/commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sontra import __version__
from sontra.commands import agent, config_cmd, detect, ingest, rules, search, serve, suppressions, tickets
from sontra.config import ConfigError

COMMANDS = (serve, ingest, detect, search, config_cmd, rules, tickets, suppressions, agent)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="sontra",
        description="Sontra SOC toolkit: collect, normalize, detect, investigate.",
    )
    parser.add_argument("--version", action="version", version=f"sontra {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (2 for usage errors, 1 for failures)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print(f"sontra: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
