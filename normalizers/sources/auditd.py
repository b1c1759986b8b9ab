"""Linux audit records -> ECS, dataset ``auditd.log``; multi-record events assembled by serial.

Records arrive as lines of /var/log/audit/audit.log (``type=SYSCALL msg=audit(1700000000.123:456):
arch=c000003e syscall=59 ...``, optionally ``node=host `` first and auditd's ENRICHED fields after a
0x1D byte), through syslog (programs ``audit``, ``audispd``, ``audisp-syslog``), or from the kernel
itself when auditd is not running (``audit: type=1400 audit(1700000000.123:456): apparmor=...``).

``normalize()`` turns each record line into one event (``refine_audit_text``). A syscall event is
several records with one serial (SYSCALL, EXECVE, CWD, PATH..., PROCTITLE, EOE);
``assemble_audit_event`` merges such record events into one event, and
``collectors.auditd_assembly.AuditEventAssembler`` decides when a serial is complete. Field names
follow Auditbeat (``process.*``, ``user.audit.*``, ``auditd.data``, ``auditd.paths``) and keep
what Sigma's auditd rules read: ``auditd.execve.a0..aN`` (decoded EXECVE arguments),
``auditd.data.syscall`` (name), ``auditd.data.a0..a3`` (syscall arguments), ``auditd.key``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.auditd_fields import record_event_fields
from normalizers.sources.auditd_vocabulary import RECORD_TYPES
from normalizers.timestamps import format_timestamp

DATASET = "auditd.log"
MAX_RECORD = 65536  # the kernel caps a record near 9 KB; allow for ENRICHED fields and syslog framing
MAX_ARGS = 4096  # EXECVE arguments kept per event; argc comes from the record and is not trusted

_HEADER = re.compile(r"(?:node=(\S+) )?type=(\w{1,32}) (?:msg=)?audit\((\d{1,12})(?:\.(\d{1,9}))?:(\d{1,20})\):?")
_BARE = re.compile(r"([A-Z][A-Z_]{2,31}) (?=pid=)")  # journald's "audit[123]: USER_END pid=..." form
_KV = re.compile(r"([\w\-\[\]]{1,64})=(\"[^\"]*\"|'[^']*'|\S*)")
_HEX = re.compile(r"(?:[0-9A-F]{2})+")
_ENRICHED_SEPARATORS = ("\x1d", "#035")  # rsyslog escapes the 0x1D byte as "#035"
# Fields auditd hex-encodes when the value holds a space, quote or control character.
_ENCODED = frozenset({"name", "cwd", "comm", "exe", "acct", "cmd", "data", "proctitle", "path", "key",
                      "old-disk", "new-disk", "root_dir", "ocomm", "unit"})  # fmt: skip
_EXECVE_ARG = re.compile(r"a\d{1,5}")
_EXECVE_CHUNK = re.compile(r"a\d{1,5}\[\d{1,5}\]")  # pieces of a long argument: hex, decoded once joined
_AVC = re.compile(r"\s*avc:\s+(\w+)\s+\{ ([^}]*) \}")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit record: its type, time, serial, node, decoded fields and ENRICHED translations."""

    type: str
    seconds: int | None
    fraction: str
    serial: int | None
    node: str | None
    fields: dict[str, Any]
    enriched: dict[str, str]

    @property
    def timestamp(self) -> str | None:
        """The record time as ECS ``@timestamp``, or None when it has none or it is out of range."""
        if self.seconds is None:
            return None
        try:
            when = datetime.fromtimestamp(self.seconds, tz=UTC)
            return format_timestamp(when.replace(microsecond=int(self.fraction[:6].ljust(6, "0"))))
        except (OverflowError, OSError, ValueError):
            return None


def parse_audit_record(text: str) -> AuditRecord | None:
    """Parse one audit record in any of its transports; None when the text is not an audit record."""
    if len(text) > MAX_RECORD:
        return None
    m = _HEADER.search(text, 0, 4096)
    if m is not None:
        node, kind, seconds, fraction, serial = m.groups()
        kind = RECORD_TYPES.get(kind, kind) if kind.isdigit() else kind
        body = text[m.end() :]
        record_seconds: int | None = int(seconds)
        record_serial: int | None = int(serial)
    else:
        b = _BARE.match(text)
        if b is None:
            return None
        node, kind, fraction, record_seconds, record_serial = None, b.group(1), "", None, None
        body = text[b.end() :]
    enriched_text = ""
    for separator in _ENRICHED_SEPARATORS:
        if separator in body:
            body, _, enriched_text = body.partition(separator)
            break
    fields = _fields(body, kind)
    enriched = {key: _unquote(value) for key, value in _KV.findall(enriched_text)} if enriched_text else {}
    return AuditRecord(kind, record_seconds, fraction or "", record_serial, node, fields, enriched)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _fields(body: str, kind: str) -> dict[str, Any]:
    """Key/value pairs of a record body; ``msg='...'`` of user-space records is opened and merged."""
    fields: dict[str, Any] = {}
    execve = kind == "EXECVE"
    for key, value in _KV.findall(body):
        if value.startswith("'") and value.endswith("'") and len(value) >= 2:
            for inner_key, inner_value in _KV.findall(value[1:-1]):
                fields.setdefault(inner_key, _decode(inner_key, inner_value, False))
            continue
        if key not in fields:
            fields[key] = value if execve and _EXECVE_CHUNK.fullmatch(key) else _decode(key, value, execve)
    if kind == "AVC":
        avc = _AVC.match(body)
        if avc is not None:
            fields["seresult"], fields["seperms"] = avc.group(1), avc.group(2).strip()
    return fields


def _decode(key: str, value: str, execve: bool) -> str:
    """Unquote a value, or decode it from hex when auditd hex-encoded it."""
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return value[1:-1]
    encoded = (execve and _EXECVE_ARG.fullmatch(key) is not None) or key in _ENCODED
    if encoded and _HEX.fullmatch(value):
        raw = bytes.fromhex(value)
        if key == "proctitle":
            raw = raw.rstrip(b"\x00").replace(b"\x00", b" ")
        return raw.decode("utf-8", "backslashreplace")
    return value


def audit_event_fields(records: Sequence[AuditRecord]) -> dict[str, Any]:
    """The ECS fields (no envelope) of one audit event made of ``records`` (one serial, any order)."""
    return record_event_fields(records, MAX_ARGS)


def refine_audit_text(event: dict[str, Any], text: str) -> bool:
    """Fill ECS fields from one audit record line; False (event untouched) when it is not one."""
    record = parse_audit_record(text)
    if record is None:
        return False
    _merge(event, audit_event_fields([record]))
    return True


def _merge(event: dict[str, Any], fields: dict[str, Any]) -> None:
    """Put an audit event's fields into a syslog/raw-line event, which keeps its envelope."""
    meta = event["event"]
    meta.update(fields.pop("event", {}))
    meta["dataset"] = DATASET
    # The syslog program (audispd, kernel) is not the audited process: keep it in log.syslog only.
    event.pop("process", None)
    timestamp = fields.pop("@timestamp", None)
    if timestamp is not None:
        event["@timestamp"] = timestamp
    node = fields.get("auditd", {}).get("node")
    if node and not isinstance(event.get("host"), dict):
        event["host"] = {"name": node}
    event.update(fields)


# Fields copied from the first record's event onto the assembled event.
_ENVELOPE = ("ecs", "host", "log", "agent", "observer", "labels")


def assemble_audit_event(events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Merge the single-record events of one audit serial (as ``normalize`` made them) into one event.

    Pure: the inputs are not modified. The result keeps the first record's envelope (host, log,
    ``event.id``, ``event.created``), every record's raw line in ``event.original`` (one per line)
    and the union of their tags.
    """
    if not events:
        raise ValueError("assemble_audit_event needs at least one record event")
    records = []
    originals: list[str] = []
    messages: list[str] = []
    tags: list[str] = []
    for event in events:
        message = event.get("message")
        record = parse_audit_record(message) if isinstance(message, str) else None
        if record is None:
            continue
        records.append(record)
        messages.append(message)
        original = event.get("event", {}).get("original")
        originals.append(original if isinstance(original, str) else message)
        for tag in event.get("tags") or ():
            if tag not in tags:
                tags.append(tag)
    first = events[0]
    first_meta = first.get("event", {})
    assembled: dict[str, Any] = {key: first[key] for key in _ENVELOPE if key in first}
    assembled["@timestamp"] = first.get("@timestamp")
    assembled["message"] = "\n".join(messages)
    meta: dict[str, Any] = {"kind": "event", "original": "\n".join(originals)}
    for key in ("id", "created", "ingested"):
        if key in first_meta:
            meta[key] = first_meta[key]
    assembled["event"] = meta
    if tags:
        assembled["tags"] = tags
    _merge(assembled, audit_event_fields(records))
    return assembled


def _refine(event: dict[str, Any]) -> bool:
    return refine_audit_text(event, event["message"])


def _looks_like_audit(message: str) -> bool:
    return "audit(" in message and "type=" in message


AUDITD = ROUTES.add(
    SourceParser(
        DATASET,
        _refine,
        programs=frozenset({"audit", "audispd", "audisp-syslog", "audisp-remote", "auditd"}),
        sniff=_looks_like_audit,
    )
)
