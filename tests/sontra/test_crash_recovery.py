"""SIGKILL in the middle of 100,000 events over syslog TCP and HTTP: every acknowledged event is stored once.

A real `sontra serve` receives two streams at once: a syslog TCP sender (50,000 lines, each with a
unique sequence number) and an agent posting NDJSON over HTTP (100 batches of 500 events, each with
a unique marker). While the spool holds events the store has not caught up with, the server is
SIGKILLed. It is restarted on the same data folder, the senders finish their streams, and a SIGTERM
drains it. Then the store must hold:

- HTTP: every event of every batch answered 202, exactly once (the batch in flight at the kill was
  never acknowledged: each of its events is stored at most once);
- TCP: syslog has no application-level ack, so an event counts as acknowledged once it is fsync'd
  to the spool. Before the kill the test reads how many TCP records the server had made durable;
  the stored TCP sequence numbers of the first connection must be exactly 0..K-1 with K at least
  that count (durable records are a prefix of the stream: no gap, no repeat), and the second
  connection's lines must all be there;
- no event.id twice and no marker twice.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.sqlite import SqliteEventStore

TCP_EVENTS = 50_000
HTTP_BATCHES, HTTP_BATCH = 100, 500
CHUNK = 500  # TCP lines per send
READY = re.compile(r"API (?P<api>http://\S+) .*?tcp://(?P<tcp>[\d.]+:\d+)")


@dataclass
class Server:
    proc: subprocess.Popen[str]
    api: str
    tcp: tuple[str, int]


def start(data: Path) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONTRA_")}
    env.update({"SONTRA_API__PORT": "0", "SONTRA_SYSLOG__TCP__PORT": "0", "SONTRA_SYSLOG__UDP__ENABLED": "false",
                "SONTRA_LOGGING__LEVEL": "WARNING"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "sontra", "serve", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if m := READY.search(line):
            host, port = m["tcp"].rsplit(":", 1)
            # Keep draining its output so the server never blocks on a full pipe.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return Server(proc, m["api"], (host, int(port)))
    raise AssertionError("sontra serve did not start:\n" + "".join(seen))


def metric(server: Server, name: str, labels: str = "") -> float:
    with urllib.request.urlopen(server.api + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    m = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    return float(m[1]) if m else 0.0


@dataclass
class TcpSender:
    """Sends numbered syslog lines; stops at the first error. Lines after ``resume`` were never sent."""

    next_seq: int = 0
    resume: int = 0
    failed: bool = False

    def send(self, address: tuple[str, int], until: int, behind: Callable[[], int] | None = None) -> None:
        """Send lines up to ``until``; with ``behind``, never get ahead of the count it returns."""
        with socket.create_connection(address) as sock:
            while self.next_seq < until:
                while behind is not None and self.next_seq >= behind() and self.next_seq < until:
                    time.sleep(0.005)
                end = min(self.next_seq + CHUNK, until)
                chunk = "".join(
                    f"<14>Nov 23 10:00:00 crash-host tcpsender[7]: tcp-seq={i}\n" for i in range(self.next_seq, end)
                )
                try:
                    sock.sendall(chunk.encode())
                except OSError:
                    self.failed = True
                    self.resume = end  # this chunk's fate is unknown: never send it again
                    return
                self.next_seq = end
        self.resume = self.next_seq


@dataclass
class HttpAgent:
    """Posts numbered NDJSON batches; remembers which were answered 202 and which one was in flight."""

    key: str
    next_batch: int = 0
    acked: list[int] = field(default_factory=list)
    in_flight: int | None = None

    def send(self, api: str, until: int) -> None:
        host, port = api.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/x-ndjson"}
        try:
            while self.next_batch < until:
                b = self.next_batch
                body = "".join(
                    json.dumps({"@timestamp": "2026-11-23T10:00:00Z", "message": f"http-marker=H{b}-{i}"}) + "\n"
                    for i in range(HTTP_BATCH)
                )
                self.in_flight = b
                self.next_batch = b + 1  # sent or not, a batch is never sent twice
                conn.request("POST", "/api/v1/ingest", body=body.encode(), headers=headers)
                response = conn.getresponse()
                response.read()
                assert response.status == 202, response.status
                self.acked.append(b)
                self.in_flight = None
        except (OSError, http.client.HTTPException):
            return  # the server died under this request
        finally:
            conn.close()


def test_sigkill_mid_stream_loses_no_acknowledged_event_and_stores_none_twice(tmp_path: Path) -> None:
    data = tmp_path / "data"
    enrolled = subprocess.run(
        [sys.executable, "-m", "sontra", "agent", "enroll", "crash-agent", "--json", "--data-dir", str(data)],
        capture_output=True, text=True, check=True,
    )
    agent = HttpAgent(json.loads(enrolled.stdout)["key"])
    tcp = TcpSender()

    first = start(data)
    try:
        agent_stopped = threading.Event()

        def post() -> None:
            try:
                agent.send(first.api, HTTP_BATCHES)
            finally:
                agent_stopped.set()

        def keep_pace() -> int:
            # The TCP sender stays level with the agent, so that the kill lands in both streams; once
            # the agent has stopped, it sends on until the dead connection refuses.
            return TCP_EVENTS if agent_stopped.is_set() else len(agent.acked) * HTTP_BATCH

        senders = [
            threading.Thread(target=post),
            threading.Thread(target=tcp.send, args=(first.tcp, TCP_EVENTS, keep_pace)),
        ]
        for s in senders:
            s.start()
        # Kill mid-stream, once the spool holds events that the store does not have yet.
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "the streams never got under way"
            spooled_tcp = metric(first, "sontra_spool_appended_records_total", '{input="syslog-tcp"}')
            spooled_http = metric(first, "sontra_spool_appended_records_total", '{input="agent-http"}')
            stored = metric(first, "sontra_ingest_events_total", '{input="syslog-tcp"}') + metric(
                first, "sontra_ingest_events_total", '{input="agent-http"}'
            )
            if spooled_tcp >= 0.3 * TCP_EVENTS and spooled_http >= 0.3 * HTTP_BATCHES * HTTP_BATCH:
                break
            time.sleep(0.05)
        durable_tcp = metric(first, "sontra_spool_appended_records_total", '{input="syslog-tcp"}')
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        for s in senders:
            s.join(60)
        assert spooled_tcp + spooled_http - stored > 1000, "the store had caught up: nothing left to replay"
        assert tcp.failed and 0 < tcp.resume < TCP_EVENTS, "the kill did not land in the TCP stream"
        assert 0 < len(agent.acked) < HTTP_BATCHES, "the kill did not land in the HTTP stream"

        second = start(data)
        try:
            phase_two = TcpSender(next_seq=tcp.resume)
            phase_two.send(second.tcp, TCP_EVENTS)
            agent.send(second.api, HTTP_BATCHES)
            assert not phase_two.failed and agent.next_batch == HTTP_BATCHES
            replayed = metric(second, "sontra_spool_replayed_records_total")
            second.proc.send_signal(signal.SIGTERM)
            second.proc.wait(60)
            assert second.proc.returncode == 0
        finally:
            if second.proc.poll() is None:
                second.proc.kill()
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
    assert replayed > 0, "the restart replayed nothing from the spool"

    with SqliteEventStore(data / "events.db") as store:
        now = datetime.now(UTC)
        hits = store.search("*", now - timedelta(days=30), now + timedelta(days=30), size=300_000).hits
    ids = Counter(h["event"]["id"] for h in hits)
    assert [i for i, n in ids.items() if n > 1] == []
    markers = Counter(h["message"] for h in hits)
    assert [m for m, n in markers.items() if n > 1] == []

    http_stored = {m for m in markers if m.startswith("http-marker=")}
    for b in agent.acked:
        missing = [i for i in range(HTTP_BATCH) if f"http-marker=H{b}-{i}" not in http_stored]
        assert missing == [], f"acknowledged batch {b} lost events {missing[:5]}..."
    unacked = {b for b in range(HTTP_BATCHES)} - set(agent.acked)
    assert len(unacked) <= 1  # only the batch in flight at the kill

    seqs = sorted(int(m.removeprefix("tcp-seq=")) for m in markers if m.startswith("tcp-seq="))
    before = [s for s in seqs if s < tcp.resume]
    after = [s for s in seqs if s >= tcp.resume]
    assert before == list(range(len(before))), "the first connection's stored lines are not a gap-free prefix"
    assert len(before) >= durable_tcp, f"{durable_tcp} TCP lines were fsync'd before the kill, {len(before)} stored"
    assert after == list(range(tcp.resume, TCP_EVENTS))
    assert len(hits) == len(http_stored) + len(seqs)
