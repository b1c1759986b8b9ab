"""Apache httpd and Nginx access logs (Common and Combined Log Format) -> ECS (``apache.access``, ``nginx.access``).

``1.2.3.4 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://ref/" "Mozilla/5.0"``,
optionally preceded by a virtual host (``www.example.com:443 1.2.3.4 - - [...]``, Apache's
``vhost_combined``) and followed by extra fields (kept in ``message`` only). Lines arrive raw from
files (the sniffer path) or inside syslog from the programs ``httpd``, ``apache``, ``apache2`` and
``nginx``; the same programs also send error-log lines, so the program route tries both formats.

Nginx's default ``combined`` format is Apache's, so a line alone does not say which server wrote
it: the program name or the file path (``/var/log/nginx/...``) decides, else ``apache.access``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.network_values import as_count, as_port, put_address, put_http_request
from normalizers.sources.web_error import refine_error
from normalizers.timestamps import format_timestamp

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
# Space-separated tokens cannot end before a space, so their quantifiers are possessive ({m,n}+):
# a line that is not an access line fails at once instead of backtracking through every split.
_ACCESS = re.compile(
    r'(?:([^\s\[\]"]{1,300}+) )?([^\s\[\]"]{1,300}+) ([^\s\[]{1,300}+) ([^\s\[]{1,300}+) '
    r"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d(?: [+-]\d{4})?)\] "
    rf"{_QUOTED} (\d{{3}}|-) (\d{{1,19}}|-)"
    rf"(?: {_QUOTED} {_QUOTED})?",
    re.DOTALL,
)
_ACCESS_SNIFF = re.compile(r'(?:[^\s\[\]"]++ )?[^\s\[\]"]++ [^\s\[]++ [^\s\[]++ \[\d\d/[A-Z][a-z]{2}/\d{4}:')
_APACHE_PROGRAMS = frozenset({"httpd", "apache", "apache2", "httpd-error", "apache-access", "apache-error"})
_NGINX_PROGRAMS = frozenset({"nginx"})
_NIL = "-"

_TIME_CACHE: dict[str, str | None] = {}
_TIME_CACHE_SIZE = 4096


def sniff_access(message: str) -> bool:
    """Cheap test: does this raw line look like a Common/Combined Log Format line?"""
    return '] "' in message and _ACCESS_SNIFF.match(message) is not None


def refine_access(event: dict[str, Any], family: str | None = None) -> bool:
    """Fill ECS fields from an access-log line; False when the message is not in that format."""
    line = event["message"].rstrip("\r\n")
    m = _ACCESS.match(line)
    if m is None:
        return False
    vhost, client, _ident, user, stamp, request, status, size, referrer, agent = m.groups()
    when = _access_time(stamp)
    if when is None:
        return False
    event["@timestamp"] = when
    event["message"] = line
    family = family or _family_from_path(event)
    meta = event["event"]
    meta["kind"] = "event"
    meta["category"] = ["web"]
    meta["type"] = ["access"]
    meta["action"] = "http_request"
    meta["dataset"] = f"{family}.access"
    meta["module"] = family
    put_address(event, "source", client)
    if user != _NIL:
        event["user"] = {"name": user}
    if vhost:
        _put_vhost(event, vhost)
    put_http_request(event, request)
    http = event.setdefault("http", {})
    if status != _NIL:
        code = int(status)
        http["response"] = {"status_code": code}
        meta["outcome"] = "success" if code < 400 else "failure"
    body = as_count(size)
    if body is not None:
        http.setdefault("response", {})["body"] = {"bytes": body}
    if referrer and referrer != _NIL:
        http.setdefault("request", {})["referrer"] = referrer
    if not http:
        del event["http"]
    if agent and agent != _NIL:
        event["user_agent"] = {"original": agent}
    return True


def _put_vhost(event: dict[str, Any], vhost: str) -> None:
    host, sep, port_text = vhost.rpartition(":")
    port = as_port(port_text) if sep else None
    if port is None:
        host = vhost
    put_address(event, "destination", host)
    if port is not None and "address" in event.get("destination", {}):
        event["destination"]["port"] = port


def _family_from_path(event: dict[str, Any]) -> str:
    log = event.get("log")
    path = log.get("file", {}).get("path", "") if isinstance(log, dict) else ""
    return "nginx" if isinstance(path, str) and "nginx" in path.lower() else "apache"


def _access_time(text: str) -> str | None:
    """``10/Oct/2000:13:55:36 -0700`` as @timestamp; memoized because a busy server logs many lines a second."""
    cached = _TIME_CACHE.get(text, "")
    if cached != "":
        return cached
    result: str | None = None
    month = _MONTHS.get(text[3:6])
    if month is not None:
        offset = text[21:26]
        try:
            zone = UTC
            if offset:
                minutes = int(offset[1:3]) * 60 + int(offset[3:5])
                zone = timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
            when = datetime(
                int(text[7:11]), month, int(text[0:2]), int(text[12:14]), int(text[15:17]), int(text[18:20]), 0, zone
            )
            result = format_timestamp(when)
        except (ValueError, OverflowError):
            result = None
    if len(_TIME_CACHE) >= _TIME_CACHE_SIZE:
        _TIME_CACHE.clear()
    _TIME_CACHE[text] = result
    return result


def refine_web_program(event: dict[str, Any]) -> bool:
    """For syslog lines from httpd/apache2/nginx: an access-log line, else an error-log line."""
    process = event.get("process")
    program = process.get("name", "").lower() if isinstance(process, dict) else ""
    family = "nginx" if program in _NGINX_PROGRAMS else "apache"
    return refine_access(event, family) or refine_error(event, family)


def _refine_sniffed(event: dict[str, Any]) -> bool:
    return refine_access(event)


ACCESS_LOG = ROUTES.add(SourceParser(dataset="apache.access", refine=_refine_sniffed, sniff=sniff_access))
WEB_SERVER_PROGRAMS = ROUTES.add(
    SourceParser(dataset="apache.access", refine=refine_web_program, programs=_APACHE_PROGRAMS | _NGINX_PROGRAMS)
)
