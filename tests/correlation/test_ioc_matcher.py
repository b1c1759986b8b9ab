"""IocMatcher lookups: exact IPs and CIDR (v4, v6), subdomains, URLs, hash types, ECS arrays and flat keys."""

from __future__ import annotations

import pytest

from correlation.ioc.indicators import Indicator, make_indicator
from correlation.ioc.matcher import IocMatcher
from tests.correlation.ioc_samples import MD5, SHA1, SHA256, network_event


def hits(matcher: IocMatcher, **fields: object) -> set[tuple[str, str, str]]:
    """(matched field, event value, indicator value) for one event."""
    return {(h.field, h.value, h.indicator.value) for h in matcher.match(network_event(**fields))}


def matcher_of(*specs: tuple[str, str], feed: str = "f") -> IocMatcher:
    return IocMatcher(make_indicator(kind, value, feed) for kind, value in specs)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.0", {"10.0.0.0/8"}),
        ("10.255.255.255", {"10.0.0.0/8"}),
        ("10.20.30.40", {"10.0.0.0/8", "10.20.0.0/16"}),  # nested networks both match
        ("10.20.255.1", {"10.0.0.0/8", "10.20.0.0/16"}),
        ("11.0.0.0", set()),
        ("9.255.255.255", set()),
        ("192.0.2.7", {"192.0.2.7", "192.0.2.0/29"}),
        ("192.0.2.8", set()),
        ("::ffff:10.1.1.1", {"10.0.0.0/8"}),  # an IPv4-mapped IPv6 address is its IPv4 address
    ],
)
def test_ipv4_addresses_and_networks(address: str, expected: set[str]) -> None:
    matcher = matcher_of(
        ("cidr", "10.0.0.0/8"), ("cidr", "10.20.0.0/16"), ("ip", "192.0.2.7"), ("cidr", "192.0.2.0/29")
    )
    assert {value for _, _, value in hits(matcher, destination__ip=address)} == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("2001:db8:abcd::1", {"2001:db8:abcd::/48"}),
        ("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", {"2001:db8:abcd::/48"}),
        ("2001:db8:abce::1", set()),
        ("2001:DB8:0:0:0:0:0:BAD", {"2001:db8::bad"}),  # same address, other spelling
        ("fe80::1%eth0", {"fe80::/10"}),
        ("2001:db9::1", set()),
    ],
)
def test_ipv6_addresses_and_networks(address: str, expected: set[str]) -> None:
    matcher = matcher_of(("cidr", "2001:db8:abcd::/48"), ("ip", "2001:db8::bad"), ("cidr", "fe80::/10"))
    assert {value for _, _, value in hits(matcher, source__ip=address)} == expected


def test_every_ip_field_is_checked_and_garbage_is_ignored() -> None:
    matcher = matcher_of(("ip", "203.0.113.5"))
    for field in ("source__ip", "destination__ip", "client__ip", "server__ip"):
        assert hits(matcher, **{field: "203.0.113.5"}) == {(field.replace("__", "."), "203.0.113.5", "203.0.113.5")}
    assert hits(matcher, dns__resolved_ip=["198.51.100.1", "203.0.113.5"]) == {
        ("dns.resolved_ip", "203.0.113.5", "203.0.113.5")
    }
    assert hits(matcher, source__ip="not an ip", destination__ip="203.0.113.555", client__ip=42) == set()


@pytest.mark.parametrize(
    ("name", "matched"),
    [
        ("evil.example", True),
        ("a.b.evil.example", True),
        ("WWW.EVIL.EXAMPLE.", True),
        ("notevil.example", False),
        ("evil.example.org", False),
        ("example", False),
    ],
)
def test_domains_match_their_subdomains(name: str, matched: bool) -> None:
    matcher = matcher_of(("domain", "evil.example"))
    assert bool(hits(matcher, dns__question__name=name)) is matched


def test_a_subdomain_indicator_does_not_match_its_parent() -> None:
    matcher = matcher_of(("domain", "cdn.evil.example"))
    assert hits(matcher, dns__question__name="evil.example") == set()
    assert hits(matcher, destination__domain="x.cdn.evil.example") == {
        ("destination.domain", "x.cdn.evil.example", "cdn.evil.example")
    }


def test_domain_fields_and_url_hosts() -> None:
    matcher = matcher_of(("domain", "evil.example"), ("ip", "203.0.113.9"))
    assert hits(matcher, url__domain="dl.evil.example") == {("url.domain", "dl.evil.example", "evil.example")}
    assert hits(matcher, tls__client__server_name="evil.example") == {
        ("tls.client.server_name", "evil.example", "evil.example")
    }
    # No url.domain: the host is read from the URL itself.
    assert hits(matcher, url__original="https://dl.evil.example/x") == {
        ("url.original", "https://dl.evil.example/x", "evil.example")
    }
    # A URL straight to an address matches the IP indicator.
    assert hits(matcher, url__original="http://203.0.113.9:8080/x") == {
        ("url.original", "http://203.0.113.9:8080/x", "203.0.113.9")
    }
    assert hits(matcher, url__domain="203.0.113.9") == {("url.domain", "203.0.113.9", "203.0.113.9")}


def test_urls_match_after_normalization_only() -> None:
    matcher = matcher_of(("url", "http://evil.example/gate.php?id=7"))
    assert hits(matcher, url__original="HTTP://Evil.Example:80/gate.php?id=7#top") == {
        ("url.original", "HTTP://Evil.Example:80/gate.php?id=7#top", "http://evil.example/gate.php?id=7")
    }
    # Web-server logs: the path in url.original, the host in url.domain.
    assert len(hits(matcher, url__original="/gate.php?id=7", url__domain="evil.example")) == 1
    assert hits(matcher, url__original="/gate.php?id=8", url__domain="evil.example") == set()
    assert hits(matcher, url__original="/gate.php?id=7") == set()
    assert hits(matcher, url__original="http://evil.example/gate.php") == set()


@pytest.mark.parametrize(
    ("field", "value", "indicator"),
    [
        ("file__hash__md5", MD5, MD5),
        ("file__hash__sha1", SHA1.upper(), SHA1),
        ("file__hash__sha256", SHA256, SHA256),
        ("process__hash__md5", MD5.upper(), MD5),
        ("process__hash__sha1", SHA1, SHA1),
        ("process__hash__sha256", SHA256.upper(), SHA256),
    ],
)
def test_hashes_by_type(field: str, value: str, indicator: str) -> None:
    matcher = matcher_of(("md5", MD5), ("sha1", SHA1), ("sha256", SHA256))
    assert hits(matcher, **{field: value}) == {(field.replace("__", "."), value, indicator)}


def test_a_hash_only_matches_its_own_type() -> None:
    # An MD5 indicator never matches a SHA-256 field, even on a prefix.
    matcher = matcher_of(("md5", SHA256[:32]))
    assert hits(matcher, file__hash__sha256=SHA256) == set()


def test_flat_dotted_keys_are_read() -> None:
    matcher = matcher_of(("ip", "203.0.113.5"))
    event = {"@timestamp": "2026-11-20T10:00:00Z", "event.id": "x", "source.ip": "203.0.113.5"}
    assert [h.field for h in matcher.match(event)] == ["source.ip"]


def test_one_hit_per_indicator_per_event_and_per_feed() -> None:
    same_feed_twice = [make_indicator("ip", "203.0.113.5", "a"), make_indicator("ip", "203.0.113.5", "a")]
    other_feed = make_indicator("ip", "203.0.113.5", "b")
    matcher = IocMatcher([*same_feed_twice, other_feed])
    assert len(matcher) == 2
    assert matcher.duplicates == 1
    found = matcher.match(network_event(source__ip="203.0.113.5", client__ip="203.0.113.5"))
    assert sorted((h.indicator.feed, h.field) for h in found) == [("a", "source.ip"), ("b", "source.ip")]


def test_counts_and_empty_matcher() -> None:
    matcher = matcher_of(("ip", "192.0.2.1"), ("cidr", "192.0.2.0/24"), ("domain", "a.example"), ("md5", MD5))
    assert matcher.counts() == {"ip": 1, "cidr": 1, "domain": 1, "md5": 1}
    empty = IocMatcher()
    assert len(empty) == 0
    assert empty.match(network_event(source__ip="192.0.2.1", dns__question__name="a.example")) == []


def test_the_matcher_cannot_be_changed_through_its_inputs() -> None:
    indicators: list[Indicator] = [make_indicator("ip", "192.0.2.1", "f")]
    matcher = IocMatcher(indicators)
    indicators.append(make_indicator("ip", "192.0.2.2", "f"))
    assert hits(matcher, source__ip="192.0.2.2") == set()
    assert len(matcher) == 1
