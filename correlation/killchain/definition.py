"""The kill-chain definition: ordered phases, each a set of ATT&CK tactics; loaded from YAML and checked.

The default definition ships as ``phases.yaml`` beside this module (its comments explain the
grouping). Every problem with a definition file raises ``DefinitionError`` naming the file and
the key, e.g. ``phases[2].tactics[1]: unknown ATT&CK tactic 'inital-access'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from normalizers.schema import get_field

# ATT&CK Enterprise tactics by the name Sigma tags use, with their ids (v19 split Defense Evasion
# into Stealth, which kept TA0005, and Defense Impairment).
TACTIC_IDS: dict[str, str] = {
    "reconnaissance": "TA0043",
    "resource-development": "TA0042",
    "initial-access": "TA0001",
    "execution": "TA0002",
    "persistence": "TA0003",
    "privilege-escalation": "TA0004",
    "defense-evasion": "TA0005",
    "stealth": "TA0005",
    "defense-impairment": "TA0112",
    "credential-access": "TA0006",
    "discovery": "TA0007",
    "lateral-movement": "TA0008",
    "collection": "TA0009",
    "command-and-control": "TA0011",
    "exfiltration": "TA0010",
    "impact": "TA0040",
}
# A tactic id names the tactic that first had it (TA0005 is defense-evasion in older rules).
TACTIC_BY_ID: dict[str, str] = {}
for _name, _id in TACTIC_IDS.items():
    TACTIC_BY_ID.setdefault(_id, _name)

SUPPORTED_VERSIONS = (1,)
_TOP_KEYS = ("version", "phases", "untagged")
_PHASE_KEYS = ("name", "description", "tactics")
_UNTAGGED_KEYS = ("rule", "field", "values", "tactic")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SEPARATORS = re.compile(r"[\s_]+")


class DefinitionError(ValueError):
    """A kill-chain definition that cannot be used; the message names the file and the bad key."""


@dataclass(frozen=True, slots=True)
class Phase:
    """One kill-chain phase: its name, what it means, and the ATT&CK tactics that put an alert in it."""

    name: str
    tactics: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class UntaggedRule:
    """A tactic for alerts whose rule carries none (IOC matches): by rule id, optionally by a field's value.

    ``rule`` is a rule id, or a prefix ending in ``*``; ``field``/``values``, when given, also
    require the alert's ``field`` to hold one of ``values``.
    """

    rule: str
    tactic: str
    field: str | None = None
    values: frozenset[str] = frozenset()

    def applies_to(self, alert: Mapping[str, Any]) -> bool:
        """Whether this entry places the alert."""
        rule_id = get_field(alert, "rule.id")
        if not isinstance(rule_id, str):
            return False
        if self.rule.endswith("*"):
            if not rule_id.startswith(self.rule[:-1]):
                return False
        elif rule_id != self.rule:
            return False
        return self.field is None or str(get_field(alert, self.field)) in self.values


@dataclass(frozen=True)
class KillChainDefinition:
    """Phases in kill-chain order; ``phase_of`` maps a tactic (any spelling) to its phase's position."""

    phases: tuple[Phase, ...]
    source: str = "<definition>"
    untagged: tuple[UntaggedRule, ...] = ()
    _positions: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for position, phase in enumerate(self.phases):
            for tactic in phase.tactics:
                self._positions[tactic] = position

    def phase_of(self, tactic: str) -> int | None:
        """The position of the phase holding this tactic (name, Sigma tag or id), or None."""
        slug = tactic_slug(tactic)
        return self._positions.get(slug) if slug else None

    def untagged_tactic(self, alert: Mapping[str, Any]) -> str | None:
        """The tactic the ``untagged`` entries give an alert without tactics (first entry that applies)."""
        for entry in self.untagged:
            if entry.applies_to(alert):
                return entry.tactic
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """The phase names, in order."""
        return tuple(phase.name for phase in self.phases)


def tactic_slug(text: str) -> str | None:
    """``Command and Control``, ``attack.command-and-control``, ``TA0011`` -> ``command-and-control``."""
    value = text.strip()
    if value.upper() in TACTIC_BY_ID:
        return TACTIC_BY_ID[value.upper()]
    if value.lower().startswith("attack."):
        value = value[len("attack.") :]
    slug = _SEPARATORS.sub("-", value.strip().lower())
    return slug or None


def load_definition(path: str | Path | None = None) -> KillChainDefinition:
    """Load and check a definition file; without a path, the default shipped with Sontra."""
    if path is None:
        text = resources.files(__package__).joinpath("phases.yaml").read_text(encoding="utf-8")
        return parse_definition(text, "correlation/killchain/phases.yaml")
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{source}: cannot read kill-chain definition: {exc}") from exc
    return parse_definition(text, str(source))


def parse_definition(text: str, source: str = "<definition>") -> KillChainDefinition:
    """Parse and check a definition from YAML text; ``source`` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{source}: invalid YAML: {' '.join(str(exc).split())}") from exc
    return build_definition(data, source)


def build_definition(data: Any, source: str = "<definition>") -> KillChainDefinition:
    """Check an already-parsed definition (a mapping with ``version`` and ``phases``)."""
    if not isinstance(data, Mapping):
        raise DefinitionError(f"{source}: expected a mapping with keys {', '.join(_TOP_KEYS)}")
    _no_unknown_keys(data, _TOP_KEYS, source, "")
    version = data.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise DefinitionError(f"{source}: version: expected {SUPPORTED_VERSIONS[0]}, got {version!r}")
    raw_phases = data.get("phases")
    if not isinstance(raw_phases, list) or len(raw_phases) < 2:
        raise DefinitionError(f"{source}: phases: expected a list of at least 2 phases")
    phases: list[Phase] = []
    owner: dict[str, str] = {}
    names: set[str] = set()
    for index, raw in enumerate(raw_phases):
        where = f"phases[{index}]"
        phase = _phase(raw, source, where)
        if phase.name in names:
            raise DefinitionError(f"{source}: {where}.name: phase {phase.name!r} is defined twice")
        names.add(phase.name)
        for position, tactic in enumerate(phase.tactics):
            if tactic in owner:
                raise DefinitionError(
                    f"{source}: {where}.tactics[{position}]: tactic {tactic!r} is already in phase {owner[tactic]!r}"
                )
            owner[tactic] = phase.name
        phases.append(phase)
    untagged = _untagged(data.get("untagged", []), owner, source)
    return KillChainDefinition(tuple(phases), source, untagged)


def _untagged(raw: Any, owner: Mapping[str, str], source: str) -> tuple[UntaggedRule, ...]:
    if not isinstance(raw, list):
        raise DefinitionError(f"{source}: untagged: expected a list of {{rule, tactic}} entries")
    entries: list[UntaggedRule] = []
    for index, item in enumerate(raw):
        where = f"untagged[{index}]"
        if not isinstance(item, Mapping):
            raise DefinitionError(f"{source}: {where}: expected a mapping with keys {', '.join(_UNTAGGED_KEYS)}")
        _no_unknown_keys(item, _UNTAGGED_KEYS, source, where + ".")
        rule = item.get("rule")
        if not isinstance(rule, str) or not rule.strip("*"):
            raise DefinitionError(f"{source}: {where}.rule: expected a rule id or a prefix ending in '*', got {rule!r}")
        tactic = _tactics([item.get("tactic")], source, f"{where}.tactic")[0]
        if tactic not in owner:
            raise DefinitionError(f"{source}: {where}.tactic: {tactic!r} is in no phase")
        field_name, values = item.get("field"), item.get("values")
        if (field_name is None) != (values is None):
            raise DefinitionError(f"{source}: {where}: 'field' and 'values' go together")
        if field_name is not None and (
            not isinstance(field_name, str)
            or not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            raise DefinitionError(f"{source}: {where}.values: expected a field name and a non-empty list of strings")
        entries.append(UntaggedRule(rule, tactic, field_name, frozenset(values or ())))
    return tuple(entries)


def _phase(raw: Any, source: str, where: str) -> Phase:
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{source}: {where}: expected a mapping with keys {', '.join(_PHASE_KEYS)}")
    _no_unknown_keys(raw, _PHASE_KEYS, source, where + ".")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise DefinitionError(
            f"{source}: {where}.name: expected a lowercase name (letters, digits, '-', '_'), got {name!r}"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise DefinitionError(f"{source}: {where}.description: expected text, got {type(description).__name__}")
    tactics = raw.get("tactics")
    if not isinstance(tactics, list) or not tactics:
        raise DefinitionError(f"{source}: {where}.tactics: expected a non-empty list of ATT&CK tactics")
    return Phase(name, tuple(_tactics(tactics, source, f"{where}.tactics")), description.strip())


def _tactics(values: Iterable[Any], source: str, where: str) -> list[str]:
    result: list[str] = []
    for position, value in enumerate(values):
        slug = tactic_slug(value) if isinstance(value, str) else None
        if slug not in TACTIC_IDS:
            place = where if where.endswith(".tactic") else f"{where}[{position}]"
            raise DefinitionError(
                f"{source}: {place}: unknown ATT&CK tactic {value!r} (known: {', '.join(TACTIC_IDS)})"
            )
        assert slug is not None
        if slug not in result:
            result.append(slug)
    return result


def _no_unknown_keys(data: Mapping[Any, Any], allowed: tuple[str, ...], source: str, prefix: str) -> None:
    for key in data:
        if key not in allowed:
            raise DefinitionError(f"{source}: {prefix}{key}: unknown key (expected {', '.join(allowed)})")
