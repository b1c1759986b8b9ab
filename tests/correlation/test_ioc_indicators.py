"""Indicator values are validated and normalized the same way whichever feed they come from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from correlation.ioc.indicators import (
    IndicatorError,
    IndicatorType,
    LoadReport,
    detect_type,
    make_indicator,
    url_key,
)
from tests.correlation.ioc_samples import MD5, SHA1, SHA256

T = IndicatorType


@pytest.mark.parametrize(
    ("kind", "raw", "expected_type", "expected_value"),
    [
        ("ip", " 203.0.113.7 ", T.IP, "203.0.113.7"),
        ("ip", "2001:DB8:0:0::1", T.IP, "2001:db8::1"),
        ("ip", "::ffff:198.51.100.4", T.IP, "198.51.100.4"),
        ("ip", "203.0.113.7:8443", T.IP, "203.0.113.7"),
        ("ip", "203.0.113.7/32", T.IP, "203.0.113.7"),
        ("ip", "198.51.100.0/24", T.CIDR, "198.51.100.0/24"),
        ("cidr", "10.1.2.3/16", T.CIDR, "10.1.0.0/16"),
        ("cidr", "2001:db8:abcd::/48", T.CIDR, "2001:db8:abcd::/48"),
        ("cidr", "::ffff:10.0.0.0/104", T.CIDR, "10.0.0.0/8"),
        ("domain", "Evil.Example.COM.", T.DOMAIN, "evil.example.com"),
        ("domain", "*.evil.example", T.DOMAIN, "evil.example"),
        ("domain", "evil[.]example", T.DOMAIN, "evil.example"),
        ("domain", "bücher.example", T.DOMAIN, "xn--bcher-kva.example"),
        ("url", "hxxps://evil[.]example/dl", T.URL, "https://evil.example/dl"),
        ("md5", MD5.upper(), T.MD5, MD5),
        ("sha1", SHA1, T.SHA1, SHA1),
        ("sha256", f" {SHA256} ", T.SHA256, SHA256),
    ],
)
def test_values_are_normalized(kind: str, raw: str, expected_type: IndicatorType, expected_value: str) -> None:
    ind = make_indicator(kind, raw, "feed-a")
    assert (ind.type, ind.value, ind.feed) == (expected_type, expected_value, "feed-a")


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("ip", "300.1.2.3", "not an IP address"),
        ("cidr", "10.0.0.0/33", "not an IP network"),
        ("cidr", "0.0.0.0/0", "covers every address"),
        ("domain", "localhost", "single-label"),
        ("domain", "bad_domain!.com", "not a domain name"),
        ("domain", "198.51.100.1", "is an IP address"),
        ("url", "http:///nohost", "no host"),
        ("url", "http://evil.example/a b", "not a URL"),
        ("md5", "xyz", "not hexadecimal"),
        ("sha256", MD5, "must have 64 hex digits, got 32"),
        ("email", "a@b.example", "unknown indicator type"),
        ("ip", "", "empty indicator value"),
    ],
)
def test_bad_values_are_refused_with_the_reason(kind: str, raw: str, message: str) -> None:
    with pytest.raises(IndicatorError, match=message):
        make_indicator(kind, raw, "feed-a")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("192.0.2.1", T.IP),
        ("2001:db8::5", T.IP),
        ("192.0.2.0/24", T.CIDR),
        (MD5, T.MD5),
        (SHA1.upper(), T.SHA1),
        (SHA256, T.SHA256),
        ("http://evil.example/x", T.URL),
        ("evil.example/payload.exe", T.URL),
        ("hxxp://evil[.]example", T.URL),
        ("evil.example", T.DOMAIN),
        ("*.evil.example", T.DOMAIN),
        ("not an indicator", None),
        ("deadbeef", None),
        ("", None),
    ],
)
def test_type_is_detected_from_the_value(raw: str, expected: IndicatorType | None) -> None:
    assert detect_type(raw) == expected


def test_url_key_ignores_what_does_not_identify_the_resource() -> None:
    same = [
        "http://Evil.Example/path/a.php?x=1",
        "HTTP://evil.example:80/path/a.php?x=1#frag",
        "evil.example/path/a.php?x=1",
        "https://user:pw@evil.example:443/path/a.php?x=1",
    ]
    assert {url_key(u) for u in same} == {"evil.example/path/a.php?x=1"}
    assert url_key("http://evil.example:8080/path/a.php?x=1") != url_key(same[0])
    assert url_key("http://evil.example/Path/a.php?x=1") != url_key(same[0])  # paths are case-sensitive


def test_expiry_and_naive_times_are_utc() -> None:
    ind = make_indicator("ip", "192.0.2.1", "f", valid_until=datetime(2026, 6, 1, 12, 0))
    assert ind.valid_until == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert ind.expired(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    assert not ind.expired(datetime(2026, 6, 1, 11, 59, tzinfo=UTC))


def test_load_report_counts_by_reason_and_keeps_few_examples() -> None:
    report = LoadReport("f", "list", "/tmp/f.txt")
    for line in range(1, 31):
        report.skip("not an IP, network, hash, URL or domain", f"line {line}")
    report.warn("confidence ignored: not a number 0-100", "line 40")
    summary = report.to_dict()
    assert summary["skipped"] == {"not an IP, network, hash, URL or domain": 30}
    assert report.skipped_total == 30
    assert summary["warnings"] == {"confidence ignored: not a number 0-100": 1}
    assert len(summary["examples"]) == 20
    assert summary["examples"][0] == "line 1: not an IP, network, hash, URL or domain"
