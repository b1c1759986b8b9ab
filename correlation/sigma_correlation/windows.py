"""The state of one correlation rule for one group (one set of group-by values), in event time.

Times are seconds since the epoch (floats). A window is a closed interval of length
``timespan``: two events exactly ``timespan`` apart are in the same window, one millisecond more
and they are not.

Three shapes of state:

- ``SlidingState`` (event_count, value_count, temporal with gte/gt): the condition is checked on
  every arrival over every window of length ``timespan`` that contains the new event, so the
  alert comes as soon as the condition holds, whatever the arrival order. After an alert the
  group is quiet until the end of the window that fired (its first event + ``timespan``): events
  in that span are counted as suppressed and forgotten, so a sustained attack yields one alert per
  window (SIEM backends bucket the same way: one result per group per time bucket).
- ``OrderedState`` (temporal_ordered): as sliding, but the window must hold the referenced rules'
  matches in the listed order (ties in time count in arrival order).
- ``AnchoredState`` (event_count, value_count with lt/lte/eq/neq): these can only be decided once
  no more events can fall into the window, so windows are anchored at the group's first event
  (and then at the first event after the previous window) and decided when the watermark passes
  their end. Every window holds at least one event: ``lt: 1`` never fires.

Each state keeps at most ``max_events`` entries (the oldest go first, counted in ``stats.dropped``), so
memory is bounded even for a flood that never satisfies a condition.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from correlation.sigma_correlation.rules import CorrelationRule

NEVER = float("-inf")


@dataclass
class CorrelationStats:
    """What the evaluator and its group states counted (never reset; read them as counters)."""

    matches: int = 0  # base-rule matches observed
    late: int = 0  # matches older than the watermark: not correlated (they are still stored)
    untimed: int = 0  # matches whose event has no readable @timestamp
    missing_group: int = 0  # matches lacking a group-by field (SIEM backends drop these too)
    missing_value: int = 0  # value_count matches lacking the counted field
    duplicates: int = 0  # the same event fed twice to the same group (retried batch, replay)
    suppressed: int = 0  # matches inside the window of an alert already raised for their group
    dropped: int = 0  # oldest entries forgotten because a group reached max_group_events
    evicted_groups: int = 0  # least recently used groups dropped because a rule reached max_groups
    fired: int = 0  # correlations satisfied (including those of silenced rules)
    alerts: int = 0  # alerts returned


@dataclass(frozen=True, slots=True)
class Entry:
    """One match fed to a group: when, which referenced rule (slot), which event, and its counted value."""

    time: float
    seq: int
    slot: int
    event_id: str
    value: Hashable | None = None
    # host.name, user.name, source.ip of the event, copied into the alert when all entries agree.
    entities: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Firing:
    """A satisfied condition: the entries of the window, the measured count, and the window's bounds."""

    entries: tuple[Entry, ...]
    measured: int
    start: float
    end: float


def _order(entry: Entry) -> tuple[float, int]:
    return (entry.time, entry.seq)


class _Tally:
    """The measured count of a window, updated one entry at a time."""

    __slots__ = ("counts", "kind", "total")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.total = 0
        self.counts: Counter[Hashable] = Counter()

    def _key(self, entry: Entry) -> Hashable:
        return entry.value if self.kind == "value_count" else entry.slot

    def add(self, entry: Entry) -> None:
        self.total += 1
        if self.kind != "event_count":
            self.counts[self._key(entry)] += 1

    def remove(self, entry: Entry) -> None:
        self.total -= 1
        if self.kind != "event_count":
            key = self._key(entry)
            self.counts[key] -= 1
            if self.counts[key] <= 0:
                del self.counts[key]

    @property
    def value(self) -> int:
        return self.total if self.kind == "event_count" else len(self.counts)


class GroupState:
    """Entries of one group in event-time order, de-duplicated by (event id, slot), capped in number."""

    __slots__ = ("entries", "max_events", "rule", "seen", "span", "stats")

    def __init__(self, rule: CorrelationRule, max_events: int, stats: CorrelationStats) -> None:
        self.rule = rule
        self.span = rule.timespan
        self.max_events = max_events
        self.stats = stats
        self.entries: list[Entry] = []
        self.seen: set[tuple[str, int]] = set()

    def add(self, entry: Entry, watermark: float) -> list[Firing]:
        """Take one match (not older than ``watermark``); the conditions it satisfies (early conditions only)."""
        raise NotImplementedError

    def advance(self, watermark: float) -> list[Firing]:
        """Move to this watermark: forget what can no longer count, decide windows that closed."""
        raise NotImplementedError

    def deadline(self) -> float:
        """The watermark past which ``advance`` has something to do (expire or close)."""
        raise NotImplementedError

    @property
    def idle(self) -> bool:
        """Whether the state holds nothing (it can be dropped once its deadline has passed)."""
        return not self.entries

    def _insert(self, entry: Entry) -> bool:
        key = (entry.event_id, entry.slot)
        if key in self.seen:
            # A retried batch or a replayed file: the same event must not count twice.
            self.stats.duplicates += 1
            return False
        self.seen.add(key)
        bisect.insort(self.entries, entry, key=_order)
        if len(self.entries) > self.max_events:
            self._forget(1)
            self.stats.dropped += 1
        return True

    def _forget(self, count: int) -> None:
        for old in self.entries[:count]:
            self.seen.discard((old.event_id, old.slot))
        del self.entries[:count]

    def _forget_through(self, time: float) -> None:
        """Forget every entry at or before ``time``."""
        self._forget(bisect.bisect_right(self.entries, time, key=lambda e: e.time))

    def _forget_before(self, time: float) -> None:
        self._forget(bisect.bisect_left(self.entries, time, key=lambda e: e.time))


class SlidingState(GroupState):
    """Early conditions over any window containing the newest event; quiet until the fired window ends."""

    __slots__ = ("quiet_until",)

    def __init__(self, rule: CorrelationRule, max_events: int, stats: CorrelationStats) -> None:
        super().__init__(rule, max_events, stats)
        self.quiet_until = NEVER

    def add(self, entry: Entry, watermark: float) -> list[Firing]:
        """Take one match; fire if a window holding it now satisfies the condition."""
        if entry.time <= self.quiet_until:
            self.stats.suppressed += 1
            return []
        # A busy group never reaches its deadline: forget what expired here, not only when idle.
        self._forget_before(watermark - self.span)
        if not self._insert(entry):
            return []
        firing = self._check(entry)
        if firing is None:
            return []
        self.quiet_until = firing.start + self.span
        self._forget_through(self.quiet_until)
        return [firing]

    def _check(self, entry: Entry) -> Firing | None:
        entries = self.entries
        span = self.span
        condition = self.rule.condition
        tally = _Tally(self.rule.kind)
        lo = bisect.bisect_left(entries, entry.time - span, key=lambda e: e.time)
        right = lo
        for left in range(lo, len(entries)):
            start = entries[left]
            if start.time > entry.time:
                break
            while right < len(entries) and entries[right].time <= start.time + span:
                tally.add(entries[right])
                right += 1
            if condition.holds(tally.value):
                window = tuple(entries[left:right])
                return Firing(window, tally.value, start.time, window[-1].time)
            tally.remove(start)
        return None

    def advance(self, watermark: float) -> list[Firing]:
        """Forget entries too old to share a window with any event not yet late."""
        self._forget_before(watermark - self.span)
        return []

    def deadline(self) -> float:
        """When the newest entry (or the quiet span) expires."""
        newest = self.entries[-1].time + self.span if self.entries else NEVER
        return max(newest, self.quiet_until)


class OrderedState(SlidingState):
    """temporal_ordered: the listed rules matched one after the other within ``timespan``."""

    __slots__ = ()

    def _check(self, entry: Entry) -> Firing | None:
        steps = len(self.rule.rules)
        span = self.span
        # chains[k]: the partial match of the first k+1 rules with the latest start seen so far
        # (a later start leaves the most room for the rest of the sequence within the timespan).
        chains: list[tuple[Entry, ...] | None] = [None] * steps
        # A chain that holds the new entry lies within one timespan of it; any other would have fired.
        first = bisect.bisect_left(self.entries, entry.time - span, key=lambda e: e.time)
        last = bisect.bisect_right(self.entries, entry.time + span, key=lambda e: e.time)
        for current in self.entries[first:last]:
            k = current.slot
            if k == 0:
                candidate: tuple[Entry, ...] | None = (current,)
            else:
                previous = chains[k - 1]
                fits = previous is not None and current.time - previous[0].time <= span
                candidate = (*previous, current) if fits and previous is not None else None
            if candidate is not None:
                # Entries come in time order, so a new candidate never starts earlier than the kept one.
                chains[k] = candidate
            complete = chains[steps - 1]
            if complete is not None:
                return Firing(complete, steps, complete[0].time, complete[-1].time)
        return None


class AnchoredState(GroupState):
    """Late conditions (lt, lte, eq, neq): windows anchored at their first event, decided at close."""

    __slots__ = ("closed_until",)

    def __init__(self, rule: CorrelationRule, max_events: int, stats: CorrelationStats) -> None:
        super().__init__(rule, max_events, stats)
        self.closed_until = NEVER

    def add(self, entry: Entry, watermark: float) -> list[Firing]:
        """Take one match; nothing is decided before the window closes (``advance`` decides)."""
        if entry.time <= self.closed_until:
            # Behind a window already decided (possible for a correlation alert fed to this rule,
            # which skips the lateness check): the window's verdict is final.
            self.stats.suppressed += 1
            return []
        self._insert(entry)
        return []

    def advance(self, watermark: float) -> list[Firing]:
        """Decide every window whose end the watermark has passed."""
        firings: list[Firing] = []
        while self.entries and self.entries[0].time + self.span < watermark:
            start = self.entries[0].time
            end = start + self.span
            count = bisect.bisect_right(self.entries, end, key=lambda e: e.time)
            window = tuple(self.entries[:count])
            tally = _Tally(self.rule.kind)
            for item in window:
                tally.add(item)
            if self.rule.condition.holds(tally.value):
                firings.append(Firing(window, tally.value, start, window[-1].time))
            self._forget(count)
            self.closed_until = end
        return firings

    def deadline(self) -> float:
        """When the oldest open window closes."""
        return self.entries[0].time + self.span if self.entries else self.closed_until


def new_state(rule: CorrelationRule, max_events: int, stats: CorrelationStats) -> GroupState:
    """The state shape for this rule's type and condition."""
    if rule.kind == "temporal_ordered":
        return OrderedState(rule, max_events, stats)
    if rule.condition.early:
        return SlidingState(rule, max_events, stats)
    return AnchoredState(rule, max_events, stats)
