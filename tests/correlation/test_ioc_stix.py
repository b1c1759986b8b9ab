"""STIX 2.1 bundles: patterns reduced to indicators, unsupported ones counted, validity honoured, fuzzed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from correlation.ioc.indicators import FeedError, IndicatorType, LoadResult
from correlation.ioc.matcher import IocMatcher
from correlation.ioc.stix import load_stix, parse_stix
from correlation.ioc.stix_atoms import pattern_atoms, reduce_pattern
from correlation.ioc.stix_pattern import PatternError, parse_pattern
from tests.correlation.ioc_samples import MD5, SHA1, SHA256, network_event, stix_bundle, stix_indicator, write_json

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
T = IndicatorType


def values(result: LoadResult) -> set[tuple[str, str]]:
    return {(ind.type.value, ind.value) for ind in result.indicators}


def test_supported_patterns_become_indicators(tmp_path: Path) -> None:
    bundle = stix_bundle(
        stix_indicator("[ipv4-addr:value = '203.0.113.10' OR ipv4-addr:value = '198.51.100.0/24']", "C2 servers",
                       confidence=85, labels=["apt-x"]),
        stix_indicator("[ipv6-addr:value = '2001:db8::bad']"),
        stix_indicator("[domain-name:value = 'evil.example']"),
        stix_indicator("[url:value = 'http://evil.example/gate.php']"),
        stix_indicator(f"[file:hashes.'SHA-256' = '{SHA256}']"),
        stix_indicator(f"[file:hashes.MD5 = '{MD5}']"),
        stix_indicator(f"[file:hashes.'SHA-1' = '{SHA1}' AND file:hashes.MD5 = '{MD5}']"),
        stix_indicator("[ipv4-addr:value ISSUBSET '192.0.2.0/25']"),
        stix_indicator("[domain-name:value IN ('a.evil.example', 'b.evil.example')]"),
        {"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000001", "name": "X", "is_family": True},
    )
    result = load_stix(write_json(tmp_path / "bundle.json", bundle), "cert-feed", now=NOW)
    assert values(result) == {
        ("ip", "203.0.113.10"), ("cidr", "198.51.100.0/24"), ("ip", "2001:db8::bad"), ("domain", "evil.example"),
        ("url", "http://evil.example/gate.php"), ("sha256", SHA256), ("md5", MD5), ("sha1", SHA1),
        ("cidr", "192.0.2.0/25"), ("domain", "a.evil.example"), ("domain", "b.evil.example"),
    }  # fmt: skip
    assert result.report.loaded == 12  # MD5 twice: the matcher keeps one
    assert result.report.skipped_total == 0
    assert result.report.warnings == {"ignored object types": 1}
    first = next(ind for ind in result.indicators if ind.value == "203.0.113.10")
    assert first.feed == "cert-feed"
    assert first.confidence == 85
    assert first.description == "C2 servers"
    assert first.labels == ("malicious-activity", "apt-x")
    assert first.source_id == bundle["objects"][0]["id"]
    assert len(IocMatcher(result.indicators)) == 11


def test_unsupported_patterns_are_skipped_and_counted_by_reason() -> None:
    bundle = stix_bundle(
        stix_indicator("[ipv4-addr:value = '203.0.113.1'] AND [domain-name:value = 'evil.example']"),
        stix_indicator("[ipv4-addr:value = '203.0.113.2' AND domain-name:value = 'evil.example']"),
        stix_indicator("[domain-name:value MATCHES '^evil[0-9]+\\\\.example$']"),
        stix_indicator("[url:value LIKE 'http://evil.example/%']"),
        stix_indicator("[ipv4-addr:value = '203.0.113.3'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.4']"),
        stix_indicator("[ipv4-addr:value = '203.0.113.5'] REPEATS 5 TIMES WITHIN 10 SECONDS"),
        stix_indicator("[ipv4-addr:value NOT = '203.0.113.6']"),
        stix_indicator("[EXISTS windows-registry-key:key]"),
        stix_indicator("[network-traffic:dst_ref.value = '203.0.113.7']"),
        stix_indicator("[file:hashes.'SHA-512' = 'ab']"),
        stix_indicator("alert tcp any any -> any any (msg:\"x\";)", pattern_type="snort"),
        stix_indicator("[ipv4-addr:value = '203.0.113.8'"),
        stix_indicator("[ipv4-addr:value = 'not-an-address']"),
        stix_indicator("[ipv4-addr:value = '203.0.113.9']"),
    )
    result = parse_stix(bundle, "f", now=NOW)
    assert values(result) == {("ip", "203.0.113.9")}
    assert result.report.skipped == {
        "unsupported pattern: AND of observations": 1,
        "unsupported pattern: AND of comparisons": 1,
        "unsupported pattern: MATCHES operator": 1,
        "unsupported pattern: LIKE operator": 1,
        "unsupported pattern: FOLLOWEDBY": 1,
        "unsupported pattern: WITHIN qualifier": 1,
        "unsupported pattern: NOT": 1,
        "unsupported pattern: EXISTS": 1,
        "unsupported pattern: object path network-traffic:dst_ref": 1,
        "unsupported pattern: hash type SHA-512": 1,
        "pattern_type snort is not supported": 1,
        "invalid pattern": 1,
        "invalid ipv4-addr:value value": 1,
    }
    examples = "\n".join(result.report.examples)
    assert "pattern ends too early" in examples
    assert "not an IP address: 'not-an-address'" in examples


def test_an_or_with_an_unsupported_branch_keeps_the_usable_branch() -> None:
    pattern = "[ipv4-addr:value = '203.0.113.1'] OR [process:name MATCHES 'evil.*']"
    result = parse_stix(stix_bundle(stix_indicator(pattern)), "f", now=NOW)
    assert values(result) == {("ip", "203.0.113.1")}
    assert result.report.warnings == {"partly unsupported pattern: MATCHES operator": 1}


def test_revoked_and_expired_indicators_are_skipped_and_valid_until_is_kept() -> None:
    bundle = stix_bundle(
        stix_indicator("[ipv4-addr:value = '203.0.113.1']", revoked=True),
        stix_indicator("[ipv4-addr:value = '203.0.113.2']", valid_until="2026-11-01T00:00:00Z"),
        stix_indicator("[ipv4-addr:value = '203.0.113.3']", valid_until="2026-12-01T00:00:00Z"),
        stix_indicator("[ipv4-addr:value = '203.0.113.4']", valid_until="next week"),
    )
    result = parse_stix(bundle, "f", now=NOW)
    assert values(result) == {("ip", "203.0.113.3")}
    assert result.report.skipped == {"revoked": 1, "expired (valid_until has passed)": 1, "invalid valid_until": 1}
    kept = result.indicators[0]
    assert kept.valid_until == datetime(2026, 12, 1, tzinfo=UTC)
    # Still loaded after it expires (no reload yet): the matcher stops matching it by itself.
    matcher = IocMatcher(result.indicators)
    event = network_event(destination__ip="203.0.113.3")
    assert len(matcher.match(event, now=datetime(2026, 11, 30, tzinfo=UTC))) == 1
    assert matcher.match(event, now=datetime(2026, 12, 2, tzinfo=UTC)) == []


def test_confidence_and_shapes() -> None:
    one = stix_indicator("[ipv4-addr:value = '203.0.113.1']", confidence="high")
    result = parse_stix(one, "f", now=NOW, default_confidence=40)  # a lone indicator object
    assert result.indicators[0].confidence == 40  # its own confidence is unusable: the feed's default applies
    assert result.report.warnings == {"confidence ignored: not a number 0-100": 1}
    listed = parse_stix([stix_indicator("[ipv4-addr:value = '203.0.113.2']", confidence=0)], "f", now=NOW)
    assert listed.indicators[0].confidence == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type": "report", "objects": []}', "expected 'bundle'"),
        ('"just a string"', "top level is str"),
        ('{"type": "bundle", "objects": {"a": 1}}', "'objects' must be a list"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_a_file_that_is_not_a_bundle_is_a_feed_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "feed.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FeedError, match=message):
        load_stix(path, "f")


def test_a_missing_file_is_a_feed_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"cannot read STIX feed .*absent\.json"):
        load_stix(tmp_path / "absent.json", "f")


def test_pattern_syntax_errors_name_the_position() -> None:
    with pytest.raises(PatternError, match="position 17"):
        parse_pattern("[ipv4-addr:value ~ '1.2.3.4']")
    with pytest.raises(PatternError, match="deeper than 64"):
        parse_pattern("(" * 100 + "[ipv4-addr:value = '1.2.3.4']" + ")" * 100)


def test_keywords_are_case_insensitive_and_escapes_are_read() -> None:
    pattern = "[url:value = 'http://e.example/it\\'s' or url:value = 'x.example']"
    atoms, unsupported = pattern_atoms(parse_pattern(pattern))
    assert [a.value for a in atoms] == ["http://e.example/it's", "x.example"]
    assert unsupported == []


# --- fuzzing: nothing but PatternError / FeedError may escape, and every indicator is accounted for

PATTERN_PIECES = st.sampled_from([
    "[", "]", "(", ")", " OR ", " AND ", " FOLLOWEDBY ", " NOT ", " = ", " != ", " IN ", " MATCHES ", " LIKE ",
    " ISSUBSET ", " EXISTS ", " WITHIN 5 SECONDS", " REPEATS 2 TIMES", " START t'2026-01-01T00:00:00Z' STOP ",
    "ipv4-addr:value", "ipv6-addr:value", "domain-name:value", "url:value", "file:hashes.'SHA-256'", "file:hashes.MD5",
    "file:name", "x-custom:a[0].b", "'203.0.113.1'", "'10.0.0.0/8'", "'evil.example'", f"'{MD5}'", "'\\''", "42",
    "true", ",", ".", ":", "'", "\\", "h'00'", "b'AA=='",
])  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=120), st.lists(PATTERN_PIECES, max_size=25).map("".join)))
def test_fuzz_pattern_parser_raises_only_pattern_errors(text: str) -> None:
    try:
        tree = parse_pattern(text)
    except PatternError as exc:
        assert str(exc)
        return
    atoms, reasons = pattern_atoms(tree)
    assert atoms or reasons  # a valid pattern is either usable or has a reason why not
    assert all(isinstance(a.kind, IndicatorType) and isinstance(a.value, str) for a in atoms)


SIMPLE_PATTERNS = st.builds(
    lambda left, path, mid, value, right: f"[{left}{path}{mid}=  '{value}'{right}]",
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(["ipv4-addr:value", "ipv6-addr:value", "domain-name:value", "url:value", "file:hashes.MD5",
                     "file:hashes.'SHA-256'", "file:hashes.sha1", "file:hashes.'SHA-512'", "file:hashes.'x y'",
                     "IPV4-ADDR:value", "file:name"]),
    st.sampled_from(["", " "]),
    st.text(max_size=20).map(lambda v: v.replace("\\", "\\\\").replace("'", "\\'")),
    st.sampled_from(["", " ", "\n"]),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(SIMPLE_PATTERNS)
def test_fuzz_the_fast_path_agrees_with_the_parser(pattern: str) -> None:
    try:
        expected = pattern_atoms(parse_pattern(pattern))
    except PatternError:
        with pytest.raises(PatternError):
            reduce_pattern(pattern)
        return
    assert reduce_pattern(pattern) == expected


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
INDICATOR_FIELDS = st.fixed_dictionaries(
    {"type": st.just("indicator")},
    optional={
        "id": st.one_of(st.text(max_size=30), JSON),
        "pattern": st.one_of(st.lists(PATTERN_PIECES, max_size=12).map("".join), JSON),
        "pattern_type": st.one_of(st.just("stix"), JSON),
        "valid_until": st.one_of(st.just("2030-01-01T00:00:00Z"), st.just("2000-01-01T00:00:00Z"), JSON),
        "revoked": JSON,
        "confidence": JSON,
        "labels": JSON,
        "indicator_types": JSON,
        "name": JSON,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(INDICATOR_FIELDS, JSON), max_size=8))
def test_fuzz_bundle_loader_accounts_for_every_object(objects: list) -> None:
    result = parse_stix({"type": "bundle", "objects": objects}, "fuzz", now=NOW)
    json.dumps(result.report.to_dict())  # the report is always serializable for the console
    assert result.report.loaded == len(result.indicators)
    assert all(ind.feed == "fuzz" for ind in result.indicators)
    for obj in objects:
        alone = parse_stix({"type": "bundle", "objects": [obj]}, "fuzz", now=NOW).report
        if isinstance(obj, dict) and obj.get("type") != "indicator":
            assert alone.warnings == {"ignored object types": 1}
        else:
            # Loaded, or skipped with a reason: never silently dropped.
            assert alone.loaded > 0 or alone.skipped_total > 0
