"""shadow-utils account messages (useradd, userdel, usermod, groupadd, groupdel, groupmod, passwd,
chpasswd, gpasswd, chage, chsh, chfn) -> ECS ``iam`` events; routed through ``linux_auth``.

The account acted upon goes to ``user.target.*`` (as Winlogbeat does for 4720) and, when the log
does not name who acted, also to ``user.name``/``user.id`` (as Filebeat's system/auth module does),
so rules written either way match. Each tool writes one line per file it edits (/etc/group and
/etc/gshadow); only one of them carries the main action, the others are ``group_file_changed``,
so that counting ``group_created`` counts groups, not files.
"""

from __future__ import annotations

import re
from typing import Any

from normalizers.sources.network_values import add_related, as_count, put

_USER = ("iam",), ("user", "change")
_GROUP = ("iam",), ("group", "change")
# event.action -> (event.category, event.type)
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "user_created": (("iam",), ("user", "creation")),
    "user_deleted": (("iam",), ("user", "deletion")),
    "user_changed": _USER,  # shell, home, uid, gid, expiry, comment changed
    "user_renamed": _USER,
    "user_password_changed": _USER,
    "user_locked": _USER,
    "user_unlocked": _USER,
    "user_added_to_group": _GROUP,
    "user_removed_from_group": _GROUP,
    "group_created": (("iam",), ("group", "creation")),
    "group_deleted": (("iam",), ("group", "deletion")),
    "group_changed": _GROUP,  # renamed, gid, password, members, administrators
    "group_file_changed": _GROUP,  # the /etc/gshadow (or /etc/group) twin of a line above
}

# Each rule: pattern, action, and which groups hold (target user, target uid, group, gid, actor).
_Slots = tuple[int | None, int | None, int | None, int | None, int | None]
_RULES: tuple[tuple[re.Pattern[str], str, _Slots], ...] = tuple(
    (re.compile(pattern), action, slots)
    for pattern, action, slots in (
        (r"new user: name=([^,]*), UID=(\d+), GID=(\d+), home=([^,]*), shell=([^,]*)(?:, from=.*)?",
         "user_created", (1, 2, None, 3, None)),
        (r"new group: name=([^,]*), GID=(\d+)", "group_created", (None, None, 1, 2, None)),
        (r"group added to /etc/group: name=([^,]*)(?:, GID=(\d+))?.*", "group_file_changed", (None, None, 1, 2, None)),
        (r"group added to /etc/gshadow: name=([^,]*).*", "group_file_changed", (None, None, 1, None, None)),
        (r"failed adding user '(.*?)', .*", "user_created", (1, None, None, None, None)),
        (r"delete user '(.*?)'", "user_deleted", (1, None, None, None, None)),
        (r"removed group '(.*?)' owned by '.*?'", "group_deleted", (None, None, 1, None, None)),
        (r"removed shadow group '(.*?)' owned by '.*?'", "group_file_changed", (None, None, 1, None, None)),
        (r"group '(.*?)' removed", "group_deleted", (None, None, 1, None, None)),
        (r"group '(.*?)' removed from /etc/\S+", "group_file_changed", (None, None, 1, None, None)),
        (r"add '(.*?)' to group '(.*?)'", "user_added_to_group", (1, None, 2, None, None)),
        (r"add '(.*?)' to shadow group '(.*?)'", "group_file_changed", (1, None, 2, None, None)),
        (r"delete '(.*?)' from group '(.*?)'", "user_removed_from_group", (1, None, 2, None, None)),
        (r"delete '(.*?)' from shadow group '(.*?)'", "group_file_changed", (1, None, 2, None, None)),
        (r"change user '(.*?)' password", "user_password_changed", (1, None, None, None, None)),
        (r"change user name '(.*?)' to '.*?'", "user_renamed", (1, None, None, None, None)),
        (r"change user '(.*?)' (?:shell|home|UID|GID|expiration|inactive|comment|mail file owner) .*",
         "user_changed", (1, None, None, None, None)),
        (r"lock user '(.*?)' password", "user_locked", (1, None, None, None, None)),
        (r"unlock user '(.*?)' password", "user_unlocked", (1, None, None, None, None)),
        (r"group changed in /etc/group \(group (.*?)/(\d+), .*\)", "group_changed", (None, None, 1, 2, None)),
        (r"group changed in /etc/gshadow \(group (.*?), .*\)", "group_file_changed", (None, None, 1, None, None)),
        (r"password for '(.*?)' changed(?: by '(.*?)')?", "user_password_changed", (1, None, None, None, 2)),
        (r"user (\S+) added by (\S+) to group (\S+)", "user_added_to_group", (1, None, 3, None, 2)),
        (r"user (\S+) removed by (\S+) from group (\S+)", "user_removed_from_group", (1, None, 3, None, 2)),
        (r"(?:password of group|members of group|group) (\S+) (?:changed|removed|set|administrators set) by (\S+).*",
         "group_changed", (None, None, 1, None, 2)),
        (r"changed password expiry for (\S+)", "user_changed", (1, None, None, None, None)),
        (r"changed user '(.*?)' (?:shell|information).*", "user_changed", (1, None, None, None, None)),
    )
)  # fmt: skip

# The useradd "new user" line also names the home and shell (Filebeat: system.auth.useradd.*).
_NEW_USER_HOME_SHELL = (4, 5)


def refine_account_text(event: dict[str, Any], program: str, text: str) -> bool:
    """Fill ``iam`` fields from one shadow-utils line; False (event untouched) when it is not one we know."""
    for pattern, action, slots in _RULES:
        m = pattern.fullmatch(text)
        if m is not None:
            _fill(event, m, action, slots)
            if action == "user_created" and m.lastindex and m.lastindex >= 5:
                useradd = event.setdefault("system", {}).setdefault("auth", {}).setdefault("useradd", {})
                useradd["home"], useradd["shell"] = (m.group(i) for i in _NEW_USER_HOME_SHELL)
            if text.startswith("failed"):
                event["event"]["outcome"] = "failure"
            return True
    return False


def _fill(event: dict[str, Any], m: re.Match[str], action: str, slots: _Slots) -> None:
    category, types = ACTIONS[action]
    event["event"].update(action=action, category=list(category), type=list(types), outcome="success")
    target, target_id, group, gid, actor = (m.group(i) if i is not None else None for i in slots)
    if target:
        user = event.setdefault("user", {})
        user["target"] = {"name": target} | ({"id": target_id} if target_id else {})
        add_related(event, "user", target)
        if not actor:
            user["name"] = target
            if target_id:
                user["id"] = target_id
    if actor:
        put(event, "user", "name", actor)
        add_related(event, "user", actor)
    if group:
        put(event, "group", "name", group)
    if gid and as_count(gid) is not None:
        put(event, "group", "id", gid)
