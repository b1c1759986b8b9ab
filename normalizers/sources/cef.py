"""ArcSight Common Event Format -> ECS + ``cef.*`` (``cef.log``).

``CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension``,
with or without a syslog header before it. In the header ``\\|`` and ``\\\\`` are escapes; in the
extension (space-separated ``key=value`` pairs whose values may contain spaces) ``\\=``, ``\\\\``,
``\\n`` and ``\\r`` are. Every extension key is kept under ``cef.extensions.<full name>`` as text
(short names such as ``src`` become their dictionary names such as ``sourceAddress``, as Filebeat's
``decode_cef`` does), and the common ones are also mapped to ECS.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.cef_keys import ECS_MAPPING, FULL_NAMES
from normalizers.sources.network_values import add_related, epoch_timestamp, put_path, transport_name
from normalizers.timestamps import format_timestamp

DATASET = "cef.log"
_FIELD = r"((?:[^|\\]|\\.)*)"
_HEADER = re.compile(rf"CEF: ?(\d{{1,3}})\|{_FIELD}\|{_FIELD}\|{_FIELD}\|{_FIELD}\|{_FIELD}\|{_FIELD}\|", re.DOTALL)
# An extension key starts the text or follows whitespace; values run to the next key.
_EXT_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z_][\w.\[\]-]{0,127})=")
_HEADER_ESCAPE = re.compile(r"\\([|\\])")
_VALUE_ESCAPE = re.compile(r"\\([=\\|nr])")
_VALUE_ESCAPES = {"=": "=", "\\": "\\", "|": "|", "n": "\n", "r": "\r"}
_SEVERITY_WORDS = {"unknown": 0, "low": 3, "medium": 6, "high": 8, "very-high": 10}
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}  # fmt: skip
_DATE = re.compile(
    r"([A-Za-z]{3}) (\d{1,2})(?: (\d{4}))? (\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?(?: (Z|UTC|GMT|[+-]\d\d:?\d\d))?"
)
_DIRECTIONS = {"0": "inbound", "1": "outbound"}
_NIL_VALUES = frozenset({"", "-", "N/A", "null"})
_OUTCOMES = {"success": "success", "failure": "failure", "unknown": "unknown", "fail": "failure", "failed": "failure"}


def sniff(message: str) -> bool:
    """Cheap test: a ``CEF:<version>|`` header somewhere in the message."""
    at = message.find("CEF:")
    return at >= 0 and _HEADER.match(message, at) is not None


def refine(event: dict[str, Any]) -> bool:
    """Fill ECS and ``cef.*`` from a CEF record; False when there is no complete CEF header."""
    message = event["message"].rstrip("\r\n")
    at = message.find("CEF:")
    header = _HEADER.match(message, at) if at >= 0 else None
    if header is None:
        return False
    version, vendor, product, device_version, signature, name, severity = (
        _unescape_header(part) for part in header.groups()
    )
    extensions = parse_extension(message[header.end() :])
    cef: dict[str, Any] = {
        "version": version,
        "device": {"vendor": vendor, "product": product, "version": device_version, "event_class_id": signature},
        "name": name,
        "severity": severity,
    }
    if extensions:
        cef["extensions"] = extensions
    event["cef"] = cef
    observer = event.setdefault("observer", {})
    observer.update(vendor=vendor, product=product)
    if device_version:
        observer["version"] = device_version
    meta = event["event"]
    meta["kind"] = "event"
    meta["module"] = "cef"
    meta["code"] = signature
    level = _severity(severity)
    if level is not None:
        meta["severity"] = level
    event["message"] = name
    _map_extensions(event, extensions)
    meta.setdefault("action", name)
    add_related(event, "ip", event.get("source", {}).get("ip"), event.get("destination", {}).get("ip"))
    return True


def parse_extension(text: str) -> dict[str, str]:
    """The extension's key=value pairs, keys under their full dictionary names, values unescaped."""
    pairs: dict[str, str] = {}
    keys = list(_EXT_KEY.finditer(text))
    for index, key in enumerate(keys):
        end = keys[index + 1].start() if index + 1 < len(keys) else len(text)
        value = text[key.end() : end].rstrip()
        if "\\" in value:
            value = _VALUE_ESCAPE.sub(lambda m: _VALUE_ESCAPES[m.group(1)], value)
        name = key.group(1)
        pairs[FULL_NAMES.get(name, name)] = value
    return pairs


def _unescape_header(text: str) -> str:
    return _HEADER_ESCAPE.sub(r"\1", text) if "\\" in text else text


def _severity(text: str) -> int | None:
    if text.isascii() and text.isdigit() and len(text) <= 2:
        return int(text)
    return _SEVERITY_WORDS.get(text.strip().lower())


def _map_extensions(event: dict[str, Any], extensions: dict[str, str]) -> None:
    for name, value in extensions.items():
        mapped = ECS_MAPPING.get(name)
        if mapped is None or value in _NIL_VALUES:
            continue
        path, convert = mapped
        put_path(event, path, convert(value))
    meta = event["event"]
    outcome = _OUTCOMES.get(extensions.get("eventOutcome", "").lower())
    if outcome:
        meta["outcome"] = outcome
    transport = extensions.get("transportProtocol")
    if transport:
        name = transport_name(transport)
        if name:
            event.setdefault("network", {})["transport"] = name
    direction = _DIRECTIONS.get(extensions.get("deviceDirection", ""))
    if direction:
        event.setdefault("network", {})["direction"] = direction
    user = event.get("source", {}).get("user", {}).get("name") or event.get("destination", {}).get("user", {}).get(
        "name"
    )
    if user:
        event["user"] = {"name": user}
        add_related(event, "user", user)
    for field, target in (("deviceReceiptTime", "@timestamp"), ("startTime", "start"), ("endTime", "end")):
        value = extensions.get(field)
        stamp = cef_time(value) if value else None
        if stamp is None:
            continue
        if target == "@timestamp":
            event["@timestamp"] = stamp
        else:
            meta[target] = stamp


def cef_time(text: str) -> str | None:
    """A CEF time: epoch milliseconds, or ``MMM dd [yyyy] HH:mm:ss[.SSS] [zone]`` (no zone: UTC)."""
    text = text.strip()
    if text.isdigit():
        return epoch_timestamp(text)
    m = _DATE.fullmatch(text)
    if m is None:
        return None
    month_name, day, year, hour, minute, second, millis, zone = m.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None or year is None:
        return None
    offset = timedelta(0)
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        offset = -offset if zone[0] == "-" else offset
    try:
        when = datetime(int(year), month, int(day), int(hour), int(minute), int(second),
                        int((millis or "0").ljust(3, "0")) * 1000, timezone(offset))  # fmt: skip
    except (ValueError, OverflowError):
        return None
    return format_timestamp(when)


PARSER = ROUTES.add(SourceParser(dataset=DATASET, refine=refine, sniff=sniff))
