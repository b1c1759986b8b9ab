"""Syslog listeners on real sockets, into a real SQLite store; shutdown loses nothing accepted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from collectors.framing import SyslogFramer
from collectors.pipeline import IngestPipeline
from collectors.spool import Spool
from collectors.syslog import ListenerBindError, SyslogService
from storage.base import StoreError, WriteResult
from storage.sqlite import SqliteEventStore
from tests.collectors.conftest import sample_value, stored_events

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = ("127.0.0.1", 0)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout=60))  # type: ignore[arg-type]


async def with_service(
    pipeline: IngestPipeline,
    body: Callable[[SyslogService], Awaitable[None]],
    spool_max_bytes: int = 64 * 1024 * 1024,
    **options: Any,
) -> Any:
    options.setdefault("udp", LOOPBACK)
    options.setdefault("tcp", LOOPBACK)
    with tempfile.TemporaryDirectory() as spool_dir:
        spool = Spool(spool_dir, segment_bytes=min(spool_max_bytes // 8, 8 * 1024 * 1024), max_bytes=spool_max_bytes)
        try:
            service = SyslogService(pipeline, spool=spool, **options)
            await service.start()
            try:
                await body(service)
            finally:
                stats = await service.stop()
            assert spool.backlog_bytes() == 0, "stop() returned with records still waiting in the spool"
        finally:
            spool.close()
    return stats


def originals(store: SqliteEventStore) -> list[str]:
    return [e["event"]["original"] for e in stored_events(store)]


def test_udp_and_tcp_messages_all_reach_the_store(events_store: SqliteEventStore) -> None:
    pipeline = IngestPipeline(events_store)
    udp_lines = [f"<13>Nov 20 10:00:{i:02d} web-01 sshd[{100 + i}]: udp message {i}" for i in range(40)]
    udp_lines.append('<165>1 2003-10-11T22:14:15.003Z fw01 evntslog - ID47 [a@1 k="v"] rfc5424 over udp')
    udp_lines.append("garbage that is not syslog")
    tcp_lines = [f"Nov 20 11:00:{i:02d} db-01 postgres[7]: tcp message {i}" for i in range(30)]

    async def send(service: SyslogService) -> None:
        assert service.udp is not None and service.tcp is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for line in udp_lines:
                udp.sendto(line.encode(), service.udp.address)
        _, writer = await asyncio.open_connection(*service.tcp.address)
        writer.write("\n".join(tcp_lines[:10]).encode() + b"\n")  # many lines in one send
        half = tcp_lines[10].encode()
        writer.write(half[:17])  # one line split across two sends
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(half[17:] + b"\r\n")  # CRLF framing is accepted too
        for line in tcp_lines[11:29]:
            writer.write(line.encode() + b"\n")
        writer.write(tcp_lines[29].encode())  # last line without LF, then the sender hangs up
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    stats = run(with_service(pipeline, send))

    assert sorted(originals(events_store)) == sorted(udp_lines + tcp_lines)
    assert stats.events == len(udp_lines) + len(tcp_lines)
    assert stats.parse_failures == 1
    assert events_store.count("tags:parse_failure") == 1
    by_original = {e["event"]["original"]: e for e in stored_events(events_store)}
    first_udp = by_original[udp_lines[0]]
    assert first_udp["process"] == {"name": "sshd", "pid": 100}
    assert first_udp["log"]["source"]["address"].startswith("127.0.0.1:")
    assert first_udp["event"]["ingested"] >= first_udp["event"]["created"]
    split = by_original[tcp_lines[10]]
    assert split["message"] == "tcp message 10"
    assert by_original[udp_lines[40]]["log"]["syslog"]["structured_data"] == {"a@1": {"k": "v"}}
    registry = pipeline.registry
    assert sample_value(registry, "sontra_ingest_events_total", {"input": "syslog-udp"}) == len(udp_lines)
    assert sample_value(registry, "sontra_ingest_events_total", {"input": "syslog-tcp"}) == len(tcp_lines)
    assert sample_value(registry, "sontra_ingest_parse_failures_total", {"input": "syslog-udp"}) == 1
    assert sample_value(registry, "sontra_syslog_received_total", {"input": "syslog-tcp"}) == len(tcp_lines)


def test_stop_drains_open_connections_and_the_queue(events_store: SqliteEventStore) -> None:
    """Lines sent on a connection that is still open when stop() is called are stored, partial last line too."""
    pipeline = IngestPipeline(events_store)
    lines = [f"Nov 20 12:00:00 app-01 worker[{i}]: still connected {i}" for i in range(500)]
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    async def send(service: SyslogService) -> None:
        assert service.tcp is not None
        client.connect(service.tcp.address)
        # ~30 kB fits the loopback socket buffers, so this blocking send cannot stall the loop.
        client.sendall("\n".join(lines).encode())  # the last line has no LF yet
        # The client stays connected: stop() runs while the sender is still there.

    # A long max_delay means the worker has written nothing yet when stop() begins.
    with client:
        stats = run(with_service(pipeline, send, max_delay=5.0, batch_size=10_000))
    assert sorted(originals(events_store)) == sorted(lines)
    assert stats.events == 500


@pytest.mark.parametrize(("spool_max_bytes", "count"), [(2 * 1024 * 1024, 20_000), (256 * 1024 * 1024, 60_000)])
def test_stop_right_after_a_burst_loses_nothing(
    events_store: SqliteEventStore, spool_max_bytes: int, count: int
) -> None:
    """A sender pushes megabytes and hangs up; stop() begins while much of it is still in socket buffers.

    A small spool (2 MiB for ~4 MB of lines) holds the reader back (backpressure); a big burst
    outruns it (12 MB is more than the kernel buffers on both ends hold).
    """
    pipeline = IngestPipeline(events_store, batch_size=1000)
    pad = "p" * 150
    lines = [f"<14>Nov 20 13:{i // 60 % 60:02d}:{i % 60:02d} h{i % 7} app[{i}]: line {i} {pad}" for i in range(count)]

    async def send(service: SyslogService) -> None:
        assert service.tcp is not None
        _, writer = await asyncio.open_connection(*service.tcp.address)
        payload = ("\n".join(lines) + "\n").encode()
        for start in range(0, len(payload), 7919):  # odd chunk sizes split lines everywhere
            writer.write(payload[start : start + 7919])
        writer.close()
        await writer.wait_closed()  # everything handed to the kernel; stop() follows at once

    stats = run(with_service(pipeline, send, spool_max_bytes, udp=None))
    assert stats.events == count
    assert events_store.count() == count
    assert stats.parse_failures == 0


def test_octet_counted_frames_and_truncation(events_store: SqliteEventStore) -> None:
    pipeline = IngestPipeline(events_store)
    long_line = "Nov 20 10:00:00 h app: " + "x" * 500
    counted = "<13>1 2026-11-20T10:00:00Z h app - - - octet counted\nwith a newline inside"

    async def send(service: SyslogService) -> None:
        assert service.tcp is not None and service.udp is not None
        _, writer = await asyncio.open_connection(*service.tcp.address)
        body = counted.encode()
        writer.write(f"{len(body)} ".encode() + body)
        writer.write(long_line.encode() + b"\nNov 20 10:00:01 h app: after the long one\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(long_line.encode(), service.udp.address)

    run(with_service(pipeline, send, max_message_size=200))
    events = stored_events(events_store)
    by_message = {e["message"]: e for e in events}
    assert "octet counted\nwith a newline inside" in by_message
    assert by_message["after the long one"].get("tags") is None
    truncated = [e for e in events if "truncated" in e.get("tags", [])]
    assert len(truncated) == 2  # one over TCP, one over UDP
    for event in truncated:
        assert event["event"]["original"] == long_line[:200]
    assert sample_value(pipeline.registry, "sontra_syslog_truncated_total", {"input": "syslog-udp"}) == 1


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM])
def test_port_in_use_raises_a_clear_error(events_store: SqliteEventStore, tmp_path: Path, kind: int) -> None:
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        port = taken.getsockname()[1]
        transport = "TCP" if kind == socket.SOCK_STREAM else "UDP"
        bind = {"tcp": ("127.0.0.1", port), "udp": None} if transport == "TCP" else {"udp": ("127.0.0.1", port)}
        with Spool(tmp_path / "spool") as spool:
            service = SyslogService(
                IngestPipeline(events_store), spool=spool, **{"tcp": None, **bind}  # type: ignore[arg-type]
            )
            with pytest.raises(ListenerBindError, match=rf"over {transport} on 127\.0\.0\.1:{port}: .*in use"):
                run(service.start())


class FlakySqliteStore(SqliteEventStore):
    """A real SQLite store whose first two writes fail, as when the disk is briefly full."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, kind="events")
        self.failures_left = 2

    def write(self, events: Any) -> WriteResult:
        if self.failures_left:
            self.failures_left -= 1
            raise StoreError("database or disk is full")
        return super().write(events)


def test_a_failed_write_is_retried_without_duplicates(tmp_path: Path) -> None:
    store = FlakySqliteStore(tmp_path / "flaky.db")
    pipeline = IngestPipeline(store)
    lines = [f"Nov 20 10:00:00 h app[1]: retried {i}" for i in range(25)]

    async def send(service: SyslogService) -> None:
        assert service.udp is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for line in lines:
                udp.sendto(line.encode(), service.udp.address)
        await asyncio.sleep(0.3)

    stats = run(with_service(pipeline, send, tcp=None, max_delay=0.05, retry_delay=0.05))
    assert store.failures_left == 0
    assert sorted(originals(store)) == sorted(lines)
    assert stats.events == 25
    store.close()


def test_framer_handles_every_split_point() -> None:
    stream = b"first\n12 octet frame\nsecond line\r\n" + b"9 123456789" + b"last"
    for cut in range(len(stream) + 1):
        framer = SyslogFramer(max_size=1024)
        frames = framer.feed(stream[:cut]) + framer.feed(stream[cut:]) + framer.close()
        assert [f for f, _ in frames] == [b"first", b"octet frame\n", b"second line\r", b"123456789", b"last"], cut


SERVE_SCRIPT = """
import asyncio, json, sys
from collectors.pipeline import IngestPipeline
from collectors.spool import Spool
from collectors.syslog import SyslogService
from storage.sqlite import SqliteEventStore

store = SqliteEventStore(sys.argv[1], kind="events")
spool = Spool(sys.argv[2])
service = SyslogService(
    IngestPipeline(store), spool=spool, udp=("127.0.0.1", 0), tcp=("127.0.0.1", 0), max_delay=5.0
)

def ready(s):
    print(json.dumps({"udp": s.udp.address, "tcp": s.tcp.address}), flush=True)

stats = asyncio.run(service.run_until_signalled(on_ready=ready))
spool.close()
store.close()
print(json.dumps(stats.summary()), flush=True)
"""


def test_sigterm_drains_and_flushes_before_exit(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(db), str(tmp_path / "spool")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        bound = json.loads(proc.stdout.readline())
        lines = [f"Nov 20 10:00:00 h app[1]: before sigterm {i}" for i in range(300)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for line in lines[:100]:
                udp.sendto(line.encode(), tuple(bound["udp"]))
        with socket.create_connection(tuple(bound["tcp"])) as tcp:
            tcp.sendall("\n".join(lines[100:]).encode())  # still connected, last line unterminated
            time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["events"] == 300
    store = SqliteEventStore(db, kind="events")
    try:
        assert sorted(originals(store)) == sorted(lines)
    finally:
        store.close()
