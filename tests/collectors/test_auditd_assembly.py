"""AuditEventAssembler: which audit serials are complete, when, and what passes straight through."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.auditd_assembly import AuditEventAssembler
from normalizers import normalize
from normalizers.record import RawRecord

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def syscall(serial: int, comm: str = "id") -> str:
    return (f"type=SYSCALL msg=audit(1700000000.{serial % 1000:03d}:{serial}): arch=c000003e syscall=59 success=yes "
            f'exit=0 items=1 ppid=1 pid={serial} uid=0 comm="{comm}" exe="/usr/bin/{comm}" key="exec"')  # fmt: skip


def execve(serial: int, *args: str) -> str:
    quoted = " ".join(f'a{i}="{arg}"' for i, arg in enumerate(args))
    return f"type=EXECVE msg=audit(1700000000.{serial % 1000:03d}:{serial}): argc={len(args)} {quoted}"


def eoe(serial: int) -> str:
    return f"type=EOE msg=audit(1700000000.{serial % 1000:03d}:{serial}): "


def user_login(serial: int) -> str:
    return (
        f"type=USER_LOGIN msg=audit(1700000000.{serial % 1000:03d}:{serial}): pid=9 uid=0 auid=1000 ses=2 "
        "msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=? addr=192.0.2.1 terminal=ssh res=success'"
    )


class Feed:
    """Normalizes lines as one file would give them (numbered in order) for the assembler."""

    def __init__(self, source: str = "/var/log/audit/audit.log") -> None:
        self.source = source
        self.position = 0

    def __call__(self, *lines: str) -> list[dict[str, Any]]:
        events = []
        for text in lines:
            self.position += 1
            events.append(normalize(RawRecord(text, RECEIVED, self.source, "file", "auto", self.position)))
        return events


def test_records_of_one_serial_become_one_event_at_eoe() -> None:
    feed, assembler = Feed(), AuditEventAssembler()
    assert assembler.push(feed(syscall(10, "whoami"), execve(10, "whoami")), now=0.0) == []
    assert assembler.open_serials == 1
    [event] = assembler.push(feed(eoe(10)), now=0.1)
    assert event["process"]["args"] == ["whoami"]
    assert event["auditd"]["record_types"] == ["SYSCALL", "EXECVE"]
    assert event["event"]["original"].count("\n") == 1  # two raw lines; the EOE is consumed
    assert assembler.open_serials == 0
    assert assembler.records_merged == 1


def test_other_events_and_user_space_records_pass_straight_through() -> None:
    feed, assembler = Feed(), AuditEventAssembler()
    sshd = normalize(
        RawRecord("Nov 20 10:00:00 h sshd[1]: Invalid user x from 192.0.2.9", RECEIVED, "/var/log/auth.log")
    )
    login = feed(user_login(20))
    out = assembler.push([sshd, *login], now=0.0)
    assert out == [sshd, *login]
    assert assembler.open_serials == 0


def test_without_eoe_a_new_serial_completes_the_previous_one() -> None:
    feed, assembler = Feed(), AuditEventAssembler()
    assert assembler.push(feed(syscall(30, "ls"), execve(30, "ls", "-l")), now=0.0) == []
    [first] = assembler.push(feed(syscall(31, "cat")), now=0.0)
    assert first["process"]["args"] == ["ls", "-l"]
    out = assembler.push(feed(user_login(32)), now=0.0)  # a user-space record also ends serial 31
    assert [e["auditd"]["sequence"] for e in out] == [31, 32]


def test_streams_that_send_eoe_may_interleave_serials() -> None:
    feed, assembler = Feed(), AuditEventAssembler()
    assembler.push(feed(syscall(40), eoe(40)), now=0.0)  # this sender ends its events with EOE
    out = assembler.push(
        feed(syscall(41, "ls"), syscall(42, "ps"), execve(41, "ls"), execve(42, "ps", "aux"), eoe(41)), now=0.0
    )
    assert [e["process"]["args"] for e in out] == [["ls"]]
    [last] = assembler.push(feed(eoe(42)), now=0.0)
    assert last["process"]["args"] == ["ps", "aux"]


def test_two_senders_with_the_same_serial_are_kept_apart() -> None:
    a, b, assembler = Feed("/logs/a/audit.log"), Feed("/logs/b/audit.log"), AuditEventAssembler()
    assembler.push(a(syscall(50, "ls")), now=0.0)
    assembler.push(b(syscall(50, "rm")), now=0.0)
    assert assembler.open_serials == 2
    out = assembler.push(a(execve(50, "ls")) + b(execve(50, "rm", "-rf", "/tmp/x")), now=0.0)
    assert out == []
    done = assembler.drain()
    assert sorted(tuple(e["process"]["args"]) for e in done) == [("ls",), ("rm", "-rf", "/tmp/x")]


def test_timeout_emits_an_incomplete_serial() -> None:
    feed, assembler = Feed(), AuditEventAssembler(timeout=2.0)
    assembler.push(feed(syscall(60)), now=100.0)
    assert assembler.expire(101.9) == []
    [event] = assembler.expire(102.0)
    assert event["auditd"]["sequence"] == 60
    assert event["event"]["action"] == "executed"  # a lone record is emitted as it was normalized


def test_a_retried_batch_does_not_duplicate_records() -> None:
    assembler = AuditEventAssembler()
    batch = Feed()(syscall(70), execve(70, "id"))
    assembler.push(batch, now=0.0)
    assembler.push(batch, now=0.5)  # the same records again
    [event] = assembler.drain()
    assert event["process"]["args"] == ["id"]
    assert event["event"]["original"].count("type=EXECVE") == 1


def test_limits_bound_memory() -> None:
    feed, assembler = Feed(), AuditEventAssembler(max_open=2, max_records=3)
    assembler.push(feed(syscall(80), eoe(80)), now=0.0)  # EOE stream: serials may stay open side by side
    assembler.push(feed(syscall(81), syscall(82)), now=0.0)
    [evicted] = assembler.push(feed(syscall(83)), now=0.0)
    assert evicted["auditd"]["sequence"] == 81  # the oldest makes room
    paths = [f'type=PATH msg=audit(1700000000.083:83): item={i} name="/x{i}" nametype=NORMAL' for i in range(2)]
    [full] = assembler.push(feed(*paths), now=0.0)
    assert full["auditd"]["sequence"] == 83 and len(full["auditd"]["paths"]) == 2


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="timeout must be > 0"):
        AuditEventAssembler(timeout=0)


def test_a_real_audit_log_file_assembles_to_one_event_per_serial(tmp_path: Path) -> None:
    lines = [
        syscall(100, "bash"), execve(100, "bash", "-c", "id"), eoe(100),
        user_login(101),
        syscall(102, "curl"), execve(102, "curl", "-s", "http://203.0.113.9/a"),
        'type=CWD msg=audit(1700000000.102:102): cwd="/tmp"',
        'type=PROCTITLE msg=audit(1700000000.102:102): proctitle=6375726C',
        eoe(102),
        syscall(103, "cat"),  # the log ends mid-event
    ]  # fmt: skip
    log = tmp_path / "audit.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    feed, assembler = Feed(str(log)), AuditEventAssembler()
    out = assembler.push(feed(*log.read_text(encoding="utf-8").splitlines()), now=0.0) + assembler.drain()
    assert [e["auditd"]["sequence"] for e in out] == [100, 101, 102, 103]
    assert [e["event"]["action"] for e in out] == ["executed", "logged-in", "executed", "executed"]
    assert out[2]["process"]["working_directory"] == "/tmp"
    assert out[2]["process"]["title"] == "curl"
    assert len({e["event"]["id"] for e in out}) == 4
