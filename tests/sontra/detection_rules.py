"""A small rule folder for the detection wiring tests: a silenced base rule, an SSH brute force, a new user."""

from __future__ import annotations

from pathlib import Path

ATTACKER = "203.0.113.7"

RULES = """
title: SSH failed password
id: 5b0c6f1e-8d3a-4c52-9e61-00000000a001
name: ssh_failed_password
status: test
logsource: {product: linux, service: sshd}
detection:
  selection: {event.action: ssh_login, event.outcome: failure}
  condition: selection
level: low
---
title: SSH brute force
id: 5b0c6f1e-8d3a-4c52-9e61-00000000a101
status: test
correlation:
  type: event_count
  rules: [ssh_failed_password]
  group-by: [source.ip]
  timespan: 5m
  condition: {gte: 3}
level: high
tags: [attack.credential-access, attack.t1110.001]
---
title: Local user account created
id: 5b0c6f1e-8d3a-4c52-9e61-00000000a002
status: test
logsource: {product: linux}
detection:
  selection: {event.action: user_created}
  condition: selection
level: medium
tags: [attack.persistence, attack.t1136.001]
"""


def write_rules(folder: Path) -> Path:
    """Write the rule file into ``folder`` and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "intrusion.yml").write_text(RULES, encoding="utf-8")
    return folder


def failed_passwords(host: str, stamp: str, count: int = 4) -> list[str]:
    """RFC 5424 sshd lines: ``count`` failed passwords from the attacker, a second apart from ``stamp`` (no seconds)."""
    return [
        f"<38>1 {stamp}:{i:02d}.000Z {host} sshd {2200 + i} - - Failed password for root from {ATTACKER} "
        f"port {50000 + i} ssh2"
        for i in range(count)
    ]
