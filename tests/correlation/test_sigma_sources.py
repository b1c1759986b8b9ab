"""Non-Windows SigmaHQ rules on raw log lines, through the real normalizers: routing and field mapping agree."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from correlation.sigma import SigmaEngine
from normalizers import RawRecord, normalize

LINES = {
    "fortigate admin created": (
        'date=2023-10-11 time=14:32:52 devname="FG100E" devid="FG100E3G16000001" logid="0100044547" type="event" '
        'subtype="system" level="information" vd="root" logdesc="Object attribute configured" user="admin" '
        'ui="GUI(10.0.0.2)" action="Add" cfgtid=1 cfgpath="system.admin" cfgobj="eviladmin" msg="Add system.admin"',
        "FortiGate - New Administrator Account Created",
    ),
    "auditd chmod": (
        'type=EXECVE msg=audit(1700000000.123:456): argc=3 a0="chmod" a1="+x" a2="/tmp/x"',
        "File or Folder Permissions Change",
    ),
    "apache traversal": (
        '10.0.0.5 - - [10/Oct/2023:13:55:36 +0000] "GET /index.php?page=../../../../etc/passwd HTTP/1.1" 200 2326 '
        '"-" "Mozilla/5.0"',
        "Path Traversal Exploitation Attempts",
    ),
    "apache recon agent": (
        '10.0.0.5 - - [10/Oct/2023:13:55:37 +0000] "GET / HTTP/1.1" 200 12 "-" "sqlmap/1.7"',
        "Suspicious User-Agents Related To Recon Tools",
    ),
}


@pytest.fixture(scope="module")
def engine(shared_dir: Path) -> SigmaEngine:
    rules = shared_dir / "sigma" / "rules"
    engine = SigmaEngine()
    report = engine.load([rules / "linux", rules / "network", rules / "web", rules / "category"])
    assert not report.failures
    return engine


@pytest.mark.parametrize("case", sorted(LINES))
def test_line_fires_its_rule(engine: SigmaEngine, case: str) -> None:
    line, title = LINES[case]
    event = normalize(RawRecord(line, datetime.now(UTC), format="syslog"))
    assert title in {match.rule.title for match in engine.match(event)}


def test_benign_lines_fire_nothing(engine: SigmaEngine) -> None:
    quiet = [
        '10.0.0.5 - - [10/Oct/2023:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326 "-" "Mozilla/5.0"',
        "Dec 10 06:55:46 LabSZ sshd[24200]: Accepted password for alice from 10.0.0.7 port 50000 ssh2",
        'type=EXECVE msg=audit(1700000000.124:457): argc=2 a0="ls" a1="-l"',
    ]
    for line in quiet:
        event = normalize(RawRecord(line, datetime.now(UTC), format="syslog"))
        assert engine.match(event) == [], line
