"""Kill-chain progression per entity: alerts in, a critical "multi-stage attack" alert out.

Each alert is placed in the kill-chain phases of its ATT&CK tactics (``threat.tactic.name``,
else ``threat.tactic.id``, else ``attack.*`` tags, else the definition's ``untagged`` entries)
and filed under each of its entities (``host.name``, ``user.name``, ``source.ip`` by default).
For every entity the tracker keeps its alerts of the last ``window`` (event time, ``@timestamp``).

Progression "in order", precisely: a chain is a sequence of the entity's alerts, ordered by
``@timestamp`` (ties in arrival order), whose phases are strictly increasing in the definition's
order, the first and last alert at most ``window`` apart. Each alert counts for one phase only,
even when its tactics span several (T1078 is initial-access, persistence, privilege-escalation
and defense-evasion: alone it is one step, not four). The entity's progress is its longest chain;
when that reaches ``min_phases`` phases, the tracker raises the alert. So a C2 alert followed by
a persistence alert is not progress (persistence comes earlier in the chain), and two alerts of
the same phase count once.

No flood: once raised for an entity, the tracker raises again only when the entity gets further:
a longer chain, or a chain ending in a later phase, than any raised so far. That memory ends when
the last raised chain has left the window (then a new campaign is a new alert).

Event time with a watermark, as the correlation evaluator: the newest alert time (never past the
wall clock) minus ``lateness``; older alerts are late (counted, ignored). Alerts arriving out of order within the
lateness are placed where they belong and the chains are recomputed. Bounded state: at most
``max_entities`` entities (least recently used evicted, counted) with at most
``max_alerts_per_entity`` alerts each (oldest forgotten, counted).
"""

from __future__ import annotations

import bisect
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from correlation.killchain.alert import RULE_ID, Link, Sighting, killchain_alert
from correlation.killchain.definition import KillChainDefinition, tactic_slug
from normalizers.schema import get_field
from storage.timefmt import parse_timestamp

ENTITY_FIELDS = ("host.name", "user.name", "source.ip")
DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_LATENESS = timedelta(hours=1)
DEFAULT_MAX_ENTITIES = 50_000
DEFAULT_MAX_ALERTS_PER_ENTITY = 200


@dataclass
class KillChainStats:
    """What the tracker counted (never reset)."""

    alerts: int = 0  # alerts observed
    unmapped: int = 0  # alerts without a tactic of any phase (or without an entity)
    late: int = 0  # alerts older than the watermark
    untimed: int = 0  # alerts without a readable @timestamp
    duplicates: int = 0  # the same alert (event.id) seen again for the same entity
    dropped: int = 0  # alerts forgotten because an entity reached max_alerts_per_entity
    evicted_entities: int = 0  # entities dropped because max_entities was reached
    raised: int = 0  # multi-stage attack alerts raised


@dataclass
class _Entity:
    """One entity's alerts in the window, its best chains, and what was already raised for it."""

    sightings: list[Sighting] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    # (phase, length) -> the chain of that length ending in that phase with the latest start.
    chains: dict[tuple[int, int], tuple[Link, ...]] = field(default_factory=dict)
    raised_length: int = 0
    raised_final: int = -1
    raised_until: float = float("-inf")  # event time of the last alert of the last raised chain


class KillChainTracker:
    """Follows entities through the kill-chain phases and raises when one reaches ``min_phases`` in order."""

    def __init__(
        self,
        definition: KillChainDefinition,
        window: timedelta = DEFAULT_WINDOW,
        min_phases: int = 3,
        *,
        entities: Sequence[str] = ENTITY_FIELDS,
        lateness: timedelta = DEFAULT_LATENESS,
        max_entities: int = DEFAULT_MAX_ENTITIES,
        max_alerts_per_entity: int = DEFAULT_MAX_ALERTS_PER_ENTITY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window}")
        if not 2 <= min_phases <= len(definition.phases):
            raise ValueError(
                f"min_phases must be between 2 and the {len(definition.phases)} phases of the definition, "
                f"got {min_phases}"
            )
        if lateness < timedelta(0):
            raise ValueError(f"lateness must not be negative, got {lateness}")
        if max_entities < 1 or max_alerts_per_entity < 1:
            raise ValueError("max_entities and max_alerts_per_entity must be at least 1")
        if not entities:
            raise ValueError("entities must name at least one field")
        self.definition = definition
        self.window = window.total_seconds()
        self.min_phases = min_phases
        self.entities = tuple(entities)
        self.lateness = lateness.total_seconds()
        self.max_entities = max_entities
        self.max_alerts_per_entity = max_alerts_per_entity
        self.stats = KillChainStats()
        self._clock = clock
        self._state: OrderedDict[tuple[str, Any], _Entity] = OrderedDict()
        self._seq = itertools.count()
        self._newest = float("-inf")

    @property
    def watermark(self) -> float:
        """Event time (epoch seconds) before which an alert is late."""
        return self._newest - self.lateness

    @property
    def entity_count(self) -> int:
        """Entities currently followed."""
        return len(self._state)

    def observe(self, alerts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Take a batch of alerts (sorted by @timestamp first); the multi-stage attack alerts they raise."""
        timed: list[tuple[float, Mapping[str, Any]]] = []
        for alert in alerts:
            self.stats.alerts += 1
            time = _time(alert)
            if time is None:
                self.stats.untimed += 1
            else:
                timed.append((time, alert))
        timed.sort(key=lambda pair: pair[0])
        raised: list[dict[str, Any]] = []
        for time, alert in timed:
            raised.extend(self._observe(time, alert))
        self._expire()
        return raised

    def _observe(self, time: float, alert: Mapping[str, Any]) -> list[dict[str, Any]]:
        if get_field(alert, "rule.id") == RULE_ID:
            return []  # our own alerts are not steps of a chain
        if time < self.watermark:
            self.stats.late += 1
            return []
        phases = self._phases(alert)
        keys = [
            (name, _entity_value(name, value)) for name in self.entities for value in _values(get_field(alert, name))
        ]
        if not phases or not keys:
            self.stats.unmapped += 1
            return []
        if time > self._newest:
            self._newest = max(self._newest, min(time, self._clock().timestamp()))
        sighting = Sighting(
            time=time,
            seq=next(self._seq),
            alert_id=str(get_field(alert, "event.id") or ""),
            rule_id=str(get_field(alert, "rule.id") or ""),
            rule_name=str(get_field(alert, "rule.name") or ""),
            phases=phases,
            techniques=tuple(_values(get_field(alert, "threat.technique.id"))),
            entities=tuple((name, value) for name in ENTITY_FIELDS for value in _values(get_field(alert, name))[:1]),
        )
        raised: list[dict[str, Any]] = []
        for key in keys:
            alert_out = self._file(key, sighting)
            if alert_out is not None:
                raised.append(alert_out)
        return raised

    def _phases(self, alert: Mapping[str, Any]) -> dict[int, str]:
        """Phase position -> the tactic (Sigma tag name) that puts the alert there."""
        found: dict[int, str] = {}
        tactics = _values(get_field(alert, "threat.tactic.name")) or _values(get_field(alert, "threat.tactic.id"))
        if not tactics:
            tactics = [tag for tag in _values(alert.get("tags")) if str(tag).lower().startswith("attack.")]
        if not tactics:
            untagged = self.definition.untagged_tactic(alert)
            tactics = [untagged] if untagged else []
        for tactic in tactics:
            position = self.definition.phase_of(str(tactic))
            if position is not None and position not in found:
                found[position] = tactic_slug(str(tactic)) or str(tactic)
        return found

    def _file(self, key: tuple[str, Any], sighting: Sighting) -> dict[str, Any] | None:
        entity = self._entity(key)
        self._trim(entity)
        if sighting.alert_id and sighting.alert_id in entity.ids:
            self.stats.duplicates += 1
            return None
        entity.ids.add(sighting.alert_id)
        at = bisect.bisect_right(entity.sightings, (sighting.time, sighting.seq), key=lambda s: (s.time, s.seq))
        entity.sightings.insert(at, sighting)
        if len(entity.sightings) > self.max_alerts_per_entity:
            forgotten = entity.sightings.pop(0)
            entity.ids.discard(forgotten.alert_id)
            self.stats.dropped += 1
            self._recompute(entity)
        elif at == len(entity.sightings) - 1:
            self._extend(entity, sighting)
        else:
            self._recompute(entity)  # arrived out of order: chains are rebuilt in event-time order
        return self._maybe_raise(key, entity)

    def _entity(self, key: tuple[str, Any]) -> _Entity:
        entity = self._state.get(key)
        if entity is not None:
            self._state.move_to_end(key)
            return entity
        if len(self._state) >= self.max_entities:
            self._state.popitem(last=False)
            self.stats.evicted_entities += 1
        entity = self._state[key] = _Entity()
        return entity

    def _extend(self, entity: _Entity, sighting: Sighting) -> None:
        """Add one alert, newer than every other, to the entity's chains."""
        updates: dict[tuple[int, int], tuple[Link, ...]] = {}
        for phase in sighting.phases:
            candidates: list[tuple[Link, ...]] = [((sighting, phase),)]
            for (last_phase, _length), chain in entity.chains.items():
                if last_phase < phase and sighting.time - chain[0][0].time <= self.window:
                    candidates.append((*chain, (sighting, phase)))
            for chain in candidates:
                slot = (phase, len(chain))
                best = updates.get(slot) or entity.chains.get(slot)
                if best is None or chain[0][0].time >= best[0][0].time:
                    updates[slot] = chain
        entity.chains.update(updates)

    def _recompute(self, entity: _Entity) -> None:
        entity.chains = {}
        for sighting in entity.sightings:
            self._extend(entity, sighting)

    def _maybe_raise(self, key: tuple[str, Any], entity: _Entity) -> dict[str, Any] | None:
        if not entity.chains:
            return None
        best = max(entity.chains.values(), key=lambda chain: (len(chain), chain[-1][1], chain[0][0].time))
        length, final = len(best), best[-1][1]
        if length < self.min_phases or (length <= entity.raised_length and final <= entity.raised_final):
            return None
        entity.raised_length = max(entity.raised_length, length)
        entity.raised_final = max(entity.raised_final, final)
        entity.raised_until = max(entity.raised_until, best[-1][0].time)
        self.stats.raised += 1
        return killchain_alert(self.definition, key, best, entity.sightings, self._clock(), self.window)

    def _expire(self) -> None:
        """Drop entities whose newest alert left the window (least recently updated first)."""
        horizon = self.watermark - self.window
        while self._state:
            key, entity = next(iter(self._state.items()))
            if entity.sightings and entity.sightings[-1].time >= horizon:
                break  # updates come in roughly event-time order: the rest is newer
            del self._state[key]

    def _trim(self, entity: _Entity) -> None:
        """Forget the entity's alerts that can no longer be in a chain with a non-late alert."""
        horizon = self.watermark - self.window
        if entity.raised_until < horizon:
            # The last raised chain has left the window: a new campaign raises anew.
            entity.raised_length, entity.raised_final, entity.raised_until = 0, -1, float("-inf")
        if not entity.sightings or entity.sightings[0].time >= horizon:
            return
        cut = bisect.bisect_left(entity.sightings, horizon, key=lambda s: s.time)
        for forgotten in entity.sightings[:cut]:
            entity.ids.discard(forgotten.alert_id)
        del entity.sightings[:cut]
        entity.chains = {slot: chain for slot, chain in entity.chains.items() if chain[0][0].time >= horizon}


def _time(alert: Mapping[str, Any]) -> float | None:
    value = alert.get("@timestamp")
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value).timestamp()
    except ValueError:
        return None


def _entity_value(name: str, value: Any) -> Any:
    """Host names compare case-insensitively (DNS and Windows names do); users and addresses as given."""
    return value.lower() if name == "host.name" and isinstance(value, str) else value


def _values(value: Any) -> list[Any]:
    """A field's values as a list (ECS fields may hold one value or several); empty ones left out."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [item for item in items if item is not None and item != "" and not isinstance(item, dict | list)]
