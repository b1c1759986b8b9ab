"""Syslog over TCP and TLS byte streams: RFC 6587 framing (octet-counted or LF), RFC 5425 TLS.

Both listeners share one stream handler; the TLS listener only adds the handshake, which asyncio
runs before a connection reaches the handler: a client that fails it (no certificate when one is
required, a plaintext sender on the TLS port) is closed without ever touching the spool.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from collectors.framing import SyslogFramer
from collectors.listener import (
    DEFAULT_HOST,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_PORT,
    ListenerMetrics,
    SyslogListener,
    peer_text,
)
from collectors.spool import Spool
from normalizers.record import RecordFormat

log = logging.getLogger(__name__)

DEFAULT_TLS_PORT = 6514  # RFC 5425
_READ_CHUNK = 256 * 1024
_HANDSHAKE_TIMEOUT = 10.0


class SyslogTcpListener(SyslogListener):
    """Receives syslog over TCP: LF-terminated or octet-counted frames (RFC 6587), any number per connection."""

    input_name = "syslog-tcp"
    transport_name = "TCP"

    def __init__(
        self,
        spool: Spool,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        metrics: ListenerMetrics | None = None,
        record_format: RecordFormat = "syslog",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            spool,
            host,
            port,
            max_message_size=max_message_size,
            metrics=metrics or ListenerMetrics(CollectorRegistry()),
            record_format=record_format,
        )
        self.ssl_context = ssl_context
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], _Connection] = {}

    async def start(self) -> None:
        """Bind and listen; raises ``ListenerBindError`` naming host:port when that fails."""
        try:
            self._server = await asyncio.start_server(
                self._serve,
                self.host,
                self.port,
                limit=_READ_CHUNK,
                ssl=self.ssl_context,
                # A client that never finishes its handshake (a plaintext sender, a port scan) is cut.
                ssl_handshake_timeout=_HANDSHAKE_TIMEOUT if self.ssl_context is not None else None,
            )
        except OSError as exc:
            raise self._bind_error(self.transport_name, exc) from exc
        self.host, self.port = self._server.sockets[0].getsockname()[:2]

    async def stop(self, quiet: float = 0.2, timeout: float = 10.0, grace: float = 30.0) -> None:
        """Stop accepting connections, keep reading each open one until it is quiet, then close it.

        A connection is closed once it has sent nothing for ``quiet`` seconds (senders usually
        stay connected) or ``timeout`` seconds after stop began. Whatever was read by then, a last
        line without LF included, is queued: handlers get ``grace`` seconds to hand it over.
        """
        if self._server is None:
            return
        loop = asyncio.get_running_loop()
        # Connections the kernel completed but the loop has not accepted yet would be reset by
        # close(), with their data: give the loop a poll to accept them and their handlers a step
        # to register.
        await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        self._server.close()
        self._server = None
        give_up = loop.time() + timeout
        while True:
            now = loop.time()
            open_ones = [c for c in self._connections.values() if not c.closing]
            for conn in open_ones:
                if now >= give_up or (conn.idle_since is not None and now - conn.idle_since >= quiet):
                    # The handler's read() now returns end-of-file after what is already buffered.
                    conn.closing = True
                    conn.writer.close()
            if all(c.closing for c in open_ones):
                break
            await asyncio.sleep(quiet / 4)
        handlers = set(self._connections)
        if handlers:
            _, pending = await asyncio.wait(handlers, timeout=grace)
            if pending:
                # Only when the store is stuck: the records these handlers hold cannot be queued.
                log.error(
                    "%d syslog %s connection(s) could not queue their last records; dropping them",
                    len(pending),
                    self.transport_name,
                )
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        conn = self._connections[task] = _Connection(writer)
        self.metrics.connections.inc()
        source = peer_text(writer.get_extra_info("peername"))
        framer = SyslogFramer(self.max_message_size)
        try:
            while True:
                conn.idle_since = loop.time()
                data = await reader.read(_READ_CHUNK)
                conn.idle_since = None
                if not data:
                    break
                await self._queue_frames(framer.feed(data), source)
            await self._queue_frames(framer.close(), source)
        except (ConnectionError, ssl.SSLError) as exc:
            log.info("syslog %s connection from %s ended: %s", self.transport_name, source, exc)
            await self._queue_frames(framer.close(), source)
        finally:
            del self._connections[task]
            self.metrics.connections.dec()
            writer.close()

    async def _queue_frames(self, frames: Iterable[tuple[bytes, bool]], source: str | None) -> None:
        """Spool one received chunk's frames before the next read: once this returns they are durable (acknowledged)."""
        received_at = datetime.now(UTC)
        records = [r for data, truncated in frames if (r := self._record(data, source, received_at, truncated))]
        if records:
            await self._spool(records)  # waits while the spool is full: TCP backpressure


@dataclass(slots=True)
class _Connection:
    """One open TCP connection, as stop() needs to see it."""

    writer: asyncio.StreamWriter
    idle_since: float | None = None  # set while the handler waits for data
    closing: bool = False


class SyslogTlsListener(SyslogTcpListener):
    """Receives syslog over TLS (RFC 5425): octet-counted frames as the RFC mandates, LF-terminated too.

    ``ssl_context`` is a server context (see ``collectors.tls.server_context``): it holds the
    certificate and key and decides whether clients must present a certificate.
    """

    input_name = "syslog-tls"
    transport_name = "TLS"

    def __init__(
        self,
        spool: Spool,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_TLS_PORT,
        *,
        ssl_context: ssl.SSLContext,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        metrics: ListenerMetrics | None = None,
        record_format: RecordFormat = "syslog",
    ) -> None:
        if not isinstance(ssl_context, ssl.SSLContext):
            raise TypeError(f"ssl_context must be an ssl.SSLContext, got {type(ssl_context).__name__}")
        super().__init__(
            spool,
            host,
            port,
            max_message_size=max_message_size,
            metrics=metrics,
            record_format=record_format,
            ssl_context=ssl_context,
        )
