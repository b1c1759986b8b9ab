"""Netfilter LOG lines (iptables, ip6tables, nftables ``log``, UFW, firewalld) -> ECS, dataset ``iptables.log``.

The kernel writes ``<prefix>IN=eth0 OUT= MAC=.. SRC=.. DST=.. LEN=.. ... PROTO=TCP SPT=.. DPT=..`` where
the prefix is whatever the rule's ``--log-prefix`` says (``[UFW BLOCK] ``, ``IPTables-Dropped: ``).
Field names follow Filebeat's iptables module (``iptables.*``) with ECS for addresses, ports,
interfaces (``observer.ingress/egress.interface.name``) and MACs. The verdict is read from the
prefix, since that is the only place a LOG line says what the firewall did. Kernel lines that are
audit records (``audit: type=1400 audit(...)``: AppArmor/SELinux denials) go to the auditd parser.
"""

from __future__ import annotations

import re
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.auditd import refine_audit_text
from normalizers.sources.linux_auth import classify
from normalizers.sources.network_values import (
    TRANSPORT_IANA,
    add_related,
    as_count,
    is_ip,
    is_raw_line,
    transport_name,
)

DATASET = "iptables.log"
MAX_MESSAGE = 8192  # a LOG line is a few hundred characters

# event.action -> (event.category, event.type)
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "firewall_block": (("network",), ("connection", "denied")),  # BLOCK, DROP, REJECT, DENY in the prefix
    "firewall_allow": (("network",), ("connection", "allowed")),  # ALLOW, ACCEPT, PASS in the prefix
    "firewall_audit": (("network",), ("connection",)),  # UFW AUDIT: logged, verdict not stated
    "firewall_log": (("network",), ("connection",)),  # any other prefix
}

_KERNEL_TIME = re.compile(r"\[\s*\d+\.\d+\] ")
_EMBEDDED = re.compile(r" ?\[[^\]]*\]")  # ICMP errors quote the offending packet in brackets
_TCP_FLAGS = frozenset({"CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"})
_FRAGMENT_FLAGS = frozenset({"CE", "DF", "MF"})
_BLOCK_WORDS = ("BLOCK", "DROP", "REJECT", "DENY")
_ALLOW_WORDS = ("ALLOW", "ACCEPT", "PASS")
# KEY=value -> (iptables.* path, convert): integers as Filebeat types them; hex ones are "0x.." text.
_IP_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "LEN": (("length",), "int"),
    "TOS": (("tos",), "hex"),
    "PREC": (("precedence_bits",), "hex"),
    "TTL": (("ttl",), "int"),
    "ID": (("id",), "int"),
    "FRAG": (("fragment_offset",), "int"),
    "TC": (("tos",), "int"),
    "HOPLIMIT": (("ttl",), "int"),
    "FLOWLBL": (("flow_label",), "int"),
    "MARK": (("mark",), "hex"),
    "UID": (("uid",), "int"),
    "GID": (("gid",), "int"),
    "PHYSIN": (("physical_input_device",), "str"),
    "PHYSOUT": (("physical_output_device",), "str"),
}
_L4_FIELDS: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "tcp": {"WINDOW": (("tcp", "window"), "int"), "RES": (("tcp", "reserved_bits"), "hex"),
            "URGP": (("tcp", "urgent_pointer"), "int"), "SEQ": (("tcp", "seq"), "int"),
            "ACK": (("tcp", "ack"), "int")},
    "udp": {"LEN": (("udp", "length"), "int")},
    "icmp": {"TYPE": (("icmp", "type"), "int"), "CODE": (("icmp", "code"), "int"), "ID": (("icmp", "id"), "int"),
             "SEQ": (("icmp", "seq"), "int"), "MTU": (("icmp", "mtu"), "int")},
}  # fmt: skip
_L4_FIELDS["ipv6-icmp"] = _L4_FIELDS["icmp"]


def _number(text: str, kind: str) -> Any:
    if kind == "int":
        return as_count(text)
    if kind == "hex":
        try:
            return int(text, 16) if text.startswith("0x") and len(text) <= 18 else None
        except ValueError:
            return None
    return text or None


def _mac(text: str) -> str:
    """ECS MAC format: upper-case, hyphen-separated."""
    return text.upper().replace(":", "-")


def _start_of_fields(message: str) -> int:
    """Where ``IN=`` (the first field the kernel writes) starts, or -1."""
    at = message.find("IN=")
    while at > 0 and message[at - 1] != " " and message[at - 1] != ":" and message[at - 1] != "]":
        at = message.find("IN=", at + 3)  # "PHYSIN=", "LOGIN=" are not the start
    return at


def refine_firewall_text(event: dict[str, Any], message: str) -> bool:
    """Fill ECS fields from one netfilter LOG line; False (event untouched) when it is not one."""
    if len(message) > MAX_MESSAGE:
        return False
    at = _start_of_fields(message)
    if at < 0 or " SRC=" not in message:
        return False
    prefix = message[:at]
    if prefix.startswith("["):
        prefix = _KERNEL_TIME.sub("", prefix, count=1)
    prefix = prefix.strip()
    body = message[at:]
    if "[" in body:
        body = _EMBEDDED.sub("", body)
    iptables: dict[str, Any] = {}
    fields: dict[str, str] = {}
    flags: list[str] = []
    fragment: list[str] = []
    l4: dict[str, tuple[tuple[str, ...], str]] | None = None
    for token in body.split(" "):
        key, eq, value = token.partition("=")
        if not eq:
            if token in _TCP_FLAGS:
                flags.append(token)
            elif token in _FRAGMENT_FLAGS:
                fragment.append(token)
            continue
        if l4 is not None and key in l4:
            path, kind = l4[key]
            _put(iptables, path, _number(value, kind))
        elif key == "PROTO":
            transport = transport_name(value)
            fields["PROTO"] = transport or value.lower()
            l4 = _L4_FIELDS.get(transport or "")
        elif key in _IP_FIELDS:
            path, kind = _IP_FIELDS[key]
            _put(iptables, path, _number(value, kind))
        else:
            fields.setdefault(key, value)
    src, dst = fields.get("SRC", ""), fields.get("DST", "")
    if not src or not dst:
        return False
    _classify_verdict(event, prefix)
    _endpoint(event, "source", src, fields.get("SPT"))
    _endpoint(event, "destination", dst, fields.get("DPT"))
    _network(event, fields, src)
    _interfaces(event, fields.get("IN", ""), fields.get("OUT", ""))
    mac = fields.get("MAC", "")
    if mac:
        _macs(event, iptables, mac)
    if flags:
        iptables.setdefault("tcp", {})["flags"] = flags
    if fragment:
        iptables["fragment_flags"] = fragment
    if prefix:
        iptables["prefix"] = prefix
    event["iptables"] = iptables
    event["event"]["dataset"] = DATASET
    return True


def _put(node: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if value is None:
        return
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _classify_verdict(event: dict[str, Any], prefix: str) -> None:
    upper = prefix.upper()
    if "AUDIT" in upper:
        action = "firewall_audit"
    elif any(word in upper for word in _BLOCK_WORDS):
        action = "firewall_block"
    elif any(word in upper for word in _ALLOW_WORDS):
        action = "firewall_allow"
    else:
        action = "firewall_log"
    category, types = ACTIONS[action]
    classify(event, action, category, types)


def _endpoint(event: dict[str, Any], side: str, address: str, port: str | None) -> None:
    node: dict[str, Any] = {"address": address}
    if is_ip(address):
        node["ip"] = address
        add_related(event, "ip", address)
    if port is not None and (number := as_count(port)) is not None and number <= 65535:
        node["port"] = number
    event[side] = node


def _network(event: dict[str, Any], fields: dict[str, str], src: str) -> None:
    network: dict[str, Any] = {"type": "ipv6" if ":" in src else "ipv4"}
    proto = fields.get("PROTO")
    if proto:
        network["transport"] = proto
        number = proto if proto.isdigit() else TRANSPORT_IANA.get(proto)
        if number is not None:
            network["iana_number"] = number
    event["network"] = network


def _interfaces(event: dict[str, Any], ingress: str, egress: str) -> None:
    observer: dict[str, Any] = {}
    if ingress:
        observer["ingress"] = {"interface": {"name": ingress}}
    if egress:
        observer["egress"] = {"interface": {"name": egress}}
    if observer:
        event["observer"] = observer
    # From the host's point of view (ECS): INPUT chain traffic is ingress, OUTPUT egress; FORWARD has both.
    if ingress and not egress:
        event["network"]["direction"] = "ingress"
    elif egress and not ingress:
        event["network"]["direction"] = "egress"


def _macs(event: dict[str, Any], iptables: dict[str, Any], mac: str) -> None:
    """``MAC=dst:src:type`` (14 bytes on Ethernet); other link layers write other lengths: keep them raw."""
    parts = mac.split(":")
    if len(parts) == 14:
        event["destination"]["mac"] = _mac(":".join(parts[:6]))
        event["source"]["mac"] = _mac(":".join(parts[6:12]))
        try:
            iptables["ether_type"] = int(parts[12] + parts[13], 16)
        except ValueError:
            iptables["mac"] = mac
    else:
        iptables["mac"] = mac


def refine_kernel(event: dict[str, Any]) -> bool:
    """Kernel lines: netfilter LOG lines and audit records; False (event untouched) for anything else."""
    message: str = event["message"]
    if "audit(" in message and "type=" in message:
        return refine_audit_text(event, message)
    return refine_firewall_text(event, message)


def _refine_sniffed(event: dict[str, Any]) -> bool:
    # A line with no syslog header (a dmesg dump) carries no time of its own: it stays a parse failure.
    return not is_raw_line(event) and refine_firewall_text(event, event["message"])


def _looks_like_netfilter(message: str) -> bool:
    return " SRC=" in message and "IN=" in message and " DST=" in message


KERNEL = ROUTES.add(SourceParser(DATASET, refine_kernel, programs=frozenset({"kernel"})))
# Routers and appliances that forward netfilter lines under another program name.
NETFILTER = ROUTES.add(SourceParser(DATASET, _refine_sniffed, sniff=_looks_like_netfilter))
