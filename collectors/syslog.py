"""Syslog over UDP and TCP: listeners that queue raw records, and the service that stores them.

``SyslogService`` is what ``sontra serve`` runs: it binds the listeners (127.0.0.1:5514 unless
configured), feeds an ``IngestWorker``, and on ``stop()`` (SIGTERM) stops accepting, stores
every record it already accepted, flushes the store and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from collectors.framing import SyslogFramer
from collectors.pipeline import IngestPipeline, PipelineStats
from collectors.worker import IngestWorker, QueueItem
from normalizers.record import RawRecord, RecordFormat, decode_line

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5514
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024
DEFAULT_QUEUE_SIZE = 100_000
_READ_CHUNK = 256 * 1024
_UDP_RECEIVE_BUFFER = 8 * 1024 * 1024


class ListenerBindError(OSError):
    """A listener could not bind its address (port in use, no permission, bad host)."""


class ListenerMetrics:
    """Counters for what the listeners received, cut and dropped, by input."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "sontra_syslog_received", "Syslog messages queued for storage", ["input"], registry=registry
        )
        self.truncated = Counter(
            "sontra_syslog_truncated", "Syslog messages cut at the size limit", ["input"], registry=registry
        )
        self.dropped = Counter(
            "sontra_syslog_dropped", "UDP datagrams dropped because the ingest queue was full", registry=registry
        )
        self.connections = Gauge("sontra_syslog_tcp_connections", "Open syslog TCP connections", registry=registry)
        self.queue_depth = Gauge("sontra_syslog_queue_depth", "Records waiting to be stored", registry=registry)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _peer(peer: Any) -> str | None:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return _address(str(peer[0]), int(peer[1]))
    return None


class _Listener:
    """What both listeners share: the queue, record building and counting."""

    input_name = "syslog"

    def __init__(
        self,
        queue: asyncio.Queue[QueueItem],
        host: str,
        port: int,
        *,
        max_message_size: int,
        metrics: ListenerMetrics,
        record_format: RecordFormat,
    ) -> None:
        if max_message_size < 1:
            raise ValueError(f"max_message_size must be at least 1 byte, got {max_message_size}")
        self.queue = queue
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

    def _bind_error(self, transport: str, exc: OSError) -> ListenerBindError:
        reason = exc.strerror or str(exc)
        return ListenerBindError(
            exc.errno or 0, f"cannot listen for syslog over {transport} on {_address(self.host, self.port)}: {reason}"
        )


class SyslogUdpListener(_Listener):
    """Receives one syslog message per UDP datagram (RFC 5426) and queues it."""

    input_name = "syslog-udp"

    def __init__(
        self,
        queue: asyncio.Queue[QueueItem],
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        metrics: ListenerMetrics | None = None,
        record_format: RecordFormat = "syslog",
    ) -> None:
        super().__init__(
            queue,
            host,
            port,
            max_message_size=max_message_size,
            metrics=metrics or ListenerMetrics(CollectorRegistry()),
            record_format=record_format,
        )
        self._transport: asyncio.DatagramTransport | None = None
        self._last_datagram = 0.0

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

    def _datagram(self, data: bytes, peer: Any) -> None:
        self._last_datagram = asyncio.get_running_loop().time()
        size = len(data)
        truncated = size > self.max_message_size
        record = self._record(
            data[: self.max_message_size] if truncated else data, _peer(peer), datetime.now(UTC), truncated
        )
        if record is None:
            return
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            # UDP has no flow control: a full queue means the store cannot keep up; count the loss.
            self.metrics.dropped.inc()
        else:
            self._received.inc()


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: SyslogUdpListener) -> None:
        self._listener = listener

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._listener._datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("syslog UDP socket error on %s: %s", _address(*self._listener.address), exc)


class SyslogTcpListener(_Listener):
    """Receives syslog over TCP: LF-terminated or octet-counted frames (RFC 6587), any number per connection."""

    input_name = "syslog-tcp"

    def __init__(
        self,
        queue: asyncio.Queue[QueueItem],
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        metrics: ListenerMetrics | None = None,
        record_format: RecordFormat = "syslog",
    ) -> None:
        super().__init__(
            queue,
            host,
            port,
            max_message_size=max_message_size,
            metrics=metrics or ListenerMetrics(CollectorRegistry()),
            record_format=record_format,
        )
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], _Connection] = {}

    async def start(self) -> None:
        """Bind and listen; raises ``ListenerBindError`` naming host:port when that fails."""
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=_READ_CHUNK)
        except OSError as exc:
            raise self._bind_error("TCP", exc) from exc
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
                log.error("%d syslog TCP connection(s) could not queue their last records; dropping them", len(pending))
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        conn = self._connections[task] = _Connection(writer)
        self.metrics.connections.inc()
        source = _peer(writer.get_extra_info("peername"))
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
        except ConnectionError as exc:
            log.info("syslog TCP connection from %s ended: %s", source, exc)
            await self._queue_frames(framer.close(), source)
        finally:
            del self._connections[task]
            self.metrics.connections.dec()
            writer.close()

    async def _queue_frames(self, frames: Iterable[tuple[bytes, bool]], source: str | None) -> None:
        received_at = datetime.now(UTC)
        for data, truncated in frames:
            record = self._record(data, source, received_at, truncated)
            if record is not None:
                # Waits while the queue is full, which stops reading this socket: TCP backpressure.
                await self.queue.put(record)
                self._received.inc()


@dataclass(slots=True)
class _Connection:
    """One open TCP connection, as stop() needs to see it."""

    writer: asyncio.StreamWriter
    idle_since: float | None = None  # set while the handler waits for data
    closing: bool = False


class SyslogService:
    """The syslog UDP and TCP listeners and the worker that stores what they receive."""

    def __init__(
        self,
        pipeline: IngestPipeline,
        *,
        udp: tuple[str, int] | None = (DEFAULT_HOST, DEFAULT_PORT),
        tcp: tuple[str, int] | None = (DEFAULT_HOST, DEFAULT_PORT),
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        batch_size: int = 1000,
        max_delay: float = 0.2,
        retry_delay: float = 0.5,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if udp is None and tcp is None:
            raise ValueError("syslog service needs a UDP address, a TCP address or both")
        self.pipeline = pipeline
        self._binds = (udp, tcp)
        self._max_message_size = max_message_size
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._max_delay = max_delay
        self._retry_delay = retry_delay
        self.metrics = ListenerMetrics(registry if registry is not None else pipeline.registry)
        self.udp: SyslogUdpListener | None = None
        self.tcp: SyslogTcpListener | None = None
        self._worker: IngestWorker | None = None

    async def start(self) -> None:
        """Bind the listeners and start storing; a bind error stops whatever had started and is raised."""
        queue: asyncio.Queue[QueueItem] = asyncio.Queue(maxsize=self._queue_size)
        self.metrics.queue_depth.set_function(queue.qsize)
        self._worker = IngestWorker(
            queue, self.pipeline, batch_size=self._batch_size, max_delay=self._max_delay, retry_delay=self._retry_delay
        )
        udp, tcp = self._binds
        options: dict[str, Any] = {"max_message_size": self._max_message_size, "metrics": self.metrics}
        if udp is not None:
            self.udp = SyslogUdpListener(queue, *udp, **options)
        if tcp is not None:
            self.tcp = SyslogTcpListener(queue, *tcp, **options)
        self._worker.start()
        try:
            for listener in (self.udp, self.tcp):
                if listener is not None:
                    await listener.start()
        except BaseException:
            await self.stop()
            raise
        log.info("syslog listening on %s", ", ".join(self.addresses()))

    def addresses(self) -> list[str]:
        """Where the service listens, as ``udp://host:port`` and ``tcp://host:port``."""
        out = []
        if self.udp is not None:
            out.append("udp://" + _address(*self.udp.address))
        if self.tcp is not None:
            out.append("tcp://" + _address(*self.tcp.address))
        return out

    async def stop(self) -> PipelineStats:
        """Stop accepting, store everything accepted, flush the store; return what was stored."""
        for listener in (self.udp, self.tcp):
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
