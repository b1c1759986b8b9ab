"""OpenSSH server (``sshd``, ``sshd-session``, ``sshd-auth``) syslog messages -> ECS, dataset ``system.auth``.

Fields follow Filebeat's system/auth module (``user.name``, ``source.ip``/``source.domain``,
``source.port``, ``system.auth.ssh.event``/``method``/``signature``). ``event.action`` comes from
the documented vocabulary in ``ACTIONS`` (see normalizers/README.md): detection rules key on it, so
a name, once shipped, keeps its meaning. PAM lines that sshd logs (``pam_unix(sshd:auth): ...``)
are read by the PAM parser in ``linux_auth``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.linux_auth import refine_pam_text
from normalizers.sources.network_values import as_count, as_port, is_ip, put

DATASET = "system.auth"

# event.action -> (event.category, event.type). The vocabulary is part of Sontra's interface.
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ssh_login": (("authentication",), ("info",)),  # Accepted/Failed <method> for <user>
    "ssh_auth_postponed": (("authentication",), ("info",)),  # Postponed/Partial (multi-step auth)
    "ssh_invalid_user": (("authentication",), ("info",)),  # Invalid user X from IP
    "ssh_invalid_user_request": (("authentication",), ("info",)),  # input_userauth_request: invalid user X
    "ssh_too_many_auth_failures": (("authentication",), ("info",)),
    "ssh_user_not_allowed": (("authentication",), ("info",)),  # AllowUsers/DenyUsers, ROOT LOGIN REFUSED
    "ssh_auth_refused": (("authentication",), ("info",)),  # bad ownership or modes of key files
    "ssh_pam_auth_failure": (("authentication",), ("info",)),  # error: PAM: Authentication failure
    "ssh_auth_timeout": (("authentication",), ("info",)),
    "ssh_connection_opened": (("network",), ("connection", "start")),
    "ssh_disconnect": (("network",), ("connection", "end")),
    "ssh_connection_closed": (("network",), ("connection", "end")),
    "ssh_connection_reset": (("network",), ("connection", "end")),
    "ssh_no_identification": (("network",), ("connection",)),  # port touched, no SSH banner sent
    "ssh_protocol_error": (("network",), ("protocol",)),  # bad banner, no common algorithms, MAC errors
    "ssh_break_in_attempt": (("intrusion_detection", "network"), ("info",)),  # forward/reverse DNS mismatch
    "ssh_session_started": (("session",), ("start",)),
    "ssh_session_closed": (("session",), ("end",)),
    "ssh_subsystem_request": (("session",), ("info",)),
    "ssh_server_listening": (("process",), ("start",)),
    "ssh_server_stopped": (("process",), ("end",)),
    "ssh_error": (("network",), ("info",)),  # any other "error: ..." line
    "ssh_fatal_error": (("network",), ("info",)),  # any other "fatal: ..." line
}

_PREAUTH = " [preauth]"
# sshd lines are short, but a client chooses the user name it sends: allow long ones, while keeping
# the regexes' worst case (many " from " in one name) bounded.
MAX_MESSAGE = 16384
_ADDR = r"(?P<addr>\S+)"
_PORT = r"(?: port (?P<port>\d+))?"
_USER_IP_PORT = rf"(?P<user>.*?) {_ADDR} port (?P<port>\d+)"


@dataclass(frozen=True, slots=True)
class _Rule:
    """One message form: its pattern (named groups say which field each part fills) and its action."""

    pattern: re.Pattern[str]
    action: str
    outcome: str | None = None
    user: str | None = None  # for forms that name the account in their fixed text (ROOT LOGIN REFUSED)


def _rule(pattern: str, action: str, outcome: str | None = None, user: str | None = None) -> _Rule:
    return _Rule(re.compile(pattern), action, outcome, user)


# Rules by the message's first word, tried in order. Group names: user, addr, port, domain (the name
# a client's address resolved to), daddr/dport, saddr/sport (server), verdict, method, signature,
# code, reason, error, banner, session_type, subsystem.
_RULES: dict[str, tuple[_Rule, ...]] = {
    "Accepted": (
        _rule(rf"(?P<verdict>Accepted|Failed|Postponed|Partial) (?P<method>\S+) for (?:invalid user )?(?P<user>.*?) "
              rf"from {_ADDR} port (?P<port>\d+)(?: ssh[12])?(?:: (?P<signature>.*))?", "ssh_login"),
    ),
    "Invalid": (_rule(rf"Invalid user (?P<user>.*?) from {_ADDR}{_PORT}", "ssh_invalid_user", "failure"),),
    "input_userauth_request:": (
        _rule(r"input_userauth_request: invalid user (?P<user>.*)", "ssh_invalid_user_request", "failure"),
    ),
    "Connection": (
        _rule(rf"Connection closed by (?:(?:authenticating|invalid) user (?P<user>.*?) )?{_ADDR}{_PORT}",
              "ssh_connection_closed"),
        _rule(rf"Connection reset by (?:(?:authenticating|invalid) user (?P<user>.*?) )?{_ADDR}{_PORT}",
              "ssh_connection_reset"),
        _rule(rf"Connection from {_ADDR} port (?P<port>\d+) on (?P<daddr>\S+) port (?P<dport>\d+)(?: rdomain .*)?",
              "ssh_connection_opened"),
    ),
    # OpenSSH < 7.3: "from 1.2.3.4: 11: Bye Bye"; later: "from 1.2.3.4 port 5:11: Bye Bye".
    "Received": (
        _rule(rf"Received disconnect from {_ADDR}{_PORT}: ?(?P<code>\d+): ?(?P<reason>.*)", "ssh_disconnect"),
        _rule(r"Received signal \d+; terminating\.", "ssh_server_stopped"),
    ),
    "Disconnected": (
        _rule(rf"Disconnected from (?:(?:user|authenticating user|invalid user) (?P<user>.*?) )?{_ADDR}{_PORT}",
              "ssh_disconnect"),
    ),
    "Disconnecting:": (
        _rule(r"Disconnecting: Too many authentication failures(?: for (?:invalid user )?(?P<user>.*))?",
              "ssh_too_many_auth_failures", "failure"),
        _rule(r"Disconnecting: (?P<reason>.*)", "ssh_disconnect"),
    ),
    "Disconnecting": (
        _rule(rf"Disconnecting (?:authenticating|invalid) user {_USER_IP_PORT}: Too many authentication failures.*",
              "ssh_too_many_auth_failures", "failure"),
        _rule(rf"Disconnecting (?:authenticating|invalid) user {_USER_IP_PORT}: (?P<reason>.*)", "ssh_disconnect"),
    ),
    "maximum": (
        _rule(rf"maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*?) from {_ADDR} "
              r"port (?P<port>\d+)(?: ssh2)?", "ssh_too_many_auth_failures", "failure"),
    ),
    "Did": (_rule(rf"Did not receive identification string from {_ADDR}{_PORT}", "ssh_no_identification", "failure"),),
    "reverse": (
        _rule(r"reverse mapping checking getaddrinfo for (?P<domain>\S+) \[(?P<addr>[^\]]+)\] failed.*",
              "ssh_break_in_attempt"),
    ),
    "Address": (
        _rule(r"Address (?P<addr>\S+) maps to (?P<domain>\S+), but this does not map back to the address.*",
              "ssh_break_in_attempt"),
    ),
    "Bad": (
        _rule(rf"Bad protocol version identification '(?P<banner>.*)' from {_ADDR}{_PORT}", "ssh_protocol_error",
              "failure"),
    ),
    "Unable": (
        _rule(rf"Unable to negotiate with {_ADDR} port (?P<port>\d+): (?P<error>.*)", "ssh_protocol_error", "failure"),
    ),
    "banner": (
        _rule(rf"banner exchange: Connection from {_ADDR} port (?P<port>\d+): (?P<error>.*)", "ssh_protocol_error",
              "failure"),
    ),
    "ssh_dispatch_run_fatal:": (
        _rule(rf"ssh_dispatch_run_fatal: Connection from {_ADDR} port (?P<port>\d+): (?P<error>.*)",
              "ssh_protocol_error", "failure"),
    ),
    "kex_exchange_identification:": (
        _rule(r"kex_exchange_identification: (?P<error>.*)", "ssh_protocol_error", "failure"),
    ),
    "Timeout": (_rule(rf"Timeout before authentication for {_ADDR}{_PORT}", "ssh_auth_timeout", "failure"),),
    "User": (
        _rule(rf"User (?P<user>.*?) (?:from {_ADDR} )?not allowed because (?P<error>.*)", "ssh_user_not_allowed",
              "failure"),
    ),
    "ROOT": (_rule(rf"ROOT LOGIN REFUSED FROM {_ADDR}{_PORT}", "ssh_user_not_allowed", "failure", user="root"),),
    # An open session belongs to a real account, so the user is one word (this also keeps the match linear).
    "Starting": (
        _rule(rf"Starting session: (?P<session_type>.*?) for (?P<user>\S+) from {_ADDR} port (?P<port>\d+)"
              r"(?: id \d+)?", "ssh_session_started", "success"),
    ),
    "Close": (
        _rule(rf"Close session: user (?P<user>.*?) from {_ADDR} port (?P<port>\d+)(?: id \d+)?", "ssh_session_closed"),
    ),
    "subsystem": (
        _rule(r"subsystem request for (?P<subsystem>\S+) by user (?P<user>.*?) failed, subsystem not found",
              "ssh_subsystem_request", "failure"),
        _rule(r"subsystem request for (?P<subsystem>\S+) by user (?P<user>.*)", "ssh_subsystem_request", "success"),
    ),
    "Authentication": (_rule(r"Authentication refused: (?P<error>.*)", "ssh_auth_refused", "failure"),),
    "PAM:": (
        _rule(rf"PAM: Authentication failure for (?:illegal user )?(?P<user>.*?) from {_ADDR}",
              "ssh_pam_auth_failure", "failure"),
    ),
    "Server": (
        _rule(r"Server listening on (?P<saddr>\S+) port (?P<sport>\d+)\.?", "ssh_server_listening", "success"),
    ),
}  # fmt: skip
for _verdict in ("Failed", "Postponed", "Partial"):
    _RULES[_verdict] = _RULES["Accepted"]
# system.auth.ssh.<name> for each group that has no ECS home.
_SSH_KEYS = {"method": "method", "signature": "signature", "reason": "disconnect_reason", "error": "error",
             "banner": "client_banner", "session_type": "session_type", "subsystem": "subsystem"}  # fmt: skip


def _classify(event: dict[str, Any], action: str, outcome: str | None = None) -> None:
    categories, types = ACTIONS[action]
    meta = event["event"]
    meta["action"] = action
    meta["category"] = list(categories)
    meta["type"] = list(types)
    if outcome is not None:
        meta["outcome"] = outcome


def _relate(event: dict[str, Any], kind: str, value: str) -> None:
    """Append to ``related.<kind>`` (inline and cheap: most sshd lines carry an address or a user)."""
    related = event.get("related")
    if not isinstance(related, dict):
        event["related"] = {kind: [value]}
        return
    bucket = related.get(kind)
    if not isinstance(bucket, list):
        related[kind] = [value]
    elif value not in bucket:
        bucket.append(value)


def _endpoint(event: dict[str, Any], side: str, address: str | None, port: str | None) -> None:
    """Fill ``<side>.*`` from an address as sshd logged it (an IP, or the host name it resolved to)."""
    if not address:
        return
    if is_ip(address):
        node: dict[str, Any] = {"address": address, "ip": address}
        _relate(event, "ip", address)
    else:
        node = {"address": address}
        if "." in address:
            node["domain"] = address
    if port is not None and (number := as_port(port)) is not None:
        node["port"] = number
    event[side] = node


def _apply(event: dict[str, Any], rule: _Rule, groups: dict[str, str | None]) -> None:
    """Fill the event from a matched rule: action, outcome, user, endpoints and system.auth.ssh.*."""
    action, outcome = rule.action, rule.outcome
    ssh: dict[str, Any] = {}
    verdict = groups.get("verdict")
    if verdict is not None:  # Accepted/Failed are logins; Postponed/Partial are steps of one
        ssh["event"] = verdict
        if verdict in ("Accepted", "Failed"):
            outcome = "success" if verdict == "Accepted" else "failure"
        else:
            action = "ssh_auth_postponed"
    elif action == "ssh_invalid_user":
        ssh["event"] = "Invalid"
    _classify(event, action, outcome)
    if verdict == "Accepted":
        event["event"]["category"].append("session")
    # Surrounding blanks ("invalid user  0101") are not part of a name anyone searches for; the raw
    # line keeps them in event.original.
    user = (groups.get("user") or rule.user or "").strip()
    if user:
        event["user"] = {"name": user}
        _relate(event, "user", user)
    _endpoint(event, "source", groups.get("addr"), groups.get("port"))
    for group, value in groups.items():
        if not value:
            continue
        key = _SSH_KEYS.get(group)
        if key is not None:
            ssh[key] = value.strip()
        elif group == "domain" and "source" in event:
            event["source"]["domain"] = value
        elif group == "code" and (code := as_count(value)) is not None:
            ssh["disconnect_code"] = code
        elif group == "daddr":
            _endpoint(event, "destination", value, groups.get("dport"))
        elif group == "saddr":
            _endpoint(event, "server", value, groups.get("sport"))
    if ssh:
        event.setdefault("system", {}).setdefault("auth", {})["ssh"] = ssh


def _dispatch(event: dict[str, Any], body: str) -> bool:
    if body.startswith(("pam_", "PAM ")):
        return refine_pam_text(event, body)
    space = body.find(" ")
    for rule in _RULES.get(body[:space] if space > 0 else body, ()):
        m = rule.pattern.fullmatch(body)
        if m is not None:
            _apply(event, rule, m.groupdict())
            return True
    return False


def refine_sshd(event: dict[str, Any]) -> bool:
    """Fill ECS fields from an sshd message; False (event untouched) when the message is not one we know."""
    body: str = event["message"]
    if len(body) > MAX_MESSAGE:
        return False
    if body.endswith(_PREAUTH):
        body = body[: -len(_PREAUTH)]
    level = None
    if body.startswith(("error: ", "fatal: ")):
        level, body = body[:5], body[7:]
    if _dispatch(event, body):
        if level is not None:
            put(event, "log", "level", level)
        return True
    if level is None:
        return False
    if "Connection reset by peer" in body:
        _classify(event, "ssh_connection_reset")
    else:
        _classify(event, "ssh_error" if level == "error" else "ssh_fatal_error")
    event.setdefault("system", {}).setdefault("auth", {})["ssh"] = {"error": body}
    put(event, "log", "level", level)
    return True


SSHD = ROUTES.add(SourceParser(DATASET, refine_sshd, programs=frozenset({"sshd", "sshd-session", "sshd-auth"})))
