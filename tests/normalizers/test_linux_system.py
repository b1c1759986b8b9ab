"""cron, crontab, anacron, systemd and systemd-logind -> ECS (lines as Debian/Ubuntu/RHEL write them)."""

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
from normalizers.sources import linux_system

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[2] / "normalizers" / "README.md"


def line(program: str, message: str) -> dict[str, Any]:
    ev = normalize(RawRecord(f"Nov 20 10:00:00 db-02 {program}: {message}", RECEIVED, "/var/log/syslog"))
    assert validate_event(ev) == []
    return ev


def test_cron_command_run_as_a_user() -> None:
    ev = line("CRON[40211]", "(www-data) CMD (php /var/www/cron.php >/dev/null 2>&1)")
    assert ev["event"]["action"] == "cron_command"
    assert ev["event"]["category"] == ["process"]
    assert ev["event"]["type"] == ["start"]
    assert ev["event"]["dataset"] == "system.syslog"
    assert ev["user"]["name"] == "www-data"
    assert ev["system"]["cron"] == {"command": "php /var/www/cron.php >/dev/null 2>&1"}
    assert ev["process"] == {"name": "CRON", "pid": 40211}


def test_cron_command_with_parentheses_inside() -> None:
    command = "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )"
    ev = line("CRON[1]", f"(root) CMD ({command})")
    assert ev["system"]["cron"]["command"] == command


@pytest.mark.parametrize(
    ("program", "message", "action", "user"),
    [
        ("crontab[2201]", "(mallory) REPLACE (mallory)", "crontab_replaced", "mallory"),
        ("crontab[2202]", "(alice) BEGIN EDIT (alice)", "crontab_edit", "alice"),
        ("crontab[2203]", "(alice) END EDIT (alice)", "crontab_edit", "alice"),
        ("crontab[2204]", "(alice) DELETE (alice)", "crontab_deleted", "alice"),
        ("crontab[2205]", "(root) LIST (root)", "crontab_listed", "root"),
        ("cron[700]", "(*system*) RELOAD (/etc/crontab)", "cron_reload", None),
        ("cron[700]", "(CRON) INFO (pidfile fd = 3)", "cron_info", None),
        ("cron[700]", "(CRON) INFO (Running @reboot jobs)", "cron_info", None),
        ("CRON[701]", "(root) MAIL (mailed 57 bytes of output but got status 0x004b from MTA)", "cron_mail", "root"),
        ("crond[800]", "(CRON) STARTUP (1.5.7)", "cron_started", None),
        ("CROND[801]", "(root) CMDEND (run-parts /etc/cron.hourly)", "cron_command_end", "root"),
        ("CROND[801]", "(root) CMDOUT (run-parts: done)", "cron_command_output", "root"),
        ("crond[800]", "(bob) ORPHAN (no passwd entry)", "cron_error", "bob"),
        ("cron[700]", "(*system*) WRONG FILE OWNER (/etc/crontab)", "cron_error", None),
        ("anacron[900]", "Job `cron.daily' started", "anacron_job_started", None),
        ("anacron[900]", "Job `cron.daily' terminated (produced output)", "anacron_job_ended", None),
    ],
)
def test_cron_family(program: str, message: str, action: str, user: str | None) -> None:
    ev = line(program, message)
    assert ev["event"]["action"] == action
    assert ev.get("user", {}).get("name") == user


def test_crontab_replace_is_a_configuration_change() -> None:
    ev = line("crontab[2201]", "(mallory) REPLACE (mallory)")
    assert (ev["event"]["category"], ev["event"]["type"]) == (["configuration"], ["change"])


def test_cron_pam_session_lines_are_auth_events() -> None:
    ev = line("CRON[40211]", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
    assert ev["event"]["action"] == "pam_session_opened"
    assert ev["event"]["dataset"] == "system.auth"


@pytest.mark.parametrize(
    ("message", "action", "unit", "description", "outcome"),
    [
        ("Started nginx.service - A high performance web server and a reverse proxy server.",
         "systemd_unit_started", "nginx.service", "A high performance web server and a reverse proxy server",
         "success"),
        ("Started Session 12 of user alice.", "systemd_unit_started", None, "Session 12 of user alice", "success"),
        ("Starting Daily apt upgrade and clean activities...", "systemd_unit_starting", None,
         "Daily apt upgrade and clean activities", None),
        ("Stopping OpenBSD Secure Shell server...", "systemd_unit_stopping", None, "OpenBSD Secure Shell server", None),
        ("Stopped ssh.service - OpenBSD Secure Shell server.", "systemd_unit_stopped", "ssh.service",
         "OpenBSD Secure Shell server", "success"),
        ("Failed to start MySQL Community Server.", "systemd_unit_failed", None, "MySQL Community Server", "failure"),
        ("mysql.service: Failed with result 'exit-code'.", "systemd_unit_failed", "mysql.service", None, "failure"),
        ("mysql.service: Main process exited, code=exited, status=1/FAILURE", "systemd_process_exited",
         "mysql.service", None, "failure"),
        ("apt-daily.service: Deactivated successfully.", "systemd_unit_deactivated", "apt-daily.service", None,
         "success"),
        ("logrotate.service: Succeeded.", "systemd_unit_deactivated", "logrotate.service", None, "success"),
        ("Reloading.", "systemd_reloading", None, None, None),
        ("Reloaded nginx.service - A high performance web server.", "systemd_unit_reloaded", "nginx.service",
         "A high performance web server", "success"),
        ("Reached target Multi-User System.", "systemd_target_reached", None, "Multi-User System", None),
        ("Startup finished in 2.1s (kernel) + 5.3s (userspace) = 7.4s.", "systemd_startup_finished", None, None,
         "success"),
    ],
)  # fmt: skip
def test_systemd(message: str, action: str, unit: str | None, description: str | None, outcome: str | None) -> None:
    ev = line("systemd[1]", message)
    assert ev["event"]["action"] == action
    assert ev.get("systemd", {}).get("unit") == unit
    assert ev.get("systemd", {}).get("unit_description") == description
    assert ev["event"].get("outcome") == outcome


def test_unknown_systemd_messages_stay_generic() -> None:
    ev = line("systemd[1]", "Condition check resulted in Getty on tty1 being skipped.")
    assert "action" not in ev["event"]
    assert ev["event"]["dataset"] == "syslog"


@pytest.mark.parametrize(
    ("message", "action", "session", "user"),
    [
        ("New session 42 of user alice.", "logind_session_opened", "42", "alice"),
        ("New session c3 of user gdm.", "logind_session_opened", "c3", "gdm"),
        ("Session 42 logged out. Waiting for processes to exit.", "logind_session_logged_out", "42", None),
        ("Removed session 42.", "logind_session_removed", "42", None),
        ("System is rebooting.", "logind_system_shutdown", None, None),
        ("Power key pressed.", "logind_power_key", None, None),
    ],
)
def test_logind(message: str, action: str, session: str | None, user: str | None) -> None:
    ev = line("systemd-logind[612]", message)
    assert ev["event"]["action"] == action
    assert ev.get("systemd", {}).get("session") == session
    assert ev.get("user", {}).get("name") == user


def test_every_action_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    assert [a for a in linux_system.ACTIONS if f"`{a}`" not in readme] == []


_WORDS = ["(root)", "CMD", "(", ")", "REPLACE", "Started", "Starting", "x.service", "-", ":", "Failed", "with",
          "result", "New", "session", "of", "user", "Removed", ".", "...", "Job", "`x'", "started", ""]  # fmt: skip
_PROGRAMS = ["cron", "CRON", "crond", "crontab", "anacron", "systemd", "systemd-logind"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(_PROGRAMS), st.one_of(st.text(max_size=200), st.lists(st.sampled_from(_WORDS), max_size=20)
       .map(" ".join)))  # fmt: skip
def test_refine_never_raises_and_leaves_unknown_messages_untouched(program: str, message: str) -> None:
    event: dict[str, Any] = {"message": message, "process": {"name": program},
                             "event": {"kind": "event", "dataset": "syslog"}}  # fmt: skip
    before = copy.deepcopy(event)
    if not linux_system.refine_linux_system(event):
        assert event == before
    else:
        assert validate_event({"@timestamp": "2026-01-01T00:00:00.000Z", **event}) == []
