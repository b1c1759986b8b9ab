"""Windows events in JSON -> ECS: the System part every event has, then its channel's own mapping.

``claims`` and ``to_event`` are the JSON source parser registered in ``normalizers.routing``.
The System part becomes ``winlog.*`` (Winlogbeat's layout), ``@timestamp`` (TimeCreated),
``host.name`` (Computer: the machine the event is about, also when it was forwarded),
``event.code``, ``event.provider``, ``log.level`` and ``event.outcome`` (audit keywords). Security
and Sysmon events then get the ECS fields of Winlogbeat's security and sysmon modules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from normalizers.record import RawRecord
from normalizers.schema import ECS_VERSION, validate_event
from normalizers.sources.windows import security, sysmon
from normalizers.sources.windows.shapes import (
    WindowsRecord,
    from_evtx_json,
    from_winlogbeat,
    is_evtx_json,
    is_winlogbeat,
)
from normalizers.timestamps import format_timestamp, parse_iso_timestamp

MODULE = "windows"
DEFAULT_DATASET = "windows.eventlog"
INVALID_TIMESTAMP = "invalid_timestamp"
# Datasets by channel (lowercase) for events no family module claims; named like Elastic's integrations.
CHANNEL_DATASETS = {
    "system": "windows.system",
    "application": "windows.application",
    "windows powershell": "windows.powershell",
    "microsoft-windows-powershell/operational": "windows.powershell_operational",
    "forwardedevents": "windows.forwarded",
}
LEVEL_NAMES = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
_OUTCOMES = (("Audit Failure", "failure"), ("Audit Success", "success"))


class Family(NamedTuple):
    """A provider with its own ECS mapping: its dataset, its enrich function, its message titles."""

    dataset: str
    enrich: Callable[[dict[str, Any], dict[str, Any], int], None]
    title: Callable[[int], str | None]


SECURITY = Family("windows.security", security.enrich, security.title)
SYSMON = Family("windows.sysmon_operational", sysmon.enrich, sysmon.title)
_FAMILY_BY_PROVIDER = {
    "microsoft-windows-security-auditing": SECURITY,
    "microsoft-windows-sysmon": SYSMON,
}


def claims(document: dict[str, Any]) -> bool:
    """True for a Windows event in JSON: EVTX-as-JSON (``Event.System``) or Winlogbeat (``winlog``)."""
    return is_evtx_json(document) or is_winlogbeat(document)


def to_event(document: dict[str, Any], record: RawRecord) -> dict[str, Any] | None:
    """Build the ECS event for a Windows event; None when the document names no event id."""
    windows = from_evtx_json(document) if is_evtx_json(document) else from_winlogbeat(document)
    if windows is None:
        return None
    winlog = windows.winlog
    family = family_of(winlog)
    event = _base_event(windows, record, family)
    if family is not None:
        family.enrich(event, winlog, windows.event_id)
    if windows.extras:
        _keep_extras(event, windows.extras)
    if not isinstance(event.get("message"), str):
        event["message"] = _message(winlog, family, windows.event_id)
    return event


def family_of(winlog: dict[str, Any]) -> Family | None:
    """The family module for an event: by provider, and the Security channel for its other providers (1102)."""
    family = _FAMILY_BY_PROVIDER.get(winlog.get("provider_name", "").lower())
    if family is None and winlog.get("channel", "").lower() == "security":
        return SECURITY
    return family


def _base_event(windows: WindowsRecord, record: RawRecord, family: Family | None) -> dict[str, Any]:
    winlog = windows.winlog
    meta: dict[str, Any] = {"kind": "event", "module": MODULE, "code": winlog["event_id"]}
    channel = winlog.get("channel", "")
    meta["dataset"] = family.dataset if family else CHANNEL_DATASETS.get(channel.lower(), DEFAULT_DATASET)
    if "provider_name" in winlog:
        meta["provider"] = winlog["provider_name"]
    keywords = winlog.get("keywords", ())
    for keyword, outcome in _OUTCOMES:
        if keyword in keywords:
            meta["outcome"] = outcome
            break
    meta["original"] = record.text
    when = _read_time(windows.time_created)
    event: dict[str, Any] = {
        "@timestamp": format_timestamp(when or record.received_at),
        "ecs": {"version": ECS_VERSION},
        "event": meta,
    }
    if when is None:
        event["tags"] = [INVALID_TIMESTAMP]
    if "computer_name" in winlog:
        event["host"] = {"name": winlog["computer_name"], "os": {"type": "windows"}}
    level = LEVEL_NAMES.get(windows.level) if isinstance(windows.level, int) else windows.level
    if level:
        event["log"] = {"level": level.lower()}
    event["winlog"] = winlog
    return event


def _read_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = parse_iso_timestamp(value)
        format_timestamp(when)  # a year the formatter cannot write is no usable time either
    except (ValueError, OverflowError):
        return None
    return when


def _keep_extras(event: dict[str, Any], extras: dict[str, Any]) -> None:
    """Keep the ECS fields a Winlogbeat document already had, where Sontra's mapping set nothing.

    A top-level group whose fields have the wrong types (``process.pid: "x"``) is left out: the
    stores would reject it, and the whole document is still in ``event.original``.
    """
    for key, value in extras.items():
        if not isinstance(key, str) or validate_event({"@timestamp": "-", key: value}):
            continue
        current = event.get(key)
        if current is None:
            event[key] = value
        elif isinstance(current, dict) and isinstance(value, dict):
            _fill(current, value)


def _fill(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        current = target.get(key)
        if current is None:
            target[key] = value
        elif isinstance(current, dict) and isinstance(value, dict):
            _fill(current, value)


def _message(winlog: dict[str, Any], family: Family | None, event_id: int) -> str:
    """A message like Windows renders it: a title line, then ``Name: value`` per event data field.

    EVTX records carry no rendered text, and the SQLite store's free-text search reads ``message``.
    """
    title = family.title(event_id) if family is not None else None
    if title is None:
        title = f"{winlog.get('provider_name', 'Windows')} event {event_id}"
    lines = [title]
    for key in ("event_data", "user_data"):
        for name, value in (winlog.get(key) or {}).items():
            lines.append(f"{name}: {', '.join(value) if isinstance(value, list) else value}")
    return "\n".join(lines)
