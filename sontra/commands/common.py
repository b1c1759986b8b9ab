"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sontra.config import SontraConfig, load_config


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Add --config and --data-dir."""
    parser.add_argument("--config", metavar="FILE", type=Path, help="sontra.yaml to read (env SONTRA_CONFIG)")
    parser.add_argument(
        "--data-dir", metavar="DIR", type=Path, help="data directory (default ./sontra-data, env SONTRA_DATA_DIR)"
    )


def config_from_args(args: argparse.Namespace) -> SontraConfig:
    """Load the effective config with command-line flags applied last."""
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    return load_config(args.config, overrides=overrides)
