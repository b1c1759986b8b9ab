"""CSV indicator tables and plain one-per-line lists -> indicators.

CSV: the first non-comment line is a header naming the columns. A value column is required
(``value``, ``indicator``, ``ioc`` or ``observable``); a type column (``type``, ``indicator_type``,
``ioc_type``, ``kind``) is optional and, when empty or absent, the type is detected from the value.
Optional columns: ``confidence`` (0-100), ``description``/``comment``, ``labels``/``tags``
(separated by ``;`` or ``|``), ``valid_until``/``expires`` (ISO 8601), ``id``/``uuid``.

Plain list: one indicator per line, type detected (IP, CIDR, MD5/SHA-1/SHA-256, URL, domain).
In both, blank lines and lines starting with ``#`` are comments, and so is anything after `` #``
(a space before the hash, so that a URL's ``#fragment`` is not cut off).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from correlation.ioc.indicators import (
    FeedError,
    Indicator,
    IndicatorError,
    IndicatorType,
    LoadReport,
    LoadResult,
    detect_type,
    make_indicator,
    parse_confidence,
    parse_time,
)

VALUE_COLUMNS = ("value", "indicator", "ioc", "observable")
TYPE_COLUMNS = ("type", "indicator_type", "ioc_type", "kind")
_OPTIONAL_COLUMNS = {
    "confidence": ("confidence",),
    "description": ("description", "comment"),
    "labels": ("labels", "tags"),
    "valid_until": ("valid_until", "expires", "expiration"),
    "source_id": ("id", "uuid"),
}
# The names feeds use for each type, mapped to Sontra's (STIX object names, MISP types, plain words).
TYPE_NAMES: dict[str, IndicatorType | None] = {
    "ip": IndicatorType.IP, "ipv4": IndicatorType.IP, "ipv6": IndicatorType.IP, "ip-src": IndicatorType.IP,
    "ip-dst": IndicatorType.IP, "ipv4-addr": IndicatorType.IP, "ipv6-addr": IndicatorType.IP,
    "ip_address": IndicatorType.IP, "address": IndicatorType.IP,
    "cidr": IndicatorType.CIDR, "network": IndicatorType.CIDR, "subnet": IndicatorType.CIDR,
    "domain": IndicatorType.DOMAIN, "domain-name": IndicatorType.DOMAIN, "hostname": IndicatorType.DOMAIN,
    "fqdn": IndicatorType.DOMAIN, "host": IndicatorType.DOMAIN,
    "url": IndicatorType.URL, "uri": IndicatorType.URL, "link": IndicatorType.URL,
    "md5": IndicatorType.MD5, "sha1": IndicatorType.SHA1, "sha-1": IndicatorType.SHA1,
    "sha256": IndicatorType.SHA256, "sha-256": IndicatorType.SHA256,
    "hash": None, "filehash": None, "file": None, "": None,
}  # fmt: skip
_LIST_SEPARATORS = (";", "|")


def _read(path: Path | str, what: str) -> tuple[str, str]:
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"cannot read {what} feed {path}: {exc}") from None


def load_list(path: Path | str, feed: str, *, default_confidence: int | None = None) -> LoadResult:
    """Read a plain indicator list file (one value per line, type detected)."""
    text, source = _read(path, "list")
    return parse_list(text, feed, source=source, default_confidence=default_confidence)


def load_csv(
    path: Path | str, feed: str, *, default_confidence: int | None = None, now: datetime | None = None
) -> LoadResult:
    """Read a CSV indicator table with a header row; FeedError when the header has no value column."""
    text, source = _read(path, "CSV")
    return parse_csv(text, feed, source=source, default_confidence=default_confidence, now=now)


def parse_list(text: str, feed: str, *, source: str = "", default_confidence: int | None = None) -> LoadResult:
    """Indicators from the text of a plain list; undetectable or invalid lines are skipped and counted."""
    report = LoadReport(feed, "list", source)
    indicators: list[Indicator] = []
    for number, line in _content_lines(text):
        value = _strip_comment(line)
        if not value:
            continue
        kind = detect_type(value)
        if kind is None:
            report.skip("not an IP, network, hash, URL or domain", f"line {number}: {value[:80]!r}")
            continue
        try:
            indicators.append(make_indicator(kind, value, feed, confidence=default_confidence))
        except IndicatorError as exc:
            report.skip(f"invalid {kind}", f"line {number}: {exc}")
    report.loaded = len(indicators)
    return LoadResult(tuple(indicators), report)


def parse_csv(
    text: str,
    feed: str,
    *,
    source: str = "",
    default_confidence: int | None = None,
    now: datetime | None = None,
) -> LoadResult:
    """Indicators from the text of a CSV table with a header; FeedError when there is no usable header."""
    now = now or datetime.now(UTC)
    report = LoadReport(feed, "csv", source)
    numbers: list[int] = []
    rows = csv.reader(_with_numbers(_content_lines(text), numbers))
    try:
        header = [cell.strip().lower() for cell in next(rows)]
    except StopIteration:
        raise FeedError("CSV feed is empty: expected a header row naming a value column") from None
    except csv.Error as exc:
        raise FeedError(f"CSV header cannot be read: {exc}") from None
    value_col = _column(header, VALUE_COLUMNS)
    if value_col is None:
        raise FeedError(f"CSV header has no value column (one of {', '.join(VALUE_COLUMNS)}); header is {header}")
    type_col = _column(header, TYPE_COLUMNS)
    optional = {name: _column(header, names) for name, names in _OPTIONAL_COLUMNS.items()}
    indicators: list[Indicator] = []
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            report.skip("unreadable CSV row", f"line {numbers[-1]}: {exc}")
            continue
        where = f"line {numbers[-1]}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(value_col, type_col if type_col is not None else -1):
            report.skip("row has fewer columns than the header", where)
            continue
        indicator = _row_indicator(row, value_col, type_col, optional, feed, default_confidence, now, where, report)
        if indicator is not None:
            indicators.append(indicator)
    report.loaded = len(indicators)
    return LoadResult(tuple(indicators), report)


def _row_indicator(
    row: list[str],
    value_col: int,
    type_col: int | None,
    optional: dict[str, int | None],
    feed: str,
    default_confidence: int | None,
    now: datetime,
    where: str,
    report: LoadReport,
) -> Indicator | None:
    value = row[value_col].strip()
    if not value:
        report.skip("empty value", where)
        return None
    type_name = row[type_col].strip().lower() if type_col is not None else ""
    if type_name not in TYPE_NAMES:
        report.skip(f"unknown type {type_name[:40]!r}", where)
        return None
    kind = TYPE_NAMES[type_name] or detect_type(value)
    if kind is None:
        report.skip("not an IP, network, hash, URL or domain", f"{where}: {value[:80]!r}")
        return None
    if type_name in ("hash", "filehash", "file") and kind not in (IndicatorType.MD5, IndicatorType.SHA1,
                                                                    IndicatorType.SHA256):
        report.skip("hash column value is not an MD5, SHA-1 or SHA-256", where)
        return None
    cell = {name: row[col].strip() if col is not None and col < len(row) else "" for name, col in optional.items()}
    meta: dict[str, Any] = {"description": cell["description"], "source_id": cell["source_id"]}
    meta["labels"] = tuple(_split_labels(cell["labels"]))
    try:
        confidence = parse_confidence(cell["confidence"])
    except ValueError as exc:
        report.warn("confidence ignored: not a number 0-100", f"{where}: {exc}")
        confidence = None
    meta["confidence"] = default_confidence if confidence is None else confidence
    if cell["valid_until"]:
        try:
            meta["valid_until"] = parse_time(cell["valid_until"])
        except ValueError as exc:
            report.skip("invalid valid_until", f"{where}: {exc}")
            return None
        if meta["valid_until"] <= now:
            report.skip("expired (valid_until has passed)", where)
            return None
    try:
        return make_indicator(kind, value, feed, **meta)
    except IndicatorError as exc:
        report.skip(f"invalid {kind}", f"{where}: {exc}")
        return None


def _content_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, line


def _with_numbers(lines: Iterator[tuple[int, str]], numbers: list[int]) -> Iterator[str]:
    # csv.reader hides which source line a row came from; remember it for the report.
    for number, line in lines:
        numbers.append(number)
        yield line


def _strip_comment(line: str) -> str:
    for marker in (" #", "\t#"):
        cut = line.find(marker)
        if cut >= 0:
            line = line[:cut]
    return line.strip()


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _split_labels(text: str) -> list[str]:
    for separator in _LIST_SEPARATORS:
        text = text.replace(separator, ",")
    return [label.strip() for label in text.split(",") if label.strip()]
