"""STIX 2.1 bundles -> indicators: each ``indicator`` object's STIX pattern, validity and confidence.

A bundle (``{"type": "bundle", "objects": [...]}``), a bare list of objects, or a single
indicator object are accepted. Objects that are not indicators (malware, relationships,
identities, observables) carry no pattern and are counted under ``ignored object types`` in the
warnings. Indicators that are revoked, expired (``valid_until`` passed), written in another
pattern language (``pattern_type`` snort, yara, sigma, ...) or whose pattern cannot be reduced to
plain values are skipped and counted with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from correlation.ioc.indicators import (
    FeedError,
    Indicator,
    IndicatorError,
    LoadReport,
    LoadResult,
    make_indicator,
    parse_confidence,
    parse_time,
)
from correlation.ioc.stix_atoms import reduce_pattern
from correlation.ioc.stix_pattern import PatternError

FORMAT = "stix"


def load_stix(
    path: Path | str, feed: str, *, default_confidence: int | None = None, now: datetime | None = None
) -> LoadResult:
    """Read a STIX 2.1 bundle file; FeedError when the file is missing or is not a bundle."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"cannot read STIX feed {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"STIX feed {path} is not valid JSON: {exc}") from None
    return parse_stix(data, feed, source=str(path), default_confidence=default_confidence, now=now)


def parse_stix(
    data: Any,
    feed: str,
    *,
    source: str = "",
    default_confidence: int | None = None,
    now: datetime | None = None,
) -> LoadResult:
    """Indicators from decoded STIX JSON (bundle, list of objects, or one indicator)."""
    objects = _objects(data)
    now = now or datetime.now(UTC)
    report = LoadReport(feed, FORMAT, source)
    indicators: list[Indicator] = []
    for position, obj in enumerate(objects):
        if not isinstance(obj, Mapping):
            report.skip("object is not a JSON object", f"objects[{position}]")
            continue
        if obj.get("type") != "indicator":
            report.warn("ignored object types")
            continue
        where = obj.get("id") if isinstance(obj.get("id"), str) else f"objects[{position}]"
        indicators.extend(_indicator(obj, feed, where, report, default_confidence, now))
    report.loaded = len(indicators)
    return LoadResult(tuple(indicators), report)


def _objects(data: Any) -> list[Any]:
    if isinstance(data, Mapping):
        if data.get("type") == "bundle":
            objects = data.get("objects", [])
            if not isinstance(objects, list):
                raise FeedError("STIX bundle 'objects' must be a list")
            return objects
        if data.get("type") == "indicator":
            return [data]
        kind = data.get("type")
        raise FeedError(f"not a STIX bundle: top-level 'type' is {kind!r}, expected 'bundle'")
    if isinstance(data, list):
        return data
    raise FeedError(f"not a STIX bundle: top level is {type(data).__name__}, expected an object with type 'bundle'")


def _indicator(
    obj: Mapping[str, Any],
    feed: str,
    where: str,
    report: LoadReport,
    default_confidence: int | None,
    now: datetime,
) -> list[Indicator]:
    if obj.get("revoked") is True:
        report.skip("revoked", where)
        return []
    pattern_type = obj.get("pattern_type", "stix")
    if pattern_type != "stix":
        report.skip(f"pattern_type {str(pattern_type)[:40]} is not supported", where)
        return []
    valid_until = None
    if obj.get("valid_until") is not None:
        try:
            valid_until = parse_time(obj["valid_until"])
        except ValueError as exc:
            report.skip("invalid valid_until", f"{where}: {_short(exc)}")
            return []
        if valid_until <= now:
            report.skip("expired (valid_until has passed)", where)
            return []
    pattern = obj.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        report.skip("no pattern", where)
        return []
    try:
        atoms, unsupported = reduce_pattern(pattern)
    except PatternError as exc:
        report.skip("invalid pattern", f"{where}: {exc}")
        return []
    if not atoms:
        report.skip(f"unsupported pattern: {unsupported[0]}", where)
        return []
    for reason in unsupported:
        # An OR is satisfied by any branch, so the usable branches still hold on their own.
        report.warn(f"partly unsupported pattern: {reason}", where)
    try:
        confidence = parse_confidence(obj.get("confidence"))
    except ValueError as exc:
        report.warn("confidence ignored: not a number 0-100", f"{where}: {_short(exc)}")
        confidence = None
    meta = {
        "confidence": default_confidence if confidence is None else confidence,
        "valid_until": valid_until,
        "labels": _labels(obj),
        "description": _text(obj.get("name")) or _text(obj.get("description")),
        "source_id": where if where.startswith("indicator--") else "",
    }
    indicators = []
    for atom in atoms:
        try:
            indicators.append(make_indicator(atom.kind, atom.value, feed, **meta))
        except IndicatorError as exc:
            report.skip(f"invalid {atom.path} value", f"{where}: {exc}")
    return indicators


def _labels(obj: Mapping[str, Any]) -> tuple[str, ...]:
    labels: list[str] = []
    for key in ("indicator_types", "labels"):
        values = obj.get(key)
        if isinstance(values, list):
            labels.extend(v for v in values if isinstance(v, str) and v not in labels)
    return tuple(labels)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _short(exc: Exception) -> str:
    return str(exc)[:80]
