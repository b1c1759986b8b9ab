"""Audit event assembly: buffers normalized audit record events by serial and emits one event per serial.

The kernel writes one syscall event as several records that share a serial (SYSCALL, EXECVE, CWD,
PATH..., PROCTITLE) and ends it with an EOE record. ``normalize()`` sees one line at a time, so
each record becomes its own event; this stage holds them until the serial is complete and then
replaces them by ``normalizers.sources.auditd.assemble_audit_event(records)``.

A serial is complete when:
- its EOE record arrives (the EOE itself is consumed, it carries nothing);
- in a stream that has never sent EOE (old kernels, forwarders that drop it), a record with
  another serial arrives; streams that do send EOE may interleave serials, so there we wait;
- it has been open ``timeout`` seconds (``expire(now)``), or it holds ``max_records`` records;
- the assembler holds ``max_open`` serials and needs room (oldest first), or ``drain()`` is called.

User-space records (USER_LOGIN, USER_AUTH, ADD_USER, ...) are complete on their own and pass straight
through, as does every event that is not an audit record. A stream is one sender: the audit node or
syslog host name, else the file or network address the record came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from normalizers.sources.auditd import DATASET, assemble_audit_event
from normalizers.sources.auditd_vocabulary import SYSCALL_PARTS

Stream = tuple[str, str]
_Key = tuple[Stream, int]


@dataclass(slots=True)
class _OpenSerial:
    """The record events of one serial seen so far, and when the first arrived (monotonic seconds)."""

    opened: float
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class AuditEventAssembler:
    """Turns a stream of normalized events into one where each audit serial is a single event.

    ``push(events, now)`` returns the events ready to store, in order; ``now`` is a monotonic clock
    reading (``time.monotonic()``) so that timeouts can be tested without sleeping. Not thread-safe:
    use it from the one thread that runs the pipeline.
    """

    def __init__(self, *, timeout: float = 2.0, max_open: int = 10_000, max_records: int = 1_000) -> None:
        if timeout <= 0 or max_open < 1 or max_records < 2:
            raise ValueError(
                f"timeout must be > 0, max_open >= 1 and max_records >= 2 (got {timeout}, {max_open}, {max_records})"
            )
        self.timeout = timeout
        self.max_open = max_open
        self.max_records = max_records
        # Insertion order is arrival order of each serial's first record: the oldest is first.
        self._open: dict[_Key, _OpenSerial] = {}
        self._by_stream: dict[Stream, set[int]] = {}
        self._streams_with_eoe: set[Stream] = set()
        self.records_merged = 0  # record events folded into another event (for metrics)

    @property
    def open_serials(self) -> int:
        """How many audit serials are waiting for more records."""
        return len(self._open)

    def push(self, events: Iterable[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """Take normalized events; return those ready to store (non-audit events unchanged)."""
        ready: list[dict[str, Any]] = []
        for event in events:
            self._take(event, now, ready)
        ready.extend(self.expire(now))
        return ready

    def expire(self, now: float) -> list[dict[str, Any]]:
        """Emit every serial open for ``timeout`` seconds or more (call it when input is idle, too)."""
        ready: list[dict[str, Any]] = []
        for key, pending in list(self._open.items()):
            if now - pending.opened < self.timeout:
                break  # later ones were opened later still
            ready.append(self._close(key))
        return ready

    def drain(self) -> list[dict[str, Any]]:
        """Emit everything still open (end of a file, shutdown)."""
        return [self._close(key) for key in list(self._open)]

    def _take(self, event: dict[str, Any], now: float, ready: list[dict[str, Any]]) -> None:
        auditd = event.get("auditd")
        meta = event.get("event")
        serial = auditd.get("sequence") if isinstance(auditd, dict) else None
        if not isinstance(serial, int) or not isinstance(meta, dict) or meta.get("dataset") != DATASET:
            ready.append(event)
            return
        record_type = auditd.get("message_type")
        stream = _stream(event, auditd)
        key = (stream, serial)
        if record_type == "EOE":
            self._streams_with_eoe.add(stream)
            if key in self._open:
                ready.append(self._close(key))
            return
        if stream not in self._streams_with_eoe:
            for other in sorted(self._by_stream.get(stream, ())):
                if other != serial:
                    ready.append(self._close((stream, other)))
        pending = self._open.get(key)
        if pending is None:
            if record_type not in SYSCALL_PARTS:
                ready.append(event)  # a user-space record is a whole event
                return
            if len(self._open) >= self.max_open:
                ready.append(self._close(next(iter(self._open))))
            pending = self._open[key] = _OpenSerial(now)
            self._by_stream.setdefault(stream, set()).add(serial)
        event_id = meta.get("id")
        if isinstance(event_id, str):
            if event_id in pending.ids:
                return  # the same record again: a retried batch
            pending.ids.add(event_id)
        pending.events.append(event)
        if len(pending.events) >= self.max_records:
            ready.append(self._close(key))

    def _close(self, key: _Key) -> dict[str, Any]:
        pending = self._open.pop(key)
        serials = self._by_stream.get(key[0])
        if serials is not None:
            serials.discard(key[1])
            if not serials:
                del self._by_stream[key[0]]
        if len(pending.events) == 1:
            return pending.events[0]
        self.records_merged += len(pending.events) - 1
        return assemble_audit_event(pending.events)


def _stream(event: dict[str, Any], auditd: dict[str, Any]) -> Stream:
    """Which sender a record came from: records of one serial always share it."""
    node = auditd.get("node")
    host = event.get("host")
    host_name = host.get("name") if isinstance(host, dict) else None
    log = event.get("log")
    origin = ""
    if isinstance(log, dict):
        file = log.get("file")
        source = log.get("source")
        if isinstance(file, dict):
            origin = str(file.get("path", ""))
        elif isinstance(source, dict):
            origin = str(source.get("address", ""))
    sender = str(node or host_name or "")
    return (sender, "" if sender else origin)
