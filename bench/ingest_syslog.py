"""End-to-end syslog ingest: `sontra serve` on the embedded store, 1,000,000 mixed lines over TCP.

    .venv/bin/python bench/ingest_syslog.py [--events N] [--data-dir DIR] [--batch B]

A second process builds the lines first (sshd, sudo, nginx access and FortiGate traffic, RFC 3164
headers stamped now), then sends them over one TCP connection as fast as the server reads. The
clock starts at the first byte sent and stops when the server's /metrics report every event
stored (``sontra_ingest_events_total``); the server is then stopped with SIGTERM and the store
is counted to check that nothing was lost. Peak RSS is the server's VmHWM from /proc. The last
line is ``ingest_syslog: N events/s``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

READY = re.compile(r"API (?P<api>http://\S+) .*tcp://(?P<tcp>[^\s,]+)")
USERS = ["root", "admin", "alice", "bob", "deploy", "backup", "oracle", "nguyenvana", "tranthib", "ubuntu", "test"]
PATHS = [
    "/",
    "/index.html",
    "/login",
    "/wp-login.php",
    "/api/v1/status",
    "/static/app.js",
    "/admin",
    "/.env",
    "/cong-dich-vu/thu-tuc",
    "/search?q=hanh+chinh",
]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "curl/8.5.0",
    "python-requests/2.32",
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
    "sqlmap/1.8",
]
COMMANDS = ["/usr/bin/systemctl restart nginx", "/bin/bash", "/usr/bin/apt-get upgrade -y", "/usr/bin/journalctl -xe"]
CHUNK_LINES = 5000


def mixed_lines(total: int, seed: int = 11) -> list[bytes]:
    """The syslog lines to send, in chunks of CHUNK_LINES LF-terminated lines: a quarter of each source."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    stamp = f"{now:%b} {now.day:2d} {now:%H:%M:%S}"  # RFC 3164 pads the day with a space
    web_stamp = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    fw_date, fw_time = now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S")
    hosts = [f"web-{i:02d}" for i in range(1, 21)]
    chunks: list[bytes] = []
    lines: list[str] = []
    for i in range(total):
        kind = i % 4
        host = hosts[i % len(hosts)]
        ip = f"{rng.choice([45, 89, 103, 185, 203])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if kind == 0:
            user = rng.choice(USERS)
            verdict = "Accepted publickey" if rng.random() < 0.1 else "Failed password"
            lines.append(
                f"<38>{stamp} {host} sshd[{1000 + i % 30000}]: {verdict} for {user} from {ip} "
                f"port {1024 + i % 60000} ssh2"
            )
        elif kind == 1:
            user = rng.choice(USERS)
            lines.append(
                f"<85>{stamp} {host} sudo:   {user} : TTY=pts/{i % 9} ; PWD=/home/{user} ; USER=root ; "
                f"COMMAND={rng.choice(COMMANDS)}"
            )
        elif kind == 2:
            status = rng.choice([200, 200, 200, 301, 404, 500])
            lines.append(
                f'<190>{stamp} {host} nginx: {ip} - - [{web_stamp}] "GET {rng.choice(PATHS)} HTTP/1.1" '
                f'{status} {rng.randrange(100, 90000)} "-" "{rng.choice(AGENTS)}"'
            )
        else:
            action = "deny" if rng.random() < 0.2 else "accept"
            lines.append(
                f'<189>date={fw_date} time={fw_time} devname="FGT60F" devid="FGT60FTK1" '
                f'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" '
                f"srcip=10.{i % 256}.{(i >> 8) % 256}.{rng.randrange(1, 255)} "
                f"srcport={rng.randrange(1024, 65535)} "
                f'srcintf="port1" dstip={ip} dstport={rng.choice([53, 80, 443, 3389])} dstintf="wan1" '
                f'action="{action}" policyid={rng.randrange(1, 40)} proto=6 service="HTTPS" '
                f"sentbyte={rng.randrange(40, 90000)} rcvdbyte={rng.randrange(40, 900000)}"
            )
        if len(lines) == CHUNK_LINES:
            chunks.append(("\n".join(lines) + "\n").encode())
            lines = []
    if lines:
        chunks.append(("\n".join(lines) + "\n").encode())
    return chunks


def send(address: str, total: int) -> int:
    """The sender process: build the lines, say ready, wait for go, send them all, report the seconds."""
    host, port = address.rsplit(":", 1)
    chunks = mixed_lines(total)
    print(f"ready {sum(len(c) for c in chunks)}", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    with socket.create_connection((host, int(port))) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
    print(f"sent {time.perf_counter() - started:.3f}", flush=True)
    return 0


def metric(api: str, name: str, labels: str) -> float:
    """One sample from the server's /metrics (0 when absent)."""
    with urllib.request.urlopen(f"{api}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def start_server(data_dir: Path, batch: int) -> tuple[subprocess.Popen[str], str, str]:
    """`sontra serve` on fresh ports with UDP off; returns the process, the API URL and the TCP address."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONTRA_")}
    env.update({
        "SONTRA_API__PORT": "0", "SONTRA_SYSLOG__UDP__ENABLED": "false", "SONTRA_SYSLOG__TCP__PORT": "0",
        "SONTRA_STORAGE__BATCH_SIZE": str(batch), "SONTRA_LOGGING__LEVEL": "WARNING",
    })  # fmt: skip
    errors = open(data_dir.parent / "serve.log", "w")  # noqa: SIM115 - the server writes it until it exits
    proc = subprocess.Popen(
        [sys.executable, "-m", "sontra", "serve", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=errors, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = READY.search(line)
        if m:
            return proc, m["api"], m["tcp"]
    proc.kill()
    raise SystemExit("sontra serve did not start:\n" + "".join(seen) + (data_dir.parent / "serve.log").read_text())


def main() -> int:
    """Run the benchmark and print its figure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2000, help="storage.batch_size of the server")
    parser.add_argument("--data-dir", type=Path, help="keep the server's data here (default: a temporary folder)")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    parser.add_argument("--send", metavar="HOST:PORT", help=argparse.SUPPRESS)  # the sender process
    args = parser.parse_args()
    if args.send:
        return send(args.send, args.events)

    work = Path(tempfile.mkdtemp(prefix="sontra-bench-ingest-"))
    data_dir = args.data_dir or work / "data"
    server, api, tcp = start_server(data_dir, args.batch)
    try:
        sender = subprocess.Popen(
            [sys.executable, __file__, "--send", tcp, "--events", str(args.events)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert sender.stdin is not None and sender.stdout is not None
        ready = sender.stdout.readline().split()
        print(f"sender built {args.events:,} lines ({int(ready[1]) / 1e6:.0f} MB); sending to tcp://{tcp}")
        started = time.perf_counter()
        sender.stdin.write("go\n")
        sender.stdin.flush()
        stored = 0.0
        while stored < args.events:
            if time.perf_counter() - started > args.timeout:
                raise SystemExit(f"only {stored:,.0f} of {args.events:,} events stored after {args.timeout:.0f} s")
            if server.poll() is not None:
                raise SystemExit(f"sontra serve exited with {server.returncode}; see {work / 'serve.log'}")
            time.sleep(0.2)
            stored = metric(api, "sontra_ingest_events_total", 'input="syslog-tcp"')
        elapsed = time.perf_counter() - started
        sent_seconds = float(sender.stdout.readline().split()[1])
        sender.wait(timeout=60)
        failures = metric(api, "sontra_ingest_parse_failures_total", 'input="syslog-tcp"')
        rss = peak_rss_mib(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=300)

    from storage.sqlite import SqliteEventStore

    with SqliteEventStore(data_dir / "events.db") as store:
        now = datetime.now(UTC)
        in_store = store.count("", now - timedelta(days=2), now + timedelta(days=2))
    if in_store != args.events:
        raise SystemExit(f"the store holds {in_store:,} events, expected {args.events:,}")
    print(f"events stored: {in_store:,} ({failures:,.0f} parse failures) in {elapsed:.1f} s; "
          f"sender finished sending after {sent_seconds:.1f} s")  # fmt: skip
    print(f"server peak RSS (VmHWM): {rss:.0f} MiB")
    if args.data_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"ingest_syslog: {args.events / elapsed:.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
