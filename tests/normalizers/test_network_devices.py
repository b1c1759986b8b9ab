"""Firewalls -> ECS: FortiGate key=value, Cisco ASA/FTD and Juniper SRX (structured and text), on lines
written in each vendor's documented format, and fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers.record import decode_line
from normalizers.sources import cisco_asa, fortigate, juniper_srx
from tests.normalizers.ecs_checks import received

# --- FortiGate -----------------------------------------------------------------------------------

FG_TRAFFIC = (
    '<189>date=2023-10-11 time=14:32:52 devname="FG100E-HQ" devid="FG100E3G16000001" eventtime=1697009572123456789 '
    'tz="+0700" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.10.1.25 '
    'srcport=51234 srcintf="port1" srcintfrole="lan" dstip=93.184.216.34 dstport=443 dstintf="wan1" '
    'dstintfrole="wan" srccountry="Reserved" dstcountry="United States" sessionid=8812345 proto=6 action="close" '
    'policyid=12 policytype="policy" poluuid="6a4e4d3a-1b2c-51ee-8f6a-0123456789ab" policyname="LAN-to-Internet" '
    'service="HTTPS" trandisp="snat" transip=203.0.113.10 transport=41234 appid=40568 app="HTTPS.BROWSER" '
    'appcat="Web.Client" apprisk="medium" duration=125 sentbyte=5123 rcvdbyte=48211 sentpkt=42 rcvdpkt=51 '
    'user="nguyen.van.a" group="staff" srcmac="00:1a:2b:3c:4d:5e" vwlid=0 srcserver=0'
)


def test_fortigate_traffic_close() -> None:
    ev = received(FG_TRAFFIC)
    assert "tags" not in ev
    assert ev["@timestamp"] == "2023-10-11T07:32:52.000Z"  # 14:32:52 at +07:00
    meta = ev["event"]
    assert (meta["dataset"], meta["kind"], meta["action"], meta["outcome"]) == (
        "fortinet.firewall", "event", "close", "success")  # fmt: skip
    assert meta["category"] == ["network"] and meta["type"] == ["connection", "end", "allowed"]
    assert meta["code"] == "0000000013" and meta["duration"] == 125_000_000_000
    assert ev["observer"] == {
        "name": "FG100E-HQ", "serial_number": "FG100E3G16000001", "vendor": "Fortinet", "product": "FortiGate",
        "type": "firewall", "ingress": {"interface": {"name": "port1"}}, "egress": {"interface": {"name": "wan1"}},
    }  # fmt: skip
    assert ev["source"] == {
        "ip": "10.10.1.25", "port": 51234, "nat": {"ip": "203.0.113.10", "port": 41234}, "bytes": 5123,
        "packets": 42, "mac": "00-1A-2B-3C-4D-5E", "user": {"name": "nguyen.van.a", "group": {"name": "staff"}},
    }  # fmt: skip
    assert ev["destination"] == {"ip": "93.184.216.34", "port": 443, "bytes": 48211, "packets": 51}
    assert ev["network"] == {"iana_number": "6", "transport": "tcp", "protocol": "https",
                             "application": "https.browser", "bytes": 53334, "packets": 93}  # fmt: skip
    assert ev["rule"] == {"id": "12", "name": "LAN-to-Internet", "ruleset": "policy", "category": "Web.Client",
                          "uuid": "6a4e4d3a-1b2c-51ee-8f6a-0123456789ab"}  # fmt: skip
    assert ev["user"] == {"name": "nguyen.van.a"}
    firewall = ev["fortinet"]["firewall"]
    assert firewall["type"] == "traffic" and firewall["action"] == "close" and firewall["sessionid"] == "8812345"
    assert "srcip" not in firewall and "devname" not in firewall
    assert all(isinstance(v, str) for v in firewall.values())
    assert ev["related"] == {"ip": ["10.10.1.25", "93.184.216.34"], "user": ["nguyen.van.a"]}


def test_fortigate_denied_traffic_and_relayed_syslog_header() -> None:
    line = (
        'Oct 11 14:33:10 fw-relay date=2023-10-11 time=14:33:10 devname="FG100E-HQ" devid="FG100E3G16000001" '
        'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=198.51.100.77 '
        'srcport=40000 srcintf="wan1" dstip=203.0.113.10 dstport=3389 dstintf="port1" proto=6 action="deny" '
        'policyid=0 policytype="policy" service="RDP" sentbyte=0 rcvdbyte=0 sentpkt=0'
    )
    ev = received(line)
    assert ev["event"]["type"] == ["connection", "end", "denied"] and ev["event"]["outcome"] == "failure"
    assert ev["@timestamp"] == "2023-10-11T14:33:10.000Z"  # no tz= and no eventtime: read as UTC
    assert ev["host"]["name"] == "fw-relay" and ev["observer"]["name"] == "FG100E-HQ"


def test_fortigate_utm_ips_virus_and_webfilter() -> None:
    ips = received(
        '<185>date=2023-10-11 time=14:35:01 devname="FG100E-HQ" devid="FG100E3G16000001" tz="+0700" '
        'logid="0419016384" type="utm" subtype="ips" eventtype="signature" level="alert" vd="root" '
        'severity="critical" srcip=198.51.100.77 dstip=10.10.5.20 srcintf="wan1" dstintf="dmz" sessionid=8813001 '
        'action="dropped" proto=6 service="HTTP" policyid=7 attack="Apache.Log4j.Error.Log.Remote.Code.Execution" '
        'srcport=55123 dstport=80 hostname="portal.example.gov.vn" url="/api/login?user=${jndi:ldap://x/a}" '
        'direction="incoming" attackid=51006 msg="applications3: Apache.Log4j.Error.Log.Remote.Code.Execution,"'
    )
    assert ips["event"]["kind"] == "alert"
    assert ips["event"]["category"] == ["network", "intrusion_detection"]
    assert ips["event"]["type"] == ["denied"] and ips["event"]["action"] == "dropped"
    assert ips["fortinet"]["firewall"]["attack"] == "Apache.Log4j.Error.Log.Remote.Code.Execution"
    assert ips["url"] == {"domain": "portal.example.gov.vn", "original": "/api/login?user=${jndi:ldap://x/a}",
                          "path": "/api/login", "query": "user=${jndi:ldap://x/a}"}  # fmt: skip
    assert ips["network"]["direction"] == "inbound"
    assert ips["message"].startswith("applications3: Apache.Log4j")
    virus = received(
        '<188>date=2023-10-11 time=14:36:44 devname="FG100E-HQ" devid="FG100E3G16000001" logid="0211008192" '
        'type="utm" subtype="virus" eventtype="infected" level="warning" vd="root" policyid=12 '
        'msg="File is infected." action="blocked" service="HTTP" srcip=10.10.1.25 dstip=203.0.113.200 '
        'srcport=51999 dstport=80 proto=6 direction="incoming" filename="invoice.exe" virus="W32/Agent.XYZ!tr" '
        'dtype="Virus" virusid=8123456 url="http://203.0.113.200/invoice.exe" user="nguyen.van.a" agent="Mozilla/5.0"'
    )
    assert virus["event"]["kind"] == "alert" and virus["event"]["category"] == ["network", "malware"]
    assert virus["file"] == {"name": "invoice.exe"} and virus["user_agent"] == {"original": "Mozilla/5.0"}
    assert virus["fortinet"]["firewall"]["virus"] == "W32/Agent.XYZ!tr"
    web = received(
        '<189>date=2023-10-11 time=14:40:00 devname="FG100E-HQ" devid="FG100E3G16000001" logid="0316013056" '
        'type="utm" subtype="webfilter" eventtype="ftgd_blk" level="warning" vd="root" policyid=12 '
        'srcip=10.10.1.30 srcport=52000 dstip=185.199.108.153 dstport=443 proto=6 service="HTTPS" '
        'hostname="malware.example.net" action="blocked" url="https://malware.example.net/" cat=26 '
        'catdesc="Malicious Websites" msg="URL belongs to a denied category in policy"'
    )
    assert web["event"]["kind"] == "event" and web["event"]["category"] == ["network", "web"]
    assert web["rule"]["category"] == "Malicious Websites" and web["url"]["domain"] == "malware.example.net"


def test_fortigate_system_events() -> None:
    login = received(
        '<190>date=2023-10-11 time=14:45:12 devname="FG100E-HQ" devid="FG100E3G16000001" logid="0100032002" '
        'type="event" subtype="system" level="alert" vd="root" logdesc="Admin login failed" sn="0" user="admin" '
        'ui="https(198.51.100.77)" method="https" srcip=198.51.100.77 dstip=203.0.113.10 action="login" '
        'status="failed" reason="passwd_invalid" msg="Administrator admin login failed from https(198.51.100.77) '
        'because of invalid password"'
    )
    assert login["event"]["category"] == ["authentication"] and login["event"]["type"] == ["start"]
    assert login["event"]["outcome"] == "failure" and login["event"]["reason"] == "passwd_invalid"
    assert login["user"]["name"] == "admin" and login["source"]["ip"] == "198.51.100.77"
    assert login["rule"]["description"] == "Admin login failed"
    change = received(
        '<189>date=2023-10-11 time=14:50:00 devname="FG100E-HQ" devid="FG100E3G16000001" logid="0100044547" '
        'type="event" subtype="system" level="information" vd="root" logdesc="Object attribute configured" '
        'user="admin" ui="GUI(10.10.1.5)" action="Edit" cfgtid=1234 cfgpath="firewall.policy" cfgobj="12" '
        'cfgattr="action[accept->deny]" msg="Edit firewall.policy 12"'
    )
    assert change["event"]["category"] == ["configuration"] and change["event"]["type"] == ["change"]
    assert change["fortinet"]["firewall"]["cfgattr"] == "action[accept->deny]"
    vpn = received(
        '<189>date=2023-10-11 time=14:55:00 devname="FG100E-HQ" devid="FG100E3G16000001" logid="0101037138" '
        'type="event" subtype="vpn" level="notice" vd="root" logdesc="IPsec connection status changed" '
        'action="tunnel-up" remip=198.51.100.200 locip=203.0.113.10 remport=500 locport=500 user="N/A" '
        'vpntunnel="branch-01" tunneltype="ipsec"'
    )
    assert vpn["event"]["type"] == ["connection", "start"]
    assert vpn["destination"] == {"ip": "198.51.100.200", "port": 500}
    assert "user" not in vpn and "user" not in vpn["fortinet"]["firewall"]  # N/A is dropped
    health = received(
        'date=2023-10-11 time=15:00:00 devname="FG1" devid="FGT1" logid="0100040704" type="event" '
        'subtype="system" level="notice" logdesc="System performance statistics" cpu=12 mem=40'
    )
    assert health["event"]["category"] == ["host"] and health["event"]["action"] == "system-performance-statistics"


def test_fortigate_quoted_values_keep_spaces_equals_and_escaped_quotes() -> None:
    ev = received(
        'date=2023-10-11 time=15:00:00 devname="FG1" devid="FGT1" logid="0100032001" type="event" subtype="system" '
        'msg="User \\"bob\\" said a=b, c" cfgattr="x" srcip=not-an-ip'
    )
    assert ev["message"] == 'User "bob" said a=b, c'
    assert "ip" not in ev.get("source", {}) and ev["fortinet"]["firewall"]["srcip"] == "not-an-ip"


# --- Cisco ASA / FTD -----------------------------------------------------------------------------


def test_asa_built_outbound_swaps_to_the_initiator_and_keeps_nat() -> None:
    ev = received(
        "<166>Oct 11 2023 14:32:53: %ASA-6-302015: Built outbound UDP connection 1234568 for outside:8.8.8.8/53 "
        "(8.8.8.8/53) to inside:10.10.1.25/51000 (203.0.113.5/41000)"
    )
    assert "tags" not in ev  # "Oct 11 2023 14:32:53:" is not syslog; the ASA header is read instead
    assert ev["@timestamp"] == "2023-10-11T14:32:53.000Z"
    assert ev["event"]["code"] == "302015" and ev["event"]["action"] == "flow-creation"
    assert ev["event"]["severity"] == 6 and ev["log"]["level"] == "informational"
    assert ev["source"] == {"address": "10.10.1.25", "ip": "10.10.1.25", "port": 51000,
                            "nat": {"ip": "203.0.113.5", "port": 41000}}  # fmt: skip
    assert ev["destination"] == {"address": "8.8.8.8", "ip": "8.8.8.8", "port": 53}
    assert ev["observer"]["ingress"] == {"interface": {"name": "inside"}}
    assert ev["network"] == {"transport": "udp", "direction": "outbound"}
    assert ev["cisco"]["asa"] == {"message_id": "302015", "connection_id": 1234568}


def test_asa_tag_as_program_and_access_group_deny() -> None:
    ev = received(
        "Oct 11 14:33:10 asa-edge-01 %ASA-4-106023: Deny tcp src outside:198.51.100.77/40000 dst "
        'inside:10.10.5.20/3389 by access-group "outside_access_in" [0x0, 0x0]'
    )
    assert "process" not in ev  # the "program" was the message tag
    assert ev["event"]["type"] == ["connection", "denied"] and ev["event"]["outcome"] == "failure"
    assert ev["rule"] == {"name": "outside_access_in"}
    assert ev["observer"]["hostname"] == "asa-edge-01"
    assert (ev["source"]["ip"], ev["source"]["port"], ev["destination"]["port"]) == ("198.51.100.77", 40000, 3389)


ASA_LINES: list[tuple[str, str, dict[str, Any]]] = [
    ("%ASA-2-106001: Inbound TCP connection denied from 198.51.100.77/40001 to 203.0.113.15/22 flags SYN  on "
     "interface outside", "firewall-rule", {"destination.port": 22, "cisco.asa.tcp_flags": "SYN"}),
    ("%ASA-2-106006: Deny inbound UDP from 198.51.100.77/5060 to 203.0.113.15/5060 on interface outside",
     "firewall-rule", {"network.transport": "udp", "event.outcome": "failure"}),
    ("%ASA-2-106007: Deny inbound UDP from 198.51.100.77/53 to 10.10.1.2/53 due to DNS Response",
     "firewall-rule", {"event.reason": "DNS Response"}),
    ("%ASA-3-106014: Deny inbound icmp src outside:198.51.100.77 dst inside:10.10.5.20 (type 8, code 0)",
     "firewall-rule", {"cisco.asa.icmp_type": 8, "network.transport": "icmp"}),
    ("%ASA-6-106015: Deny TCP (no connection) from 10.10.1.25/51234 to 93.184.216.34/443 flags RST  on interface "
     "inside", "firewall-rule", {"observer.ingress.interface.name": "inside"}),
    ("%ASA-6-106100: access-list inside_access_in permitted tcp inside/10.10.1.25(51234) -> "
     "outside/93.184.216.34(443) hit-cnt 1 first hit [0x91ba2cf4, 0x0]", "firewall-rule",
     {"event.outcome": "success", "rule.name": "inside_access_in", "cisco.asa.hit_count": 1}),
    ("%ASA-6-302013: Built inbound TCP connection 1234567 for outside:198.51.100.77/51234 (198.51.100.77/51234) "
     "to dmz:10.20.0.15/443 (203.0.113.15/443)", "flow-creation",
     {"source.ip": "198.51.100.77", "destination.nat.ip": "203.0.113.15", "network.direction": "inbound"}),
    ("%ASA-6-302014: Teardown TCP connection 1234567 for outside:198.51.100.77/51234 to dmz:10.20.0.15/443 "
     "duration 0:01:05 bytes 48211 TCP FINs from outside", "flow-expiration",
     {"event.duration": 65_000_000_000, "network.bytes": 48211, "event.reason": "TCP FINs from outside"}),
    ("%ASA-6-302016: Teardown UDP connection 1234568 for outside:8.8.8.8/53 to inside:10.10.1.25/51000 duration "
     "0:02:01 bytes 120", "flow-expiration", {"event.duration": 121_000_000_000}),
    ("%ASA-6-302020: Built inbound ICMP connection for faddr 198.51.100.77/1 gaddr 203.0.113.15/0 laddr "
     "10.20.0.15/0 type 8 code 0", "flow-creation", {"destination.nat.ip": "203.0.113.15", "source.port": None}),
    ("%ASA-6-302021: Teardown ICMP connection for faddr 198.51.100.77/1 gaddr 203.0.113.15/0 laddr 10.20.0.15/0 "
     "type 8 code 0", "flow-expiration", {"destination.ip": "10.20.0.15"}),
    ("%ASA-6-305011: Built dynamic TCP translation from inside:10.10.1.25/51234 to outside:203.0.113.5/41234",
     "translation-creation", {"source.nat.ip": "203.0.113.5", "source.nat.port": 41234}),
    ("%ASA-6-305012: Teardown dynamic UDP translation from inside:10.10.1.25/51000 to outside:203.0.113.5/41000 "
     "duration 0:00:30", "translation-expiration", {"event.duration": 30_000_000_000}),
    ("%ASA-3-313001: Denied ICMP type=8, code=0 from 198.51.100.77 on interface outside", "firewall-rule",
     {"cisco.asa.icmp_code": 0}),
    ('%ASA-6-605004: Login denied from 198.51.100.77/51515 to outside:203.0.113.1/ssh for user "admin"',
     "login-denied", {"event.outcome": "failure", "user.name": "admin", "cisco.asa.service": "ssh"}),
    ('%ASA-6-605005: Login permitted from 10.10.1.5/51516 to inside:10.10.0.1/https for user "netadmin"',
     "login-permitted", {"event.outcome": "success", "event.category": ["authentication"]}),
    ("%ASA-6-611101: User authentication succeeded: IP address: 10.10.1.5, Uname: netadmin",
     "authentication-succeeded", {"event.outcome": "success", "source.ip": "10.10.1.5"}),
    ("%ASA-6-611102: User authentication failed: IP address: 198.51.100.77, Uname: admin",
     "authentication-failed", {"event.outcome": "failure", "user.name": "admin"}),
    ("%ASA-6-113004: AAA user authentication Successful : server =  10.10.0.50 : user = tran.thi.b",
     "aaa-successful", {"user.name": "tran.thi.b", "cisco.asa.aaa_server": "10.10.0.50"}),
    ("%ASA-6-113005: AAA user authentication Rejected : reason = AAA failure : server = 10.10.0.50 : "
     "user = tran.thi.b : user IP = 198.51.100.9", "aaa-rejected",
     {"event.outcome": "failure", "source.ip": "198.51.100.9", "event.reason": "AAA failure"}),
    ("%ASA-4-113019: Group = vpn-staff, Username = tran.thi.b, IP = 198.51.100.9, Session disconnected. Session "
     "Type: SSL, Duration: 1h:02m:03s, Bytes xmt: 1234567, Bytes rcv: 7654321, Reason: User Requested",
     "vpn-session-disconnected", {"event.duration": 3723_000_000_000, "source.bytes": 1234567,
                                  "user.group.name": "vpn-staff"}),
    ("%ASA-6-722022: Group <vpn-staff> User <tran.thi.b> IP <198.51.100.9> TCP SVC connection established without "
     "compression", "svc-connection-established", {"event.type": ["connection", "start"]}),
    ("%ASA-6-722023: Group <vpn-staff> User <tran.thi.b> IP <198.51.100.9> UDP SVC connection terminated without "
     "compression", "svc-connection-terminated", {"network.transport": "udp"}),
    ("%ASA-4-733100: [ 198.51.100.77] drop rate-1 exceeded. Current burst rate is 10 per second, max configured "
     "rate is 10; Current average rate is 5 per second, max configured rate is 5; Cumulative total count is 3024",
     "threat-rate-exceeded", {"event.kind": "alert", "source.ip": "198.51.100.77"}),
    ("%ASA-4-400013: IDS:2003 ICMP redirect from 198.51.100.1 to 10.10.1.25 on interface outside", "ids-signature",
     {"event.kind": "alert", "rule.id": "2003", "rule.name": "ICMP redirect"}),
    ("%ASA-6-999999: A message this parser has no pattern for", "asa-message",
     {"event.code": "999999", "observer.vendor": "Cisco"}),
    ("%FTD-6-430003: DeviceUUID: x, SrcIP: 10.0.0.1", "ftd-message", {"event.dataset": "cisco.ftd"}),
]  # fmt: skip


def _get(event: dict[str, Any], dotted: str) -> Any:
    node: Any = event
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@pytest.mark.parametrize(("message", "action", "fields"), ASA_LINES, ids=[m[5:16] for m, _, _ in ASA_LINES])
def test_asa_messages(message: str, action: str, fields: dict[str, Any]) -> None:
    ev = received(f"<166>Oct 11 2023 14:33:20 asa-edge-01 : {message}")
    assert ev["event"]["action"] == action
    assert ev["event"]["code"] == message[7:13]
    assert ev["observer"]["product"] in ("ASA", "FTD")
    for dotted, value in fields.items():
        assert _get(ev, dotted) == value, dotted


# --- Juniper SRX ---------------------------------------------------------------------------------

SRX_CREATE_SD = (
    "<14>1 2023-10-11T14:32:52.123+07:00 srx-hq-01 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 "
    'source-address="10.10.1.25" source-port="51234" destination-address="93.184.216.34" destination-port="443" '
    'connection-tag="0" service-name="junos-https" nat-source-address="203.0.113.5" nat-source-port="41234" '
    'nat-destination-address="93.184.216.34" nat-destination-port="443" nat-connection-tag="0" '
    'src-nat-rule-type="source rule" src-nat-rule-name="lan-to-wan" dst-nat-rule-type="N/A" dst-nat-rule-name="N/A" '
    'protocol-id="6" policy-name="allow-web" source-zone-name="trust" destination-zone-name="untrust" '
    'session-id-32="220000123" username="N/A" roles="N/A" packet-incoming-interface="ge-0/0/1.0" '
    'application="UNKNOWN" nested-application="UNKNOWN" encrypted="UNKNOWN"] session created '
    "10.10.1.25/51234->93.184.216.34/443 0x0 junos-https 203.0.113.5/41234->93.184.216.34/443 0x0 source rule "
    "lan-to-wan N/A N/A 6 allow-web trust untrust 220000123 N/A(N/A) ge-0/0/1.0 UNKNOWN UNKNOWN UNKNOWN"
)
SRX_CREATE_TEXT = (
    "<14>Oct 11 14:32:52 srx-hq-01 RT_FLOW: RT_FLOW_SESSION_CREATE: session created "
    "10.10.1.25/51234->93.184.216.34/443 0x0 junos-https 203.0.113.5/41234->93.184.216.34/443 0x0 source rule "
    "lan-to-wan N/A N/A 6 allow-web trust untrust 220000123 N/A(N/A) ge-0/0/1.0 UNKNOWN UNKNOWN UNKNOWN"
)


def test_srx_session_create_structured_and_text_agree() -> None:
    structured, text = received(SRX_CREATE_SD), received(SRX_CREATE_TEXT)
    for ev in (structured, text):
        assert ev["event"]["dataset"] == "juniper.srx"
        assert ev["event"]["action"] == "flow_started"
        assert ev["event"]["type"] == ["connection", "start", "allowed"]
        assert ev["source"] == {"ip": "10.10.1.25", "port": 51234, "nat": {"ip": "203.0.113.5", "port": 41234}}
        assert ev["destination"] == {"ip": "93.184.216.34", "port": 443}  # untranslated: no nat
        assert ev["network"] == {"iana_number": "6", "transport": "tcp"}
        assert ev["rule"] == {"name": "allow-web"}
        assert ev["observer"]["ingress"] == {"zone": "trust", "interface": {"name": "ge-0/0/1.0"}}
        assert ev["observer"]["egress"] == {"zone": "untrust"}
        assert ev["juniper"]["srx"]["session_id_32"] == "220000123"
        assert ev["juniper"]["srx"]["service_name"] == "junos-https"
    assert structured["@timestamp"] == "2023-10-11T07:32:52.123Z"
    assert structured["juniper"]["srx"]["src_nat_rule_name"] == "lan-to-wan"


def test_srx_session_close_and_deny() -> None:
    close = received(
        "<14>Oct 11 14:34:00 srx-hq-01 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed TCP FIN: "
        "10.10.1.25/51234->93.184.216.34/443 0x0 junos-https 203.0.113.5/41234->93.184.216.34/443 0x0 source rule "
        "lan-to-wan N/A N/A 6 allow-web trust untrust 220000123 12(1840) 15(18234) 68 SSL UNKNOWN "
        "tran.thi.b(staff) ge-0/0/1.0 No"
    )
    assert close["event"]["action"] == "flow_close" and close["event"]["reason"] == "TCP FIN"
    assert close["event"]["duration"] == 68_000_000_000
    assert (close["source"]["bytes"], close["source"]["packets"]) == (1840, 12)
    assert (close["destination"]["bytes"], close["destination"]["packets"]) == (18234, 15)
    assert close["network"]["bytes"] == 20074 and close["network"]["application"] == "ssl"
    assert close["user"] == {"name": "tran.thi.b"} and close["juniper"]["srx"]["roles"] == "staff"
    deny = received(
        "<14>Oct 11 14:35:10 srx-hq-01 RT_FLOW: RT_FLOW_SESSION_DENY: session denied "
        "198.51.100.77/40000->203.0.113.10/23 0x0 junos-telnet 6(0) default-deny untrust trust UNKNOWN UNKNOWN "
        "N/A(N/A) ge-0/0/0.0 No policy reject 5 N/A N/A"
    )
    assert deny["event"]["action"] == "flow_deny" and deny["event"]["outcome"] == "failure"
    assert deny["event"]["type"] == ["connection", "denied"]
    assert deny["rule"] == {"name": "default-deny"} and deny["destination"]["port"] == 23


def test_srx_idp_attack_structured_and_text() -> None:
    structured = received(
        "<11>1 2023-10-11T14:36:00.000+07:00 srx-hq-01 RT_IDP - RT_IDP_ATTACK_LOG_EVENT [junos@2636.1.1.1.2.129 "
        'epoch-time="1697009760" message-type="SIGNATURE" source-address="198.51.100.77" source-port="55123" '
        'destination-address="10.20.0.15" destination-port="80" protocol-name="TCP" service-name="SERVICE_IDP" '
        'application-name="HTTP" rule-name="3" rulebase-name="IPS" policy-name="Recommended" repeat-count="0" '
        'action="DROP" threat-severity="HIGH" attack-name="HTTP:SQL:INJ:GENERIC" nat-source-address="0.0.0.0" '
        'nat-source-port="0" source-zone-name="untrust" source-interface-name="ge-0/0/0.0" '
        'destination-zone-name="dmz" destination-interface-name="ge-0/0/2.0" message="-"]'
    )
    text = received(
        "<11>Oct 11 14:36:01 srx-hq-01 RT_IDP: RT_IDP_ATTACK_LOG_EVENT: IDP: at 1697009761, SIGNATURE Attack log "
        "<198.51.100.77/55124->10.20.0.15/80> for TCP protocol and service SERVICE_IDP application HTTP by rule 3 of "
        "rulebase IPS in policy Recommended. attack: repeat=0, action=DROP, threat-severity=HIGH, "
        "name=HTTP:SQL:INJ:GENERIC, NAT <0.0.0.0:0->0.0.0.0:0>, time-elapsed=0, inbytes=0, outbytes=0, inpackets=0, "
        "outpackets=0, intf:untrust:ge-0/0/0.0->dmz:ge-0/0/2.0, packet-log-id: 0, alert=no, username=N/A, "
        "roles=N/A and misc-message -"
    )
    for ev in (structured, text):
        assert ev["event"]["kind"] == "alert" and ev["event"]["action"] == "security_threat"
        assert ev["event"]["category"] == ["network", "intrusion_detection"]
        assert ev["event"]["type"] == ["info", "connection", "denied"]
        assert ev["rule"] == {"id": "3", "name": "IPS"}
        assert ev["juniper"]["srx"]["attack_name"] == "HTTP:SQL:INJ:GENERIC"
        assert ev["juniper"]["srx"]["threat_severity"] == "HIGH"
        assert ev["network"]["transport"] == "tcp" and ev["network"]["application"] == "http"
        assert "nat" not in ev["source"]  # 0.0.0.0 means no translation
        assert ev["observer"]["egress"] == {"zone": "dmz", "interface": {"name": "ge-0/0/2.0"}}
    assert structured["message"] == "HTTP:SQL:INJ:GENERIC"


@pytest.mark.parametrize(
    ("line", "action", "denied", "source"),
    [
        ("<11>Oct 11 14:37:00 srx-hq-01 RT_SCREEN: RT_SCREEN_TCP: SYN flood! source: 198.51.100.77:40000, "
         "destination: 203.0.113.10:80, zone name: untrust, interface name: ge-0/0/0.0, action: drop",
         "flood_detected", True, {"ip": "198.51.100.77", "port": 40000}),
        ("<11>Oct 11 14:37:01 srx-hq-01 RT_SCREEN: RT_SCREEN_ICMP: ICMP flood! source: 198.51.100.77, destination: "
         "203.0.113.10, zone name: untrust, interface name: ge-0/0/0.0, action: drop",
         "flood_detected", True, {"ip": "198.51.100.77"}),
        ("<11>Oct 11 14:37:02 srx-hq-01 RT_SCREEN: RT_SCREEN_IP: IP spoofing! source: 10.10.1.99, destination: "
         "203.0.113.10, protocol-id: 17, zone name: untrust, interface name: ge-0/0/0.0, action: drop",
         "spoofing_detected", True, {"ip": "10.10.1.99"}),
        ('<11>1 2023-10-11T14:37:04.000+07:00 srx-hq-01 RT_SCREEN - RT_SCREEN_UDP [junos@2636.1.1.1.2.129 '
         'attack-name="UDP flood!" source-address="198.51.100.78" source-port="0" destination-address="203.0.113.10" '
         'destination-port="53" source-zone-name="untrust" interface-name="ge-0/0/0.0" action="alarm-without-drop"]',
         "flood_detected", False, {"ip": "198.51.100.78", "port": 0}),
        ("<11>Oct 11 14:37:05 srx-hq-01 RT_SCREEN: RT_SCREEN_TCP [junos@2636.1.1.1.2.40 attack-name=\"TCP port "
         "scan!\" source-address=\"198.51.100.77\" source-port=\"40001\" destination-address=\"203.0.113.10\" "
         "destination-port=\"8080\" source-zone-name=\"untrust\" interface-name=\"ge-0/0/0.0\" action=\"drop\"]",
         "scan_detected", True, {"ip": "198.51.100.77", "port": 40001}),
    ],
)  # fmt: skip
def test_srx_screens(line: str, action: str, denied: bool, source: dict[str, Any]) -> None:
    ev = received(line)
    assert ev["event"]["kind"] == "alert" and ev["event"]["action"] == action
    assert ev["event"]["type"][-1] == ("denied" if denied else "allowed")
    assert ev["source"] == source
    assert ev["observer"]["ingress"] == {"zone": "untrust", "interface": {"name": "ge-0/0/0.0"}}


# --- fuzzing -------------------------------------------------------------------------------------

_SEEDS = [
    FG_TRAFFIC, SRX_CREATE_SD, SRX_CREATE_TEXT, *(f"<166>Oct 11 2023 14:33:20 asa : {m}" for m, _, _ in ASA_LINES),
    "<14>Oct 11 14:35:10 srx RT_FLOW: RT_FLOW_SESSION_DENY: session denied 1.2.3.4/1->5.6.7.8/2 0x0 svc 6(0) p a b",
]  # fmt: skip
_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
_LINES = st.one_of(
    _TEXT,
    st.builds(lambda seed, cut: seed[:cut], st.sampled_from(_SEEDS), st.integers(0, 1500)),
    st.builds(lambda seed, junk, at: seed[:at] + junk + seed[at:], st.sampled_from(_SEEDS), _TEXT,
              st.integers(0, 1500)),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(
        ["logid=1 devid=2 ", "%ASA-6-302013: ", "%ASA-4-106023: ", "%FTD-1-400000: ",
         "RT_FLOW_SESSION_CREATE: session created ", "RT_IDP_ATTACK_LOG_EVENT: IDP: at 1, ", "RT_SCREEN_TCP: "]),
        _TEXT),
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(_LINES)
def test_firewall_lines_never_raise_and_always_fit_the_schema(line: str) -> None:
    for text in (line, f"<134>Oct 11 14:32:52 fw {line}", f"<14>Oct 11 14:32:52 srx RT_FLOW: {line}",
                 f"Oct 11 14:32:52 asa %ASA-6-302013: {line}"):  # fmt: skip
        ev = received(text)
        assert "source_parser_error" not in ev.get("tags", [])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_break_the_firewall_parsers(data: bytes) -> None:
    line = decode_line(data)
    for refine in (fortigate.refine, cisco_asa.refine, juniper_srx.refine):
        event = {"message": line, "event": {"dataset": "syslog"}, "tags": ["parse_failure"],
                 "@timestamp": "2023-10-12T00:00:00.000Z"}  # fmt: skip
        refine(event)
    for sniff in (fortigate.sniff, cisco_asa.sniff, juniper_srx.sniff):
        sniff(line)


def test_oversized_firewall_lines_stay_safe() -> None:
    huge_fg = FG_TRAFFIC + " " + " ".join(f"k{i}=v{i}" for i in range(20_000))
    ev = received(huge_fg)
    assert ev["event"]["dataset"] == "fortinet.firewall" and ev["fortinet"]["firewall"]["k19999"] == "v19999"
    ev = received("<166>%ASA-6-302013: Built inbound TCP connection " + "9" * 100_000)
    assert ev["event"]["code"] == "302013" and ev["event"]["action"] == "asa-message"
    ev = received("<166>%ASA-2-106001: Inbound TCP connection denied from 1.2.3.4/1 to 5.6.7.8/2 flags" + " " * 100_000)
    assert ev["event"]["code"] == "106001"
