"""FortiGate (FortiOS) key=value syslog -> ECS + ``fortinet.firewall.*`` (``fortinet.firewall``).

``date=2023-10-11 time=14:32:52 devname="FG100E" devid="FG100E3G16000001" logid="0000000013"
type="traffic" subtype="forward" level="notice" vd="root" srcip=10.0.1.5 srcport=51234 ...``

FortiOS sends no syslog program name (often no syslog timestamp either), so lines are claimed by
content: ``logid=`` together with ``devid=`` or ``devname=``. The mapping follows Filebeat's
fortinet module: every key=value lands in ``fortinet.firewall.*`` as text, except the ones moved
to ECS fields (addresses, ports, counters, interfaces, policy as ``rule.*``); ``type``, ``subtype``
and ``action`` stay in both places.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.network_values import (
    add_related,
    as_count,
    as_ip,
    as_mac,
    as_port,
    epoch_timestamp,
    put_path,
    transport_name,
)
from normalizers.timestamps import format_timestamp

DATASET = "fortinet.firewall"
# key=value or key="quoted value" (with \" inside); the quoted part is written unrolled for speed.
_PAIR = re.compile(r'([A-Za-z_][\w-]{0,63})=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)')
_EMPTY = frozenset({"", "N/A", "undefined"})
_PRI = re.compile(r"^<\d{1,3}>")
_TIME_CACHE: dict[tuple[str, str, str], str | None] = {}
_TIME_CACHE_SIZE = 4096


def _ip(value: str) -> str | None:
    return as_ip(value)


def _lower(value: str) -> str:
    return value.lower()


def _text(value: str) -> str:
    return value


# FortiOS key -> (ECS field, converter, keep the key in fortinet.firewall too). A value the
# converter rejects (None) stays in fortinet.firewall only.
_Converter = Any
_MAPPING: dict[str, tuple[tuple[str, ...], str, _Converter, bool]] = {
    name: (tuple(field.split(".")[:-1]), field.rpartition(".")[2], convert, keep)
    for name, field, convert, keep in (
        ("devname", "observer.name", _text, False),
        ("devid", "observer.serial_number", _text, False),
        ("logid", "event.code", _text, False),
        ("level", "log.level", _text, False),
        ("srcip", "source.ip", _ip, False),
        ("srcport", "source.port", as_port, False),
        ("srcmac", "source.mac", as_mac, False),
        ("srcdomain", "source.domain", _text, False),
        ("locip", "source.ip", _ip, False),
        ("locport", "source.port", as_port, False),
        ("sentbyte", "source.bytes", as_count, False),
        ("sentpkt", "source.packets", as_count, False),
        ("transip", "source.nat.ip", _ip, False),
        ("transport", "source.nat.port", as_port, False),
        ("dstip", "destination.ip", _ip, False),
        ("dstport", "destination.port", as_port, False),
        ("dstmac", "destination.mac", as_mac, False),
        ("dstname", "destination.address", _text, False),
        ("remip", "destination.ip", _ip, False),
        ("remport", "destination.port", as_port, False),
        ("rcvdbyte", "destination.bytes", as_count, False),
        ("rcvdpkt", "destination.packets", as_count, False),
        ("tranip", "destination.nat.ip", _ip, False),
        ("tranport", "destination.nat.port", as_port, False),
        ("srcintf", "observer.ingress.interface.name", _text, False),
        ("dstintf", "observer.egress.interface.name", _text, False),
        ("proto", "network.iana_number", _text, False),
        ("service", "network.protocol", _lower, False),
        ("app", "network.application", _lower, False),
        ("policyid", "rule.id", _text, False),
        ("policyname", "rule.name", _text, False),
        ("poluuid", "rule.uuid", _text, False),
        ("policytype", "rule.ruleset", _text, False),
        ("appcat", "rule.category", _text, False),
        ("logdesc", "rule.description", _text, False),
        ("user", "source.user.name", _text, False),
        ("unauthuser", "source.user.name", _text, False),
        ("group", "source.user.group.name", _text, False),
        ("hostname", "url.domain", _text, False),
        ("url", "url.original", _text, False),
        ("agent", "user_agent.original", _text, False),
        ("filename", "file.name", _text, False),
        ("filesize", "file.size", as_count, False),
        ("filetype", "file.extension", _text, False),
        ("qname", "dns.question.name", _text, False),
        ("qtype", "dns.question.type", _text, False),
        ("qclass", "dns.question.class", _text, False),
        ("xid", "dns.id", _text, False),
        ("reason", "event.reason", _text, False),
        ("error_num", "error.code", _text, False),
        ("action", "event.action", _text, True),
    )
}  # fmt: skip
_ALLOWED_ACTIONS = frozenset({"accept", "close", "timeout", "server-rst", "client-rst", "start", "pass", "passthrough",
                              "exempt", "allow", "permit", "monitored", "detected"})  # fmt: skip
_DENIED_ACTIONS = frozenset({"deny", "block", "blocked", "dropped", "drop", "reset", "reject", "ip-conn",
                             "quarantine", "analytics", "blacklist"})  # fmt: skip
_UTM_CATEGORIES = {
    "virus": "malware",
    "ips": "intrusion_detection",
    "anomaly": "intrusion_detection",
    "webfilter": "web",
    "waf": "web",
    "dlp": "file",
    "emailfilter": "email",
    "ssh": "network",
    "ssl": "network",
}
_LOGON_ACTIONS = frozenset({"login", "auth-logon", "fsso-logon", "logon"})
_LOGOFF_ACTIONS = frozenset({"logout", "auth-logout", "fsso-logoff", "logoff"})
_CONFIG_TYPES = {"add": "creation", "edit": "change", "delete": "deletion", "move": "change"}


def sniff(message: str) -> bool:
    """Cheap test for a FortiGate key=value line."""
    # FortiOS can also send CEF ("FTNTFGTlogid=..."): that belongs to the CEF parser, whatever the sniffer order.
    return "logid=" in message and ("devid=" in message or "devname=" in message) and "CEF:" not in message


def refine(event: dict[str, Any]) -> bool:
    """Fill ECS and ``fortinet.firewall.*`` from a FortiGate key=value line; False when it has no pairs."""
    pairs: dict[str, str] = {}
    for key, raw in _PAIR.findall(event["message"]):
        if raw[:1] == '"':
            raw = raw[1:-1]
            if "\\" in raw:
                raw = raw.replace('\\"', '"')
        if raw not in _EMPTY:
            pairs[key] = raw
    if "logid" not in pairs:
        return False
    vendor: dict[str, str] = {}
    for key, value in pairs.items():
        mapped = _MAPPING.get(key)
        if mapped is None:
            vendor[key] = value
            continue
        parents, leaf, convert, keep = mapped
        converted = convert(value)
        if converted is None or keep:
            vendor[key] = value
        if converted is not None:  # put_path, inlined: this loop runs for every pair of every line
            node = event
            for part in parents:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
            node[leaf] = converted
    event["fortinet"] = {"firewall": vendor}
    observer = event.setdefault("observer", {})
    observer.update(vendor="Fortinet", product="FortiGate", type="firewall")
    _timestamp(event, pairs)
    _network(event, pairs)
    _categorize(event, pairs)
    msg = pairs.get("msg")
    if msg:
        event["message"] = msg
    elif event["message"].startswith("<"):  # a raw line: drop the "<189>" PRI the syslog parser left in
        event["message"] = _PRI.sub("", event["message"], count=1)
    catdesc = pairs.get("catdesc")
    if catdesc and "category" not in event.get("rule", {}):
        put_path(event, ("rule", "category"), catdesc)
    url = event.get("url")
    if isinstance(url, dict) and url.get("original", "").startswith("/"):
        path, _, query = url["original"].partition("?")
        url["path"] = path
        if query:
            url["query"] = query
    user = pairs.get("user") or pairs.get("unauthuser")
    if user:
        event["user"] = {"name": user}
    add_related(event, "ip", event.get("source", {}).get("ip"), event.get("destination", {}).get("ip"))
    if user:
        add_related(event, "user", user)
    return True


def _timestamp(event: dict[str, Any], pairs: dict[str, str]) -> None:
    """FortiOS's own time: date + time in its ``tz`` offset, else ``eventtime`` (epoch), else date + time as UTC."""
    date, clock = pairs.get("date"), pairs.get("time")
    stamp: str | None = None
    tz = pairs.get("tz")
    if date and clock and tz:
        stamp = _local_time(date, clock, tz)
    if stamp is None and "eventtime" in pairs:
        stamp = epoch_timestamp(pairs["eventtime"])
    if stamp is None and date and clock:
        stamp = _local_time(date, clock, "+0000")
    if stamp is not None:
        event["@timestamp"] = stamp
    duration = as_count(pairs.get("duration"))
    if duration is not None and duration < 9_000_000_000:
        event["event"]["duration"] = duration * 1_000_000_000


def _local_time(date: str, clock: str, tz: str) -> str | None:
    """``date`` + ``time`` in the ``tz`` offset as @timestamp; memoized because a firewall logs many lines a second."""
    key = (date, clock, tz)
    cached = _TIME_CACHE.get(key, "")
    if cached != "":
        return cached
    if len(_TIME_CACHE) >= _TIME_CACHE_SIZE:
        _TIME_CACHE.clear()
    result = _TIME_CACHE[key] = _convert_local_time(date, clock, tz)
    return result


def _convert_local_time(date: str, clock: str, tz: str) -> str | None:
    if len(tz) != 5 or tz[0] not in "+-" or not tz[1:].isdigit():
        return None
    try:
        minutes = int(tz[1:3]) * 60 + int(tz[3:5])
        zone = timezone(timedelta(minutes=-minutes if tz[0] == "-" else minutes))
        year, month, day = date.split("-")
        hour, minute, second = clock.split(":")
        when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone)
        return format_timestamp(when)
    except (ValueError, OverflowError):
        return None


def _network(event: dict[str, Any], pairs: dict[str, str]) -> None:
    network = event.get("network")
    if isinstance(network, dict) and "iana_number" in network:
        transport = transport_name(network["iana_number"])
        if transport:
            network["transport"] = transport
    source, destination = event.get("source", {}), event.get("destination", {})
    if "bytes" in source and "bytes" in destination:
        event.setdefault("network", {})["bytes"] = source["bytes"] + destination["bytes"]
    if "packets" in source and "packets" in destination:
        event.setdefault("network", {})["packets"] = source["packets"] + destination["packets"]
    direction = (pairs.get("direction") or pairs.get("dir") or "").lower()
    if direction:
        event.setdefault("network", {})["direction"] = {"incoming": "inbound", "outgoing": "outbound"}.get(
            direction, direction
        )
    resolved = pairs.get("ipaddr")
    if resolved:
        ips = [ip for ip in (part.strip() for part in resolved.split(",")) if as_ip(ip)]
        if ips:
            put_path(event, ("dns", "resolved_ip"), ips)


def _categorize(event: dict[str, Any], pairs: dict[str, str]) -> None:
    """event.kind/category/type/outcome by log type (traffic, utm, event), as Filebeat's fortinet module does."""
    meta = event["event"]
    log_type, subtype = pairs.get("type", ""), pairs.get("subtype", "")
    action = pairs.get("action", "").lower()
    meta["kind"] = "event"
    categories: list[str] = []
    types: list[str] = []
    if log_type == "traffic":
        categories.append("network")
        types.append("connection")
        if action == "start":
            types.append("start")
        elif action:
            types.append("end")
        _allowed_or_denied(meta, types, action, pairs.get("utmaction", "").lower())
    elif log_type in ("utm", "dns") or subtype in _UTM_CATEGORIES:
        if subtype in ("virus", "ips", "anomaly") or "attack" in pairs:
            meta["kind"] = "alert"
        categories.append("network")
        extra = _UTM_CATEGORIES.get(subtype)
        if extra and extra != "network":
            categories.append(extra)
        if subtype == "dns" or log_type == "dns":
            types.append("protocol")
        _allowed_or_denied(meta, types, action, "")
        if not types:
            types.append("info")
    else:
        _system_event(meta, categories, types, subtype, action, pairs)
    meta["category"] = categories
    meta["type"] = types
    if "action" not in meta:
        description = pairs.get("logdesc")
        meta["action"] = description.lower().replace(" ", "-") if description else (subtype or log_type or "log")


def _allowed_or_denied(meta: dict[str, Any], types: list[str], action: str, utm_action: str) -> None:
    if action in _DENIED_ACTIONS or utm_action in ("block", "blocked"):
        types.append("denied")
        meta["outcome"] = "failure"
    elif action in _ALLOWED_ACTIONS:
        types.append("allowed")
        meta["outcome"] = "success"


def _system_event(
    meta: dict[str, Any], categories: list[str], types: list[str], subtype: str, action: str, pairs: dict[str, str]
) -> None:
    """type=event: logins (admin and firewall users), VPN tunnels, configuration changes, the rest as host info."""
    status = (pairs.get("status") or pairs.get("result") or "").lower()
    if status in ("success", "ok", "succeeded"):
        meta["outcome"] = "success"
    elif status in ("failed", "failure", "error", "negotiate_error", "fail"):
        meta["outcome"] = "failure"
    if action in _LOGON_ACTIONS or action in _LOGOFF_ACTIONS or subtype == "user":
        categories.append("authentication")
        types.append("end" if action in _LOGOFF_ACTIONS else "start" if action in _LOGON_ACTIONS else "info")
        if action in ("fsso-logon", "auth-logon", "fsso-logoff", "auth-logout"):
            meta.setdefault("outcome", "success")
    elif subtype == "vpn":
        categories.append("network")
        types.append("connection")
        if action.endswith("-up") or action == "tunnel-up":
            types.append("start")
        elif action.endswith("-down"):
            types.append("end")
    elif action in _CONFIG_TYPES and "cfgpath" in pairs:
        categories.append("configuration")
        types.append(_CONFIG_TYPES[action])
        meta.setdefault("outcome", "success")
    else:
        categories.append("host")
        types.append("info")


PARSER = ROUTES.add(SourceParser(dataset=DATASET, refine=refine, programs=frozenset({"fortigate"}), sniff=sniff))
