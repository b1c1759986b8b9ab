"""The Cisco ASA message ids Sontra reads field by field: their text pattern and ECS categorization.

Patterns follow the formats in Cisco's "ASA Series Syslog Messages" reference. Named groups are
read by ``cisco_asa._connection_fields``: ``src``/``dst`` (addresses), ``sport``/``dport``,
``siface``/``diface``/``iface`` (interfaces), ``msrc``/``msport``/``mdst``/``mdport`` (mapped, i.e.
NAT, addresses), ``proto``, ``dir``, ``verdict``, ``user``/``suser``/``duser``, ``acl`` and a few
message-specific ones kept under ``cisco.asa.*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IFACE = r"[^\s:/]{1,64}"
# TCP flags ("SYN", "SYN ACK"), then one or more spaces before "on interface"; bounded so that a line of
# spaces cannot make the match quadratic.
_FLAGS = r"flags (?P<flags>[^ ]{0,32}(?: [^ ]{1,32}){0,8}?) {1,4}on interface (?P<iface>\S+)"
_ADDR = r"[^\s/()]{1,64}"
_USER = r"(?:\((?P<{0}>[^)]{{0,128}})\))?"


def _user(name: str) -> str:
    return _USER.format(name)


@dataclass(frozen=True, slots=True)
class AsaMessage:
    """How one message id reads and how it is categorized in ECS."""

    pattern: re.Pattern[str]
    action: str
    categories: tuple[str, ...] = ("network",)
    types: tuple[str, ...] = ("connection",)
    kind: str = "event"
    # Without a verdict group in the text: does this message id mean the traffic was denied?
    denied: bool = False
    # Append "allowed"/"denied" to event.type and set event.outcome from the verdict.
    verdict_type: bool = False
    # Set event.outcome from the verdict without a type (authentication messages).
    outcome_by_verdict: bool = False
    # An outbound "Built" names the responder first: swap so that source is the initiator.
    initiator_second: bool = False


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_DENY_FROM_TO = (
    rf"(?P<verdict>Deny) (?P<dir>inbound|outbound) (?P<proto>\S+) from (?P<src>{_ADDR})/(?P<sport>\d+) "
    rf"to (?P<dst>{_ADDR})/(?P<dport>\d+)"
)
_BUILT = _p(
    rf"Built (?P<dir>inbound|outbound) (?P<proto>TCP|UDP|SCTP) connection (?P<conn>\d+) for "
    rf"(?P<siface>{_IFACE}):(?P<src>{_ADDR})/(?P<sport>\d+) \((?P<msrc>{_ADDR})/(?P<msport>\d+)\){_user('suser')} "
    rf"to (?P<diface>{_IFACE}):(?P<dst>{_ADDR})/(?P<dport>\d+) \((?P<mdst>{_ADDR})/(?P<mdport>\d+)\){_user('duser')}"
)
_TEARDOWN = _p(
    rf"Teardown (?P<proto>TCP|UDP|SCTP) connection (?P<conn>\d+) for "
    rf"(?P<siface>{_IFACE}):(?P<src>{_ADDR})/(?P<sport>\d+){_user('suser')} "
    rf"to (?P<diface>{_IFACE}):(?P<dst>{_ADDR})/(?P<dport>\d+){_user('duser')} "
    r"duration (?P<duration>\d+:\d\d:\d\d) bytes (?P<bytes>\d+)(?: (?P<reason>.*))?"
)
# The "/N" after ICMP addresses is the ICMP id, not a port: it is not read.
_ICMP_FLOW = _p(
    rf"(?:Built|Teardown) (?:(?P<dir>inbound|outbound) )?(?P<proto>ICMP|ICMPv6) connection "
    rf"(?:(?P<conn>\d+) )?for faddr (?P<src>{_ADDR})/\d+{_user('suser')} "
    rf"gaddr (?P<mdst>{_ADDR})/\d+ laddr (?P<dst>{_ADDR})/\d+{_user('duser')}"
    r"(?: type (?P<itype>\d+) code (?P<icode>\d+))?"
)
_TRANSLATION = _p(
    rf"(?:Built|Teardown) (?:dynamic|static) (?P<proto>\S+) translation from "
    rf"(?P<siface>{_IFACE}):(?P<src>{_ADDR})(?:/(?P<sport>\d+))?{_user('suser')} "
    rf"to (?P<diface>{_IFACE}):(?P<nat>{_ADDR})(?:/(?P<natport>\d+))?(?: duration (?P<duration>\S+))?"
)
_LOGIN = _p(
    rf"Login (?P<verdict>denied|permitted) from (?P<src>{_ADDR})/(?P<sport>\d+) to "
    rf"(?P<iface>{_IFACE}):(?P<dst>{_ADDR})/(?P<service>\S+) for user \"(?P<user>[^\"]*)\""
)
_USER_AUTH = _p(
    r"User authentication (?P<verdict>succeeded|failed): (?:IP address: |IP = )?(?P<src>[^\s,]+), Uname: (?P<user>.+)"
)
_SVC = _p(
    r"Group <(?P<group>[^>]*)> User <(?P<user>[^>]*)> IP <(?P<src>[^>]*)> (?:(?P<proto>TCP|UDP) )?"
    r"SVC connection (?:established|terminated)"
)
_IDS = _p(
    rf"IDS:(?P<sig>\d{{1,9}}) (?P<name>.{{0,256}}?) from (?P<src>{_ADDR}) to (?P<dst>{_ADDR}) "
    r"on interface (?P<iface>\S+)"
)
_IDS_MESSAGE = AsaMessage(_IDS, "ids-signature", ("intrusion_detection", "network"), ("info",), kind="alert")

MESSAGES: dict[str, AsaMessage] = {
    "106001": AsaMessage(
        _p(
            rf"(?P<dir>Inbound|Outbound) (?P<proto>\S+) connection (?P<verdict>denied) from (?P<src>{_ADDR})/"
            rf"(?P<sport>\d+) to (?P<dst>{_ADDR})/(?P<dport>\d+) {_FLAGS}"
        ),
        "firewall-rule", verdict_type=True,
    ),
    "106006": AsaMessage(_p(rf"{_DENY_FROM_TO} on interface (?P<iface>\S+)"), "firewall-rule", verdict_type=True),
    "106007": AsaMessage(_p(rf"{_DENY_FROM_TO} due to (?P<reason>.*)"), "firewall-rule", verdict_type=True),
    "106014": AsaMessage(
        _p(
            rf"(?P<verdict>Deny) (?P<dir>inbound|outbound) (?P<proto>\S+) src (?P<siface>{_IFACE}):(?P<src>{_ADDR})"
            rf"{_user('suser')} dst (?P<diface>{_IFACE}):(?P<dst>{_ADDR}){_user('duser')} "
            r"\(type (?P<itype>\d+), code (?P<icode>\d+)\)"
        ),
        "firewall-rule", verdict_type=True,
    ),
    "106015": AsaMessage(
        _p(
            rf"(?P<verdict>Deny) (?P<proto>\S+) \(no connection\) from (?P<src>{_ADDR})/(?P<sport>\d+) to "
            rf"(?P<dst>{_ADDR})/(?P<dport>\d+) {_FLAGS}"
        ),
        "firewall-rule", verdict_type=True,
    ),
    "106023": AsaMessage(
        _p(
            rf"(?P<verdict>Deny) (?:protocol )?(?P<proto>\S+) src (?P<siface>{_IFACE}):(?P<src>{_ADDR})"
            rf"(?:/(?P<sport>\d+))?{_user('suser')} dst (?P<diface>{_IFACE}):(?P<dst>{_ADDR})(?:/(?P<dport>\d+))?"
            rf"{_user('duser')}(?: \(type (?P<itype>\d+), code (?P<icode>\d+)\))? by access-group \"(?P<acl>[^\"]*)\""
        ),
        "firewall-rule", verdict_type=True,
    ),
    "106100": AsaMessage(
        _p(
            r"access-list (?P<acl>\S+) (?P<verdict>permitted|denied|est-allowed) (?P<proto>\S+) "
            rf"(?P<siface>{_IFACE})/(?P<src>{_ADDR})\((?P<sport>\d+)\){_user('suser')} -> "
            rf"(?P<diface>{_IFACE})/(?P<dst>{_ADDR})\((?P<dport>\d+)\){_user('duser')} hit-cnt (?P<hits>\d+)"
        ),
        "firewall-rule", verdict_type=True,
    ),
    "302013": AsaMessage(_BUILT, "flow-creation", types=("connection", "start"), verdict_type=True,
                         initiator_second=True),
    "302014": AsaMessage(_TEARDOWN, "flow-expiration", types=("connection", "end")),
    "302015": AsaMessage(_BUILT, "flow-creation", types=("connection", "start"), verdict_type=True,
                         initiator_second=True),
    "302016": AsaMessage(_TEARDOWN, "flow-expiration", types=("connection", "end")),
    "302020": AsaMessage(_ICMP_FLOW, "flow-creation", types=("connection", "start"), verdict_type=True,
                         initiator_second=True),
    "302021": AsaMessage(_ICMP_FLOW, "flow-expiration", types=("connection", "end")),
    "305011": AsaMessage(_TRANSLATION, "translation-creation", types=("connection", "start")),
    "305012": AsaMessage(_TRANSLATION, "translation-expiration", types=("connection", "end")),
    "313001": AsaMessage(
        _p(
            r"(?P<verdict>Denied) (?P<proto>ICMP|ICMPv6) type=(?P<itype>\d+), code=(?P<icode>\d+) from "
            rf"(?P<src>{_ADDR}) on interface (?P<iface>\S+)"
        ),
        "firewall-rule", verdict_type=True,
    ),
    "605004": AsaMessage(_LOGIN, "login-denied", ("authentication",), ("start",), outcome_by_verdict=True),
    "605005": AsaMessage(_LOGIN, "login-permitted", ("authentication",), ("start",), outcome_by_verdict=True),
    "611101": AsaMessage(_USER_AUTH, "authentication-succeeded", ("authentication",), ("start",),
                         outcome_by_verdict=True),
    "611102": AsaMessage(_USER_AUTH, "authentication-failed", ("authentication",), ("start",),
                         outcome_by_verdict=True),
    "113004": AsaMessage(
        _p(r"AAA user (?P<what>authentication|authorization|accounting) Successful : server = +(?P<server>\S+) : "
           r"user = (?P<user>.+)"),
        "aaa-successful", ("authentication",), ("info",), outcome_by_verdict=True,
    ),
    "113005": AsaMessage(
        _p(r"AAA user (?P<what>authentication|authorization) (?P<verdict>Rejected) : reason = (?P<reason>.{0,256}?) : "
           r"server = +(?P<server>\S+) : user = (?P<user>.{0,256}?)(?: : user IP = (?P<src>\S+))?$"),
        "aaa-rejected", ("authentication",), ("info",), outcome_by_verdict=True,
    ),
    "113019": AsaMessage(
        _p(r"Group = (?P<group>.{0,128}?), Username = (?P<user>.{0,128}?), IP = (?P<src>[^\s,]+), "
           r"Session disconnected\. Session Type: (?P<stype>[^,]*), Duration: (?P<duration>[^,]*), "
           r"Bytes xmt: (?P<xmt>\d+), Bytes rcv: (?P<rcv>\d+), Reason: (?P<reason>.*)"),
        "vpn-session-disconnected", ("session", "network"), ("end",),
    ),
    "722022": AsaMessage(_SVC, "svc-connection-established", ("network", "session"), ("connection", "start")),
    "722023": AsaMessage(_SVC, "svc-connection-terminated", ("network", "session"), ("connection", "end")),
    "733100": AsaMessage(
        _p(r"\[ ?(?P<object>[^\]]{0,128}?)\] drop (?P<rate>rate-\d+) exceeded\..*"),
        "threat-rate-exceeded", ("intrusion_detection", "network"), ("info",), kind="alert",
    ),
}  # fmt: skip
# 400000-400050: "IDS:<signature> <description> from <src> to <dst> on interface <if>" (ip audit).
MESSAGES.update({f"4000{n:02d}": _IDS_MESSAGE for n in range(51)})

FALLBACK = AsaMessage(_p(r"(?!)"), "asa-message", (), ("info",))
