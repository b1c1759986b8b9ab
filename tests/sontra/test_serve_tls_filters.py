"""`sontra serve` as a real process with the TLS listener and ingest filters configured."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.sqlite import SqliteEventStore
from tests.collectors.tls_certs import TlsFiles, make_tls_files

READY = re.compile(r"API (?P<api>http://\S+) .*tls://(?P<tls>[^\s,]+)")
FILTERS = """
filters:
  - name: k8s-probes
    query: 'url.path:"/healthz"'
    action: drop
  - name: fw-accepts
    query: 'event.dataset:fortinet.firewall AND event.action:accept'
    action: route
    stream: firewall-accepts
    detect: false
"""
HEALTH = '<190>Nov 23 10:00:00 web-02 nginx: 10.0.0.5 - - [23/Nov/2026:10:00:00 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"'  # noqa: E501
FW = (
    '<189>date=2026-11-23 time=10:00:00 devname="FGT60F" devid="FGT60FTK1" logid="0000000013" type="traffic" '
    'subtype="forward" level="notice" vd="root" srcip=10.0.0.9 srcport=51234 srcintf="port1" dstip=8.8.8.8 '
    'dstport=53 dstintf="wan1" action="accept" policyid=1 proto=17 service="DNS"'
)
SSH = "<38>Nov 23 10:00:00 web-01 sshd[5]: Failed password for root from 203.0.113.7 port 4242 ssh2"


def serve_env(certs: TlsFiles, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONTRA_")}
    env.update({
        "SONTRA_API__PORT": "0", "SONTRA_SYSLOG__UDP__ENABLED": "false", "SONTRA_SYSLOG__TCP__ENABLED": "false",
        "SONTRA_SYSLOG__TLS__ENABLED": "true", "SONTRA_SYSLOG__TLS__PORT": "0",
        "SONTRA_SYSLOG__TLS__CERT_FILE": str(certs.server_cert), "SONTRA_SYSLOG__TLS__KEY_FILE": str(certs.server_key),
        "SONTRA_SYSLOG__TLS__CLIENT_CA_FILE": str(certs.ca_cert), "SONTRA_SYSLOG__TLS__REQUIRE_CLIENT_CERT": "true",
    })  # fmt: skip
    env.update(extra)
    return env


def serve(args: list[str], env: dict[str, str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sontra", "serve", *args], env=env, text=True, stdout=subprocess.PIPE, **kw
    )  # type: ignore[call-overload]


def metrics(api: str) -> str:
    with urllib.request.urlopen(api + "/metrics", timeout=10) as resp:
        return resp.read().decode()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def test_tls_listener_and_filters_in_the_running_service(tmp_path: Path, certs: TlsFiles) -> None:
    config = tmp_path / "sontra.yaml"
    config.write_text(FILTERS)
    proc = serve(["--config", str(config), "--data-dir", str(tmp_path / "data")], serve_env(certs))
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (line := proc.stdout.readline()):
            lines.append(line)
            if m := READY.search(line):
                break
        else:
            raise AssertionError("sontra serve did not become ready:\n" + "".join(lines))
        host, port = m["tls"].rsplit(":", 1)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=str(certs.ca_cert))
        ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key))
        frames = b"".join(b"%d %s" % (len(x.encode()), x.encode()) for x in (HEALTH, FW, SSH, HEALTH))
        with (
            socket.create_connection((host, int(port)), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(frames)
            client_host, client_port = tls.getsockname()[:2]
            tls.unwrap()
        sender = f"{client_host}:{client_port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = metrics(m["api"])
            if 'sontra_ingest_events_total{input="syslog-tls"} 2.0' in text:
                break
            time.sleep(0.1)
        assert 'sontra_ingest_events_total{input="syslog-tls"} 2.0' in text
        assert 'sontra_filter_matches_total{action="drop",filter="k8s-probes"} 2.0' in text
        assert 'sontra_filter_matches_total{action="route",filter="fw-accepts"} 1.0' in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0

    now = datetime.now(UTC)
    with SqliteEventStore(tmp_path / "data" / "events.db") as store:
        hits = store.search("", now - timedelta(days=400), now + timedelta(days=2), size=10).hits
    by_dataset = {h["event"]["dataset"]: h for h in hits}
    assert sorted(by_dataset) == ["fortinet.firewall", "system.auth"]
    assert by_dataset["fortinet.firewall"]["labels"] == {"stream": "firewall-accepts"}
    assert "labels" not in by_dataset["system.auth"]
    assert {h["log"]["source"]["address"] for h in hits} == {sender}


def test_missing_certificate_stops_start_up_naming_the_key(tmp_path: Path, certs: TlsFiles) -> None:
    env = serve_env(certs, SONTRA_SYSLOG__TLS__CERT_FILE=str(tmp_path / "missing.pem"))
    res = subprocess.run(
        [sys.executable, "-m", "sontra", "serve", "--data-dir", str(tmp_path / "d")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 1
    assert f"syslog.tls.cert_file: {tmp_path / 'missing.pem'}: no such file" in res.stderr
    assert not (tmp_path / "d").exists()  # nothing was created before the check


def test_enabled_tls_without_files_is_a_config_error(tmp_path: Path, certs: TlsFiles) -> None:
    env = serve_env(certs)
    del env["SONTRA_SYSLOG__TLS__KEY_FILE"]
    res = subprocess.run(
        [sys.executable, "-m", "sontra", "serve", "--data-dir", str(tmp_path / "d")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2
    assert "syslog.tls" in res.stderr and "key_file must be set" in res.stderr


def test_invalid_filter_query_stops_start_up_naming_the_filter(tmp_path: Path, certs: TlsFiles) -> None:
    config = tmp_path / "sontra.yaml"
    config.write_text("filters:\n  - {name: noisy-cron, query: 'process.name:(cron OR', action: drop}\n")
    res = subprocess.run(
        [sys.executable, "-m", "sontra", "serve", "--config", str(config), "--data-dir", str(tmp_path / "d")],
        env=serve_env(certs), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2
    assert "filter 'noisy-cron': invalid query at position" in res.stderr
