"""MISP event JSON -> indicators: the network and file attributes of each event and its objects.

Accepted shapes: one event export (``{"Event": {...}}``), a list of them, a REST search result
(``{"response": [{"Event": ...}]}``), or a bare event object. Attributes come from
``Event.Attribute`` and from every ``Event.Object[].Attribute``. By default only attributes flagged
``to_ids`` are loaded, as MISP intends: the flag is the producer saying "detect on this"; an
attribute without the flag at all counts as flagged. Deleted attributes are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from correlation.ioc.indicators import (
    FeedError,
    Indicator,
    IndicatorError,
    IndicatorType,
    LoadReport,
    LoadResult,
    make_indicator,
)

FORMAT = "misp"

# MISP attribute type -> the indicator types of its '|'-separated parts (None: a part that is not an IOC).
ATTRIBUTE_TYPES: dict[str, tuple[IndicatorType | None, ...]] = {
    "ip-src": (IndicatorType.IP,),
    "ip-dst": (IndicatorType.IP,),
    "ip-src|port": (IndicatorType.IP, None),
    "ip-dst|port": (IndicatorType.IP, None),
    "domain": (IndicatorType.DOMAIN,),
    "hostname": (IndicatorType.DOMAIN,),
    "domain|ip": (IndicatorType.DOMAIN, IndicatorType.IP),
    "hostname|port": (IndicatorType.DOMAIN, None),
    "url": (IndicatorType.URL,),
    "md5": (IndicatorType.MD5,),
    "sha1": (IndicatorType.SHA1,),
    "sha256": (IndicatorType.SHA256,),
    "filename|md5": (None, IndicatorType.MD5),
    "filename|sha1": (None, IndicatorType.SHA1),
    "filename|sha256": (None, IndicatorType.SHA256),
    "malware-sample": (None, IndicatorType.MD5),
}


def load_misp(
    path: Path | str, feed: str, *, default_confidence: int | None = None, include_non_ids: bool = False
) -> LoadResult:
    """Read a MISP event JSON file; FeedError when the file is missing or holds no MISP event."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"cannot read MISP feed {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise FeedError(f"MISP feed {path} is not valid JSON: {exc}") from None
    return parse_misp(
        data, feed, source=str(path), default_confidence=default_confidence, include_non_ids=include_non_ids
    )


def parse_misp(
    data: Any,
    feed: str,
    *,
    source: str = "",
    default_confidence: int | None = None,
    include_non_ids: bool = False,
) -> LoadResult:
    """Indicators from decoded MISP JSON; ``include_non_ids`` also loads attributes without ``to_ids``."""
    events = _events(data)
    report = LoadReport(feed, FORMAT, source)
    indicators: list[Indicator] = []
    for event in events:
        if not isinstance(event, Mapping):
            report.skip("event is not a JSON object")
            continue
        event_tags = _tags(event)
        info = event.get("info") if isinstance(event.get("info"), str) else ""
        for where, attribute in _attributes(event, report):
            if _flag(attribute.get("deleted")):
                report.skip("deleted", where)
                continue
            if not include_non_ids and "to_ids" in attribute and not _flag(attribute["to_ids"]):
                report.skip("to_ids is off", where)
                continue
            kind = attribute.get("type")
            parts = ATTRIBUTE_TYPES.get(kind) if isinstance(kind, str) else None
            if parts is None:
                report.skip(f"attribute type {str(kind)[:40]} is not an indicator type", where)
                continue
            value = attribute.get("value")
            if not isinstance(value, str):
                report.skip("attribute value is not text", where)
                continue
            comment = attribute.get("comment")
            meta = {
                "confidence": default_confidence,
                "labels": tuple(dict.fromkeys(event_tags + _tags(attribute))),
                "description": comment.strip() if isinstance(comment, str) and comment.strip() else info.strip(),
                "source_id": str(attribute.get("uuid") or ""),
            }
            indicators.extend(_split(kind, value, parts, feed, meta, where, report))
    report.loaded = len(indicators)
    return LoadResult(tuple(indicators), report)


def _events(data: Any) -> list[Any]:
    if isinstance(data, Mapping):
        if isinstance(data.get("response"), list):
            return [_unwrap(item) for item in data["response"]]
        if "Event" in data:
            return [_unwrap(data)]
        if "Attribute" in data or "Object" in data:
            return [data]
        raise FeedError("not a MISP event: expected an 'Event' object (or 'response' list of events)")
    if isinstance(data, list):
        return [_unwrap(item) for item in data]
    raise FeedError(f"not a MISP event: top level is {type(data).__name__}, expected an object with 'Event'")


def _unwrap(item: Any) -> Any:
    return item["Event"] if isinstance(item, Mapping) and "Event" in item else item


def _attributes(event: Mapping[str, Any], report: LoadReport) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, attribute) for the event's attributes and its objects' attributes."""
    event_id = str(event.get("uuid") or event.get("id") or "event")
    yield from _attribute_list(event.get("Attribute"), f"{event_id}/Attribute", report)
    objects = event.get("Object")
    if objects is None:
        return
    if not isinstance(objects, list):
        report.skip("Event.Object is not a list", event_id)
        return
    for i, obj in enumerate(objects):
        if not isinstance(obj, Mapping):
            report.skip("object is not a JSON object", f"{event_id}/Object[{i}]")
            continue
        name = obj.get("name") if isinstance(obj.get("name"), str) else str(i)
        yield from _attribute_list(obj.get("Attribute"), f"{event_id}/Object[{name}]/Attribute", report)


def _attribute_list(
    attributes: Any, prefix: str, report: LoadReport
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if attributes is None:
        return
    if not isinstance(attributes, list):
        report.skip("Attribute is not a list", prefix)
        return
    for i, attribute in enumerate(attributes):
        where = f"{prefix}[{i}]"
        if not isinstance(attribute, Mapping):
            report.skip("attribute is not a JSON object", where)
            continue
        yield where, attribute


def _split(
    kind: str,
    value: str,
    parts: tuple[IndicatorType | None, ...],
    feed: str,
    meta: dict[str, Any],
    where: str,
    report: LoadReport,
) -> list[Indicator]:
    # Composite values ("evil.exe|<md5>", "1.2.3.4|443") split on the last '|' because a
    # file name may itself contain one while the part after it never does.
    pieces = value.rsplit("|", 1) if len(parts) == 2 else [value]
    if len(pieces) != len(parts):
        report.skip(f"{kind} value has no '|' separator", where)
        return []
    found = []
    for part_type, piece in zip(parts, pieces, strict=True):
        if part_type is None:
            continue
        try:
            found.append(make_indicator(part_type, piece, feed, **meta))
        except IndicatorError as exc:
            report.skip(f"invalid {kind} value", f"{where}: {exc}")
    return found


def _tags(node: Mapping[str, Any]) -> list[str]:
    tags = node.get("Tag")
    if not isinstance(tags, list):
        return []
    return [t["name"] for t in tags if isinstance(t, Mapping) and isinstance(t.get("name"), str)]


def _flag(value: Any) -> bool:
    """MISP writes booleans as true/false, 1/0 or "1"/"0" depending on the exporter."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in ("1", "true", "yes")
