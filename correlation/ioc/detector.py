"""``IocDetector``: the ingest pipeline's detector for indicator matches, one ECS alert per (event, indicator).

The alert names the indicator (``threat.indicator.*`` in ECS 8.x shape: ``.ip``,
``.url.original``, ``.url.domain`` for a domain, ``.file.hash.*``), its feed
(``threat.feed.name``) and the event field that matched (``sontra.ioc.matched.field`` and
``.atomic``). Its ``event.id`` is derived from the feed, the indicator and the event's id, so a
replayed batch yields the same alert ids and the store keeps one copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from correlation.ioc.indicators import HASH_TYPES, Indicator, IndicatorType
from correlation.ioc.matcher import IocHit, IocMatcher
from normalizers.schema import ECS_VERSION, get_field, set_field
from normalizers.timestamps import format_timestamp

RULESET = "ioc"
LEVELS = ("informational", "low", "medium", "high", "critical")
SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
# Who and where, copied from the event so alerts group into tickets by entity.
COPIED_FIELDS = ("host.name", "user.name", "source.ip", "destination.ip")
_RELATED = {"ip": "related.ip", "domain": "related.hosts", "hash": "related.hash"}


class MatcherSource(Protocol):
    """Anything holding the current matcher (``IocFeeds``): read once per batch."""

    @property
    def matcher(self) -> IocMatcher: ...


def confidence_label(confidence: int | None) -> str:
    """ECS ``threat.indicator.confidence`` from a 0-100 score (STIX 2.1 None/Low/Med/High scale)."""
    if confidence is None:
        return "Not Specified"
    if confidence == 0:
        return "None"
    if confidence < 30:
        return "Low"
    return "Medium" if confidence < 70 else "High"


def level_for(confidence: int | None, default: str = "high") -> str:
    """The alert's ``rule.level`` from the indicator's confidence; ``default`` when it has none."""
    label = confidence_label(confidence)
    return {"None": "informational", "Low": "low", "Medium": "medium", "High": "high"}.get(label, default)


def ioc_alert_id(indicator: Indicator, event_id: str) -> str:
    """The alert's deterministic ``event.id``: one alert per (feed, indicator, event)."""
    key = "\x1f".join(("ioc", indicator.feed, indicator.type.value, indicator.value, event_id))
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class IocDetector:
    """Callable detector for ``IngestPipeline(detectors=[...])``: events in, IOC alerts out."""

    def __init__(
        self,
        source: MatcherSource | IocMatcher,
        *,
        default_level: str = "high",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if default_level not in LEVELS:
            raise ValueError(f"default_level must be one of {', '.join(LEVELS)}, got {default_level!r}")
        self._source = source
        self.default_level = default_level
        self._clock = clock

    def __repr__(self) -> str:
        return f"IocDetector({len(self.matcher)} indicators)"

    @property
    def matcher(self) -> IocMatcher:
        """The matcher in use now (the feeds' current one)."""
        return self._source if isinstance(self._source, IocMatcher) else self._source.matcher

    def __call__(self, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One alert per (event, indicator) the events match."""
        matcher = self.matcher  # one version for the whole batch, even if a reload swaps it meanwhile
        if not len(matcher):
            return []
        now = self._clock()
        created: str | None = None
        alerts: list[dict[str, Any]] = []
        for event in events:
            hits = matcher.match(event, now)
            if hits:
                created = created or format_timestamp(now)
                alerts.extend(self.alert(hit, event, created) for hit in hits)
        return alerts

    def alert(self, hit: IocHit, event: Mapping[str, Any], created: str) -> dict[str, Any]:
        """The ECS alert for one hit."""
        ind = hit.indicator
        event_id = get_field(event, "event.id")
        source_id = str(event_id) if event_id is not None else _fingerprint(event)
        level = level_for(ind.confidence, self.default_level)
        name = f"IOC match: {ind.type.value} {ind.value} (feed {ind.feed})"
        alert: dict[str, Any] = {
            "@timestamp": event.get("@timestamp"),
            "message": f"{name}: {hit.field} = {hit.value}",
            "ecs": {"version": ECS_VERSION},
            "event": {
                "kind": "alert",
                "id": ioc_alert_id(ind, source_id),
                "dataset": RULESET,
                "created": created,
                "severity": SEVERITY[level],
            },
            "rule": {
                "id": f"sontra-ioc-{ind.type.value}",
                "name": name,
                "level": level,
                "ruleset": RULESET,
                "description": _description(hit),
            },
            "threat": {"indicator": _indicator_fields(ind), "feed": {"name": ind.feed}},
            "sontra": {
                "alert": {"source_event_ids": [source_id]},
                "ioc": {"matched": {"field": hit.field, "atomic": hit.value}},
            },
        }
        if ind.source_id:
            alert["sontra"]["ioc"]["indicator_id"] = ind.source_id
        category = get_field(event, "event.category")
        if category:
            # Ticket grouping reads it: a network event groups on the source address, a process one on the host.
            alert["event"]["category"] = category
        for field in COPIED_FIELDS:
            value = get_field(event, field)
            if value is not None:
                set_field(alert, field, value)
        if get_field(alert, hit.field) is None:
            set_field(alert, hit.field, hit.value)
        related = _RELATED["hash" if ind.type in HASH_TYPES else "ip" if _is_address(ind) else "domain"]
        if ind.type is not IndicatorType.URL:
            set_field(alert, related, [hit.value])
        if ind.labels:
            alert["tags"] = list(ind.labels)
        return alert


def _indicator_fields(ind: Indicator) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": _ecs_type(ind),
        "name": ind.value,
        "confidence": confidence_label(ind.confidence),
    }
    if ind.description:
        fields["description"] = ind.description
    if ind.type is IndicatorType.IP:
        # A network cannot go in the ip-typed field: it stays in threat.indicator.name only.
        fields["ip"] = ind.value
    elif ind.type is IndicatorType.DOMAIN:
        fields["url"] = {"domain": ind.value}
    elif ind.type is IndicatorType.URL:
        fields["url"] = {"original": ind.value}
    elif ind.type in HASH_TYPES:
        fields["file"] = {"hash": {ind.type.value: ind.value}}
    return fields


def _ecs_type(ind: Indicator) -> str:
    if _is_address(ind):
        return "ipv6-addr" if ":" in ind.value else "ipv4-addr"
    if ind.type is IndicatorType.DOMAIN:
        return "domain-name"
    return "url" if ind.type is IndicatorType.URL else "file"


def _is_address(ind: Indicator) -> bool:
    return ind.type in (IndicatorType.IP, IndicatorType.CIDR)


def _description(hit: IocHit) -> str:
    ind = hit.indicator
    text = f"{hit.field} {hit.value!r} matched {ind.type.value} indicator {ind.value!r} from feed {ind.feed!r}"
    if ind.source_id:
        text += f" ({ind.source_id})"
    return f"{text}. {ind.description}" if ind.description else text + "."


def _fingerprint(event: Mapping[str, Any]) -> str:
    """A stand-in id for an event without ``event.id`` (pipeline events always have one)."""
    return hashlib.blake2b(orjson.dumps(event, default=str, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()
