"""Linux authentication and account messages -> ECS, dataset ``system.auth``.

PAM module lines (``pam_unix(sshd:auth): authentication failure; ... rhost=1.2.3.4 user=root``)
from any program, sudo, su, and the shadow-utils account tools (useradd, userdel, usermod,
groupadd, groupdel, groupmod, passwd, chpasswd, gpasswd, chage, chsh, chfn). Fields follow
Filebeat's system/auth module (``system.auth.sudo.*``, ``system.auth.useradd.*``); the
``event.action`` vocabulary is listed in ``ACTIONS`` and in normalizers/README.md.
"""

from __future__ import annotations

import re
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.linux_accounts import refine_account_text
from normalizers.sources.network_values import add_related, as_count, is_ip, is_raw_line, put

DATASET = "system.auth"
# PAM and account-tool lines are short; longer text is not one of them. sudo and su lines are read
# whatever their length (their parsing is linear): a long sudo command must not escape detection.
MAX_MESSAGE = 4096

# event.action -> (event.category, event.type) for PAM, sudo and su. Account tools: linux_accounts.
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pam_auth_failure": (("authentication",), ("info",)),
    "pam_auth_failure_repeated": (("authentication",), ("info",)),  # "PAM 5 more authentication failures"
    "pam_max_retries_exceeded": (("authentication",), ("info",)),
    "pam_auth_error": (("authentication",), ("info",)),  # conversation failed, could not identify password
    "pam_user_unknown": (("authentication",), ("info",)),
    "pam_account_expired": (("authentication",), ("info",)),
    "pam_account_locked": (("authentication",), ("info",)),  # pam_faillock / pam_tally2
    "pam_session_opened": (("session",), ("start",)),
    "pam_session_closed": (("session",), ("end",)),
    "pam_password_changed": (("iam",), ("user", "change")),
    "pam_module_error": (("configuration",), ("info",)),
    "sudo_command": (("process",), ("start",)),
    "sudo_auth_failure": (("authentication",), ("info",)),
    "sudo_denied": (("process",), ("info",)),  # not in sudoers, command not allowed, password required
    "sudo_error": (("process",), ("info",)),
    "su_switch_user": (("authentication", "session"), ("start",)),
}

_PAM_LINE = re.compile(r"(pam_[\w-]{1,64})\(([^:()\s]{0,64}):(\w{1,16})\): (.*)", re.DOTALL)
_PAM_KV = re.compile(r"\b(user|rhost|ruser|tty|logname)=(\S*)")  # the pairs worth keeping
# "session opened for user root(uid=0) by alice(uid=1000)", "... for user fztu by (uid=0)".
_SESSION_OPENED = re.compile(r"session opened for user (\S+?)(?:\(uid=(\d+)\))? by (\S*?)(?:\(uid=(\d+)\))?")
_SESSION_CLOSED = re.compile(r"session closed for user (\S+)")
_PASSWORD_CHANGED = re.compile(r"password changed for (\S+)")
_ACCOUNT_EXPIRED = re.compile(r"account (\S+) has expired.*")
_FAILLOCK = re.compile(r"Consecutive login failures for user (\S+) account temporarily locked")
_TALLY = re.compile(r"user (\S+) \(\d+\) tally \d+, deny \d+")
_MORE_FAILURES = re.compile(r"PAM (\d+) more authentication failures?; (.*)")
_MAX_RETRIES = re.compile(r"PAM service\((.*?)\) ignoring max retries; (\d+) > (\d+)")
_SU_UTIL_LINUX = re.compile(r"(FAILED SU )?\(to (\S+)\) (\S+) on (\S+)")
_SU_SHADOW = re.compile(r"(Successful|FAILED) su for (\S+) by (\S+)")
_SU_SHADOW_TTY = re.compile(r"([+-]) (\S+) (\S+?):(\S+)")


def classify(
    event: dict[str, Any],
    action: str,
    category: tuple[str, ...],
    types: tuple[str, ...],
    outcome: str | None = None,
) -> None:
    """Set ``event.action``, ``event.category``, ``event.type`` and (when known) ``event.outcome``."""
    meta = event["event"]
    meta["action"] = action
    meta["category"] = list(category)
    meta["type"] = list(types)
    if outcome is not None:
        meta["outcome"] = outcome


def _classify(event: dict[str, Any], action: str, outcome: str | None = None) -> None:
    category, types = ACTIONS[action]
    classify(event, action, category, types, outcome)


def set_user(event: dict[str, Any], name: str | None, key: str = "name") -> None:
    """Set ``user.<key>`` and add the name to ``related.user``; empty names are skipped."""
    if name:
        put(event, "user", key, name)
        add_related(event, "user", name)


def _auth(event: dict[str, Any], group: str, key: str, value: Any) -> None:
    """Set ``system.auth.<group>.<key>`` (Filebeat's namespace); empty values are skipped."""
    if value is None or value == "":
        return
    auth = event.setdefault("system", {}).setdefault("auth", {})
    auth.setdefault(group, {})[key] = value


# --- PAM -----------------------------------------------------------------------------------------


def refine_pam_text(event: dict[str, Any], text: str) -> bool:
    """Fill ECS fields from a PAM line as any program logs it; False (event untouched) if not one we know."""
    if len(text) > MAX_MESSAGE:
        return False
    if text.startswith("PAM "):
        return _pam_library(event, text)
    m = _PAM_LINE.fullmatch(text)
    if m is None:
        return False
    module, service, module_type, detail = m.groups()
    if not _pam_detail(event, detail):
        return False
    auth = event.setdefault("system", {}).setdefault("auth", {})
    pam = {"module": module, "service": service, "module_type": module_type}
    if not service:
        del pam["service"]
    if "pam" in auth:  # the detail already added tty, ruser or logname
        auth["pam"].update(pam)
    else:
        auth["pam"] = pam
    event["event"]["dataset"] = DATASET
    return True


def _pam_detail(event: dict[str, Any], detail: str) -> bool:
    if detail.startswith("authentication failure; "):
        _classify(event, "pam_auth_failure", "failure")
        _pam_fields(event, detail)
        return True
    if detail.startswith("session "):
        m = _SESSION_OPENED.fullmatch(detail)
        if m is not None:
            target, target_id, by, by_id = m.groups()
            _classify(event, "pam_session_opened", "success")
            # As Filebeat: the user who opened the session (sudo's caller) is user.name and the
            # account the session runs as is user.effective.name; with no "by" name, it is user.name.
            if by:
                set_user(event, by)
                put(event, "user", "id", by_id)
                event["user"]["effective"] = {"name": target} | ({"id": target_id} if target_id else {})
                add_related(event, "user", target)
            else:
                set_user(event, target)
                put(event, "user", "id", target_id)
            return True
        m = _SESSION_CLOSED.fullmatch(detail)
        if m is not None:
            _classify(event, "pam_session_closed")
            set_user(event, m.group(1))
            return True
        return False
    if detail in ("check pass; user unknown", "bad username []") or detail.startswith("bad username "):
        _classify(event, "pam_user_unknown", "failure")
        return True
    if detail.startswith(("auth could not identify password for", "conversation failed")):
        _classify(event, "pam_auth_error", "failure")
        return True
    simple = (
        (_PASSWORD_CHANGED, "pam_password_changed", "success"),
        (_ACCOUNT_EXPIRED, "pam_account_expired", "failure"),
        (_FAILLOCK, "pam_account_locked", "failure"),
        (_TALLY, "pam_account_locked", "failure"),
    )
    for pattern, action, outcome in simple:
        m = pattern.fullmatch(detail)
        if m is not None:
            _classify(event, action, outcome)
            set_user(event, m.group(1))
            if action == "pam_password_changed":
                event["user"]["target"] = {"name": m.group(1)}
            return True
    return False


def _pam_fields(event: dict[str, Any], text: str) -> None:
    """The ``key=value`` pairs PAM appends to failures: the account, remote host and tty."""
    extra: dict[str, str] = {}
    for key, value in _PAM_KV.findall(text):
        if not value:
            continue
        if key == "user":
            set_user(event, value)
        elif key == "rhost":
            source: dict[str, Any] = {"address": value}
            if is_ip(value):
                source["ip"] = value
                add_related(event, "ip", value)
            elif "." in value:
                source["domain"] = value
            event["source"] = source
        else:
            extra[key] = value
    if extra:
        event.setdefault("system", {}).setdefault("auth", {}).setdefault("pam", {}).update(extra)


def _pam_library(event: dict[str, Any], text: str) -> bool:
    """Lines libpam itself writes: "PAM 2 more authentication failures; ...", retries, broken modules."""
    m = _MORE_FAILURES.fullmatch(text)
    if m is not None:
        _classify(event, "pam_auth_failure_repeated", "failure")
        _auth(event, "pam", "failures", as_count(m.group(1)))
        _pam_fields(event, m.group(2))
    elif (m := _MAX_RETRIES.fullmatch(text)) is not None:
        _classify(event, "pam_max_retries_exceeded", "failure")
        _auth(event, "pam", "service", m.group(1))
        _auth(event, "pam", "failures", as_count(m.group(2)))
    elif text.startswith(("PAM adding faulty module", "PAM unable to dlopen")):
        _classify(event, "pam_module_error", "failure")
    else:
        return False
    event["event"]["dataset"] = DATASET
    return True


# --- sudo ----------------------------------------------------------------------------------------


def _sudo(event: dict[str, Any], text: str) -> bool:
    """``alice : [error ; ]TTY=pts/0 ; PWD=/home/alice ; USER=root ; [GROUP=.. ; ]COMMAND=/bin/ls -l``."""
    user, sep, rest = text.partition(" : ")
    user = user.strip()
    if not sep or not user or " " in user:
        return False
    command_at = rest.find("COMMAND=")
    head = rest if command_at < 0 else rest[:command_at]
    fields: dict[str, str] = {}
    errors: list[str] = []
    for part in head.split(" ; "):
        part = part.strip(" ;")
        if not part:
            continue
        key, eq, value = part.partition("=")
        if eq and key.isupper() and key.isalpha():
            fields[key] = value
        else:
            errors.append(part)
    if "TTY" not in fields and command_at < 0:
        return False
    error = " ; ".join(errors)
    if not error:
        _classify(event, "sudo_command", "success")
    elif "incorrect password attempt" in error:
        _classify(event, "sudo_auth_failure", "failure")
    elif "NOT in sudoers" in error or "not allowed" in error or "password is required" in error:
        _classify(event, "sudo_denied", "failure")
    else:
        _classify(event, "sudo_error", "failure")
    set_user(event, user)
    runas = fields.get("USER")
    if runas:
        put(event, "user", "effective", {"name": runas})
        add_related(event, "user", runas)
    _auth(event, "sudo", "error", error)
    _auth(event, "sudo", "tty", fields.get("TTY"))
    _auth(event, "sudo", "pwd", fields.get("PWD"))
    _auth(event, "sudo", "user", runas)
    _auth(event, "sudo", "group", fields.get("GROUP"))
    if command_at >= 0:
        _auth(event, "sudo", "command", rest[command_at + len("COMMAND=") :])
    return True


# --- su ------------------------------------------------------------------------------------------


def _su(event: dict[str, Any], text: str) -> bool:
    """util-linux "(to root) alice on pts/0" / "FAILED SU (to root) ..." and shadow's su lines."""
    m = _SU_UTIL_LINUX.fullmatch(text)
    if m is not None:
        failed, target, user, tty = m.groups()
        outcome = "failure" if failed else "success"
    elif (m := _SU_SHADOW.fullmatch(text)) is not None:
        verdict, target, user = m.groups()
        outcome, tty = ("success" if verdict == "Successful" else "failure"), None
    elif (m := _SU_SHADOW_TTY.fullmatch(text)) is not None:
        sign, tty, user, target = m.groups()
        outcome = "success" if sign == "+" else "failure"
    else:
        return False
    _classify(event, "su_switch_user", outcome)
    set_user(event, user)
    put(event, "user", "effective", {"name": target})
    add_related(event, "user", target)
    _auth(event, "su", "tty", tty)
    return True


# --- routing -------------------------------------------------------------------------------------

_SUDO_PROGRAMS = frozenset({"sudo"})
_SU_PROGRAMS = frozenset({"su", "su-l"})
ACCOUNT_PROGRAMS = frozenset({
    "useradd", "userdel", "usermod", "groupadd", "groupdel", "groupmod", "passwd", "chpasswd",
    "gpasswd", "chage", "chsh", "chfn", "newusers",
})  # fmt: skip


def refine_linux_auth(event: dict[str, Any]) -> bool:
    """Fill ECS fields from a sudo, su, account-tool or PAM message; False (event untouched) otherwise."""
    text: str = event["message"]
    if text.startswith(("pam_", "PAM ")):
        return refine_pam_text(event, text)
    process = event.get("process")
    program = process.get("name", "").lower() if isinstance(process, dict) else ""
    if program in _SUDO_PROGRAMS:
        return _sudo(event, text)
    if program in _SU_PROGRAMS:
        return _su(event, text)
    if program in ACCOUNT_PROGRAMS and len(text) <= MAX_MESSAGE:
        return refine_account_text(event, program, text)
    return False


def _refine_pam_only(event: dict[str, Any]) -> bool:
    # A PAM line with no syslog header carries no time of its own: it stays a parse failure.
    return not is_raw_line(event) and refine_pam_text(event, event["message"])


def _looks_like_pam(message: str) -> bool:
    return message.startswith("pam_") and "): " in message


LINUX_AUTH = ROUTES.add(
    SourceParser(DATASET, refine_linux_auth, programs=_SUDO_PROGRAMS | _SU_PROGRAMS | ACCOUNT_PROGRAMS | {"login"})
)
# PAM lines from programs no parser owns (login managers, ftp daemons, polkit, cockpit, ...).
PAM = ROUTES.add(SourceParser(DATASET, _refine_pam_only, sniff=_looks_like_pam))
