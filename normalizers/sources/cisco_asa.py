"""Cisco ASA and Firepower Threat Defense syslog (``%ASA-6-302013: ...``) -> ECS (``cisco.asa``, ``cisco.ftd``).

The tag arrives in three places depending on the device's logging settings: as the syslog program
(``asa1 %ASA-6-302013: Built ...``, routed by program prefix), inside the message (``asa1 :
%ASA-6-...``, claimed by the sniffer) or on a line that is not syslog at all (``<166>%ASA-6-...``,
``<166>Oct 11 2023 14:32:52: %ASA-...``). Every message gets ``event.code`` (the message id),
``event.severity``/``log.level`` (the ASA level) and ``observer.*``; the ids in ``_MESSAGES`` also
get their addresses, ports, users and an ECS categorization. Source and destination follow the
connection's initiator, as Filebeat's cisco module does (an outbound "Built" names the responder first).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.cisco_asa_messages import FALLBACK, MESSAGES, AsaMessage
from normalizers.sources.network_values import (
    add_related,
    as_count,
    as_ip,
    as_port,
    is_raw_line,
    put,
    put_address,
    transport_name,
)
from normalizers.timestamps import format_timestamp, parse_iso_timestamp

_TAG = re.compile(r"%(ASA|FTD|FWSM|PIX)-(?:[A-Za-z_]{1,16}-)?([0-7])-(\d{6})(?::|$)")
_LEVEL_NAMES = ("emergencies", "alert", "critical", "error", "warning", "notification", "informational", "debugging")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), start=1)}  # fmt: skip
# The header an ASA writes itself when the line did not parse as syslog: "Oct 11 2023 14:32:52: " and friends.
_RAW_TIME = re.compile(r"(?:<\d{1,3}>)?:?\s*([A-Z][a-z]{2}) +(\d{1,2})(?: (\d{4}))? (\d\d):(\d\d):(\d\d)")
_RAW_ISO = re.compile(r"(?:<\d{1,3}>)?:?\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)")
# Message-specific groups kept under cisco.<asa|ftd>.* (numbers as longs, the rest as text).
_VENDOR_NUMBERS = (("conn", "connection_id"), ("itype", "icmp_type"), ("icode", "icmp_code"), ("hits", "hit_count"))
_VENDOR_TEXT = (
    ("flags", "tcp_flags"), ("service", "service"), ("server", "aaa_server"), ("stype", "session_type"),
    ("object", "threat_object"), ("rate", "threat_rate_id"), ("what", "aaa_type"), ("sig", "ids_signature"),
)  # fmt: skip
_HMS = re.compile(r"(?:(\d{1,6})d ?)?(\d{1,9})(?:h:|:)(\d\d)(?:m:|:)(\d\d)s?")


def sniff(message: str) -> bool:
    """Cheap test: an ``%ASA-``/``%FTD-`` tag somewhere in the message."""
    return ("%ASA-" in message or "%FTD-" in message) and _TAG.search(message) is not None


def refine(event: dict[str, Any]) -> bool:
    """Fill ECS and ``cisco.<asa|ftd>.*`` from an ASA/FTD message; False when there is no tag."""
    message = event["message"].rstrip("\r\n")
    process = event.get("process")
    program = process.get("name", "") if isinstance(process, dict) else ""
    tag = _TAG.match(program) if program.startswith("%") else None
    if tag is not None:
        body = message.lstrip(": ")
        del event["process"]  # the "program" was the message tag, not a process
    else:
        tag = _TAG.search(message)
        if tag is None:
            return False
        header = message[: tag.start()]
        body = message[tag.end() :].lstrip(" ")
        if is_raw_line(event):
            _raw_header_time(event, header)
    product, level, message_id = tag.group(1), int(tag.group(2)), tag.group(3)
    dataset = "cisco.ftd" if product == "FTD" else "cisco.asa"
    vendor: dict[str, Any] = {"message_id": message_id}
    meta = event["event"]
    meta.update(kind="event", code=message_id, severity=level, dataset=dataset, module="cisco")
    event.setdefault("log", {})["level"] = _LEVEL_NAMES[level]
    observer = event.setdefault("observer", {})
    observer.update(vendor="Cisco", product="FTD" if product == "FTD" else "ASA", type="firewall")
    host = event.get("host")
    if isinstance(host, dict) and host.get("hostname"):
        observer["hostname"] = host["hostname"]
    event["message"] = body
    spec = MESSAGES.get(message_id)
    fields = spec.pattern.match(body) if spec is not None else None
    if spec is None or fields is None:
        _categorize(meta, FALLBACK, {}, product)
    else:
        groups = {k: v for k, v in fields.groupdict().items() if v is not None}
        _connection_fields(event, vendor, groups, spec)
        _categorize(meta, spec, groups, product)
    event["cisco"] = {dataset.partition(".")[2]: vendor}
    add_related(event, "ip", event.get("source", {}).get("ip"), event.get("destination", {}).get("ip"))
    user = event.get("user", {}).get("name") if isinstance(event.get("user"), dict) else None
    if user:
        add_related(event, "user", user)
    return True


def _connection_fields(event: dict[str, Any], vendor: dict[str, Any], g: dict[str, str], spec: AsaMessage) -> None:
    """Map the named groups of a message pattern to ECS; swap sides where the responder is named first."""
    swap = spec.initiator_second and g.get("dir", "").lower() == "outbound"
    src_side, dst_side = ("destination", "source") if swap else ("source", "destination")
    put_address(event, src_side, g.get("src"))
    put_address(event, dst_side, g.get("dst"))
    put(event, src_side, "port", as_port(g.get("sport")))
    put(event, dst_side, "port", as_port(g.get("dport")))
    _nat(event, src_side, g.get("msrc"), g.get("msport"))
    _nat(event, dst_side, g.get("mdst"), g.get("mdport"))
    if "nat" in g:  # 305011/305012: the translation itself
        _nat(event, "source", g["nat"], g.get("natport"), always=True)
    ingress, egress = (
        (g.get("diface"), g.get("siface")) if swap else (g.get("siface") or g.get("iface"), g.get("diface"))
    )
    if ingress:
        event.setdefault("observer", {})["ingress"] = {"interface": {"name": ingress}}
    if egress:
        event.setdefault("observer", {})["egress"] = {"interface": {"name": egress}}
    proto = g.get("proto")
    if proto:
        transport = transport_name(proto)
        if transport:
            event.setdefault("network", {})["transport"] = transport
    direction = g.get("dir", "").lower()
    if direction in ("inbound", "outbound"):
        event.setdefault("network", {})["direction"] = direction
    for side_group, side in (("suser", src_side), ("duser", dst_side)):
        if g.get(side_group):
            event.setdefault(side, {})["user"] = {"name": g[side_group]}
    user = g.get("user") or g.get("suser")
    if user:
        event["user"] = {"name": user}
        event.setdefault("source", {}).setdefault("user", {"name": user})
    if g.get("group"):
        event.setdefault("user", {})["group"] = {"name": g["group"]}
    if g.get("acl"):
        vendor["rule_name"] = g["acl"]
        event["rule"] = {"name": g["acl"]}
    if g.get("reason"):
        event["event"]["reason"] = g["reason"].strip()
    if g.get("duration"):
        nanos = _duration_nanos(g["duration"])
        if nanos is not None:
            event["event"]["duration"] = nanos
    total = as_count(g.get("bytes"))
    if total is not None:
        event.setdefault("network", {})["bytes"] = total
    sent, received = as_count(g.get("xmt")), as_count(g.get("rcv"))
    if sent is not None:
        put(event, "source", "bytes", sent)
    if received is not None:
        put(event, "destination", "bytes", received)
    for name, vendor_name in _VENDOR_NUMBERS:
        number = as_count(g.get(name))
        if number is not None:
            vendor[vendor_name] = number
    for name, vendor_name in _VENDOR_TEXT:
        if g.get(name):
            vendor[vendor_name] = g[name].strip()
    if g.get("sig"):
        event["rule"] = {"id": g["sig"], "name": g.get("name", "").strip()}
    threat_object = g.get("object", "").strip()
    if as_ip(threat_object):  # 733100 names either a host or a kind of traffic ("Scanning", "SYN Attack")
        put_address(event, "source", threat_object)


def _nat(event: dict[str, Any], side: str, ip: str | None, port: str | None, always: bool = False) -> None:
    """``<side>.nat.*`` only when the mapped address or port differs from the real one (ASA always logs both)."""
    mapped_ip = as_ip(ip) if ip else None
    mapped_port = as_port(port)
    node = event.get(side, {})
    if mapped_ip is None or (not always and mapped_ip == node.get("ip") and mapped_port == node.get("port")):
        return
    nat: dict[str, Any] = {"ip": mapped_ip}
    if mapped_port is not None:
        nat["port"] = mapped_port
    event.setdefault(side, {})["nat"] = nat


def _categorize(meta: dict[str, Any], spec: AsaMessage, g: dict[str, str], product: str) -> None:
    verdict = g.get("verdict", "").lower()
    denied = spec.denied if not verdict else verdict in ("deny", "denied", "rejected", "dropped", "failed")
    meta["action"] = spec.action if spec is not FALLBACK else f"{product.lower()}-message"
    meta["kind"] = spec.kind
    if spec.categories:
        meta["category"] = list(spec.categories)
    types = list(spec.types)
    if spec.verdict_type:
        types.append("denied" if denied else "allowed")
    meta["type"] = types
    if spec.verdict_type or spec.outcome_by_verdict:
        meta["outcome"] = "failure" if denied else "success"


def _duration_nanos(text: str) -> int | None:
    """ASA durations: ``0:00:05`` (h:mm:ss), ``1h:02m:03s`` and ``1d 02h:03m:04s``."""
    m = _HMS.fullmatch(text.strip())
    if m is None:
        return None
    days, hours, minutes, seconds = (int(x) if x else 0 for x in m.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return total * 1_000_000_000 if total < 9_000_000_000 else None


def _raw_header_time(event: dict[str, Any], header: str) -> None:
    """@timestamp from the ASA's own header on a line that was not syslog (read as UTC; no year: the receive year)."""
    iso = _RAW_ISO.match(header)
    try:
        if iso is not None:
            event["@timestamp"] = format_timestamp(parse_iso_timestamp(iso.group(1)))
            return
        m = _RAW_TIME.match(header)
        if m is None:
            return
        month = _MONTHS.get(m.group(1))
        if month is None:
            return
        year = int(m.group(3)) if m.group(3) else int(event["@timestamp"][:4])
        clock = int(m.group(4)), int(m.group(5)), int(m.group(6))
        event["@timestamp"] = format_timestamp(datetime(year, month, int(m.group(2)), *clock))
    except (ValueError, OverflowError):
        return


PARSER = ROUTES.add(
    SourceParser(
        dataset="cisco.asa",
        refine=refine,
        sniff=sniff,
        program_prefixes=("%ASA-", "%FTD-", "%FWSM-", "%PIX-"),
    )
)
