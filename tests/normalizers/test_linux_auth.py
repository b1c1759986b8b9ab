"""PAM, sudo, su and the shadow-utils account tools -> ECS (lines as Debian/RHEL write them to auth.log/secure)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers import normalize
from normalizers.record import RawRecord
from normalizers.schema import validate_event
from normalizers.sources import linux_accounts, linux_auth

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[2] / "normalizers" / "README.md"


def line(program: str, message: str) -> dict[str, Any]:
    ev = normalize(RawRecord(f"Nov 20 10:00:00 app-07 {program}: {message}", RECEIVED, "/var/log/auth.log"))
    assert validate_event(ev) == []
    return ev


# --- PAM -----------------------------------------------------------------------------------------


def test_pam_authentication_failure_names_user_and_remote_host() -> None:
    ev = line(
        "sshd[811]",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.50  "
        "user=root",
    )
    assert ev["event"]["action"] == "pam_auth_failure"
    assert ev["event"]["outcome"] == "failure"
    assert ev["event"]["dataset"] == "system.auth"
    assert ev["user"]["name"] == "root"
    assert ev["source"] == {"address": "203.0.113.50", "ip": "203.0.113.50"}
    assert ev["system"]["auth"]["pam"] == {"tty": "ssh", "module": "pam_unix", "service": "sshd", "module_type": "auth"}


def test_pam_rhost_that_is_a_host_name_goes_to_source_domain() -> None:
    ev = line("sshd[811]", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
              "rhost=dsl-203-0-113-50.example.net")  # fmt: skip
    assert ev["source"] == {"address": "dsl-203-0-113-50.example.net", "domain": "dsl-203-0-113-50.example.net"}


def test_pam_session_opened_by_sudo_caller() -> None:
    ev = line("sudo", "pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)")
    assert ev["event"]["action"] == "pam_session_opened"
    assert ev["event"]["category"] == ["session"]
    assert ev["user"] == {"name": "alice", "id": "1000", "effective": {"name": "root", "id": "0"}}
    assert ev["related"]["user"] == ["alice", "root"]


def test_pam_session_of_cron_has_no_caller_name() -> None:
    ev = line("CRON[5012]", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
    assert ev["event"]["action"] == "pam_session_opened"
    assert ev["event"]["dataset"] == "system.auth"  # PAM lines are auth events whichever program logs them
    assert ev["user"] == {"name": "root", "id": "0"}
    closed = line("CRON[5012]", "pam_unix(cron:session): session closed for user root")
    assert (closed["event"]["action"], closed["user"]["name"]) == ("pam_session_closed", "root")


@pytest.mark.parametrize(
    ("program", "message", "action", "user"),
    [
        ("passwd[900]", "pam_unix(passwd:chauthtok): password changed for bob", "pam_password_changed", "bob"),
        ("chpasswd[901]", "pam_unix(chpasswd:chauthtok): password changed for carol", "pam_password_changed",
         "carol"),
        ("sshd[902]", "pam_faillock(sshd:auth): Consecutive login failures for user root account temporarily locked",
         "pam_account_locked", "root"),
        ("sshd[903]", "pam_tally2(sshd:auth): user root (0) tally 7, deny 5", "pam_account_locked", "root"),
        ("sshd[904]", "pam_unix(sshd:account): account dave has expired (account expired)", "pam_account_expired",
         "dave"),
        ("sudo", "pam_unix(sudo:auth): auth could not identify password for [alice]", "pam_auth_error", None),
        ("sshd[905]", "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  "
         "user=root", "pam_auth_failure_repeated", "root"),
        ("sshd[906]", "PAM service(sshd) ignoring max retries; 6 > 3", "pam_max_retries_exceeded", None),
        ("vsftpd[907]", "pam_unix(vsftpd:auth): check pass; user unknown", "pam_user_unknown", None),
        ("cockpit-session", "pam_unix(cockpit:auth): authentication failure; logname= uid=0 euid=0 tty= ruser= "
         "rhost=::ffff:192.0.2.44 user=admin", "pam_auth_failure", "admin"),
    ],
)  # fmt: skip
def test_pam_messages(program: str, message: str, action: str, user: str | None) -> None:
    ev = line(program, message)
    assert ev["event"]["action"] == action
    assert action in linux_auth.ACTIONS
    assert ev.get("user", {}).get("name") == user


def test_pam_repeated_failures_keep_the_count_and_the_tty() -> None:
    ev = line("sshd[905]", "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
              "rhost=198.51.100.7  user=root")  # fmt: skip
    assert ev["system"]["auth"]["pam"] == {"failures": 5, "tty": "ssh"}
    assert ev["source"]["ip"] == "198.51.100.7"


def test_pam_password_change_names_the_target_account() -> None:
    ev = line("passwd[900]", "pam_unix(passwd:chauthtok): password changed for bob")
    assert ev["user"]["target"] == {"name": "bob"}
    assert ev["event"]["category"] == ["iam"]
    assert ev["event"]["type"] == ["user", "change"]


def test_unknown_pam_lines_stay_generic() -> None:
    ev = line("systemd-logind[1]", "pam_systemd(sshd:session): Failed to create session: No such file")
    assert "action" not in ev["event"]
    assert ev["event"]["dataset"] == "syslog"


# --- sudo ----------------------------------------------------------------------------------------


def test_sudo_command() -> None:
    ev = line("sudo", "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx")
    assert (ev["event"]["action"], ev["event"]["outcome"]) == ("sudo_command", "success")
    assert ev["user"] == {"name": "alice", "effective": {"name": "root"}}
    assert ev["system"]["auth"]["sudo"] == {
        "tty": "pts/0",
        "pwd": "/home/alice",
        "user": "root",
        "command": "/usr/bin/systemctl restart nginx",
    }
    assert ev["process"] == {"name": "sudo"}  # the command stays out of process.*


def test_sudo_1_9_line_with_group_and_a_command_holding_semicolons() -> None:
    ev = line("sudo[3311]", "alice : TTY=pts/1 ; PWD=/srv ; USER=postgres ; GROUP=postgres ; "
              "COMMAND=/bin/sh -c 'echo a ; echo b'")  # fmt: skip
    assert ev["event"]["action"] == "sudo_command"
    assert ev["system"]["auth"]["sudo"]["group"] == "postgres"
    assert ev["system"]["auth"]["sudo"]["command"] == "/bin/sh -c 'echo a ; echo b'"


@pytest.mark.parametrize(
    ("message", "action", "error"),
    [
        ("bob : 3 incorrect password attempts ; TTY=pts/2 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash",
         "sudo_auth_failure", "3 incorrect password attempts"),
        ("mallory : user NOT in sudoers ; TTY=pts/3 ; PWD=/tmp ; USER=root ; COMMAND=/bin/cat /etc/shadow",
         "sudo_denied", "user NOT in sudoers"),
        ("alice : command not allowed ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/vim /etc/sudoers",
         "sudo_denied", "command not allowed"),
        ("alice : a password is required ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
         "sudo_denied", "a password is required"),
    ],
)  # fmt: skip
def test_sudo_failures(message: str, action: str, error: str) -> None:
    ev = line("sudo", message)
    assert (ev["event"]["action"], ev["event"]["outcome"]) == (action, "failure")
    assert ev["system"]["auth"]["sudo"]["error"] == error


def test_sudo_lines_that_are_not_commands_stay_generic() -> None:
    ev = line("sudo", "unable to resolve host app-07: Name or service not known")
    assert "action" not in ev["event"]


# --- su ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "message", "outcome", "user", "target"),
    [
        ("su[700]", "(to root) alice on pts/0", "success", "alice", "root"),
        ("su[701]", "FAILED SU (to root) mallory on pts/4", "failure", "mallory", "root"),
        ("su[702]", "Successful su for postgres by root", "success", "root", "postgres"),
        ("su[703]", "FAILED su for root by bob", "failure", "bob", "root"),
        ("su[704]", "+ pts/1 alice:root", "success", "alice", "root"),
        ("su[705]", "- pts/1 bob:root", "failure", "bob", "root"),
    ],
)
def test_su(program: str, message: str, outcome: str, user: str, target: str) -> None:
    ev = line(program, message)
    assert ev["event"]["action"] == "su_switch_user"
    assert ev["event"]["outcome"] == outcome
    assert ev["user"] == {"name": user, "effective": {"name": target}}


# --- account tools -------------------------------------------------------------------------------


def test_useradd_new_user() -> None:
    ev = line("useradd[3001]", "new user: name=deploy, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/1")
    assert ev["event"]["action"] == "user_created"
    assert ev["event"]["category"] == ["iam"]
    assert ev["event"]["type"] == ["user", "creation"]
    assert ev["event"]["outcome"] == "success"
    assert ev["user"] == {"target": {"name": "deploy", "id": "0"}, "name": "deploy", "id": "0"}
    assert ev["group"] == {"id": "0"}
    assert ev["system"]["auth"]["useradd"] == {"home": "/root", "shell": "/bin/bash"}


@pytest.mark.parametrize(
    ("program", "message", "action", "target", "group", "actor"),
    [
        ("useradd[1]", "new group: name=deploy, GID=1002", "group_created", None, "deploy", None),
        ("useradd[1]", "add 'deploy' to group 'sudo'", "user_added_to_group", "deploy", "sudo", None),
        ("useradd[1]", "add 'deploy' to shadow group 'sudo'", "group_file_changed", "deploy", "sudo", None),
        ("useradd[1]", "failed adding user 'x', data deleted", "user_created", "x", None, None),
        ("userdel[2]", "delete user 'deploy'", "user_deleted", "deploy", None, None),
        ("userdel[2]", "removed group 'deploy' owned by 'deploy'", "group_deleted", None, "deploy", None),
        ("userdel[2]", "removed shadow group 'deploy' owned by 'deploy'", "group_file_changed", None, "deploy", None),
        ("usermod[3]", "change user 'bob' password", "user_password_changed", "bob", None, None),
        ("usermod[3]", "change user 'bob' shell from '/bin/sh' to '/bin/bash'", "user_changed", "bob", None, None),
        ("usermod[3]", "change user name 'bob' to 'robert'", "user_renamed", "bob", None, None),
        ("usermod[3]", "lock user 'bob' password", "user_locked", "bob", None, None),
        ("usermod[3]", "unlock user 'bob' password", "user_unlocked", "bob", None, None),
        ("usermod[3]", "delete 'bob' from group 'docker'", "user_removed_from_group", "bob", "docker", None),
        ("groupadd[4]", "group added to /etc/group: name=devs, GID=1005", "group_file_changed", None, "devs", None),
        ("groupadd[4]", "group added to /etc/gshadow: name=devs", "group_file_changed", None, "devs", None),
        ("groupadd[4]", "new group: name=devs, GID=1005", "group_created", None, "devs", None),
        ("groupdel[5]", "group 'devs' removed from /etc/group", "group_file_changed", None, "devs", None),
        ("groupdel[5]", "group 'devs' removed", "group_deleted", None, "devs", None),
        ("groupmod[6]", "group changed in /etc/group (group devs/1005, new name: ops)", "group_changed", None,
         "devs", None),
        ("passwd[7]", "password for 'bob' changed by 'root'", "user_password_changed", "bob", None, "root"),
        ("gpasswd[8]", "user bob added by root to group wheel", "user_added_to_group", "bob", "wheel", "root"),
        ("gpasswd[8]", "user bob removed by root from group wheel", "user_removed_from_group", "bob", "wheel",
         "root"),
        ("gpasswd[8]", "members of group devs set by root to alice,bob", "group_changed", None, "devs", "root"),
        ("chage[9]", "changed password expiry for bob", "user_changed", "bob", None, None),
    ],
)  # fmt: skip
def test_account_tools(
    program: str, message: str, action: str, target: str | None, group: str | None, actor: str | None
) -> None:
    ev = line(program, message)
    assert ev["event"]["action"] == action
    assert action in linux_accounts.ACTIONS
    assert ev.get("user", {}).get("target", {}).get("name") == target
    assert ev.get("group", {}).get("name") == group
    assert ev.get("user", {}).get("name") == (actor or target)
    expected_outcome = "failure" if message.startswith("failed") else "success"
    assert ev["event"]["outcome"] == expected_outcome


def test_account_tool_lines_we_do_not_know_stay_generic() -> None:
    ev = line("useradd[1]", "useradd: warning: the home directory already exists.")
    assert "action" not in ev["event"]
    assert ev["event"]["dataset"] == "syslog"


def test_every_action_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    actions = [*linux_auth.ACTIONS, *linux_accounts.ACTIONS]
    assert [a for a in actions if f"`{a}`" not in readme] == []


# --- fuzzing -------------------------------------------------------------------------------------

_WORDS = [
    "pam_unix(sshd:auth):", "pam_unix(sudo:session):", "authentication", "failure;", "rhost=", "user=",
    "session", "opened", "for", "user", "by", "(uid=0)", "root(uid=0)", ":", ";", "TTY=pts/0", "PWD=/",
    "USER=root", "COMMAND=", "new", "name=x,", "UID=1,", "GID=1,", "home=/h,", "shell=/s", "'", "add", "to",
    "group", "(to", "root)", "on", "FAILED", "SU", "PAM", "more", "10.0.0.1", "", "\x1d", "ü",
]  # fmt: skip
_PROGRAMS = ["sudo", "su", "useradd", "usermod", "userdel", "groupadd", "groupdel", "passwd", "gpasswd", "login"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(_PROGRAMS), st.one_of(st.text(max_size=200), st.lists(st.sampled_from(_WORDS), max_size=20)
       .map(" ".join)))  # fmt: skip
def test_refine_never_raises_and_leaves_unknown_messages_untouched(program: str, message: str) -> None:
    event: dict[str, Any] = {"message": message, "process": {"name": program},
                             "event": {"kind": "event", "dataset": "syslog"}}  # fmt: skip
    before = copy.deepcopy(event)
    if not linux_auth.refine_linux_auth(event):
        assert event == before
    else:
        assert event["event"]["action"] in {**linux_auth.ACTIONS, **linux_accounts.ACTIONS}
        assert validate_event({"@timestamp": "2026-01-01T00:00:00.000Z", **event}) == []


def test_long_sudo_commands_are_parsed_but_oversized_pam_lines_are_not() -> None:
    payload = "echo " + "QUJD" * 5_000 + " | base64 -d | sh"
    ev = line("sudo", f"alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/bash -c {payload}")
    assert ev["event"]["action"] == "sudo_command"  # a long command must not slip past detection
    assert ev["system"]["auth"]["sudo"]["command"].endswith("| base64 -d | sh")
    pam = line("sshd[1]", "pam_unix(sshd:auth): authentication failure; " + "x=y " * 5_000)
    assert "action" not in pam["event"]
