"""CEF and Suricata EVE -> ECS, and the JSON routing hook: records written in the documented formats
(ArcSight CEF, Suricata EVE JSON), and fuzzing."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers.record import RawRecord, decode_line
from normalizers.routing import JSON_ROUTES, JsonSourceParser
from normalizers.sources import cef, suricata
from tests.normalizers.ecs_checks import received

# --- CEF -----------------------------------------------------------------------------------------


CEF_WAF = (
    "<134>Oct 11 14:32:52 waf-01 CEF:0|Imperva Inc.|SecureSphere|13.6.0|SQL Injection|SQL Injection attempt|High|"
    "act=block dst=10.20.0.15 dpt=443 src=198.51.100.77 spt=55123 suser=- "
    "request=https://portal.example.gov.vn/login?id\\=1' OR 1\\=1 requestMethod=POST proto=TCP "
    "cs1Label=Policy cs1=Default Web Policy rt=Oct 11 2023 14:32:52 msg=Blocked SQL injection on /login"
)


def test_cef_with_syslog_header_escapes_and_multi_word_values() -> None:
    ev = received(CEF_WAF)
    assert ev["event"]["dataset"] == "cef.log" and ev["event"]["action"] == "block"
    assert ev["event"]["code"] == "SQL Injection" and ev["event"]["severity"] == 8
    assert ev["observer"] == {"vendor": "Imperva Inc.", "product": "SecureSphere", "version": "13.6.0"}
    assert ev["url"] == {"original": "https://portal.example.gov.vn/login?id=1' OR 1=1"}
    assert ev["cef"]["extensions"]["deviceCustomString1"] == "Default Web Policy"
    assert ev["cef"]["extensions"]["sourceUserName"] == "-" and "user" not in ev
    assert ev["source"] == {"ip": "198.51.100.77", "port": 55123}
    assert ev["network"]["transport"] == "tcp" and ev["http"]["request"]["method"] == "POST"
    assert ev["message"] == "Blocked SQL injection on /login"
    assert ev["host"]["name"] == "waf-01"


def test_cef_header_escapes_and_raw_line_without_syslog() -> None:
    ev = received(
        "CEF:0|Security|threatmanager|1.0|100|detected a \\| in message|10|src=10.0.0.1 act=blocked a \\= "
        "dst=1.1.1.1 msg=line one\\nline two spt=70000 rt=1697009572000"
    )
    assert "tags" not in ev
    assert ev["cef"]["name"] == "detected a | in message"
    assert ev["event"]["action"] == "blocked a ="
    assert ev["message"] == "line one\nline two"
    assert ev["@timestamp"] == "2023-10-11T07:32:52.000Z"
    assert "port" not in ev["source"] and ev["cef"]["extensions"]["sourcePort"] == "70000"


def test_cef_extension_parser_directly() -> None:
    assert cef.parse_extension("a=1 b=two words  c=x\\\\y\\=z d=") == {
        "a": "1", "b": "two words", "c": "x\\y=z", "d": ""}  # fmt: skip
    assert cef.parse_extension("") == {}


def test_cef_rfc5424_outcome_direction_and_times() -> None:
    ev = received(
        "<14>1 2023-10-11T14:32:52Z fw-02 CEF - - - CEF:1|Vendor|Product|2.1|login-fail|Failed login|Very-High|"
        "suser=admin src=2001:db8::7 outcome=failure deviceDirection=0 cnt=5 start=1697009500000 end=1697009572000"
    )
    assert ev["event"]["outcome"] == "failure" and ev["event"]["severity"] == 10
    assert ev["event"]["count"] == 5 and ev["network"]["direction"] == "inbound"
    assert ev["event"]["start"] == "2023-10-11T07:31:40.000Z" and ev["event"]["end"] == "2023-10-11T07:32:52.000Z"
    assert ev["user"] == {"name": "admin"} and ev["source"]["ip"] == "2001:db8::7"


def test_fortigate_in_cef_format_is_cef_not_key_value() -> None:
    ev = received(
        "<189>CEF:0|Fortinet|Fortigate|v7.2.5|00013|traffic:forward close|3|deviceExternalId=FGT1 "
        "FTNTFGTlogid=0000000013 src=10.10.1.25 dst=93.184.216.34 act=close FTNTFGTdevname=FG1"
    )
    assert ev["event"]["dataset"] == "cef.log" and ev["cef"]["extensions"]["FTNTFGTlogid"] == "0000000013"


# --- Suricata EVE (JSON lines) -------------------------------------------------------------------

EVE_ALERT = {
    "timestamp": "2023-10-11T14:32:52.123456+0700", "flow_id": 1234567890123456, "in_iface": "eth1",
    "event_type": "alert", "src_ip": "198.51.100.77", "src_port": 55123, "dest_ip": "10.20.0.15", "dest_port": 80,
    "proto": "TCP", "community_id": "1:abcdEFGH1234=", "app_proto": "http",
    "alert": {"action": "blocked", "gid": 1, "signature_id": 2034647, "rev": 3,
              "signature": "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
              "category": "Attempted Administrator Privilege Gain", "severity": 1,
              "metadata": {"mitre_tactic_id": ["TA0001"], "mitre_tactic_name": ["Initial_Access"],
                           "mitre_technique_id": ["T1190"]}},
    "http": {"hostname": "portal.example.gov.vn", "url": "/api/login?user=${jndi:ldap://x/a}",
             "http_user_agent": "curl/7.68.0", "http_method": "GET", "protocol": "HTTP/1.1", "status": 200,
             "length": 5},
    "flow": {"pkts_toserver": 4, "pkts_toclient": 3, "bytes_toserver": 420, "bytes_toclient": 1024,
             "start": "2023-10-11T14:32:52.000000+0700"},
}  # fmt: skip


def eve(document: dict[str, Any]) -> dict[str, Any]:
    return received(json.dumps(document))  # the standard library writes integers of any size


def test_eve_alert_looks_like_filebeat_suricata_output() -> None:
    ev = eve(EVE_ALERT)
    assert ev["@timestamp"] == "2023-10-11T07:32:52.123Z"
    meta = ev["event"]
    assert (meta["kind"], meta["dataset"], meta["module"]) == ("alert", "suricata.eve", "suricata")
    assert meta["category"] == ["network", "intrusion_detection"] and meta["type"] == ["denied"]
    assert meta["severity"] == 1 and meta["start"] == "2023-10-11T07:32:52.000Z"
    assert "outcome" not in meta  # the HTTP status of an alerted flow is not the alert's outcome
    assert ev["rule"] == {"id": "2034647", "name": EVE_ALERT["alert"]["signature"], "version": "3",
                          "category": "Attempted Administrator Privilege Gain"}  # fmt: skip
    assert ev["threat"] == {"framework": "MITRE ATT&CK", "tactic": {"id": ["TA0001"], "name": ["Initial_Access"]},
                            "technique": {"id": ["T1190"]}}  # fmt: skip
    assert ev["source"] == {"address": "198.51.100.77", "ip": "198.51.100.77", "port": 55123, "bytes": 420,
                            "packets": 4}  # fmt: skip
    assert ev["destination"]["domain"] == "portal.example.gov.vn"
    assert ev["network"] == {"transport": "tcp", "protocol": "http", "community_id": "1:abcdEFGH1234=",
                             "bytes": 1444, "packets": 7}  # fmt: skip
    assert ev["url"]["path"] == "/api/login" and ev["user_agent"] == {"original": "curl/7.68.0"}
    assert ev["suricata"]["eve"]["alert"]["signature_id"] == 2034647
    assert "src_ip" not in ev["suricata"]["eve"] and ev["suricata"]["eve"]["flow_id"] == 1234567890123456
    assert ev["observer"]["ingress"] == {"interface": {"name": "eth1"}}
    assert ev["message"] == EVE_ALERT["alert"]["signature"]


def test_eve_flow_dns_http_tls_fileinfo_anomaly() -> None:
    base = {"timestamp": "2023-10-11T14:33:52.000000+0700", "flow_id": 7, "src_ip": "10.10.1.25", "src_port": 51234,
            "dest_ip": "93.184.216.34", "dest_port": 443, "proto": "TCP"}  # fmt: skip
    flow = eve(
        base
        | {
            "event_type": "flow",
            "flow": {
                "pkts_toserver": 12,
                "pkts_toclient": 15,
                "bytes_toserver": 1840,
                "bytes_toclient": 18234,
                "start": "2023-10-11T14:32:44.000000+0700",
                "end": "2023-10-11T14:33:52.000000+0700",
                "state": "closed",
            },
        }
    )
    assert flow["event"]["type"] == ["connection", "end"] and flow["network"]["bytes"] == 20074
    assert flow["event"]["end"] == "2023-10-11T07:33:52.000Z"
    dns = eve(
        base
        | {
            "event_type": "dns",
            "proto": "UDP",
            "dns": {
                "version": 2,
                "type": "answer",
                "id": 41234,
                "rrname": "update.example.com",
                "rrtype": "A",
                "rcode": "NOERROR",
                "answers": [
                    {"rrname": "update.example.com", "rrtype": "CNAME", "ttl": 300, "rdata": "cdn.example.net"},
                    {"rrname": "cdn.example.net", "rrtype": "A", "ttl": 60, "rdata": "203.0.113.80"},
                ],
            },
        }
    )
    assert dns["dns"]["question"] == {"name": "update.example.com", "type": "A"}
    assert dns["dns"]["resolved_ip"] == ["203.0.113.80"] and dns["dns"]["id"] == "41234"
    assert dns["dns"]["answers"][0] == {"name": "update.example.com", "type": "CNAME", "data": "cdn.example.net",
                                        "ttl": 300}  # fmt: skip
    assert dns["network"]["protocol"] == "dns" and dns["event"]["type"] == ["protocol"]
    query = eve(
        base
        | {
            "event_type": "dns",
            "dns": {"version": 3, "type": "request", "id": 1, "queries": [{"rrname": "evil.example", "rrtype": "TXT"}]},
        }
    )
    assert query["dns"]["type"] == "query" and query["dns"]["question"]["name"] == "evil.example"
    http = eve(
        base
        | {
            "event_type": "http",
            "http": {
                "hostname": "203.0.113.200",
                "url": "/invoice.exe",
                "http_user_agent": "Mozilla/5.0",
                "http_method": "GET",
                "protocol": "HTTP/1.1",
                "status": 404,
                "length": 162,
                "http_refer": "http://mail.example.com/",
                "http_content_type": "application/octet-stream",
            },
        }
    )
    assert http["event"]["category"] == ["network", "web"] and http["event"]["outcome"] == "failure"
    assert http["http"]["response"] == {"status_code": 404, "body": {"bytes": 162},
                                        "mime_type": "application/octet-stream"}  # fmt: skip
    assert "domain" not in http["destination"] and http["url"]["domain"] == "203.0.113.200"
    tls = eve(
        base
        | {
            "event_type": "tls",
            "tls": {
                "subject": "CN=www.example.org",
                "issuerdn": "CN=Example CA",
                "sni": "www.example.org.",
                "fingerprint": "a1:b2:c3:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e:8f:90:01:12:23:34",
                "version": "TLS 1.2",
                "notbefore": "2023-01-13T00:00:00",
                "notafter": "2024-02-13T23:59:59",
                "ja3": {"hash": "e7d705a3"},
                "ja3s": {"hash": "f4febc55"},
            },
        }
    )
    assert tls["tls"] == {
        "version_protocol": "tls", "version": "1.2", "client": {"server_name": "www.example.org", "ja3": "e7d705a3"},
        "server": {"subject": "CN=www.example.org", "issuer": "CN=Example CA",
                   "hash": {"sha1": "A1B2C3D4E5F60718293A4B5C6D7E8F9001122334"},
                   "not_before": "2023-01-13T00:00:00.000Z", "not_after": "2024-02-13T23:59:59.000Z",
                   "ja3s": "f4febc55"},
    }  # fmt: skip
    fileinfo = eve(
        base
        | {
            "event_type": "fileinfo",
            "fileinfo": {"filename": "/dl/invoice.exe", "size": 73802, "md5": "2e6c3d1f1b7b8d3c0c4f5d0e5b7a6c9d"},
        }
    )
    assert fileinfo["file"] == {"path": "/dl/invoice.exe", "name": "invoice.exe", "size": 73802,
                                "hash": {"md5": "2e6c3d1f1b7b8d3c0c4f5d0e5b7a6c9d"}}  # fmt: skip
    assert fileinfo["event"]["category"] == ["network", "file"]
    anomaly = eve(base | {"event_type": "anomaly", "anomaly": {"type": "decode", "event": "decoder.ipv4.trunc_pkt"}})
    assert anomaly["message"] == "decoder.ipv4.trunc_pkt" and anomaly["event"]["kind"] == "event"
    stats = eve({"timestamp": "2023-10-11T14:38:00.000000+0700", "event_type": "stats", "stats": {"uptime": 1}})
    assert stats["event"]["kind"] == "metric" and stats["event"]["dataset"] == "suricata.eve"


def test_eve_through_syslog() -> None:
    ev = received("<14>Oct 11 14:32:52 ids-01 suricata[812]: " + orjson.dumps(EVE_ALERT).decode())
    assert ev["event"]["dataset"] == "suricata.eve" and ev["event"]["kind"] == "alert"
    assert ev["rule"]["id"] == "2034647" and ev["host"]["name"] == "ids-01"
    assert ev["@timestamp"] == "2023-10-11T07:32:52.123Z"
    plain = received("<14>Oct 11 14:32:52 ids-01 suricata[812]: [812] <Notice> -- all 4 packet processing threads")
    assert plain["event"]["dataset"] == "syslog"


def test_json_that_is_not_eve_keeps_the_generic_path() -> None:
    ev = eve({"timestamp": "2023-10-11T14:38:00Z", "event_type": "alert", "msg": "an app, not Suricata"})
    assert ev["event"]["dataset"] == "json" and "suricata" not in ev


def test_json_routing_hook_keeps_the_line_when_a_parser_breaks() -> None:
    def broken(document: dict[str, Any], record: RawRecord) -> dict[str, Any]:
        raise RuntimeError("parser bug")

    parser = JsonSourceParser(dataset="test.broken", claims=lambda d: d.get("kind") == "broken", to_event=broken)
    JSON_ROUTES.add(parser)
    try:
        ev = received('{"kind": "broken", "message": "still stored"}')
    finally:
        JSON_ROUTES.parsers.remove(parser)
    assert ev["tags"] == ["source_parser_error"]
    assert ev["json"] == {"kind": "broken", "message": "still stored"} and ev["message"] == "still stored"


# --- fuzzing -------------------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
_CEF_SEEDS = ["CEF:0|V|P|1|2|N|5|src=10.0.0.1 act=x msg=a b c rt=1697009572000", CEF_WAF]
_CEF_LINES = st.one_of(
    _TEXT,
    st.builds(lambda seed, cut: seed[:cut], st.sampled_from(_CEF_SEEDS), st.integers(0, 600)),
    st.builds(lambda seed, junk, at: seed[:at] + junk + seed[at:], st.sampled_from(_CEF_SEEDS), _TEXT,
              st.integers(0, 600)),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(["CEF:0|", "CEF:0|a|b|c|d|e|f|", "CEF:1|a|b|c|d|e|"]),
              _TEXT),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(_CEF_LINES)
def test_cef_lines_never_raise_and_always_fit_the_schema(line: str) -> None:
    for text in (line, f"<134>Oct 11 14:32:52 waf {line}"):
        ev = received(text)
        assert "source_parser_error" not in ev.get("tags", [])


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=20,
)
_EVE_KEYS = [
    "timestamp", "event_type", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "alert", "http",
    "dns", "tls", "fileinfo", "flow", "anomaly", "app_proto", "host", "in_iface", "community_id",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(_EVE_KEYS), _JSON_VALUES, max_size=12), st.sampled_from(
    ["alert", "flow", "dns", "http", "tls", "fileinfo", "anomaly", "stats", "ssh"]))  # fmt: skip
def test_eve_documents_of_any_shape_never_raise(document: dict[str, Any], event_type: str) -> None:
    document = {"timestamp": "2023-10-11T14:32:52+0700", "flow_id": 1} | document
    document.setdefault("event_type", event_type)
    if isinstance(document.get("event_type"), str) and isinstance(document.get("timestamp"), str):
        for name in ("alert", "http", "dns", "tls", "fileinfo", "flow"):
            document.setdefault(name, {})
    ev = eve(document)
    assert "source_parser_error" not in ev.get("tags", [])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_break_cef_and_eve_parsers(data: bytes) -> None:
    line = decode_line(data)
    for refine in (cef.refine, suricata.refine_syslog):
        event = {"message": line, "event": {"dataset": "syslog"}, "tags": ["parse_failure"],
                 "@timestamp": "2023-10-12T00:00:00.000Z"}  # fmt: skip
        refine(event)
    cef.sniff(line)
    received('{"timestamp": "x", "event_type": "alert", "flow_id": 1, "alert": ' + json.dumps(line) + "}")


def test_oversized_cef_stays_safe() -> None:
    ev = received("CEF:0|" + "\\|" * 50_000)
    assert ev["tags"] == ["parse_failure"]
    ev = received("CEF:0|V|P|1|2|N|5|" + " ".join(f"k{i}=v {i}" for i in range(20_000)))
    assert ev["cef"]["extensions"]["k19999"] == "v 19999"
