"""Raw text values -> ECS-typed values, shared by the web and network-device parsers.

Devices write addresses, ports and counters as text, and write them badly often enough ("N/A",
"-", a host name where an address belongs, a port of 99999). The store types ``source.ip`` as
``ip`` and ``source.port`` as ``long``, so a value goes into a typed field only when it is valid;
otherwise the parser keeps it in its vendor namespace as text.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from normalizers.timestamps import format_timestamp

_MAX_LONG = 2**63 - 1
_MAX_PORT = 65535

# IANA protocol numbers as ECS network.transport names (the ones firewalls actually log).
IANA_TRANSPORT: dict[str, str] = {
    "1": "icmp",
    "2": "igmp",
    "6": "tcp",
    "17": "udp",
    "41": "ipv6",
    "47": "gre",
    "50": "esp",
    "51": "ah",
    "58": "ipv6-icmp",
    "89": "ospf",
    "103": "pim",
    "112": "vrrp",
    "132": "sctp",
}
TRANSPORT_IANA: dict[str, str] = {name: number for number, name in IANA_TRANSPORT.items()} | {"icmpv6": "58"}


@lru_cache(maxsize=8192)
def is_ip(text: str) -> bool:
    """True when ``text`` is a plain IPv4 or IPv6 address (no zone index, no port, no brackets)."""
    if not text or len(text) > 45 or "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def as_ip(text: str | None) -> str | None:
    """The address itself when ``text`` is an IP address, else None."""
    return text if text and is_ip(text) else None


def as_port(text: str | int | None) -> int | None:
    """A TCP/UDP port (0..65535) from text or int, else None."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if 0 <= text <= _MAX_PORT else None
    if isinstance(text, str) and 0 < len(text) <= 5 and text.isascii() and text.isdigit():
        port = int(text)
        return port if port <= _MAX_PORT else None
    return None


def as_count(text: str | int | None) -> int | None:
    """A non-negative count (bytes, packets, ids) that fits a signed 64-bit long, else None."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if 0 <= text <= _MAX_LONG else None
    if isinstance(text, str) and 0 < len(text) <= 19 and text.isascii() and text.isdigit():
        value = int(text)
        return value if value <= _MAX_LONG else None
    return None


_MAC = re.compile(r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}")


def as_mac(text: str | None) -> str | None:
    """A MAC address in ECS form (``00-1A-2B-3C-4D-5E``: uppercase, hyphens), else None."""
    if not text or _MAC.fullmatch(text) is None:
        return None
    return text.upper().replace(":", "-")


def transport_name(protocol: str) -> str | None:
    """ECS ``network.transport`` for an IANA number ("6") or a protocol name ("TCP"), else None."""
    name = IANA_TRANSPORT.get(protocol)
    if name is not None:
        return name
    lowered = protocol.lower()
    if lowered == "icmpv6":
        return "ipv6-icmp"
    return lowered if lowered in TRANSPORT_IANA else None


def put(event: dict[str, Any], group: str, key: str, value: Any) -> None:
    """Set ``event[group][key]`` (one level of nesting), creating the group; None values are skipped."""
    if value is None:
        return
    node = event.get(group)
    if not isinstance(node, dict):
        node = event[group] = {}
    node[key] = value


def put_address(event: dict[str, Any], side: str, text: str | None) -> None:
    """Fill ``<side>.address`` and ``<side>.ip`` (or ``<side>.domain`` for a host name) from one address text."""
    if not text or text in ("-", "N/A", "n/a", "unknown"):
        return
    node = event.get(side)
    if not isinstance(node, dict):
        node = event[side] = {}
    node["address"] = text
    if is_ip(text):
        node["ip"] = text
    elif text.startswith("[") and text.endswith("]") and is_ip(text[1:-1]):
        node["ip"] = text[1:-1]
    elif "." in text and " " not in text:
        node["domain"] = text


def add_related(event: dict[str, Any], kind: str, *values: str | None) -> None:
    """Append distinct values to ``related.<kind>`` (``ip``, ``user``, ``hosts``, ``hash``)."""
    related = event.get("related")
    if not isinstance(related, dict):
        related = event["related"] = {}
    bucket = related.get(kind)
    if not isinstance(bucket, list):
        bucket = related[kind] = []
    for value in values:
        if value and value not in bucket:
            bucket.append(value)
    if not bucket:
        del related[kind]
        if not related:
            del event["related"]


def is_raw_line(event: dict[str, Any]) -> bool:
    """True when the syslog parser found no header: the message is the whole line and the time is the receive time."""
    tags = event.get("tags")
    return isinstance(tags, list) and "parse_failure" in tags


_HTTP_METHOD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ-_")


def put_http_request(event: dict[str, Any], request: str) -> bool:
    """Fill ``http.request.method``, ``http.version`` and ``url.*`` from "GET /path?q HTTP/1.1"; False if malformed."""
    parts = request.split(" ")
    if len(parts) == 3 and parts[2].startswith("HTTP/"):
        method, target, version = parts[0], parts[1], parts[2][5:]
    elif len(parts) == 2:  # HTTP/0.9 and some scanners send no version
        method, target, version = parts[0], parts[1], ""
    else:
        return False
    if not method or len(method) > 32 or not _HTTP_METHOD_CHARS.issuperset(method) or not target:
        return False
    http = event.get("http")
    if not isinstance(http, dict):
        http = event["http"] = {}
    http.setdefault("request", {})["method"] = method
    if version:
        http["version"] = version
    url = event.get("url")
    if not isinstance(url, dict):
        url = event["url"] = {}
    url["original"] = target
    path, _, query = target.partition("?")
    if path.startswith("/"):
        url["path"] = path
    if query:
        url["query"] = query
    return True


def put_path(event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set a nested field given its pre-split dotted name, creating parents; None values are skipped."""
    if value is None:
        return
    node = event
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def epoch_timestamp(text: str) -> str | None:
    """An epoch number in seconds, milliseconds, microseconds or nanoseconds (by its digit count) as @timestamp."""
    if not (text.isascii() and text.isdigit()) or not 9 <= len(text) <= 19:
        return None
    value = int(text)
    digits = len(text)
    seconds = value / 1e9 if digits >= 18 else value / 1e6 if digits >= 15 else value / 1e3 if digits >= 12 else value
    try:
        return format_timestamp(datetime.fromtimestamp(seconds, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None
