"""A full spool pushes back: TCP stops reading (flow control) and loses nothing; UDP drops and counts."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from collectors.listener import ListenerMetrics
from collectors.spool import Spool
from collectors.syslog import SyslogTcpListener, SyslogUdpListener
from normalizers.record import RawRecord
from tests.collectors.conftest import sample_value

LOOPBACK = "127.0.0.1"


def test_tcp_stops_reading_while_the_spool_is_full_and_resumes_without_loss(tmp_path: Path) -> None:
    lines = [f"<14>Nov 20 10:00:00 h app: backpressure {i} {'p' * 100}" for i in range(5000)]  # ~700 kB

    async def scenario() -> tuple[float, int, list[RawRecord]]:
        with Spool(tmp_path / "spool", segment_bytes=16 * 1024, max_bytes=64 * 1024) as spool:
            listener = SyslogTcpListener(spool, LOOPBACK, 0)
            await listener.start()
            _, writer = await asyncio.open_connection(*listener.address)
            writer.write(("\n".join(lines) + "\n").encode())
            await asyncio.sleep(0.5)  # nobody stores: the spool fills and the listener stops reading
            refused = sample_value(spool.metrics.registry, "sontra_spool_full_total")
            spooled_while_full = int(
                sample_value(spool.metrics.registry, "sontra_spool_appended_records_total", {"input": "syslog-tcp"})
            )
            reader = spool.reader()
            got: list[RawRecord] = []
            deadline = time.monotonic() + 30
            while len(got) < len(lines) and time.monotonic() < deadline:
                got.extend(reader.read(1000))  # "store" them, and make room
                spool.commit(reader.position)
                await asyncio.sleep(0.02)
            writer.close()
            await writer.wait_closed()
            await listener.stop()
            got.extend(reader.read(1000))
            reader.close()
            return refused, spooled_while_full, got

    refused, spooled_while_full, got = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert refused > 0
    assert spooled_while_full < 1000  # 64 KiB hold a few hundred lines, not 5000
    assert [r.text for r in got] == lines  # every line arrived once, in order, after the pause


def test_udp_drops_and_counts_what_a_full_spool_cannot_take(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    sent = 300

    async def scenario() -> int:
        with Spool(tmp_path / "spool", segment_bytes=4096, max_bytes=8192) as spool:
            listener = SyslogUdpListener(spool, LOOPBACK, 0, metrics=ListenerMetrics(registry))
            await listener.start()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for i in range(sent):
                    udp.sendto(f"<14>Nov 20 10:00:00 h app: datagram {i} {'u' * 80}".encode(), listener.address)
                    if i % 20 == 0:
                        await asyncio.sleep(0.005)  # let the loop read
            await listener.stop()
            reader = spool.reader()
            kept = len(reader.read(10_000))
            reader.close()
            return kept

    kept = asyncio.run(asyncio.wait_for(scenario(), 30))
    dropped = sample_value(registry, "sontra_syslog_dropped_total")
    received = sample_value(registry, "sontra_syslog_received_total", {"input": "syslog-udp"})
    assert dropped > 0 and kept > 0
    assert received == kept
    assert received + dropped == sent  # every datagram is either spooled or counted as dropped
