"""Netfilter LOG lines (UFW, iptables, ip6tables, nftables, firewalld) -> ECS ``iptables.log``."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers import normalize
from normalizers.record import RawRecord
from normalizers.schema import validate_event
from normalizers.sources import kernel_firewall
from normalizers.sources.network_values import is_ip

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[2] / "normalizers" / "README.md"

UFW_BLOCK = (
    "Nov 20 10:00:00 gw-01 kernel: [2841931.427853] [UFW BLOCK] IN=eth0 OUT= "
    "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.5 DST=192.0.2.10 LEN=60 TOS=0x10 PREC=0x00 "
    "TTL=50 ID=54321 DF PROTO=TCP SPT=51515 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 "
)


def parse(text: str) -> dict[str, Any]:
    ev = normalize(RawRecord(text, RECEIVED, "/var/log/ufw.log"))
    assert validate_event(ev) == []
    return ev


def test_ufw_block_of_an_inbound_ssh_syn() -> None:
    ev = parse(UFW_BLOCK)
    assert ev["event"]["action"] == "firewall_block"
    assert ev["event"]["category"] == ["network"]
    assert ev["event"]["type"] == ["connection", "denied"]
    assert ev["event"]["dataset"] == "iptables.log"
    assert ev["source"] == {"address": "203.0.113.5", "ip": "203.0.113.5", "port": 51515, "mac": "52-54-00-65-43-21"}
    assert ev["destination"] == {"address": "192.0.2.10", "ip": "192.0.2.10", "port": 22, "mac": "52-54-00-12-34-56"}
    assert ev["network"] == {"type": "ipv4", "transport": "tcp", "iana_number": "6", "direction": "ingress"}
    assert ev["observer"] == {"ingress": {"interface": {"name": "eth0"}}}
    assert ev["iptables"] == {
        "prefix": "[UFW BLOCK]",
        "length": 60,
        "tos": 16,
        "precedence_bits": 0,
        "ttl": 50,
        "id": 54321,
        "fragment_flags": ["DF"],
        "ether_type": 2048,
        "tcp": {"window": 64240, "reserved_bits": 0, "urgent_pointer": 0, "flags": ["SYN"]},
    }
    assert ev["related"]["ip"] == ["203.0.113.5", "192.0.2.10"]


def test_ufw_allow_outbound_udp() -> None:
    ev = parse("Nov 20 10:00:01 gw-01 kernel: [UFW ALLOW] IN= OUT=eth0 SRC=192.0.2.10 DST=198.51.100.53 LEN=72 "
               "TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=41000 DPT=53 LEN=52")  # fmt: skip
    assert ev["event"]["action"] == "firewall_allow"
    assert ev["event"]["type"] == ["connection", "allowed"]
    assert ev["network"]["direction"] == "egress"
    assert ev["observer"] == {"egress": {"interface": {"name": "eth0"}}}
    assert ev["iptables"]["length"] == 72  # the IP length; the UDP one is separate
    assert ev["iptables"]["udp"] == {"length": 52}
    assert ev["destination"]["port"] == 53


def test_custom_iptables_prefix_and_forwarded_icmp() -> None:
    ev = parse("Nov 20 10:00:02 gw-01 kernel: IPTables-Dropped: IN=eth1 OUT=eth0 SRC=10.1.2.3 DST=8.8.8.8 LEN=84 "
               "TOS=0x00 PREC=0x00 TTL=63 ID=0 DF PROTO=ICMP TYPE=8 CODE=0 ID=4242 SEQ=1")  # fmt: skip
    assert ev["event"]["action"] == "firewall_block"
    assert ev["iptables"]["prefix"] == "IPTables-Dropped:"
    assert ev["iptables"]["id"] == 0
    assert ev["iptables"]["icmp"] == {"type": 8, "code": 0, "id": 4242, "seq": 1}
    assert "direction" not in ev["network"]  # forwarded: both interfaces
    assert "port" not in ev["source"]


def test_icmp_error_quoting_the_original_packet() -> None:
    ev = parse("Nov 20 10:00:03 gw-01 kernel: [UFW AUDIT] IN=eth0 OUT= SRC=198.51.100.1 DST=192.0.2.10 LEN=88 "
               "TOS=0x00 PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=3 [SRC=192.0.2.10 DST=198.51.100.1 LEN=60 "
               "TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=UDP SPT=5000 DPT=33434 LEN=40 ] ")  # fmt: skip
    assert ev["event"]["action"] == "firewall_audit"
    assert ev["source"]["ip"] == "198.51.100.1"  # not the quoted packet's addresses
    assert ev["iptables"]["icmp"] == {"type": 3, "code": 3}
    assert ev["iptables"]["precedence_bits"] == 0xC0


def test_ip6tables_line() -> None:
    ev = parse("Nov 20 10:00:04 gw-01 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=33:33:00:00:00:01:52:54:00:65:43:21:86:dd "
               "SRC=fe80:0000:0000:0000:5054:00ff:fe65:4321 DST=ff02:0000:0000:0000:0000:0000:0000:0001 LEN=72 TC=0 "
               "HOPLIMIT=1 FLOWLBL=0 PROTO=ICMPv6 TYPE=130 CODE=0")  # fmt: skip
    assert ev["network"]["type"] == "ipv6"
    assert ev["network"]["transport"] == "ipv6-icmp"
    assert ev["network"]["iana_number"] == "58"
    assert ev["iptables"]["ttl"] == 1
    assert ev["iptables"]["ether_type"] == 0x86DD
    assert ev["iptables"]["icmp"] == {"type": 130, "code": 0}


def test_nftables_log_under_another_program_is_sniffed() -> None:
    ev = parse("Nov 20 10:00:05 edge-router fw: nft-input-drop: IN=wan0 OUT= MAC= SRC=203.0.113.77 "
               "DST=192.0.2.1 LEN=40 TOS=0x00 PREC=0x00 TTL=240 ID=0 PROTO=TCP SPT=40000 DPT=3389 WINDOW=1024 "
               "RES=0x00 SYN URGP=0")  # fmt: skip
    assert ev["event"]["action"] == "firewall_block"
    assert ev["destination"]["port"] == 3389
    assert "mac" not in ev["source"]


def test_protocol_given_as_a_number() -> None:
    ev = parse("Nov 20 10:00:06 gw-01 kernel: LOG-IN: IN=eth0 OUT= SRC=192.0.2.3 DST=224.0.0.1 LEN=32 TOS=0x00 "
               "PREC=0x00 TTL=1 ID=0 PROTO=2")  # fmt: skip
    assert ev["event"]["action"] == "firewall_log"
    assert ev["network"]["transport"] == "igmp"
    assert ev["network"]["iana_number"] == "2"


def test_bad_values_stay_out_of_typed_fields() -> None:
    ev = parse("Nov 20 10:00:07 gw-01 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=not-an-ip DST=192.0.2.1 LEN=x TTL=-1 "
               "PROTO=TCP SPT=99999 DPT=22")  # fmt: skip
    assert ev["source"] == {"address": "not-an-ip"}
    assert "length" not in ev["iptables"] and "ttl" not in ev["iptables"]


@pytest.mark.parametrize(
    "message",
    [
        "[12345.678] usb 1-1: new high-speed USB device number 2 using xhci_hcd",
        "IN=eth0 OUT= but nothing else",
        "EXT4-fs (sda1): mounted filesystem with ordered data mode. LOGIN=x SRC=",
    ],
)
def test_other_kernel_lines_stay_generic(message: str) -> None:
    ev = parse(f"Nov 20 10:00:08 gw-01 kernel: {message}")
    assert "action" not in ev["event"]
    assert ev["event"]["dataset"] == "syslog"


def test_every_action_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    assert [a for a in kernel_firewall.ACTIONS if f"`{a}`" not in readme] == []


_TOKENS = ["IN=eth0", "OUT=", "OUT=eth1", "SRC=192.0.2.1", "DST=::1", "SRC=", "DST=x", "PROTO=TCP", "PROTO=ICMP",
           "PROTO=999", "SPT=1", "DPT=70000", "LEN=1", "TOS=0xZZ", "TTL=5", "MAC=aa:bb", "SYN", "DF", "[", "]",
           "[UFW BLOCK]", "TYPE=3", "SEQ=1", "ID=", "=", "MARK=0x1"]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=300), st.lists(st.sampled_from(_TOKENS), max_size=30).map(" ".join)))
def test_refine_never_raises_and_typed_fields_are_valid(message: str) -> None:
    event: dict[str, Any] = {"message": message, "process": {"name": "kernel"},
                             "event": {"kind": "event", "dataset": "syslog"}}  # fmt: skip
    before = copy.deepcopy(event)
    if not kernel_firewall.refine_kernel(event):
        assert event == before
        return
    assert validate_event({"@timestamp": "2026-01-01T00:00:00.000Z", **event}) == []
    for side in ("source", "destination"):
        ip = event.get(side, {}).get("ip")
        assert ip is None or is_ip(ip)


def test_a_headerless_line_has_no_time_of_its_own_and_stays_a_parse_failure() -> None:
    ev = parse("[2841931.427853] [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.5 DST=192.0.2.10 PROTO=TCP SPT=1 DPT=22")
    assert ev["tags"] == ["parse_failure"]
    assert ev["@timestamp"] == "2026-11-20T12:00:00.000Z"
