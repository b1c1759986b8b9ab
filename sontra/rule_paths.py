"""Where the service's Sigma rules come from: the shipped pack, configured paths and imported rule folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import correlation.rules

# Sontra's own rule pack, shipped as package data (correlation/rules/{linux,web,network,windows}).
PACK_DIR = Path(correlation.rules.__file__).resolve().parent


def imported_rules_dir(data_dir: Path) -> Path:
    """The folder `sontra rules import` copies rule sets into: <data_dir>/rules/imported."""
    return Path(data_dir) / "rules" / "imported"


def imported_rule_sets(data_dir: Path) -> list[Path]:
    """Every imported rule set (one folder each), by name."""
    root = imported_rules_dir(data_dir)
    if not root.is_dir():
        return []
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))


def active_rule_paths(config: Any) -> list[Path]:
    """The rules the service runs: ``rules.paths`` (default: the shipped pack), then every imported rule set."""
    rules = getattr(config, "rules", None)
    configured = getattr(rules, "rule_paths", None)
    # Same meaning as the config key: unset runs the shipped pack; a list replaces it ([] runs none of it).
    paths = [PACK_DIR] if configured is None else [Path(path) for path in configured]
    return [*paths, *(rule_set for rule_set in imported_rule_sets(Path(config.data_dir)) if rule_set not in paths)]
