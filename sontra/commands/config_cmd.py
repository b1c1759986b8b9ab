"""`sontra config show|keys`: the effective configuration and every key's default."""

from __future__ import annotations

import argparse
import json

import yaml

from sontra.commands.common import add_config_options, config_from_args
from sontra.config import config_as_dict, describe_keys, keys_markdown


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra config`."""
    parser = sub.add_parser("config", help="show the effective configuration")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective config (file + SONTRA_* env), secrets masked")
    add_config_options(show)
    show.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    show.set_defaults(run=run_show)
    keys = actions.add_parser("keys", help="list every config key with its default and meaning")
    keys.add_argument("--json", action="store_true", help="print JSON")
    keys.add_argument("--markdown", action="store_true", help="print the docs/configuration.md table")
    keys.set_defaults(run=run_keys)


def run_show(args: argparse.Namespace) -> int:
    """Print the effective config."""
    data = config_as_dict(config_from_args(args))
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False), end="")
    return 0


def run_keys(args: argparse.Namespace) -> int:
    """Print every key, its default and its description."""
    rows = describe_keys()
    if args.markdown:
        print(keys_markdown(), end="")
        return 0
    if args.json:
        print(json.dumps([{"key": k, "default": _plain(d), "description": t} for k, d, t in rows], indent=2))
        return 0
    width = max(len(k) for k, _, _ in rows)
    for key, default, text in rows:
        print(f"{key:<{width}}  {_plain(default)!s:<24}  {text}")
    return 0


def _plain(value: object) -> object:
    return value if isinstance(value, (int, float, bool, str, type(None))) else str(value)
