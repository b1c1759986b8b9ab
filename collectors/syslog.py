"""Syslog over UDP, and the service that runs every syslog listener (UDP, TCP, TLS) and stores what they receive.

``SyslogService`` is what ``sontra serve`` runs: it binds the listeners (127.0.0.1:5514 unless
configured; TLS on 6514 when enabled), feeds an ``IngestWorker``, and on ``stop()`` (SIGTERM)
stops accepting, stores every record it already accepted, flushes the store and returns.
The TCP and TLS listeners live in ``collectors.syslog_stream``; what all listeners share in
``collectors.listener``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from collectors.listener import (
    DEFAULT_HOST,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_PORT,
    ListenerBindError,
    ListenerMetrics,
    SyslogListener,
    address_text,
    peer_text,
)
from collectors.pipeline import IngestPipeline, PipelineStats
from collectors.spool import Spool
from collectors.syslog_stream import DEFAULT_TLS_PORT, SyslogTcpListener, SyslogTlsListener
from collectors.worker import IngestWorker
from normalizers.record import RawRecord, RecordFormat

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_PORT",
    "DEFAULT_TLS_PORT",
    "ListenerBindError",
    "ListenerMetrics",
    "SyslogService",
    "SyslogTcpListener",
    "SyslogTlsListener",
    "SyslogUdpListener",
]

log = logging.getLogger(__name__)

# UDP datagrams waiting for the spool beyond this many are dropped (and counted).
MAX_UDP_PENDING = 100_000
_UDP_RECEIVE_BUFFER = 8 * 1024 * 1024


class SyslogUdpListener(SyslogListener):
    """Receives one syslog message per UDP datagram (RFC 5426) and spools it."""

    input_name = "syslog-udp"

    def __init__(
        self,
        spool: Spool,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        metrics: ListenerMetrics | None = None,
        record_format: RecordFormat = "syslog",
    ) -> None:
        super().__init__(
            spool,
            host,
            port,
            max_message_size=max_message_size,
            metrics=metrics or ListenerMetrics(CollectorRegistry()),
            record_format=record_format,
        )
        self._transport: asyncio.DatagramTransport | None = None
        self._last_datagram = 0.0
        # Datagrams that arrive while the previous group is being fsync'd share the next append.
        self._pending: list[RawRecord] = []
        self._spooling: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind the socket; raises ``ListenerBindError`` naming host:port when that fails."""
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DatagramProtocol(self), local_addr=(self.host, self.port)
            )
        except OSError as exc:
            raise self._bind_error("UDP", exc) from exc
        self._transport = transport
        self.host, self.port = transport.get_extra_info("sockname")[:2]
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):
            # A bigger kernel buffer rides out bursts while the loop is busy (capped by rmem_max).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _UDP_RECEIVE_BUFFER)

    async def stop(self, quiet: float = 0.05, timeout: float = 2.0) -> None:
        """Read what the kernel already holds until ``quiet`` seconds pass without a datagram, then close."""
        if self._transport is None:
            return
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout
        while True:
            # Sleeping lets the loop poll the socket; asyncio reads one datagram per poll.
            await asyncio.sleep(quiet)
            if loop.time() - self._last_datagram >= quiet or loop.time() >= give_up:
                break
        self._transport.close()
        self._transport = None
        if self._spooling is not None:
            await self._spooling

    def _datagram(self, data: bytes, peer: Any) -> None:
        self._last_datagram = asyncio.get_running_loop().time()
        size = len(data)
        truncated = size > self.max_message_size
        record = self._record(
            data[: self.max_message_size] if truncated else data, peer_text(peer), datetime.now(UTC), truncated
        )
        if record is None:
            return
        if len(self._pending) >= MAX_UDP_PENDING:
            self.metrics.dropped.inc()  # the disk cannot even keep up with the fsyncs
            return
        self._pending.append(record)
        if self._spooling is None:
            self._spooling = asyncio.get_running_loop().create_task(self._spool_pending())

    async def _spool_pending(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                # UDP has no flow control: what a full spool cannot take is dropped and counted.
                await self._spool(batch, wait_when_full=False)
        finally:
            self._spooling = None


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: SyslogUdpListener) -> None:
        self._listener = listener

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._listener._datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("syslog UDP socket error on %s: %s", address_text(*self._listener.address), exc)


class SyslogService:
    """The syslog UDP, TCP and TLS listeners, which spool what they receive, and the worker that stores the spool.

    ``tls`` binds the RFC 5425 listener; it needs ``tls_context`` (``collectors.tls.server_context``).
    The worker stores everything in ``spool``, also what other inputs (HTTP ingest) append to it.
    """

    def __init__(
        self,
        pipeline: IngestPipeline,
        *,
        spool: Spool,
        udp: tuple[str, int] | None = (DEFAULT_HOST, DEFAULT_PORT),
        tcp: tuple[str, int] | None = (DEFAULT_HOST, DEFAULT_PORT),
        tls: tuple[str, int] | None = None,
        tls_context: ssl.SSLContext | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        batch_size: int = 1000,
        max_delay: float = 0.2,
        retry_delay: float = 0.5,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if udp is None and tcp is None and tls is None:
            raise ValueError("syslog service needs at least one of a UDP, TCP or TLS address")
        if tls is not None and tls_context is None:
            raise ValueError("a TLS address was given without tls_context (see collectors.tls.server_context)")
        self.pipeline = pipeline
        self.spool = spool
        self._binds = (udp, tcp)
        self._tls_bind = tls
        self._tls_context = tls_context
        self._max_message_size = max_message_size
        self._batch_size = batch_size
        self._max_delay = max_delay
        self._retry_delay = retry_delay
        self.metrics = ListenerMetrics(registry if registry is not None else pipeline.registry)
        self.udp: SyslogUdpListener | None = None
        self.tcp: SyslogTcpListener | None = None
        self.tls: SyslogTlsListener | None = None
        self._worker: IngestWorker | None = None

    async def start(self) -> None:
        """Bind the listeners and start storing; a bind error stops whatever had started and is raised."""
        self._worker = IngestWorker(
            self.spool, self.pipeline, batch_size=self._batch_size, max_delay=self._max_delay,
            retry_delay=self._retry_delay,
        )
        udp, tcp = self._binds
        options: dict[str, Any] = {"max_message_size": self._max_message_size, "metrics": self.metrics}
        if udp is not None:
            self.udp = SyslogUdpListener(self.spool, *udp, **options)
        if tcp is not None:
            self.tcp = SyslogTcpListener(self.spool, *tcp, **options)
        if self._tls_bind is not None and self._tls_context is not None:
            self.tls = SyslogTlsListener(self.spool, *self._tls_bind, ssl_context=self._tls_context, **options)
        self._worker.start()
        try:
            for listener in self._listeners():
                if listener is not None:
                    await listener.start()
        except BaseException:
            await self.stop()
            raise
        log.info("syslog listening on %s", ", ".join(self.addresses()))

    def addresses(self) -> list[str]:
        """Where the service listens, as ``udp://host:port``, ``tcp://host:port`` and ``tls://host:port``."""
        out = []
        if self.udp is not None:
            out.append("udp://" + address_text(*self.udp.address))
        if self.tcp is not None:
            out.append("tcp://" + address_text(*self.tcp.address))
        if self.tls is not None:
            out.append("tls://" + address_text(*self.tls.address))
        return out

    def _listeners(self) -> tuple[SyslogUdpListener | SyslogTcpListener | None, ...]:
        return (self.udp, self.tcp, self.tls)

    async def stop(self) -> PipelineStats:
        """Stop accepting, store everything accepted, flush the store; return what was stored."""
        for listener in self._listeners():
            if listener is not None:
                await listener.stop()
        if self._worker is None:
            return PipelineStats()
        worker, self._worker = self._worker, None
        return await worker.stop()

    async def run_until_signalled(
        self,
        signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT),
        on_ready: Callable[[SyslogService], None] | None = None,
    ) -> PipelineStats:
        """Start, serve until one of ``signals`` arrives, then stop cleanly and return what was stored.

        ``on_ready`` is called once the listeners are bound (to print where they listen, say).
        """
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        installed = []
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        try:
            await self.start()
            try:
                if on_ready is not None:
                    on_ready(self)
                await stop.wait()
            except BaseException:
                await self.stop()  # cancelled or on_ready failed: still store what was accepted
                raise
            log.info("signal received: draining syslog ingest")
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
        return await self.stop()
