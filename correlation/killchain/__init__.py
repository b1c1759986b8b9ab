"""Kill-chain progression per entity over ATT&CK tactics, raising one critical alert per multi-stage attack."""

from correlation.killchain.alert import RULE_ID
from correlation.killchain.definition import (
    DefinitionError,
    KillChainDefinition,
    Phase,
    build_definition,
    load_definition,
    parse_definition,
)
from correlation.killchain.tracker import KillChainStats, KillChainTracker

__all__ = [
    "RULE_ID",
    "DefinitionError",
    "KillChainDefinition",
    "KillChainStats",
    "KillChainTracker",
    "Phase",
    "build_definition",
    "load_definition",
    "parse_definition",
]
