"""cron (Vixie/Debian cron, cronie, crontab, anacron), systemd and systemd-logind messages -> ECS.

Dataset ``system.syslog`` (as Filebeat's system module); PAM lines these programs log
(``pam_unix(cron:session): session opened ...``) go to the PAM parser and become ``system.auth``.
The command cron runs is kept in ``system.cron.command`` rather than ``process.command_line``:
``process.*`` already describes the cron process that logged the line (name, pid).
"""

from __future__ import annotations

import re
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.linux_auth import classify, refine_pam_text, set_user
from normalizers.sources.network_values import put

DATASET = "system.syslog"
MAX_MESSAGE = 8192  # cron commands can be long, but not longer than this

_PROCESS_START = ("process",), ("start",)
_PROCESS_END = ("process",), ("end",)
_PROCESS_INFO = ("process",), ("info",)
_CONFIG_CHANGE = ("configuration",), ("change",)
# event.action -> (event.category, event.type)
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cron_command": _PROCESS_START,  # (user) CMD (command)
    "cron_command_output": _PROCESS_INFO,  # cronie CMDOUT
    "cron_command_end": _PROCESS_END,  # cronie CMDEND
    "cron_mail": _PROCESS_INFO,  # output mailed / discarded
    "cron_reload": _CONFIG_CHANGE,  # crontab re-read
    "cron_started": _PROCESS_START,
    "cron_info": _PROCESS_INFO,
    "cron_error": _PROCESS_INFO,  # bad file mode, wrong owner, orphan, auth failure
    "crontab_replaced": _CONFIG_CHANGE,  # crontab -e / crontab FILE installed a new table
    "crontab_deleted": (("configuration",), ("deletion",)),
    "crontab_edit": (("configuration",), ("access",)),  # BEGIN EDIT / END EDIT
    "crontab_listed": (("configuration",), ("access",)),
    "anacron_job_started": _PROCESS_START,
    "anacron_job_ended": _PROCESS_END,
    "systemd_unit_starting": _PROCESS_START,
    "systemd_unit_started": _PROCESS_START,
    "systemd_unit_stopping": _PROCESS_END,
    "systemd_unit_stopped": _PROCESS_END,
    "systemd_unit_failed": _PROCESS_END,  # "Failed to start X." / "X: Failed with result 'exit-code'."
    "systemd_unit_deactivated": _PROCESS_END,  # "X: Deactivated successfully." / "X: Succeeded."
    "systemd_process_exited": _PROCESS_END,  # "X: Main process exited, code=exited, status=1/FAILURE"
    "systemd_unit_reloaded": _CONFIG_CHANGE,
    "systemd_reloading": _CONFIG_CHANGE,  # daemon-reload
    "systemd_target_reached": (("host",), ("info",)),
    "systemd_startup_finished": (("host",), ("start",)),
    "logind_session_opened": (("session",), ("start",)),
    "logind_session_logged_out": (("session",), ("end",)),
    "logind_session_removed": (("session",), ("end",)),
    "logind_system_shutdown": (("host",), ("end",)),
    "logind_power_key": (("host",), ("info",)),
}

# cron lines are "(user) VERB (detail)"; cronie/anacron also log "(CRON) VERB (detail)".
_CRON = re.compile(r"\((\S+?)\) ([A-Za-z][A-Za-z ]*?) \((.*)\)", re.DOTALL)
_CRON_VERBS: dict[str, tuple[str, str | None]] = {
    "CMD": ("cron_command", "success"),
    "CMDOUT": ("cron_command_output", None),
    "CMDEND": ("cron_command_end", None),
    "MAIL": ("cron_mail", None),
    "RELOAD": ("cron_reload", "success"),
    "STARTUP": ("cron_started", "success"),
    "INFO": ("cron_info", None),
    "info": ("cron_info", None),
    "REPLACE": ("crontab_replaced", "success"),
    "DELETE": ("crontab_deleted", "success"),
    "BEGIN EDIT": ("crontab_edit", None),
    "END EDIT": ("crontab_edit", None),
    "LIST": ("crontab_listed", None),
    "ORPHAN": ("cron_error", "failure"),
    "BAD FILE MODE": ("cron_error", "failure"),
    "WRONG FILE OWNER": ("cron_error", "failure"),
    "WRONG INODE INFO": ("cron_error", "failure"),
    "ERROR": ("cron_error", "failure"),
    "AUTH": ("cron_error", "failure"),
    "CAN'T OPEN": ("cron_error", "failure"),
}
_CRON_PSEUDO_USERS = frozenset({"CRON", "*system*"})
_ANACRON_JOB = re.compile(r"Job `(.*?)' (started|terminated)(?: \(.*\))?")

_UNIT_SUFFIXES = (".service", ".socket", ".timer", ".mount", ".target", ".slice", ".scope", ".path",
                  ".device", ".swap", ".automount")  # fmt: skip
# "Started nginx.service - A high performance web server." (systemd >= 247) or "Started A high ... server."
_UNIT_VERB = re.compile(r"(Starting|Started|Stopping|Stopped|Reloading|Reloaded|Failed to start) (.+?)\.{0,3}")
_UNIT_STATUS = re.compile(r"([^\s:]+): (.*)")
_STARTUP_FINISHED = re.compile(r"Startup finished in .*")
_REACHED_TARGET = re.compile(r"Reached target (.+?)\.?")
_VERB_ACTIONS = {
    "Starting": ("systemd_unit_starting", None),
    "Started": ("systemd_unit_started", "success"),
    "Stopping": ("systemd_unit_stopping", None),
    "Stopped": ("systemd_unit_stopped", "success"),
    "Reloading": ("systemd_reloading", None),
    "Reloaded": ("systemd_unit_reloaded", "success"),
    "Failed to start": ("systemd_unit_failed", "failure"),
}
_LOGIND_NEW = re.compile(r"New session (\S+) of user (.+?)\.")
_LOGIND_LOGGED_OUT = re.compile(r"Session (\S+) logged out\. Waiting for processes to exit\.")
_LOGIND_REMOVED = re.compile(r"Removed session (\S+?)\.")


def _classify(event: dict[str, Any], action: str, outcome: str | None = None) -> None:
    category, types = ACTIONS[action]
    classify(event, action, category, types, outcome)


def _cron(event: dict[str, Any], text: str) -> bool:
    m = _ANACRON_JOB.fullmatch(text)
    if m is not None:
        _classify(event, "anacron_job_started" if m.group(2) == "started" else "anacron_job_ended")
        put(event, "system", "cron", {"job": m.group(1)})
        return True
    m = _CRON.fullmatch(text)
    if m is None:
        return False
    user, verb, detail = m.groups()
    known = _CRON_VERBS.get(verb)
    if known is None:
        return False
    action, outcome = known
    _classify(event, action, outcome)
    if user not in _CRON_PSEUDO_USERS:
        set_user(event, user)
    cron: dict[str, Any] = {"command": detail} if action in ("cron_command", "cron_command_end") else {"detail": detail}
    event.setdefault("system", {})["cron"] = cron
    return True


def _systemd(event: dict[str, Any], text: str) -> bool:
    if text in ("Reloading.", "Reloading..."):  # systemctl daemon-reload
        _classify(event, "systemd_reloading")
        return True
    m = _UNIT_VERB.fullmatch(text)
    if m is not None:
        action, outcome = _VERB_ACTIONS[m.group(1)]
        subject = m.group(2)
        _classify(event, action, outcome)
        unit, _, description = subject.partition(" - ")
        if unit.endswith(_UNIT_SUFFIXES) and " " not in unit:
            _unit(event, unit, description or None)
        else:
            _unit(event, None, subject)
        return True
    if (m := _REACHED_TARGET.fullmatch(text)) is not None:
        _classify(event, "systemd_target_reached")
        _unit(event, None, m.group(1))
        return True
    if _STARTUP_FINISHED.fullmatch(text):
        _classify(event, "systemd_startup_finished", "success")
        return True
    m = _UNIT_STATUS.fullmatch(text)
    if m is None or not m.group(1).endswith(_UNIT_SUFFIXES):
        return False
    unit, status = m.groups()
    if status.startswith("Failed with result"):
        _classify(event, "systemd_unit_failed", "failure")
    elif status in ("Succeeded.", "Deactivated successfully."):
        _classify(event, "systemd_unit_deactivated", "success")
    elif status.startswith(("Main process exited", "Control process exited")):
        _classify(event, "systemd_process_exited", "success" if "status=0/SUCCESS" in status else "failure")
    else:
        return False
    _unit(event, unit, None)
    put(event, "systemd", "status", status)
    return True


def _unit(event: dict[str, Any], unit: str | None, description: str | None) -> None:
    put(event, "systemd", "unit", unit)
    put(event, "systemd", "unit_description", description)


def _logind(event: dict[str, Any], text: str) -> bool:
    if (m := _LOGIND_NEW.fullmatch(text)) is not None:
        _classify(event, "logind_session_opened", "success")
        put(event, "systemd", "session", m.group(1))
        set_user(event, m.group(2))
    elif (m := _LOGIND_LOGGED_OUT.fullmatch(text)) is not None:
        _classify(event, "logind_session_logged_out")
        put(event, "systemd", "session", m.group(1))
    elif (m := _LOGIND_REMOVED.fullmatch(text)) is not None:
        _classify(event, "logind_session_removed")
        put(event, "systemd", "session", m.group(1))
    elif text.startswith(("System is rebooting", "System is powering down", "System is halting")):
        _classify(event, "logind_system_shutdown")
    elif text.startswith("Power key pressed"):
        _classify(event, "logind_power_key")
    else:
        return False
    return True


_CRON_PROGRAMS = frozenset({"cron", "crond", "crontab", "anacron"})
_SYSTEMD_PROGRAMS = frozenset({"systemd"})
_LOGIND_PROGRAMS = frozenset({"systemd-logind"})


def refine_linux_system(event: dict[str, Any]) -> bool:
    """Fill ECS fields from a cron, systemd or logind message; False (event untouched) otherwise."""
    text: str = event["message"]
    if len(text) > MAX_MESSAGE:
        return False
    if text.startswith("pam_"):
        return refine_pam_text(event, text)
    process = event.get("process")
    program = process.get("name", "").lower() if isinstance(process, dict) else ""
    if program in _CRON_PROGRAMS:
        return _cron(event, text)
    if program in _SYSTEMD_PROGRAMS:
        return _systemd(event, text)
    if program in _LOGIND_PROGRAMS:
        return _logind(event, text)
    return False


LINUX_SYSTEM = ROUTES.add(
    SourceParser(DATASET, refine_linux_system, programs=_CRON_PROGRAMS | _SYSTEMD_PROGRAMS | _LOGIND_PROGRAMS)
)
