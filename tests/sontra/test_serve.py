"""`sontra serve` as a real process: API, metrics, syslog UDP+TCP into the store, SIGTERM drain."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.sqlite import SqliteEventStore

READY = re.compile(r"API (?P<api>http://\S+) .*syslog udp://(?P<udp>\S+) tcp://(?P<tcp>\S+),")


@dataclass
class Running:
    proc: subprocess.Popen[str]
    api: str
    udp: tuple[str, int]
    tcp: tuple[str, int]
    first_lines: list[str]


def _addr(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


def start_serve(data_dir: Path, extra_env: dict[str, str] | None = None) -> Running:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONTRA_")}
    env.update({"SONTRA_API__PORT": "0", "SONTRA_SYSLOG__UDP__PORT": "0", "SONTRA_SYSLOG__TCP__PORT": "0"})
    env.update(extra_env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "sontra", "serve", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = READY.search(line)
        if m:
            return Running(proc, m["api"], _addr(m["udp"]), _addr(m["tcp"]), lines)
    proc.kill()
    raise AssertionError("sontra serve did not become ready:\n" + "".join(lines))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Running]:
    running = start_serve(tmp_path / "data")
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_first_start_prints_admin_password_once(served: Running, tmp_path: Path) -> None:
    text = "".join(served.first_lines)
    assert re.search(r"user 'admin' with password: \S{20,}", text)
    served.proc.send_signal(signal.SIGTERM)
    served.proc.wait(timeout=30)
    again = start_serve(tmp_path / "data")
    try:
        assert "password" not in "".join(again.first_lines)
    finally:
        again.proc.send_signal(signal.SIGTERM)
        again.proc.wait(timeout=30)


def test_health_metrics_and_openapi(served: Running) -> None:
    status, body = http_get(served.api + "/api/v1/health")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok" and health["store"] == {"backend": "sqlite", "ok": True}
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(b"<13>Nov 23 10:00:00 host1 app: hello", served.udp)
    udp.sendto(b"\x00\xff not syslog at all", served.udp)
    udp.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, body = http_get(served.api + "/metrics")
        assert status == 200
        if 'sontra_ingest_events_total{input="syslog-udp"} 2.0' in body:
            break
        time.sleep(0.1)
    assert 'sontra_ingest_events_total{input="syslog-udp"} 2.0' in body
    assert 'sontra_ingest_parse_failures_total{input="syslog-udp"} 1.0' in body
    status, body = http_get(served.api + "/api/v1/openapi.json")
    assert status == 200 and "/api/v1/health" in json.loads(body)["paths"]
    status, _ = http_get(served.api + "/api/v1/no-such-route")
    assert status == 404


def test_syslog_over_udp_and_tcp_is_stored_and_sigterm_drains(served: Running, tmp_path: Path) -> None:
    n_tcp, n_udp = 5000, 50
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n_udp):
        udp.sendto(f"<38>Nov 23 10:00:00 gw01 sshd[{1000 + i}]: udp line {i}".encode(), served.udp)
        time.sleep(0.001)
    udp.close()
    payload = "".join(
        f"<134>1 2026-11-23T10:00:00.{i % 1000:03d}Z web01 nginx {i} ID47 - tcp line {i}\n" for i in range(n_tcp)
    )
    with socket.create_connection(served.tcp) as tcp:
        tcp.sendall(payload.encode())
    # SIGTERM at once: whatever was accepted must still be stored before the process exits.
    served.proc.send_signal(signal.SIGTERM)
    out, _ = served.proc.communicate(timeout=60)
    assert served.proc.returncode == 0, out

    with SqliteEventStore(tmp_path / "data" / "events.db") as store:
        from datetime import UTC, datetime, timedelta

        start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=2)
        assert store.count('process.name:nginx AND message:"tcp line"', start, end) == n_tcp
        assert store.count("process.name:sshd", start, end) == n_udp
        hit = store.search("process.pid:4242", start, end).hits[0]
        assert hit["host"]["hostname"] == "web01"
        assert hit["log"]["syslog"]["priority"] == 134
        assert hit["message"] == "tcp line 4242"
        assert hit["event"]["original"].startswith("<134>1 2026-11-23T10:00:00.242Z web01 nginx 4242")


def test_port_in_use_is_named(tmp_path: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SONTRA_")}
        env.update({"SONTRA_API__PORT": str(port), "SONTRA_SYSLOG__UDP__PORT": "0", "SONTRA_SYSLOG__TCP__PORT": "0"})
        res = subprocess.run(
            [sys.executable, "-m", "sontra", "serve", "--data-dir", str(tmp_path / "d")],
            capture_output=True, text=True, env=env, timeout=60,
        )
    finally:
        busy.close()
    assert res.returncode == 1
    assert f"cannot listen for the API on 127.0.0.1:{port}" in res.stderr


def test_bad_config_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "sontra.yaml"
    cfg.write_text("syslog:\n  tcp:\n    port: 70000\n")
    res = subprocess.run(
        [sys.executable, "-m", "sontra", "serve", "--config", str(cfg), "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 2
    assert "syslog.tcp.port" in res.stderr
    assert not (tmp_path / "d").exists()


def test_serve_on_opensearch_backend(tmp_path: Path, opensearch_url_base: str) -> None:
    import uuid

    from storage.opensearch import OpenSearchEventStore

    prefix = f"sontra-serve-{uuid.uuid4().hex[:8]}"
    running = start_serve(
        tmp_path / "data",
        {
            "SONTRA_STORAGE__BACKEND": "opensearch",
            "SONTRA_STORAGE__OPENSEARCH__URL": opensearch_url_base,
            "SONTRA_STORAGE__OPENSEARCH__INDEX_PREFIX": prefix,
        },
    )
    try:
        status, body = http_get(running.api + "/api/v1/health")
        assert status == 200 and json.loads(body)["store"]["backend"] == "opensearch"
        with socket.create_connection(running.tcp) as tcp:
            tcp.sendall(b"".join(b"<13>Nov 23 10:00:00 os-host app[7]: line %d\n" % i for i in range(300)))
        running.proc.send_signal(signal.SIGTERM)
        running.proc.communicate(timeout=60)
        assert running.proc.returncode == 0
        store = OpenSearchEventStore(opensearch_url_base, index_prefix=prefix)
        try:
            store.flush()
            assert store.count("host.hostname:os-host AND process.pid:7") == 300
            assert not (tmp_path / "data" / "events.db").exists()
        finally:
            store.drop_all()
            store.close()
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
