"""Write throughput of the SQLite event store: synthetic ECS events written in batches.

    .venv/bin/python bench/store_write.py [--events N] [--batch B] [--data-dir DIR]

The events are a realistic mix of sshd, sudo, web access and firewall records spread over 24 h
(ending at the start of the current UTC hour, so bench/search.py can query a known window). Only
the time spent inside ``store.write`` counts towards the figure; building the events does not.
The last line is ``store_write: N events/s``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.sqlite import SqliteEventStore
from storage.timefmt import format_timestamp

DB_NAME = "bench-events.db"
MANIFEST = "bench-events.json"  # for bench/search.py: how many events and where their 24 h window ends
USERS = ["root", "admin", "alice", "bob", "carol", "dave", "deploy", "backup", "oracle", "postgres",
         "nguyenvana", "tranthib", "www-data", "ubuntu", "test", "guest"]
PATHS = ["/", "/index.html", "/login", "/wp-login.php", "/api/v1/status", "/static/app.js", "/admin",
         "/cong-dich-vu/thu-tuc", "/.env", "/search?q=hanh+chinh"]
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0", "curl/8.5.0", "python-requests/2.32",
          "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", "sqlmap/1.8"]
COMMANDS = ["/usr/bin/systemctl restart nginx", "/bin/bash", "/usr/bin/apt-get upgrade -y", "/usr/bin/journalctl -xe",
            "/usr/bin/tail -f /var/log/auth.log", "/usr/sbin/useradd tmpuser"]


def window_end() -> datetime:
    """The end of the 24 h the synthetic events cover: the start of the current UTC hour."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


class Synthetic:
    """Deterministic synthetic ECS events, in time order over the 24 h before ``end``."""

    def __init__(self, total: int, end: datetime, seed: int = 7) -> None:
        self.total = total
        self.start = end - timedelta(hours=24)
        self.rng = random.Random(seed)
        self.hosts = [f"web-{i:02d}" for i in range(1, 21)] + [f"db-{i:02d}" for i in range(1, 6)]
        self.internal = [f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{i}" for i in range(1, 400)]
        self.external = [f"{self.rng.choice([45, 89, 103, 185, 198, 203])}.{self.rng.randrange(256)}."
                         f"{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}" for _ in range(5000)]
        self.external += [f"2001:db8:{self.rng.randrange(65536):x}::{self.rng.randrange(65536):x}" for _ in range(500)]

    def batches(self, size: int) -> Iterator[list[dict[str, Any]]]:
        """Yield the events ``size`` at a time."""
        step_ms = 86_400_000 / max(self.total, 1)
        for first in range(0, self.total, size):
            yield [self.event(i, self.start + timedelta(milliseconds=int(i * step_ms)))
                   for i in range(first, min(first + size, self.total))]

    def event(self, i: int, at: datetime) -> dict[str, Any]:
        """The ``i``-th event, at ``at``."""
        r = self.rng.random()
        kind = self.ssh if r < 0.35 else self.web if r < 0.70 else self.firewall if r < 0.95 else self.sudo
        ev = kind()
        ev["@timestamp"] = format_timestamp(at)
        ev["ecs"] = {"version": "8.11.0"}
        ev["event"]["id"] = f"bench-{i:09d}-{self.rng.getrandbits(32):08x}"
        ev["event"]["kind"] = "event"
        ev["event"]["ingested"] = ev["@timestamp"]
        ev["event"]["original"] = ev["message"]
        return ev

    def ssh(self) -> dict[str, Any]:
        rng = self.rng
        user = rng.choice(USERS)
        ip = rng.choice(self.external if rng.random() < 0.7 else self.internal)
        port = rng.randrange(1024, 65535)
        ok = rng.random() < 0.2
        message = (f"Accepted publickey for {user} from {ip} port {port} ssh2" if ok
                   else f"Failed password for {'invalid user ' if rng.random() < 0.3 else ''}{user} from {ip} "
                        f"port {port} ssh2")
        return {"message": message, "host": {"name": rng.choice(self.hosts)}, "user": {"name": user},
                "source": {"ip": ip, "port": port}, "process": {"name": "sshd", "pid": rng.randrange(300, 60000)},
                "event": {"action": "ssh_login", "category": ["authentication"], "outcome": "success" if ok else
                          "failure", "dataset": "system.auth", "module": "system"}}

    def sudo(self) -> dict[str, Any]:
        rng = self.rng
        user, command = rng.choice(USERS[:8]), rng.choice(COMMANDS)
        return {"message": f"{user} : TTY=pts/{rng.randrange(5)} ; PWD=/home/{user} ; USER=root ; COMMAND={command}",
                "host": {"name": rng.choice(self.hosts)}, "user": {"name": user, "effective": {"name": "root"}},
                "process": {"name": "sudo", "command_line": command, "pid": rng.randrange(300, 60000)},
                "event": {"action": "sudo", "category": ["process"], "type": ["start"], "outcome": "success",
                          "dataset": "system.auth", "module": "system"}}

    def web(self) -> dict[str, Any]:
        rng = self.rng
        ip, path, status = rng.choice(self.external), rng.choice(PATHS), rng.choice([200, 200, 200, 301, 404, 500])
        method, size, agent = rng.choice(["GET", "GET", "POST"]), rng.randrange(100, 90000), rng.choice(AGENTS)
        message = f'{ip} - - "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}"'
        return {"message": message, "host": {"name": rng.choice(self.hosts[:20])},
                "source": {"ip": ip}, "destination": {"ip": rng.choice(self.internal[:20]), "port": 443},
                "url": {"original": path}, "user_agent": {"original": agent},
                "http": {"request": {"method": method}, "response": {"status_code": status, "body": {"bytes": size}}},
                "event": {"action": "http_request", "category": ["web"], "outcome": "success" if status < 400
                          else "failure", "dataset": "nginx.access", "module": "nginx"}}

    def firewall(self) -> dict[str, Any]:
        rng = self.rng
        src = rng.choice(self.external if rng.random() < 0.6 else self.internal)
        dst, port = rng.choice(self.internal), rng.choice([22, 80, 443, 445, 3389, 53, 8080, 1433])
        action = "deny" if rng.random() < 0.4 else "accept"
        transport = rng.choice(["tcp", "tcp", "udp"])
        return {"message": f"{action} {transport} {src}:{rng.randrange(1024, 65535)} -> {dst}:{port}",
                "host": {"name": "fw-01"},
                "observer": {"vendor": "Fortinet", "product": "FortiGate", "type": "firewall"},
                "source": {"ip": src}, "destination": {"ip": dst, "port": port}, "network": {"transport": transport},
                "fortinet": {"action": action, "policyid": rng.randrange(1, 60)},
                "event": {"action": f"firewall_{action}", "category": ["network"], "dataset": "fortinet.firewall",
                          "module": "fortinet"}}


def write_events(store: SqliteEventStore, total: int, batch: int, end: datetime) -> float:
    """Write ``total`` synthetic events; return the seconds spent inside ``store.write``."""
    spent = 0.0
    for events in Synthetic(total, end).batches(batch):
        t0 = time.perf_counter()
        store.write(events)
        spent += time.perf_counter() - t0
    return spent


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print ``store_write: N events/s`` last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to write (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=10_000, help="events per write() call (default 10,000)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where to put the database (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.events <= 0 or args.batch <= 0:
        parser.error("--events and --batch must be positive")
    with tempfile.TemporaryDirectory(prefix="sontra-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / DB_NAME
        if path.exists():
            parser.error(f"{path} already exists; remove it (and {MANIFEST}) or choose another --data-dir")
        wall, end = time.perf_counter(), window_end()
        with SqliteEventStore(path) as store:
            spent = write_events(store, args.events, args.batch, end)
        wall = time.perf_counter() - wall
        (data_dir / MANIFEST).write_text(json.dumps({"events": args.events, "end": end.isoformat()}))
        size_mb = sum(p.stat().st_size for p in data_dir.glob(DB_NAME + "*")) / 1e6
        print(f"wrote {args.events} events in batches of {args.batch}: {spent:.1f} s in write(), "
              f"{wall:.1f} s with event generation; database {size_mb:.0f} MB at {path}")
        print(f"store_write: {args.events / spent:.0f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
