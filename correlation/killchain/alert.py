"""The "multi-stage attack" alert: the entity, the phases it went through, and the timeline of its alerts.

``sontra.killchain.timeline`` lists the entity's alerts that fall in a phase, from the earliest
alert of the chain's first phase (within the window) to the last alert of the chain, so an
analyst sees the brute force *and* the login of the initial-access phase even though one alert
per phase makes the chain. Each step has ``timestamp``, ``rule.id``,
``rule.name``, ``phase``, ``tactic``, ``event.id`` of the alert, and ``in_chain`` for the alerts
that make up the progression. ``event.id`` is a hash of the entity and the chain's alert ids:
replaying the same alerts raises the same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from correlation.killchain.definition import TACTIC_IDS, KillChainDefinition
from normalizers.schema import ECS_VERSION, set_field
from normalizers.timestamps import format_timestamp

RULE_ID = "sontra-killchain"
RULESET = "sontra"
DATASET = "sontra.killchain"
SEVERITY_CRITICAL = 5
MAX_TIMELINE = 50
ENTITY_LABELS: Mapping[str, str] = {"host.name": "host", "user.name": "user", "source.ip": "source IP"}
# sontra.alert.entity_type: tells ticket grouping which entity this alert is about.
ENTITY_TYPES: Mapping[str, str] = {"host.name": "host", "user.name": "user", "source.ip": "source_ip"}


@dataclass(frozen=True, slots=True)
class Sighting:
    """What the tracker keeps of one alert: when, which rule, its phases, and what the kill-chain alert copies."""

    time: float
    seq: int
    alert_id: str
    rule_id: str
    rule_name: str
    phases: Mapping[int, str]  # phase position -> tactic that put the alert there
    techniques: tuple[Any, ...] = ()
    entities: tuple[tuple[str, Any], ...] = ()


# One step of a chain: the alert and the phase it counts for.
Link = tuple[Sighting, int]


def killchain_id(entity: tuple[str, Any], chain: Sequence[Link]) -> str:
    """The alert's deterministic ``event.id``: the entity and the alerts of the chain."""
    parts = ["killchain", entity[0], repr(entity[1]), *sorted(s.alert_id for s, _ in chain)]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def killchain_alert(
    definition: KillChainDefinition,
    entity: tuple[str, Any],
    chain: Sequence[Link],
    sightings: Sequence[Sighting],
    created: datetime,
    window: float,
) -> dict[str, Any]:
    """The critical alert for an entity whose alerts went through ``len(chain)`` phases in order."""
    field_name, value = entity
    label = ENTITY_LABELS.get(field_name, field_name)
    phases = [definition.phases[phase].name for _, phase in chain]
    start, end = chain[0][0].time, chain[-1][0].time
    title = f"Multi-stage attack on {label} {value}"
    timeline = _timeline(definition, chain, sightings, window)
    alert: dict[str, Any] = {
        "@timestamp": _iso(end),
        "message": f"{title}: {' -> '.join(phases)} within {_duration(end - start)}",
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "alert",
            "id": killchain_id(entity, chain),
            "dataset": DATASET,
            "severity": SEVERITY_CRITICAL,
            "start": _iso(start),
            "end": _iso(end),
            "created": format_timestamp(created.astimezone(UTC)),
        },
        "rule": {
            "id": RULE_ID,
            "name": title,
            "level": "critical",
            "ruleset": RULESET,
            "category": "killchain",
            "description": (
                f"The {label}'s alerts went through {len(chain)} kill-chain phases in order "
                f"({', '.join(phases)}); see sontra.killchain.timeline."
            ),
        },
        "sontra": {
            "alert": {"source_event_ids": [step["event"]["id"] for step in timeline if step["event"]["id"]]},
            "killchain": {
                "entity": {"field": field_name, "value": value},
                "phases": phases,
                "phase_count": len(chain),
                "timeline": timeline,
            },
        },
    }
    threat = _threat(chain)
    if field_name in ENTITY_TYPES:
        alert["sontra"]["alert"]["entity_type"] = ENTITY_TYPES[field_name]
    if threat:
        alert["threat"] = threat
    for name, agreed in _agreed_entities(chain).items():
        set_field(alert, name, agreed)
    set_field(alert, field_name, value)
    return alert


def _timeline(
    definition: KillChainDefinition, chain: Sequence[Link], sightings: Sequence[Sighting], window: float
) -> list[dict[str, Any]]:
    in_chain = {id(sighting): phase for sighting, phase in chain}
    (first, first_phase), end = chain[0], chain[-1][0].time
    start = min(
        (s.time for s in sightings if first_phase in s.phases and end - window <= s.time <= first.time),
        default=first.time,
    )
    steps: list[dict[str, Any]] = []
    others = MAX_TIMELINE - len(chain)
    for sighting in sightings:
        if not start <= sighting.time <= end:
            continue
        chosen = in_chain.get(id(sighting))
        if chosen is None:
            if others <= 0:
                continue
            others -= 1
        phase = chosen if chosen is not None else min(sighting.phases)
        steps.append(
            {
                "timestamp": _iso(sighting.time),
                "rule": {"id": sighting.rule_id, "name": sighting.rule_name},
                "phase": definition.phases[phase].name,
                "tactic": sighting.phases[phase],
                "event": {"id": sighting.alert_id},
                "in_chain": chosen is not None,
            }
        )
    return steps


def _threat(chain: Sequence[Link]) -> dict[str, Any]:
    """The tactics that placed each step (also for alerts placed by ``untagged``), and every technique."""
    names: list[str] = []
    ids: list[str] = []
    techniques: list[Any] = []
    for sighting, phase in chain:
        slug = sighting.phases[phase]
        name = " ".join(word if word == "and" else word.capitalize() for word in slug.split("-"))
        if name not in names:
            names.append(name)
        if slug in TACTIC_IDS and TACTIC_IDS[slug] not in ids:
            ids.append(TACTIC_IDS[slug])
        techniques.extend(t for t in sighting.techniques if t not in techniques)
    threat: dict[str, Any] = {"framework": "MITRE ATT&CK", "tactic": {"name": names, "id": ids}}
    if techniques:
        threat["technique"] = {"id": techniques}
    return threat


def _agreed_entities(chain: Sequence[Link]) -> dict[str, Any]:
    """Entity fields every alert of the chain carries with the same value (for ticket grouping)."""
    agreed: dict[str, Any] | None = None
    for sighting, _ in chain:
        fields = dict(sighting.entities)
        agreed = fields if agreed is None else {k: v for k, v in agreed.items() if fields.get(k) == v}
    return agreed or {}


def _duration(span: float) -> str:
    seconds = round(span)
    if seconds < 60:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s" if rest else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _iso(seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(seconds, tz=UTC))
