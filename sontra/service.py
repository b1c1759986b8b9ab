"""The single-node service behind `sontra serve`: API, syslog listeners and ingest in one process.

Every input (syslog listeners, HTTP ingest on the API) appends to the durable spool; one ingest
worker stores the spool, starting with whatever an earlier run spooled but did not store.

Shutdown order matters: on SIGTERM the API stops (ingest requests in flight finish spooling), the
listeners stop accepting, everything spooled is normalized and written, the store is flushed, and
only then do the spool and the stores close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import uvicorn
from prometheus_client import CollectorRegistry, Counter

from collectors.pipeline import IngestPipeline, PipelineStats
from collectors.spool import Spool, SpoolError
from collectors.syslog import SyslogService
from collectors.tls import TlsSetupError, server_context
from collectors.worker import IngestWorker
from console.app import create_app
from console.deps import AgentIngest, ConsoleContext
from correlation.stage import DetectionStage
from correlation.tickets import AlertTriage
from sontra import __version__
from sontra.config import SontraConfig
from sontra.detection import alert_triage, detection_stage, ioc_feeds, load_configured_rules, rule_metrics
from sontra.stores import open_event_store
from storage.base import EventStore
from storage.workflow import WorkflowDatabase, ensure_first_admin
from storage.workflow.agents import AgentKeys

log = logging.getLogger("sontra.service")

RETENTION_CHECK_EVERY = timedelta(hours=1)


class ServiceStartError(RuntimeError):
    """The service could not start (a port in use, a store unreachable); the message says which."""


@dataclass
class ServiceAddresses:
    """Where the running service listens, once bound (ports resolved when 0 was configured)."""

    api: str
    syslog: list[str] = field(default_factory=list)


@dataclass
class _Detection:
    """What runs on each stored batch: the detection stage, and triage of the alerts it newly stores."""

    stage: DetectionStage
    triage: AlertTriage
    rules_loaded: int


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
    # Accepted connections inherit it: without it a response written in two parts (headers, body)
    # waits for the client's delayed ACK, ~40 ms per request, which capped an agent at ~15k events/s.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        tls_context = self._tls_context()  # before anything is created: a bad certificate stops start-up
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # Opening it cuts a torn tail left by a crash; what it still holds is stored first.
            spool = Spool(
                cfg.spool_dir,
                segment_bytes=cfg.spool.segment_bytes,
                max_bytes=cfg.spool.max_bytes,
                commit_wait=cfg.spool.commit_wait_ms / 1000,
                registry=self.registry,
            )
        except SpoolError as exc:
            raise ServiceStartError(str(exc)) from None
        try:
            workflow = WorkflowDatabase(cfg.database_url)
        except BaseException:
            spool.close()
            raise
        events: EventStore | None = None
        alerts: EventStore | None = None
        watcher = None
        try:
            password = ensure_first_admin(workflow)
            if password is not None:
                self.announce(
                    "sontra: created the first user 'admin' with password: "
                    f"{password}\nsontra: it is shown only this once; change it after you sign in."
                )
            # Rules load once, off the event loop; a missing rule path stops start-up naming rules.paths.
            rules = await asyncio.get_running_loop().run_in_executor(None, load_configured_rules, cfg)
            rule_metrics(self.registry, rules)
            feeds = ioc_feeds(cfg)
            if feeds is not None and cfg.ioc.reload_seconds > 0:
                watcher = feeds.watch(cfg.ioc.reload_seconds)
            detection = _Detection(
                detection_stage(cfg, rules, feeds), alert_triage(workflow, rules, self.registry), rules.loaded
            )
            events = open_event_store(cfg)
            alerts = events.sibling("alerts")
            return await self._serve(
                events, alerts, on_ready, tls_context, spool=spool, workflow=workflow, detection=detection
            )
        finally:
            if watcher is not None:
                watcher.stop()
            spool.close()
            for store in (alerts, events):
                if store is not None:
                    store.close()
            workflow.close()

    def _tls_context(self) -> ssl.SSLContext | None:
        """The syslog TLS listener's server context, or None when TLS is off; errors name the config key."""
        tls = self.config.syslog.tls
        if not tls.enabled:
            return None
        assert tls.cert_file is not None and tls.key_file is not None  # checked when the config was loaded
        try:
            return server_context(
                tls.cert_file,
                tls.key_file,
                client_ca_file=tls.client_ca_file,
                require_client_cert=tls.require_client_cert,
            )
        except TlsSetupError as exc:
            raise ServiceStartError(f"syslog.tls.{exc}") from None

    async def _serve(
        self,
        events: EventStore,
        alerts: EventStore,
        on_ready: Callable[[ServiceAddresses], None] | None,
        tls_context: ssl.SSLContext | None = None,
        *,
        spool: Spool,
        workflow: WorkflowDatabase,
        detection: _Detection | None = None,
    ) -> PipelineStats:
        cfg = self.config
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        pipeline = IngestPipeline(
            events,
            alerts,
            batch_size=cfg.storage.batch_size,
            filters=[f.to_filter() for f in cfg.filters],
            registry=self.registry,
            source_tz=ZoneInfo(cfg.syslog.timezone),
            detectors=[detection.stage] if detection is not None else (),
            alert_sink=detection.triage.handle if detection is not None else None,
        )
        udp = (cfg.syslog.udp.host, cfg.syslog.udp.port) if cfg.syslog.udp.enabled else None
        tcp = (cfg.syslog.tcp.host, cfg.syslog.tcp.port) if cfg.syslog.tcp.enabled else None
        tls = (cfg.syslog.tls.host, cfg.syslog.tls.port) if tls_context is not None else None
        syslog = (
            SyslogService(
                pipeline,
                spool=spool,
                udp=udp,
                tcp=tcp,
                tls=tls,
                tls_context=tls_context,
                max_message_size=cfg.syslog.max_message_size,
                batch_size=cfg.storage.batch_size,
            )
            if udp or tcp or tls
            else None
        )
        # The syslog service runs the worker that stores the spool; without listeners it runs alone.
        worker = IngestWorker(spool, pipeline, batch_size=cfg.storage.batch_size) if syslog is None else None
        ingest = (
            AgentIngest(
                spool, AgentKeys(workflow), max_body_bytes=cfg.ingest.max_body_bytes, max_events=cfg.ingest.max_events
            )
            if cfg.ingest.enabled
            else None
        )
        api_sock = bind_api_socket(cfg.api.host, cfg.api.port)
        context = ConsoleContext(
            events=events,
            registry=self.registry,
            started_at=datetime.now(UTC),
            version=__version__,
            backend=cfg.storage.backend,
            ingest=ingest,
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
            elif worker is not None:
                worker.start()
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
            rules_loaded = detection.rules_loaded if detection is not None else 0
            self.announce(
                f"sontra {__version__}: API {addresses.api} (health {addresses.api}/api/v1/health), "
                f"syslog {' '.join(addresses.syslog) or 'off'}, store {cfg.storage.backend}, data {cfg.data_dir}, "
                f"{rules_loaded} rules"
            )
            if on_ready is not None:
                on_ready(addresses)
            await self._stop.wait()
            log.info("stopping: draining accepted events")
        finally:
            # The API first: an ingest request in flight finishes spooling before the worker drains.
            server.should_exit = True
            if api_task is not None:
                await api_task
            if syslog is not None:
                stats = await syslog.stop()
            elif worker is not None:
                stats = await worker.stop()
            if retention_task is not None:
                retention_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await retention_task
            api_sock.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        self.announce(f"sontra: stopped; {stats.events} events stored, {stats.parse_failures} parse failures")
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
