"""The correlation stage: base-rule matches in, correlation alerts out, on the stream, in event time.

Input: which base Sigma rule an event matched (the single-event engine's ``Match``: the rule's
id, the event). Each correlation rule referencing that rule gets the match, in the group given by
its group-by fields (aliases resolved per referenced rule). Correlation alerts are fed back as
matches of their correlation rule, so correlation rules can reference correlation rules.

Time is the events' ``@timestamp``, never the wall clock. The watermark is the newest event time
seen minus ``lateness``: a match older than the watermark is *late* and is counted but not
correlated (the event itself is still stored and was still checked by single-event rules), because
the windows it belonged to may already have been decided. The watermark never passes the wall
clock minus ``lateness``: an event stamped in the future (a host with a wrong clock) is correlated
at its time but must not make every other source late.

Memory is bounded: a group's entries expire with the timespan (relative to the watermark); each
rule keeps at most ``max_groups`` groups (least recently used evicted, counted in
``stats.evicted_groups``); each group keeps at most ``max_group_events`` entries.

Not thread-safe: feed one evaluator from one thread (the ingest worker).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from correlation.sigma_correlation.alert import ENTITY_FIELDS, to_alert
from correlation.sigma_correlation.rules import CorrelationRule, silenced_keys
from correlation.sigma_correlation.windows import NEVER, CorrelationStats, Entry, Firing, GroupState, new_state
from normalizers.schema import get_field
from storage.timefmt import parse_timestamp

DEFAULT_LATENESS = timedelta(seconds=60)
DEFAULT_MAX_GROUPS = 10_000
DEFAULT_MAX_GROUP_EVENTS = 1_000
# Correlation rules referencing correlation rules: the loader rejects cycles; this bounds the rest.
MAX_CHAIN_DEPTH = 8

GroupKey = tuple[Hashable, ...]


class MatchedRule(Protocol):
    """The rule side of a match: its id (the engine uses the rule's name, then title, when it has no id)."""

    @property
    def id(self) -> str: ...


class RuleMatch(Protocol):
    """One base rule matching one event: ``correlation.sigma.Match`` has this shape."""

    @property
    def rule(self) -> MatchedRule: ...

    @property
    def event(self) -> Mapping[str, Any]: ...


class CorrelationEvaluator:
    """Sigma correlation rules evaluated on the stream of base-rule matches, with bounded state."""

    def __init__(
        self,
        rules: Sequence[CorrelationRule],
        *,
        lateness: timedelta = DEFAULT_LATENESS,
        max_groups: int = DEFAULT_MAX_GROUPS,
        max_group_events: int = DEFAULT_MAX_GROUP_EVENTS,
        ruleset: str = "sigma",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if lateness < timedelta(0):
            raise ValueError(f"lateness must not be negative, got {lateness}")
        if max_groups < 1:
            raise ValueError(f"max_groups must be at least 1, got {max_groups}")
        if max_group_events < 1:
            raise ValueError(f"max_group_events must be at least 1, got {max_group_events}")
        self.rules = tuple(rules)
        self.lateness = lateness.total_seconds()
        self.max_groups = max_groups
        self.max_group_events = max_group_events
        self.ruleset = ruleset
        self.stats = CorrelationStats()
        self.evicted_by_rule: Counter[str] = Counter()
        self._clock = clock
        self._routes: dict[str, list[tuple[int, int]]] = {}
        for index, rule in enumerate(self.rules):
            for slot, reference in enumerate(rule.rules):
                for key in reference.keys:
                    targets = self._routes.setdefault(key, [])
                    if (index, slot) not in targets:
                        targets.append((index, slot))
        for targets in self._routes.values():
            # A rule listed twice in one correlation: its later slot takes the event first, so the
            # same event cannot be both steps of a temporal_ordered sequence.
            targets.sort(key=lambda target: (target[0], -target[1]))
        self._dependents = [self._targets(rule.keys) for rule in self.rules]
        silenced = silenced_keys(self.rules)
        self._silenced = {index for index, rule in enumerate(self.rules) if silenced.intersection(rule.keys)}
        self._groups: list[OrderedDict[GroupKey, GroupState]] = [OrderedDict() for _ in self.rules]
        self._deadlines: list[tuple[float, int, int, GroupKey, GroupState]] = []
        self._seq = itertools.count()
        self._newest = NEVER

    @property
    def watermark(self) -> float:
        """Event time (epoch seconds) before which a match is late."""
        return self._newest - self.lateness

    @property
    def group_count(self) -> int:
        """Groups currently tracked, over all rules."""
        return sum(len(groups) for groups in self._groups)

    @property
    def retained(self) -> int:
        """Matches held in state, over all groups (what the memory bound caps)."""
        return sum(len(state.entries) for groups in self._groups for state in groups.values())

    def feeds(self, rule_id: str) -> bool:
        """Whether matches of this rule (by id or name) feed any correlation rule."""
        return rule_id in self._routes

    def observe(self, rule_id: str, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Feed one base-rule match (the rule's id or name, and the event); the alerts it completes."""
        targets = self._routes.get(rule_id)
        if not targets:
            return []
        self.stats.matches += 1
        time = event_time(event)
        if time is None:
            self.stats.untimed += 1
            return []
        if time < self.watermark:
            self.stats.late += 1
            return []
        if time > self._newest:
            self._newest = max(self._newest, min(time, self._clock().timestamp()))
        event_id = event_identity(event)
        alerts: list[dict[str, Any]] = []
        for index, slot in targets:
            alerts.extend(self._feed(index, slot, event, time, event_id, 0))
        alerts.extend(self._expire(self.watermark))
        self.stats.alerts += len(alerts)
        return alerts

    def observe_matches(self, matches: Iterable[RuleMatch]) -> list[dict[str, Any]]:
        """Feed every match of a batch, in order; the alerts they complete."""
        alerts: list[dict[str, Any]] = []
        for match in matches:
            alerts.extend(self.observe(match.rule.id, match.event))
        return alerts

    def advance(self, until: datetime) -> list[dict[str, Any]]:
        """Move event time forward without an event (a quiet stream), deciding the windows that closed."""
        self._newest = max(self._newest, until.timestamp())
        alerts = self._expire(self.watermark)
        self.stats.alerts += len(alerts)
        return alerts

    def flush(self) -> list[dict[str, Any]]:
        """End of stream (the end of an imported file): decide every open window and forget all state."""
        alerts = self._expire(math.inf)
        self.stats.alerts += len(alerts)
        for groups in self._groups:
            groups.clear()
        self._deadlines.clear()
        return alerts

    def _targets(self, keys: Iterable[str]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for key in keys:
            for target in self._routes.get(key, ()):
                if target not in found:
                    found.append(target)
        return found

    def _feed(
        self, index: int, slot: int, event: Mapping[str, Any], time: float, event_id: str, depth: int
    ) -> list[dict[str, Any]]:
        rule = self.rules[index]
        key = _group_key(event, rule.group_fields[slot])
        if key is None:
            self.stats.missing_group += 1
            return []
        value: Hashable | None = None
        if rule.kind == "value_count":
            value = _hashable(get_field(event, rule.value_fields[slot] or ""))
            if value is None:
                self.stats.missing_value += 1
                return []
        entities = tuple(_hashable(get_field(event, name)) for name in ENTITY_FIELDS)
        entry = Entry(time, next(self._seq), slot, event_id, value, entities)
        state, created = self._group(index, key)
        firings = state.add(entry, self.watermark)
        if created:
            heapq.heappush(self._deadlines, (state.deadline(), next(self._seq), index, key, state))
        return self._emit(index, key, firings, depth)

    def _group(self, index: int, key: GroupKey) -> tuple[GroupState, bool]:
        groups = self._groups[index]
        state = groups.get(key)
        if state is not None:
            groups.move_to_end(key)
            return state, False
        if len(groups) >= self.max_groups:
            groups.popitem(last=False)
            self.stats.evicted_groups += 1
            self.evicted_by_rule[self.rules[index].id] += 1
        state = new_state(self.rules[index], self.max_group_events, self.stats)
        groups[key] = state
        return state, True

    def _emit(self, index: int, key: GroupKey, firings: list[Firing], depth: int) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = []
        rule = self.rules[index]
        for firing in firings:
            self.stats.fired += 1
            alert = to_alert(rule, key, firing, self.ruleset, self._clock())
            if index not in self._silenced:
                alerts.append(alert)
            if depth < MAX_CHAIN_DEPTH:
                for target, slot in self._dependents[index]:
                    alerts.extend(self._feed(target, slot, alert, firing.end, alert["event"]["id"], depth + 1))
        return alerts

    def _expire(self, watermark: float) -> list[dict[str, Any]]:
        """Advance every group whose deadline the watermark has passed; drop the ones left empty."""
        alerts: list[dict[str, Any]] = []
        heap = self._deadlines
        while heap and heap[0][0] < watermark:
            deadline, _, index, key, state = heapq.heappop(heap)
            groups = self._groups[index]
            if groups.get(key) is not state:
                continue  # evicted (or replaced) since it was scheduled
            current = state.deadline()
            if current > deadline:
                heapq.heappush(heap, (current, next(self._seq), index, key, state))
                continue
            alerts.extend(self._emit(index, key, state.advance(watermark), 0))
            if state.idle and state.deadline() < watermark:
                del groups[key]
            else:
                heapq.heappush(heap, (state.deadline(), next(self._seq), index, key, state))
        return alerts


def event_time(event: Mapping[str, Any]) -> float | None:
    """The event's ``@timestamp`` as epoch seconds, or None when missing or unreadable."""
    value = event.get("@timestamp")
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value).timestamp()
    except ValueError:
        return None


def event_identity(event: Mapping[str, Any]) -> str:
    """The event's ``event.id`` (set at ingest), or a content hash for an event without one."""
    event_id = get_field(event, "event.id")
    if event_id:
        return str(event_id)
    digest = hashlib.blake2b(orjson.dumps(event, default=str, option=orjson.OPT_SORT_KEYS), digest_size=16)
    return digest.hexdigest()


def _group_key(event: Mapping[str, Any], fields: Sequence[str]) -> GroupKey | None:
    values: list[Hashable] = []
    for name in fields:
        value = _hashable(get_field(event, name))
        if value is None:
            return None
        values.append(value)
    return tuple(values)


def _hashable(value: Any) -> Hashable | None:
    """A group or counted value as a hashable: lists become tuples, objects canonical JSON; empty is None."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is int or kind is float or kind is bool:
        return value
    if value is None or value == [] or value == {}:
        return None
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS).decode()
    if isinstance(value, Hashable):
        return value
    return str(value)
