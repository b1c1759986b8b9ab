"""Juniper SRX security logs in text ("event") mode, read by position into structured-data names.

The SRX writes the same fields in the same order in both modes, so reading the text into the names
the structured form uses (``source-address``, ``nat-source-port``, ``policy-name`` ...) lets one
mapping serve both. Layouts, after the ``RT_...: `` tag:

- ``session created S/sp->D/dp [0xN] SERVICE NS/nsp->ND/ndp [0xN] SRC-NAT-RULE-TYPE SRC-NAT-RULE
  DST-NAT-RULE-TYPE DST-NAT-RULE PROTO POLICY FROM-ZONE TO-ZONE SESSION-ID USER(ROLES) IFACE APP ...``
  (NAT rule columns vary between Junos releases: "source rule r1 N/A N/A", "None None", ...)
- ``session closed REASON: ... SESSION-ID PKTS(BYTES) PKTS(BYTES) ELAPSED APP NESTED-APP USER(ROLES) IFACE ...``
- ``session denied S/sp->D/dp [0xN] SERVICE PROTO(ICMP-TYPE) POLICY FROM-ZONE TO-ZONE APP NESTED USER(ROLES) IFACE ...``
- ``IDP: at EPOCH, TYPE Attack log <S/sp->D/dp> for PROTO protocol and service SVC application APP by
  rule N of rulebase RB in policy P. attack: repeat=0, action=DROP, threat-severity=HIGH, name=..., ...``
- ``SYN flood! source: S:sp, destination: D:dp, zone name: Z, interface name: IF, action: drop``
"""

from __future__ import annotations

import re

_TUPLE = r"(?P<{0}>\S{{1,64}})/(?P<{1}>\d{{1,5}})->(?P<{2}>\S{{1,64}})/(?P<{3}>\d{{1,5}})(?: 0x\w{{1,16}})?"
_FLOW_TUPLE = _TUPLE.format("src", "sport", "dst", "dport")
_NAT_TUPLE = _TUPLE.format("nsrc", "nsport", "ndst", "ndport")
_POLICY = (
    r" (?:(?P<natrules>.{0,400}?) )?(?P<proto>\d{1,3}) (?P<policy>\S{1,128}) (?P<szone>\S{1,64}) "
    r"(?P<dzone>\S{1,64}) (?P<sid>\d{1,20})"
)
_CREATE = re.compile(rf"session created {_FLOW_TUPLE} (?P<service>\S{{1,64}}) {_NAT_TUPLE}{_POLICY}(?: (?P<rest>.*))?")
_CLOSE = re.compile(
    rf"session closed (?P<reason>[^:]{{1,128}}): {_FLOW_TUPLE} (?P<service>\S{{1,64}}) {_NAT_TUPLE}{_POLICY} "
    r"(?P<cpkts>\d{1,19})\((?P<cbytes>\d{1,19})\) (?P<spkts>\d{1,19})\((?P<sbytes>\d{1,19})\) "
    r"(?P<elapsed>\d{1,19})(?: (?P<rest>.*))?"
)
_DENY = re.compile(
    rf"session denied {_FLOW_TUPLE} (?P<service>\S{{1,64}}) (?P<proto>\d{{1,3}})\((?P<icmp>\d{{1,3}})\) "
    r"(?P<policy>\S{1,128}) (?P<szone>\S{1,64}) (?P<dzone>\S{1,64})(?: (?P<rest>.*))?"
)
# What follows the counters: user(roles) and the incoming interface, with application columns
# before them in CLOSE and DENY and after them in CREATE.
_APPS_USER_IFACE = re.compile(
    r"(?:(?P<app>\S{1,64}) (?P<napp>\S{1,64}) )?(?P<user>[^\s(]{0,128})\((?P<roles>[^)]{0,128})\) (?P<iface>\S{1,64})"
)
_USER_IFACE_APPS = re.compile(
    r"(?P<user>[^\s(]{0,128})\((?P<roles>[^)]{0,128})\) (?P<iface>\S{1,64})"
    r"(?: (?P<app>\S{1,64}))?(?: (?P<napp>\S{1,64}))?"
)
_IDP = re.compile(
    r"IDP: at (?P<epoch>\d{1,19}), (?P<mtype>\S{1,64}) Attack log "
    r"<(?P<src>\S{1,64})/(?P<sport>\d{1,5})->(?P<dst>\S{1,64})/(?P<dport>\d{1,5})> for (?P<proto>\S{1,32}) protocol "
    r"and service (?P<service>\S{1,64}) application (?P<app>\S{1,64}) by rule (?P<rule>\S{1,64}) of rulebase "
    r"(?P<rulebase>\S{1,64}) in policy (?P<policy>\S{1,128}?)\. attack: (?P<attrs>.*)"
)
_IDP_ATTR = re.compile(r"(?:^|, )([\w-]{1,64})=([^,]*)")
_IDP_NAT = re.compile(r"NAT <(?P<nsrc>[^:>]{1,64}):(?P<nsport>\d{1,5})->(?P<ndst>[^:>]{1,64}):(?P<ndport>\d{1,5})>")
_IDP_INTF = re.compile(
    r"intf:(?P<szone>[^:\s]{1,64}):(?P<sif>\S{1,64}?)->(?P<dzone>[^:\s]{1,64}):(?P<dif>[^,\s]{1,64})"
)
_IDP_ATTR_NAMES = {
    "repeat": "repeat-count", "action": "action", "threat-severity": "threat-severity", "name": "attack-name",
    "time-elapsed": "elapsed-time", "inbytes": "inbound-bytes", "outbytes": "outbound-bytes",
    "inpackets": "inbound-packets", "outpackets": "outbound-packets", "alert": "alert", "username": "username",
    "roles": "roles",
}  # fmt: skip
_SCREEN = re.compile(
    r"(?P<attack>[^!]{1,128}!) source: (?P<src>[^,\s]{1,64}?)(?::(?P<sport>\d{1,5}))?, "
    r"destination: (?P<dst>[^,\s]{1,64}?)(?::(?P<dport>\d{1,5}))?, "
    r"(?:protocol-id: (?P<proto>\d{1,3}), )?zone name: (?P<zone>[^,]{1,64}), interface name: (?P<iface>[^,]{1,64}), "
    r"action: (?P<action>\S{1,32})"
)

# regex group -> structured-data name
_NAMES = {
    "src": "source-address", "sport": "source-port", "dst": "destination-address", "dport": "destination-port",
    "nsrc": "nat-source-address", "nsport": "nat-source-port", "ndst": "nat-destination-address",
    "ndport": "nat-destination-port", "service": "service-name", "proto": "protocol-id", "policy": "policy-name",
    "szone": "source-zone-name", "dzone": "destination-zone-name", "sid": "session-id-32", "reason": "reason",
    "cpkts": "packets-from-client", "cbytes": "bytes-from-client", "spkts": "packets-from-server",
    "sbytes": "bytes-from-server", "elapsed": "elapsed-time", "icmp": "icmp-type", "natrules": "nat-rules",
    "app": "application", "napp": "nested-application", "user": "username", "roles": "roles",
    "iface": "packet-incoming-interface",
}  # fmt: skip


def parse_text(tag: str, text: str) -> dict[str, str]:
    """Structured-data-named fields from a text-mode SRX message; empty when the layout is not recognised."""
    base = tag.removesuffix("_LS")
    if base == "RT_FLOW_SESSION_CREATE":
        return _flow(_CREATE.match(text), apps_first=False)
    if base == "RT_FLOW_SESSION_CLOSE":
        return _flow(_CLOSE.match(text), apps_first=True)
    if base == "RT_FLOW_SESSION_DENY":
        return _flow(_DENY.match(text), apps_first=True)
    if base == "RT_IDP_ATTACK_LOG_EVENT":
        return _idp(text)
    if base.startswith("RT_SCREEN_"):
        return _screen(text)
    return {}


def _named(groups: dict[str, str | None]) -> dict[str, str]:
    return {_NAMES[k]: v for k, v in groups.items() if v is not None and k in _NAMES}


def _flow(m: re.Match[str] | None, apps_first: bool) -> dict[str, str]:
    if m is None:
        return {}
    fields = _named(m.groupdict())
    rest = m.group("rest")
    if rest:
        tail = (_APPS_USER_IFACE if apps_first else _USER_IFACE_APPS).match(rest)
        if tail is not None:
            fields.update(_named(tail.groupdict()))
    return fields


def _idp(text: str) -> dict[str, str]:
    m = _IDP.match(text)
    if m is None:
        return {}
    g = m.groupdict()
    fields = {
        "epoch-time": g["epoch"], "message-type": g["mtype"], "source-address": g["src"],
        "source-port": g["sport"], "destination-address": g["dst"], "destination-port": g["dport"],
        "protocol-name": g["proto"], "service-name": g["service"], "application-name": g["app"],
        "rule-name": g["rule"], "rulebase-name": g["rulebase"], "policy-name": g["policy"],
    }  # fmt: skip
    attrs = g["attrs"]
    for key, value in _IDP_ATTR.findall(attrs):
        name = _IDP_ATTR_NAMES.get(key)
        if name:
            fields[name] = value.partition(" and misc-message")[0].strip()
    nat = _IDP_NAT.search(attrs)
    if nat is not None:
        fields.update(_named(nat.groupdict()))
    intf = _IDP_INTF.search(attrs)
    if intf is not None:
        fields["source-zone-name"] = intf.group("szone")
        fields["source-interface-name"] = intf.group("sif")
        fields["destination-zone-name"] = intf.group("dzone")
        fields["destination-interface-name"] = intf.group("dif")
    return fields


def _screen(text: str) -> dict[str, str]:
    m = _SCREEN.match(text)
    if m is None:
        return {}
    g = m.groupdict()
    fields = _named({k: g[k] for k in ("src", "sport", "dst", "dport", "proto")})
    fields["attack-name"] = g["attack"].strip()
    fields["source-zone-name"] = g["zone"]
    fields["interface-name"] = g["iface"]
    fields["action"] = g["action"]
    return fields
