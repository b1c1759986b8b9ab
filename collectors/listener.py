"""What every syslog listener (UDP, TCP, TLS) shares: metrics, bind errors, record building.

The listeners themselves live in ``collectors.syslog`` (UDP, and the service that runs them all)
and ``collectors.syslog_stream`` (TCP and TLS byte streams).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from collectors.spool import BatchTooLarge, Spool, SpoolError, SpoolFull
from normalizers.record import RawRecord, RecordFormat, decode_line

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5514
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_PORT",
    "ListenerBindError",
    "ListenerMetrics",
    "SyslogListener",
    "address_text",
    "peer_text",
]


class ListenerBindError(OSError):
    """A listener could not bind its address (port in use, no permission, bad host)."""


class ListenerMetrics:
    """Counters for what the listeners received, cut and dropped, by input."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "sontra_syslog_received", "Syslog messages spooled (durable) for storage", ["input"], registry=registry
        )
        self.truncated = Counter(
            "sontra_syslog_truncated", "Syslog messages cut at the size limit", ["input"], registry=registry
        )
        self.dropped = Counter(
            "sontra_syslog_dropped",
            "Syslog messages dropped: UDP datagrams while the spool was full, messages larger than the spool",
            registry=registry,
        )
        self.connections = Gauge(
            "sontra_syslog_tcp_connections", "Open syslog TCP and TLS connections", registry=registry
        )


def address_text(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def peer_text(peer: Any) -> str | None:
    """A socket's peer address as ``host:port``; None when the socket has no IP peer."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        return address_text(str(peer[0]), int(peer[1]))
    return None


class SyslogListener:
    """What every syslog listener shares: the spool, record building and counting."""

    input_name = "syslog"

    def __init__(
        self,
        spool: Spool,
        host: str,
        port: int,
        *,
        max_message_size: int,
        metrics: ListenerMetrics,
        record_format: RecordFormat,
    ) -> None:
        if max_message_size < 1:
            raise ValueError(f"max_message_size must be at least 1 byte, got {max_message_size}")
        self.spool = spool
        self.host = host
        self.port = port
        self.max_message_size = max_message_size
        self.metrics = metrics
        self.record_format: RecordFormat = record_format
        self._sequence = itertools.count()
        self._received = metrics.received.labels(self.input_name)
        self._truncated = metrics.truncated.labels(self.input_name)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); the real port when 0 was asked for."""
        return self.host, self.port

    def _record(self, data: bytes, source: str | None, received_at: datetime, truncated: bool) -> RawRecord | None:
        text = decode_line(data).rstrip("\r\n\x00")
        if not text or text.isspace():
            return None  # keep-alive newlines and empty datagrams carry nothing
        if truncated:
            self._truncated.inc()
        return RawRecord(
            text, received_at, source, self.input_name, self.record_format, next(self._sequence), truncated
        )

    async def _spool(self, records: list[RawRecord], *, wait_when_full: bool = True) -> None:
        """Append to the spool, in order, and return once everything is fsync'd (or dropped and counted).

        While the spool is full, wait and retry: that stops the caller from reading its socket, so TCP
        flow control pushes back on the sender. With ``wait_when_full=False`` (UDP, which has no flow
        control) records that do not fit are dropped and counted, and so are those a failing disk refuses.
        A list too big for one append is split.
        """
        parts = deque([records])
        delay = 0.05
        while parts:
            part = parts[0]
            try:
                await self.spool.append_async(part)
            except SpoolFull:
                if wait_when_full:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                self.metrics.dropped.inc(len(part))
            except BatchTooLarge:
                parts.popleft()
                if len(part) > 1:
                    half = len(part) // 2
                    parts.extendleft((part[half:], part[:half]))
                    continue
                log.error("a syslog message of %d characters is larger than the spool can hold (spool.max_bytes); "
                          "dropped", len(part[0].text))
                self.metrics.dropped.inc()
                continue
            except SpoolError as exc:
                if wait_when_full:
                    raise  # the connection ends: nothing more of it is acknowledged
                log.error("cannot spool %d syslog messages, dropping them: %s", sum(map(len, parts)), exc)
                self.metrics.dropped.inc(sum(map(len, parts)))
                return
            else:
                self._received.inc(len(part))
                delay = 0.05
            parts.popleft()

    def _bind_error(self, transport: str, exc: OSError) -> ListenerBindError:
        reason = exc.strerror or str(exc)
        where = address_text(self.host, self.port)
        return ListenerBindError(exc.errno or 0, f"cannot listen for syslog over {transport} on {where}: {reason}")
