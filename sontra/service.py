"""The single-node service behind `sontra serve`: API, syslog listeners and ingest in one process.

Shutdown order matters: on SIGTERM the listeners stop accepting, everything accepted is normalized
and written, the store is flushed, and only then does the API stop and the stores close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import uvicorn
from prometheus_client import CollectorRegistry, Counter

from collectors.pipeline import IngestPipeline, PipelineStats
from collectors.syslog import SyslogService
from console.app import create_app
from console.deps import ConsoleContext
from sontra import __version__
from sontra.config import SontraConfig
from sontra.stores import open_event_store
from storage.base import EventStore
from storage.workflow import WorkflowDatabase, ensure_first_admin

log = logging.getLogger("sontra.service")

RETENTION_CHECK_EVERY = timedelta(hours=1)


class ServiceStartError(RuntimeError):
    """The service could not start (a port in use, a store unreachable); the message says which."""


@dataclass
class ServiceAddresses:
    """Where the running service listens, once bound (ports resolved when 0 was configured)."""

    api: str
    syslog: list[str] = field(default_factory=list)


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service decides when the API stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_api_socket(host: str, port: int) -> socket.socket:
    """Bind the API's listening socket, with an error that names host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServiceStartError(f"cannot listen for the API on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class SingleNodeService:
    """Everything `sontra serve` runs, wired from one SontraConfig."""

    def __init__(self, config: SontraConfig, *, announce: Callable[[str], None] = print) -> None:
        self.config = config
        self.announce = announce
        self.registry = CollectorRegistry()
        self._purged = Counter(
            "sontra_retention_purged_events", "Events deleted by the retention policy", registry=self.registry
        )
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        """Ask the running service to drain and exit (what SIGTERM does)."""
        self._stop.set()

    async def run(self, on_ready: Callable[[ServiceAddresses], None] | None = None) -> PipelineStats:
        """Start everything, serve until stopped, drain, and return what syslog ingest stored."""
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        workflow = WorkflowDatabase(cfg.database_url)
        events: EventStore | None = None
        alerts: EventStore | None = None
        try:
            password = ensure_first_admin(workflow)
            if password is not None:
                self.announce(
                    "sontra: created the first user 'admin' with password: "
                    f"{password}\nsontra: it is shown only this once; change it after you sign in."
                )
            events = open_event_store(cfg)
            alerts = events.sibling("alerts")
            return await self._serve(events, alerts, on_ready)
        finally:
            for store in (alerts, events):
                if store is not None:
                    store.close()
            workflow.close()

    async def _serve(
        self, events: EventStore, alerts: EventStore, on_ready: Callable[[ServiceAddresses], None] | None
    ) -> PipelineStats:
        cfg = self.config
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        pipeline = IngestPipeline(
            events,
            alerts,
            batch_size=cfg.storage.batch_size,
            registry=self.registry,
            source_tz=ZoneInfo(cfg.syslog.timezone),
        )
        udp = (cfg.syslog.udp.host, cfg.syslog.udp.port) if cfg.syslog.udp.enabled else None
        tcp = (cfg.syslog.tcp.host, cfg.syslog.tcp.port) if cfg.syslog.tcp.enabled else None
        syslog = (
            SyslogService(
                pipeline,
                udp=udp,
                tcp=tcp,
                max_message_size=cfg.syslog.max_message_size,
                batch_size=cfg.storage.batch_size,
            )
            if udp or tcp
            else None
        )
        api_sock = bind_api_socket(cfg.api.host, cfg.api.port)
        context = ConsoleContext(
            events=events,
            registry=self.registry,
            started_at=datetime.now(UTC),
            version=__version__,
            backend=cfg.storage.backend,
        )
        server = _ApiServer(
            uvicorn.Config(
                create_app(context),
                log_level=cfg.logging.level.lower(),
                access_log=False,
                lifespan="off",
                server_header=False,
            )
        )
        stats = PipelineStats()
        api_task: asyncio.Task[None] | None = None
        retention_task: asyncio.Task[None] | None = None
        try:
            if syslog is not None:
                try:
                    await syslog.start()
                except OSError as exc:
                    raise ServiceStartError(str(exc)) from None
            api_task = asyncio.create_task(server.serve(sockets=[api_sock]), name="api")
            while not server.started and not api_task.done():
                await asyncio.sleep(0.02)
            if api_task.done():
                api_task.result()
            retention_task = asyncio.create_task(self._retention(events, alerts), name="retention")
            host, port = api_sock.getsockname()[:2]
            addresses = ServiceAddresses(
                api=f"http://{_host_for_url(host)}:{port}", syslog=syslog.addresses() if syslog else []
            )
            self.announce(
                f"sontra {__version__}: API {addresses.api} (health {addresses.api}/api/v1/health), "
                f"syslog {' '.join(addresses.syslog) or 'off'}, store {cfg.storage.backend}, data {cfg.data_dir}"
            )
            if on_ready is not None:
                on_ready(addresses)
            await self._stop.wait()
            log.info("stopping: draining accepted events")
        finally:
            if syslog is not None:
                stats = await syslog.stop()
            if retention_task is not None:
                retention_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await retention_task
            server.should_exit = True
            if api_task is not None:
                await api_task
            api_sock.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        self.announce(f"sontra: stopped; {stats.events} syslog events stored, {stats.parse_failures} parse failures")
        return stats

    async def _retention(self, events: EventStore, alerts: EventStore) -> None:
        """Purge events and alerts older than storage.retention_days, hourly."""
        keep = timedelta(days=self.config.storage.retention_days)
        loop = asyncio.get_running_loop()
        while True:
            cutoff = datetime.now(UTC) - keep
            for store in (events, alerts):
                try:
                    deleted = await loop.run_in_executor(None, store.purge, cutoff)
                except Exception:  # retention must never take the service down
                    log.exception("retention purge of %s failed", store.kind)
                    continue
                if deleted:
                    self._purged.inc(deleted)
                    log.info("retention: purged %d %s older than %s", deleted, store.kind, cutoff.isoformat())
            await asyncio.sleep(RETENTION_CHECK_EVERY.total_seconds())


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
