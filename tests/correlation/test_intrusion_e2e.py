"""A Linux intrusion played through the real ingest pipeline: brute force, login, new user, call to a C2.

Real syslog lines go through ``IngestPipeline`` (normalizers, SQLite event and alert stores) with
one detector composed the way the service should wire it: single-event Sigma rules (minus those
only feeding correlations), IOC matching, Sigma correlation rules, then the kill-chain tracker
over all of the batch's alerts. The assertion is the multi-stage attack alert and its timeline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("correlation.sigma", reason="needs the single-event Sigma engine (correlation.sigma)")
pytest.importorskip("correlation.ioc", reason="needs the IOC detector (correlation.ioc)")

from collectors.pipeline import IngestPipeline
from correlation.ioc import IocDetector, IocMatcher, parse_list
from correlation.sigma import SigmaEngine
from correlation.sigma.pipelines import build_pipeline
from correlation.sigma_correlation import parse_correlations
from correlation.stage import DetectionStage, KillChainSettings
from normalizers.record import RawRecord
from normalizers.schema import validate_event
from storage.sqlite import SqliteEventStore

ATTACKER = "203.0.113.7"
C2_ADDRESS = "198.51.100.66"
RECEIVED = datetime(2026, 11, 20, 10, 5, tzinfo=UTC)

RULES = """
title: SSH failed password
id: 3e9f6c2a-5b1d-4e8f-a0c4-000000000001
name: ssh_failed_password
status: test
logsource: {product: linux, service: sshd}
detection:
  selection: {event.action: ssh_login, event.outcome: failure}
  condition: selection
level: low
---
title: SSH successful login
id: 3e9f6c2a-5b1d-4e8f-a0c4-000000000002
name: ssh_login_success
status: test
logsource: {product: linux, service: sshd}
detection:
  selection: {event.action: ssh_login, event.outcome: success}
  condition: selection
level: informational
---
title: Local user account created
id: 3e9f6c2a-5b1d-4e8f-a0c4-000000000003
name: local_user_created
status: test
logsource: {product: linux}
detection:
  selection: {event.action: user_created}
  condition: selection
level: medium
tags: [attack.persistence, attack.t1136.001]
---
title: SSH brute force
id: 3e9f6c2a-5b1d-4e8f-a0c4-000000000101
name: ssh_brute_force
status: test
correlation:
  type: event_count
  rules: [ssh_failed_password]
  group-by: [source.ip, host.name]
  timespan: 5m
  condition: {gte: 5}
level: high
tags: [attack.credential-access, attack.t1110.001]
---
title: Successful SSH login after a brute force
id: 3e9f6c2a-5b1d-4e8f-a0c4-000000000102
status: test
correlation:
  type: temporal_ordered
  rules: [ssh_brute_force, ssh_login_success]
  group-by: [source.ip, host.name]
  timespan: 15m
  generate: true
level: critical
tags: [attack.initial-access, attack.t1078, attack.t1110]
"""

LINES = [
    # Background: cron, and an administrator's usual login from the office network.
    "Nov 20 09:58:01 web01 CRON[1990]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    "Nov 20 09:59:12 web01 sshd[2001]: Accepted publickey for admin from 10.0.0.20 port 51000 ssh2: "
    "ED25519 SHA256:0pTkJ3fZr1Y8cVQ7u4sFqG3Z6mYk2jX9bW5nA1dE7hI",
    # 1. Brute force from the attacker: eight failed passwords in 15 seconds.
    *(
        f"Nov 20 10:00:{second:02d} web01 sshd[{2200 + i}]: Failed password for {user} from {ATTACKER} "
        f"port {50000 + i} ssh2"
        for i, (second, user) in enumerate(
            [
                (1, "root"),
                (3, "root"),
                (4, "admin"),
                (6, "root"),
                (8, "oracle"),
                (10, "root"),
                (12, "deploy"),
                (15, "deploy"),
            ]
        )
    ),
    # 2. The password of "deploy" was guessed: a login from the same address.
    f"Nov 20 10:00:31 web01 sshd[2300]: Accepted password for deploy from {ATTACKER} port 50100 ssh2",
    "Nov 20 10:00:31 web01 sshd[2300]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)",
    # 3. Persistence: a new account through sudo.
    "Nov 20 10:01:10 web01 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; "
    "COMMAND=/usr/sbin/useradd -m -s /bin/bash backdoor",
    "Nov 20 10:01:10 web01 useradd[2400]: new group: name=backdoor, GID=1002",
    "Nov 20 10:01:10 web01 useradd[2400]: new user: name=backdoor, UID=1002, GID=1002, home=/home/backdoor, "
    "shell=/bin/bash, from=/dev/pts/0",
    # 4. The host calls out to an address on the IOC list.
    f"Nov 20 10:03:00 web01 kernel: [86400.123456] [UFW ALLOW] IN= OUT=eth0 SRC=10.0.0.5 DST={C2_ADDRESS} LEN=60 "
    "TOS=0x00 PREC=0x00 TTL=64 ID=4242 DF PROTO=TCP SPT=40312 DPT=4444 WINDOW=64240 RES=0x00 SYN URGP=0",
]


@pytest.mark.parametrize("batch_size", [1000, 3])
def test_linux_intrusion_raises_a_multi_stage_attack_alert(tmp_path: Path, batch_size: int) -> None:
    engine = SigmaEngine()
    report = engine.load_yaml(RULES, source="intrusion-rules.yml")
    assert not report.failures
    correlations = parse_correlations(RULES, source="intrusion-rules.yml", pipeline=build_pipeline())
    assert not correlations.failures
    now = RECEIVED + timedelta(minutes=1)
    feed = parse_list(f"# C2 servers\n{C2_ADDRESS}\n", "test-c2")
    stage = DetectionStage(
        engine,
        correlations,
        IocDetector(IocMatcher(feed.indicators), clock=lambda: now),
        killchain=KillChainSettings(window=timedelta(hours=24), min_phases=3),
        clock=lambda: now,
    )
    events_store = SqliteEventStore(tmp_path / "events.db", kind="events")
    alerts_store = SqliteEventStore(tmp_path / "alerts.db", kind="alerts")
    pipeline = IngestPipeline(events_store, alerts_store, detectors=[stage], batch_size=batch_size, clock=lambda: now)
    records = [RawRecord(line, RECEIVED, "/var/log/syslog", "file", "syslog", n) for n, line in enumerate(LINES)]
    stats = pipeline.process(records)
    pipeline.flush()
    assert stats.parse_failures == 0 and stats.events == len(LINES)

    stored = alerts_store.search("rule.id:sontra-killchain", size=10).hits
    assert len(stored) == 1, [a["rule"]["name"] for a in alerts_store.search("*", size=50).hits]
    attack = stored[0]
    assert validate_event(attack) == []
    assert attack["rule"]["name"] == "Multi-stage attack on host web01"
    assert (attack["rule"]["level"], attack["event"]["severity"]) == ("critical", 5)
    assert attack["host"]["name"] == "web01"
    assert attack["@timestamp"] == "2026-11-20T10:03:00.000Z"
    killchain = attack["sontra"]["killchain"]
    assert killchain["phases"] == ["initial-access", "foothold", "objectives"]
    steps = [(s["timestamp"], s["rule"]["name"], s["phase"], s["tactic"]) for s in killchain["timeline"]]
    assert steps == [
        ("2026-11-20T10:00:08.000Z", "SSH brute force", "initial-access", "credential-access"),
        ("2026-11-20T10:00:31.000Z", "Successful SSH login after a brute force", "initial-access", "initial-access"),
        ("2026-11-20T10:01:10.000Z", "Local user account created", "foothold", "persistence"),
        ("2026-11-20T10:03:00.000Z", f"IOC match: ip {C2_ADDRESS} (feed test-c2)", "objectives", "command-and-control"),
    ]
    # Every step is an alert in the alert store, and the chain's alerts point back to real events.
    for step in killchain["timeline"]:
        assert alerts_store.get(step["event"]["id"]) is not None
    brute_force = alerts_store.search('rule.name:"SSH brute force"', size=5).hits
    assert len(brute_force) == 1 and brute_force[0]["source"]["ip"] == ATTACKER
    for event_id in brute_force[0]["sontra"]["alert"]["source_event_ids"]:
        assert "Failed password" in events_store.get(event_id)["event"]["original"]
    created = alerts_store.search('rule.name:"Local user account created"', size=5).hits
    assert len(created) == 1 and created[0]["event"]["created"] == "2026-11-20T10:06:00.000Z"
    (new_user_event,) = created[0]["sontra"]["alert"]["source_event_ids"]
    assert "new user: name=backdoor" in events_store.get(new_user_event)["event"]["original"]
    # Only the building blocks are silent: no alert per failed password.
    assert alerts_store.count('rule.name:"SSH failed password"') == 0

    # Replaying the same file raises nothing new: every alert id is already stored.
    again = pipeline.process(records)
    assert alerts_store.search("rule.id:sontra-killchain", size=10).total == 1
    assert again.duplicates == len(LINES)
    events_store.close()
    alerts_store.close()
