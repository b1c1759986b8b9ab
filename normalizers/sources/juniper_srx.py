"""Juniper SRX security logs (RT_FLOW, RT_IDP, RT_SCREEN) -> ECS + ``juniper.srx.*`` (``juniper.srx``).

Two layouts carry the same facts:

- structured (``set security log format sd-syslog`` / ``structured-data``): an RFC 5424 line whose
  MSGID is the tag and whose ``[junos@2636.1.1.1.2.x source-address="..." ...]`` element the syslog
  parser already put in ``log.syslog.structured_data`` (also read when the element is inline in a BSD
  message: ``RT_FLOW_SESSION_CREATE [junos@... ...]``);
- text (the default ``event`` mode): ``RT_FLOW: RT_FLOW_SESSION_CREATE: session created
  10.0.0.1/54321->93.184.216.34/443 ...``, read by position into the same structured-data names.

Both then go through one mapping, like Filebeat's juniper module: every value in ``juniper.srx.*``
(``-`` written as ``_``) unless it moved to a typed ECS field.
"""

from __future__ import annotations

import re
from typing import Any

from normalizers.routing import ROUTES, SourceParser
from normalizers.sources.juniper_srx_text import parse_text
from normalizers.sources.network_values import add_related, as_count, as_ip, as_port, put_path, transport_name

DATASET = "juniper.srx"
_TAG = re.compile(r"\b(RT_(?:FLOW|IDP|SCREEN)_[A-Z0-9_]{2,64})\b")
_INLINE_SD = re.compile(r"\[junos@[\d.]{1,64}((?: [\w-]{1,64}=\"(?:[^\"\\]|\\.)*\")*)\]")
_SD_PARAM = re.compile(r' ([\w-]{1,64})="((?:[^"\\]|\\.)*)"')
_EMPTY = frozenset({"", "N/A", "UNKNOWN", "None", "-"})

_Convert = Any
# structured-data name -> (ECS field, converter)
_MAPPING: dict[str, tuple[tuple[str, ...], _Convert]] = {
    name: (tuple(field.split(".")), convert)
    for name, field, convert in (
        ("source-address", "source.ip", as_ip),
        ("source-port", "source.port", as_port),
        ("destination-address", "destination.ip", as_ip),
        ("destination-port", "destination.port", as_port),
        ("nat-source-address", "source.nat.ip", as_ip),
        ("nat-source-port", "source.nat.port", as_port),
        ("nat-destination-address", "destination.nat.ip", as_ip),
        ("nat-destination-port", "destination.nat.port", as_port),
        ("bytes-from-client", "source.bytes", as_count),
        ("packets-from-client", "source.packets", as_count),
        ("bytes-from-server", "destination.bytes", as_count),
        ("packets-from-server", "destination.packets", as_count),
        ("outbound-bytes", "source.bytes", as_count),
        ("outbound-packets", "source.packets", as_count),
        ("inbound-bytes", "destination.bytes", as_count),
        ("inbound-packets", "destination.packets", as_count),
        ("protocol-id", "network.iana_number", str),
        ("source-zone-name", "observer.ingress.zone", str),
        ("destination-zone-name", "observer.egress.zone", str),
        ("packet-incoming-interface", "observer.ingress.interface.name", str),
        ("interface-name", "observer.ingress.interface.name", str),
        ("source-interface-name", "observer.ingress.interface.name", str),
        ("destination-interface-name", "observer.egress.interface.name", str),
        ("username", "source.user.name", str),
        ("reason", "event.reason", str),
    )
}
_IDP_DENY_ACTIONS = frozenset({"DROP", "DROP_PACKET", "DROP_CONNECTION", "CLOSE", "CLOSE_CLIENT", "CLOSE_SERVER",
                               "CLOSE_CLIENT_AND_SERVER"})  # fmt: skip
_SCREEN_ACTIONS = (
    (
        ("ICMP flood!", "UDP flood!", "SYN flood!", "SYN flood Src-IP based!", "SYN flood Dst-IP based!"),
        "flood_detected",
    ),
    (("TCP port scan!", "UDP port scan!"), "scan_detected"),
    (("TCP sweep!", "IP sweep!", "UDP sweep!", "Address sweep!"), "sweep_detected"),
    (("ICMP fragment!", "SYN fragment!"), "fragment_detected"),
    (("IP spoofing!",), "spoofing_detected"),
    (("Src IP session limit!", "Dst IP session limit!"), "session_limit_detected"),
    (("Land attack!", "WinNuke attack!", "Ping of death!", "Teardrop attack!"), "attack_detected"),
    (("No TCP flag!", "SYN and FIN bits!", "FIN but no ACK bit!"), "illegal_tcp_flag_detected"),
)
_SCREEN_ACTION_BY_NAME = {name: action for names, action in _SCREEN_ACTIONS for name in names}


def sniff(message: str) -> bool:
    """Cheap test: an SRX security tag in the message."""
    return ("RT_FLOW_" in message or "RT_IDP_" in message or "RT_SCREEN_" in message) and bool(_TAG.search(message))


def refine(event: dict[str, Any]) -> bool:
    """Fill ECS and ``juniper.srx.*`` from an SRX security log; False when no known tag is present."""
    message = event["message"].rstrip("\r\n")
    log = event.get("log")
    syslog = log.get("syslog") if isinstance(log, dict) else None
    msgid = syslog.get("msgid") if isinstance(syslog, dict) else None
    if isinstance(msgid, str) and _TAG.fullmatch(msgid):
        tag, text = msgid, message  # RFC 5424: the tag is the MSGID, the message is the text
    else:
        found = _TAG.search(message)
        if found is None:
            return False
        tag, text = found.group(1), message[found.end() :].lstrip(": ")
    params, text = _structured(syslog, text)
    if not params:
        params = parse_text(tag, text)
    vendor: dict[str, Any] = {"tag": tag}
    for name, raw in params.items():
        if not isinstance(raw, str) or raw in _EMPTY:
            continue
        mapped = _MAPPING.get(name)
        converted = mapped[1](raw) if mapped else None
        if converted is None:
            vendor[name.replace("-", "_")] = raw
        else:
            put_path(event, mapped[0], converted)
    event["juniper"] = {"srx": vendor}
    observer = event.setdefault("observer", {})
    observer.update(vendor="Juniper", product="SRX", type="firewall")
    host = event.get("host")
    if isinstance(host, dict) and host.get("hostname"):
        observer["hostname"] = host["hostname"]
    _network(event, vendor)
    _categorize(event, tag, vendor)
    user = event.get("source", {}).get("user", {}).get("name")
    if user:
        event["user"] = {"name": user}
        add_related(event, "user", user)
    add_related(event, "ip", event.get("source", {}).get("ip"), event.get("destination", {}).get("ip"))
    text = text.strip()
    # Structured-only lines carry no text: name what happened instead of leaving the message empty.
    event["message"] = text or vendor.get("attack_name") or tag
    return True


def _structured(syslog: Any, text: str) -> tuple[dict[str, Any], str]:
    """The junos@ structured-data parameters (from the RFC 5424 header, else inline) and the text after them."""
    if isinstance(syslog, dict):
        structured = syslog.get("structured_data")
        for sd_id, params in structured.items() if isinstance(structured, dict) else ():
            if sd_id.startswith("junos@") and isinstance(params, dict):
                return params, text
    if text.startswith("[junos@"):
        inline = _INLINE_SD.match(text)
        if inline is not None:
            params = {name: value.replace('\\"', '"') for name, value in _SD_PARAM.findall(inline.group(1))}
            return params, text[inline.end() :].lstrip()
    return {}, text


def _network(event: dict[str, Any], vendor: dict[str, Any]) -> None:
    network = event.get("network")
    if isinstance(network, dict) and "iana_number" in network:
        transport = transport_name(network["iana_number"])
        if transport:
            network["transport"] = transport
    elif vendor.get("protocol_name"):
        transport = transport_name(vendor["protocol_name"])
        if transport:
            event.setdefault("network", {})["transport"] = transport
    application = vendor.get("application") or vendor.get("application_name")
    if application:
        event.setdefault("network", {})["application"] = application.lower()
    source, destination = event.get("source", {}), event.get("destination", {})
    for side in (source, destination):
        nat = side.get("nat")
        # The SRX logs the translated tuple even when nothing was translated (same tuple, or 0.0.0.0).
        if nat and (
            nat.get("ip") in ("0.0.0.0", "::") or (nat.get("ip"), nat.get("port")) == (side.get("ip"), side.get("port"))
        ):
            del side["nat"]
    if "bytes" in source and "bytes" in destination:
        event.setdefault("network", {})["bytes"] = source["bytes"] + destination["bytes"]
    if "packets" in source and "packets" in destination:
        event.setdefault("network", {})["packets"] = source["packets"] + destination["packets"]
    elapsed = as_count(vendor.get("elapsed_time"))
    if elapsed is not None and elapsed < 9_000_000_000:
        event["event"]["duration"] = elapsed * 1_000_000_000


def _categorize(event: dict[str, Any], tag: str, vendor: dict[str, Any]) -> None:
    meta = event["event"]
    meta["kind"] = "event"
    meta["module"] = "juniper"
    base = tag.removesuffix("_LS")
    if base.startswith("RT_FLOW_SESSION_"):
        meta["category"] = ["network"]
        if base.endswith("_CREATE"):
            meta.update(action="flow_started", type=["connection", "start", "allowed"], outcome="success")
        elif base.endswith("_CLOSE"):
            meta.update(action="flow_close", type=["connection", "end", "allowed"], outcome="success")
        elif base.endswith("_DENY"):
            meta.update(action="flow_deny", type=["connection", "denied"], outcome="failure")
        else:
            meta.update(action=base.lower(), type=["connection", "info"])
        if vendor.get("policy_name"):
            put_path(event, ("rule", "name"), vendor["policy_name"])
        return
    if base == "RT_IDP_ATTACK_LOG_EVENT":
        denied = vendor.get("action", "").upper() in _IDP_DENY_ACTIONS
        meta.update(kind="alert", action="security_threat", category=["network", "intrusion_detection"])
        meta["type"] = ["info", "connection", "denied" if denied else "allowed"]
        put_path(event, ("rule", "id"), vendor.get("rule_name"))
        put_path(event, ("rule", "name"), vendor.get("rulebase_name"))
        return
    if base.startswith("RT_SCREEN_"):
        attack = vendor.get("attack_name", "")
        action = _SCREEN_ACTION_BY_NAME.get(attack)
        if action is None:
            action = "tunneling_screen" if attack.startswith("Tunnel") else "screen_detected"
        denied = vendor.get("action", "").lower() == "drop"
        meta.update(kind="alert", action=action, category=["network", "intrusion_detection"])
        meta["type"] = ["info", "connection", "denied" if denied else "allowed"]
        return
    meta.update(action=base.lower(), category=["network"], type=["info"])


PARSER = ROUTES.add(
    SourceParser(
        dataset=DATASET,
        refine=refine,
        programs=frozenset({"RT_FLOW", "RT_IDP", "RT_SCREEN"}),
        sniff=sniff,
    )
)
