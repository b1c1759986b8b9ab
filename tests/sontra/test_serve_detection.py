"""`sontra serve` with detection: syslog over TCP -> Sigma and correlation rules -> alert store -> ticket."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.sqlite import SqliteEventStore
from tests.sontra.detection_rules import ATTACKER, failed_passwords, write_rules
from tests.sontra.test_serve import http_get, start_serve


def _tickets(data: Path) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "sontra", "tickets", "list", "--json", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(out)["tickets"]


def test_syslog_brute_force_opens_a_ticket(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rules = write_rules(tmp_path / "rules")
    running = start_serve(data, {"SONTRA_RULES__PATHS": str(rules)})
    try:
        assert "3 rules" in "".join(running.first_lines)
        stamp = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
        payload = "".join(line + "\n" for line in failed_passwords("web01", stamp))
        with socket.create_connection(running.tcp) as tcp:
            tcp.sendall(payload.encode())
        deadline = time.monotonic() + 20
        body = ""
        while time.monotonic() < deadline:
            _, body = http_get(running.api + "/metrics")
            if "sontra_tickets_opened_total 1.0" in body:
                break
            time.sleep(0.1)
        assert "sontra_tickets_opened_total 1.0" in body, body
        assert 'sontra_rules_loaded{kind="sigma"} 2.0' in body
        assert 'sontra_rules_loaded{kind="correlation"} 1.0' in body
        assert "sontra_ingest_triage_errors_total 0.0" in body

        (ticket,) = _tickets(data)
        assert ticket["title"] == f"SSH brute force from {ATTACKER}"
        assert (ticket["severity"], ticket["alert_count"], ticket["status"]) == ("high", 1, "new")
        assert ticket["tactics"] == ["credential_access"]
    finally:
        running.proc.send_signal(signal.SIGTERM)
        out, _ = running.proc.communicate(timeout=60)
    assert running.proc.returncode == 0, out
    with SqliteEventStore(data / "events.db", kind="alerts") as alerts:
        hits = alerts.search("*", size=10).hits
        assert [a["rule"]["name"] for a in hits] == ["SSH brute force"]  # the base rule only feeds the correlation
        assert hits[0]["source"]["ip"] == ATTACKER
        assert len(hits[0]["sontra"]["alert"]["source_event_ids"]) == 3


def test_a_missing_rule_path_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONTRA_")}
    env["SONTRA_RULES__PATHS"] = str(tmp_path / "no-such-rules")
    done = subprocess.run(
        [sys.executable, "-m", "sontra", "serve", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    assert "rules.paths" in done.stderr and "no-such-rules" in done.stderr
