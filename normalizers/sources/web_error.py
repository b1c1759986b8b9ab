"""Apache httpd (2.2 and 2.4) and Nginx error logs -> ECS (``apache.error``, ``nginx.error``).

Apache 2.2: ``[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden ...``
Apache 2.4: ``[Wed Oct 11 14:32:52.123456 2023] [core:error] [pid 123:tid 456] [client 1.2.3.4:5678]
AH00126: Invalid URI ...`` (sent to syslog, Apache drops the leading time).
Nginx: ``2023/10/11 14:32:52 [error] 123#0: *1 open() "/x" failed (2: No such file or directory),
client: 1.2.3.4, server: example.com, request: "GET /x HTTP/1.1", host: "example.com"``.

The times in both formats carry no zone; they are read as UTC (see normalizers/README.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.network_values import as_port, is_raw_line, put, put_address, put_http_request
from normalizers.timestamps import format_timestamp

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
_MAX_ID_DIGITS = 18  # pid/tid/connection ids stay inside a signed 64-bit long
_ERROR_LEVELS = frozenset({"emerg", "alert", "crit", "error", "warn"})

_APACHE_TIME = r"[A-Z][a-z]{2} [A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})? \d{4}"
_APACHE = re.compile(
    rf"(?:\[(?P<time>{_APACHE_TIME})\] )?"
    r"\[(?:(?P<module>[\w.-]{0,64}):)?(?P<level>emerg|alert|crit|error|warn|notice|info|debug|trace[1-8])\]"
    r"(?: \[pid (?P<pid>\d{1,18})(?::tid (?P<tid>\d{1,20}))?\])?"
    r"(?: \((?P<errno>-?\d{1,9})\)(?P<errtext>[^\[\]:]{0,200}):)?"
    r"(?: \[(?:client|remote) (?P<client>[^\]\s]{1,300})\])?"
    r"(?: (?P<code>AH\d{5}):)?"
    r" ?(?P<text>.*)",
    re.DOTALL,
)
_APACHE_SNIFF = re.compile(rf"\[{_APACHE_TIME}\] \[")
_NGINX = re.compile(
    r"(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>debug|info|notice|warn|error|crit|alert|emerg)\] "
    r"(?P<pid>\d{1,18})#(?P<tid>\d{1,18}): (?:\*(?P<cid>\d{1,18}) )?(?P<text>.*)",
    re.DOTALL,
)
_NGINX_SNIFF = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[a-z]+\] \d+#\d+: ")
# Nginx appends context as ", name: value" pairs; quoted values may hold commas.
_NGINX_CONTEXT = re.compile(r', (client|server|request|upstream|host|referrer|subrequest): ("(?:[^"\\]|\\.)*"|[^,]*)')

# (literal in the message, event.action, event.outcome, extra event.category, extra event.type). The
# first literal found wins, so specific phrases come before general ones.
_Rule = tuple[str, str, str | None, str | None, str | None]
_MESSAGE_RULES: tuple[_Rule, ...] = (
    # mod_jk / jk2 (Tomcat connector) lines, the bulk of older Apache error logs
    ("in scoreboard slot", "scoreboard_child_found", None, None, None),
    ("Can't find child", "scoreboard_child_missing", None, None, None),
    ("workerEnv.init() ok", "worker_env_init", "success", None, None),
    ("workerEnv in error state", "worker_env_error_state", "failure", None, None),
    ("mod_jk child init", "worker_child_init", None, None, None),
    # access control and authentication
    ("irectory index forbidden", "directory_index_forbidden", "failure", None, "denied"),
    ("directory index of", "directory_index_forbidden", "failure", None, "denied"),
    ("Cannot serve directory", "directory_index_forbidden", "failure", None, "denied"),
    ("client denied by server configuration", "access_denied", "failure", None, "denied"),
    ("access forbidden by rule", "access_denied", "failure", None, "denied"),
    ("ModSecurity: Access denied", "modsecurity_access_denied", "failure", "intrusion_detection", "denied"),
    ("ModSecurity: Warning", "modsecurity_warning", None, "intrusion_detection", "info"),
    ("ModSecurity", "modsecurity_message", None, "intrusion_detection", "info"),
    ("assword Mismatch", "authentication_failed", "failure", "authentication", None),
    ("password mismatch", "authentication_failed", "failure", "authentication", None),
    ("authentication failure", "authentication_failed", "failure", "authentication", None),
    ("was not found in", "user_not_found", "failure", "authentication", None),
    ("user not found", "user_not_found", "failure", "authentication", None),
    ("limiting requests", "rate_limited", "failure", None, "denied"),
    ("limiting connections", "connection_limited", "failure", None, "denied"),
    # files and scripts
    ("File does not exist", "file_not_found", "failure", None, None),
    ("(2: No such file or directory)", "file_not_found", "failure", None, None),
    ("script not found or unable to stat", "script_not_found", "failure", None, None),
    ("Permission denied", "permission_denied", "failure", None, "denied"),
    ("End of script output before headers", "script_error", "failure", None, None),
    ("Premature end of script headers", "script_error", "failure", None, None),
    ("Timeout waiting for output from CGI script", "script_timeout", "failure", None, None),
    ("FastCGI sent in stderr", "fastcgi_stderr", None, None, None),
    ("PHP Fatal error", "php_error", "failure", None, None),
    ("PHP Parse error", "php_error", "failure", None, None),
    ("PHP Warning", "php_warning", None, None, None),
    ("PHP Notice", "php_notice", None, None, None),
    ("PHP Deprecated", "php_notice", None, None, None),
    # malformed and oversized requests
    ("Invalid URI in request", "invalid_request", "failure", None, None),
    ("Invalid method in request", "invalid_request", "failure", None, None),
    ("client sent invalid", "invalid_request", "failure", None, None),
    ("request failed:", "invalid_request", "failure", None, None),
    ("too large body", "request_body_too_large", "failure", None, "denied"),
    ("client intended to send too large", "request_body_too_large", "failure", None, "denied"),
    ("SSL_do_handshake() failed", "tls_handshake_failed", "failure", None, None),
    ("SSL handshake failed", "tls_handshake_failed", "failure", None, None),
    ("SSL Library Error", "tls_error", "failure", None, None),
    # upstreams (reverse proxy)
    ("upstream timed out", "upstream_timeout", "failure", None, None),
    ("no live upstreams", "no_live_upstreams", "failure", None, None),
    ("upstream prematurely closed", "upstream_closed", "failure", None, None),
    ("while connecting to upstream", "upstream_connect_failed", "failure", None, None),
    ("Error dispatching request to", "upstream_connect_failed", "failure", None, None),
    ("upstream sent too big header", "upstream_header_too_big", "failure", None, None),
    ("Connection reset by peer", "connection_reset", None, None, None),
    ("client prematurely closed", "client_closed", None, None, None),
    ("client closed", "client_closed", None, None, None),
    # server life cycle and capacity
    ("resuming normal operations", "server_start", "success", "process", "start"),
    ("start worker process", "worker_start", "success", "process", "start"),
    ("caught SIGTERM, shutting down", "server_stop", "success", "process", "end"),
    ("gracefully shutting down", "server_stop", "success", "process", "end"),
    ("exited with code", "worker_exit", None, "process", "end"),
    ("exiting", "worker_exit", None, "process", "end"),
    ("Graceful restart requested", "server_restart", None, "process", "change"),
    ("SIGHUP received", "server_restart", None, "process", "change"),
    ("SIGUSR1 received", "server_restart", None, "process", "change"),
    ("reconfiguring", "server_reload", None, "process", "change"),
    ("MaxRequestWorkers", "max_workers_reached", None, None, None),
    ("MaxClients", "max_workers_reached", None, None, None),
    ("worker_connections are not enough", "max_workers_reached", None, None, None),
    ("bind() to", "bind_failed", "failure", None, None),
    ("could not bind to address", "bind_failed", "failure", None, None),
    ("Address already in use", "bind_failed", "failure", None, None),
    ("Could not reliably determine the server's fully qualified domain name", "configuration_warning", None,
     "configuration", None),
    (".conf:", "configuration_error", "failure", "configuration", None),
)  # fmt: skip
# Apache 2.4 message codes that name the action without reading the text.
_AH_CODES: dict[str, str] = {
    "AH00128": "file_not_found",
    "AH01630": "access_denied",
    "AH01276": "directory_index_forbidden",
    "AH01617": "authentication_failed",
    "AH01618": "user_not_found",
    "AH00126": "invalid_request",
    "AH01264": "script_not_found",
    "AH00163": "server_start",
    "AH00489": "server_start",
    "AH00491": "server_stop",
    "AH00493": "server_restart",
    "AH00484": "max_workers_reached",
    "AH01220": "script_timeout",
    "AH01071": "fastcgi_stderr",
    "AH01075": "upstream_connect_failed",
    "AH00072": "bind_failed",
}
_RULE_BY_ACTION: dict[str, _Rule] = {}
for _rule in _MESSAGE_RULES:
    _RULE_BY_ACTION.setdefault(_rule[1], _rule)
FALLBACK_ACTION = "error_log_message"

_TIME_CACHE: dict[str, str | None] = {}
_TIME_CACHE_SIZE = 4096


def sniff_error(message: str) -> bool:
    """Cheap test: does this raw line start like an Apache or Nginx error-log line?"""
    first = message[:1]
    if first == "[":
        return _APACHE_SNIFF.match(message) is not None
    if first.isdigit():
        return message[4:5] == "/" and _NGINX_SNIFF.match(message) is not None
    return False


def refine_error(event: dict[str, Any], family: str | None = None) -> bool:
    """Fill ECS fields from an Apache or Nginx error-log message; False when it is neither format."""
    line = event["message"].rstrip("\r\n")
    if family != "apache":
        m = _NGINX.match(line)
        if m is not None:
            _nginx_fields(event, m)
            return True
    if family != "nginx":
        m = _APACHE.match(line)
        if m is not None:
            _apache_fields(event, m)
            return True
    return False


def _apache_fields(event: dict[str, Any], m: re.Match[str]) -> None:
    stamp = m.group("time")
    if stamp and is_raw_line(event):
        when = _apache_time(stamp)
        if when:
            event["@timestamp"] = when
    text = m.group("text")
    code = m.group("code")
    event["message"] = text
    if code:
        event["event"]["code"] = code
    module = m.group("module")
    if module:
        put(event, "apache", "error", {"module": module})
    _process_fields(event, m.group("pid"), m.group("tid"))
    errno = m.group("errno")
    if errno is not None:
        event["error"] = {"code": errno, "message": m.group("errtext").strip()}
    client = m.group("client")
    if client:
        _put_client(event, client, with_port=m.group("pid") is not None)
    referrer_at = text.rfind(", referer: ")
    if referrer_at >= 0:
        _put_referrer(event, text[referrer_at + 11 :])
    action = _AH_CODES.get(code) if code else None
    # The OS error ("(13)Permission denied") often names the problem better than the text after it.
    described = f"{m.group('errtext')}: {text}" if errno is not None else text
    _classify(event, m.group("level"), described, action, "apache.error")


def _nginx_fields(event: dict[str, Any], m: re.Match[str]) -> None:
    if is_raw_line(event):
        when = _nginx_time(m.group("time"))
        if when:
            event["@timestamp"] = when
    text = m.group("text")
    _process_fields(event, m.group("pid"), m.group("tid"))
    cid = m.group("cid")
    nginx: dict[str, Any] = {}
    if cid:
        nginx["connection_id"] = int(cid)
    context_at = text.find(", client: ")
    if context_at < 0:
        context_at = text.find(", server: ")
    if context_at >= 0:
        for name, raw in _NGINX_CONTEXT.findall(text, context_at):
            value = raw[1:-1] if raw.startswith('"') and raw.endswith('"') and len(raw) > 1 else raw
            _nginx_context(event, nginx, name, value)
        text = text[:context_at]
    if nginx:
        put(event, "nginx", "error", nginx)
    event["message"] = text
    _classify(event, m.group("level"), text, None, "nginx.error")


def _nginx_context(event: dict[str, Any], nginx: dict[str, Any], name: str, value: str) -> None:
    if name == "client":
        put_address(event, "source", value)
    elif name == "request":
        if not put_http_request(event, value):
            nginx["request"] = value
    elif name == "host":
        put(event, "url", "domain", value)
    elif name == "referrer":
        _put_referrer(event, value)
    else:
        nginx[name] = value


def _process_fields(event: dict[str, Any], pid: str | None, tid: str | None) -> None:
    process: dict[str, Any] = event.get("process") if isinstance(event.get("process"), dict) else {}
    if pid:
        process["pid"] = int(pid)
    if tid and len(tid) <= _MAX_ID_DIGITS:
        process["thread"] = {"id": int(tid)}
    if process:
        event["process"] = process


def _put_client(event: dict[str, Any], client: str, with_port: bool) -> None:
    """Apache 2.4 (the format with ``[pid ...]``) writes ``address:port``, for IPv6 too, without brackets;
    Apache 2.2 writes the address alone, so its last colon is part of an IPv6 address."""
    if with_port:
        host, sep, port_text = client.rpartition(":")
        port = as_port(port_text)
        if sep and port is not None and host:
            put_address(event, "source", host)
            if "address" in event.get("source", {}):
                event["source"]["port"] = port
            return
    put_address(event, "source", client)


def _put_referrer(event: dict[str, Any], referrer: str) -> None:
    http = event.setdefault("http", {})
    http.setdefault("request", {})["referrer"] = referrer


def _classify(event: dict[str, Any], level: str, text: str, action: str | None, dataset: str) -> None:
    """Set log.level and event.* from the level and the message text."""
    meta = event["event"]
    meta["kind"] = "event"
    meta["dataset"] = dataset
    meta["module"] = dataset.partition(".")[0]
    put(event, "log", "level", level)
    categories = ["web"]
    types = ["error" if level in _ERROR_LEVELS else "info"]
    rule = _RULE_BY_ACTION.get(action) if action else None
    if rule is None and action is None:
        rule = next((r for r in _MESSAGE_RULES if r[0] in text), None)
    if rule is not None:
        action, outcome, category, type_ = rule[1], rule[2], rule[3], rule[4]
        if outcome:
            meta["outcome"] = outcome
        if category:
            categories.append(category)
        if type_ and type_ not in types:
            types.append(type_)
    meta["action"] = action or FALLBACK_ACTION
    meta["category"] = categories
    meta["type"] = types


def _apache_time(text: str) -> str | None:
    """``Sun Dec 04 04:47:44 2005`` or ``Wed Oct 11 14:32:52.123456 2023`` as @timestamp (read as UTC)."""
    cached = _TIME_CACHE.get(text, "")
    if cached != "":
        return cached
    parts = text.split()
    result: str | None = None
    month = _MONTHS.get(parts[1]) if len(parts) == 5 else None
    if month is not None:
        clock, _, fraction = parts[3].partition(".")
        hour, minute, second = clock.split(":")
        micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
        try:
            when = datetime(int(parts[4]), month, int(parts[2]), int(hour), int(minute), int(second), micro)
        except ValueError:
            when = None
        result = format_timestamp(when) if when else None
    return _remember(text, result)


def _nginx_time(text: str) -> str | None:
    """``2023/10/11 14:32:52`` as @timestamp (read as UTC)."""
    cached = _TIME_CACHE.get(text, "")
    if cached != "":
        return cached
    try:
        when: datetime | None = datetime(
            int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]), int(text[17:19])
        )
    except ValueError:
        when = None
    return _remember(text, format_timestamp(when) if when else None)


def _remember(text: str, result: str | None) -> str | None:
    if len(_TIME_CACHE) >= _TIME_CACHE_SIZE:
        _TIME_CACHE.clear()
    _TIME_CACHE[text] = result
    return result


def _refine_sniffed(event: dict[str, Any]) -> bool:
    return refine_error(event)


ERROR_LOG = ROUTES.add(SourceParser(dataset="apache.error", refine=_refine_sniffed, sniff=sniff_error))
