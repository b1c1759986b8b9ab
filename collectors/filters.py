"""Noise control at ingest: drop or route normalized events that match an operator's Lucene query.

Filters are checked in the order configured and the first one whose query matches an event
decides what happens to it: ``drop`` (not stored, not detected; counted) or ``route`` (stored
with ``labels.stream`` set to the filter's stream and, with ``detect: false``, not given to the
detectors). Events that no filter matches are stored and detected as usual. An event tagged
``parse_failure`` is never touched by a filter unless that filter says
``include_parse_failures: true``: a query written for parsed events must not silently swallow
the lines no parser understood. docs/ingest-filters.md is the operator's guide.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter

from storage.base import QueryError
from storage.lucene.match import EventQuery, compile_query

FilterAction = Literal["drop", "route"]
PARSE_FAILURE = "parse_failure"
STREAM_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


class FilterError(ValueError):
    """A filter is misconfigured (bad query, missing stream); the message names the filter."""


class Verdict(IntEnum):
    """What the filters decided for one event."""

    KEEP = 0  # stored and detected (no filter matched, or a route filter that keeps detection)
    STORE_ONLY = 1  # stored, not given to the detectors
    DROP = 2  # neither stored nor detected


@dataclass(frozen=True, slots=True)
class IngestFilter:
    """One configured filter: its name, its compiled query and what it does to matching events."""

    name: str
    query: EventQuery
    action: FilterAction
    stream: str | None = None
    detect: bool = True
    include_parse_failures: bool = False

    @classmethod
    def build(
        cls,
        name: str,
        query: str,
        action: FilterAction,
        *,
        stream: str | None = None,
        detect: bool = True,
        include_parse_failures: bool = False,
    ) -> IngestFilter:
        """Check the settings and compile the query; FilterError names the filter and the problem."""
        if not name:
            raise FilterError("a filter needs a name (it labels the filter's metrics)")
        if action not in ("drop", "route"):
            raise FilterError(f"filter {name!r}: action must be 'drop' or 'route', got {action!r}")
        if action == "route":
            if not stream:
                raise FilterError(f"filter {name!r}: a route filter needs a stream (the labels.stream value)")
            if not STREAM_NAME.fullmatch(stream):
                raise FilterError(
                    f"filter {name!r}: stream {stream!r} must be lowercase letters, digits, '_', '.', '-' "
                    "(at most 63, starting with a letter or digit)"
                )
        elif stream is not None or not detect:
            raise FilterError(f"filter {name!r}: stream and detect only apply to action 'route'")
        if not query or not query.strip() or query.strip() in ("*", "*:*"):
            raise FilterError(f"filter {name!r}: the query matches every event; name what to {action}")
        try:
            compiled = compile_query(query)
        except QueryError as exc:
            raise FilterError(f"filter {name!r}: {exc}") from None
        return cls(name, compiled, action, stream, detect, include_parse_failures)


class FilterMetrics:
    """``sontra_filter_matches_total{filter, action}``: events each filter decided."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.matches = Counter(
            "sontra_filter_matches",
            "Events an ingest filter matched (dropped, or routed to a stream), by filter",
            ["filter", "action"],
            registry=registry,
        )


class NoiseFilters:
    """The configured filters, in order; the first that matches an event decides its verdict."""

    def __init__(self, filters: Sequence[IngestFilter], registry: CollectorRegistry) -> None:
        names = [f.name for f in filters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise FilterError(f"filter names must be unique; repeated: {', '.join(duplicates)}")
        self.filters = tuple(filters)
        metrics = FilterMetrics(registry)
        # Children made up front: every filter shows in /metrics from the start, at 0.
        self._counters = [metrics.matches.labels(f.name, f.action) for f in self.filters]

    def __bool__(self) -> bool:
        return bool(self.filters)

    def decide(self, events: Sequence[dict[str, Any]]) -> list[Verdict]:
        """The verdict for each event, in order; routed events get ``labels.stream`` here."""
        verdicts: list[Verdict] = []
        tallies = [0] * len(self.filters)
        filters = tuple(enumerate(self.filters))
        for event in events:
            verdict = Verdict.KEEP
            tags = event.get("tags")
            failed = bool(tags) and PARSE_FAILURE in tags
            for i, f in filters:
                if failed and not f.include_parse_failures:
                    continue
                if not f.query.test(event):
                    continue
                tallies[i] += 1
                if f.action == "drop":
                    verdict = Verdict.DROP
                else:
                    labels = event.get("labels")
                    if not isinstance(labels, dict):
                        labels = event["labels"] = {}
                    labels["stream"] = f.stream
                    verdict = Verdict.KEEP if f.detect else Verdict.STORE_ONLY
                break
            verdicts.append(verdict)
        for counter, n in zip(self._counters, tallies, strict=True):
            if n:
                counter.inc(n)
        return verdicts
