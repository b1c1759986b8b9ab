"""CSV indicator tables and plain lists: header columns, type detection, comments, bad lines counted, fuzzed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from correlation.ioc.indicators import FeedError, LoadResult
from correlation.ioc.lists import load_csv, load_list, parse_csv, parse_list
from tests.correlation.ioc_samples import MD5, SHA1, SHA256

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def values(result: LoadResult) -> set[tuple[str, str]]:
    return {(ind.type.value, ind.value) for ind in result.indicators}


CSV_FEED = f"""\
# exported from the national CERT portal
type,value,confidence,description,tags,valid_until,id
ip,203.0.113.50,90,Botnet C2,botnet;c2,2030-01-01T00:00:00Z,ioc-1
cidr,198.51.100.0/24,60,Bulletproof hosting,,,ioc-2
domain,login-verify.example,,Credential phishing,phishing|gov,,ioc-3
url,http://login-verify.example/owa/,40,,,,ioc-4
sha256,{SHA256},,Ransomware,,,ioc-5
hash,{MD5},,,,,ioc-6
,{SHA1},,auto-detected type,,,ioc-7
ip,203.0.113.51,,Expired entry,,2020-01-01T00:00:00Z,ioc-8
email,boss@example.org,,,,,ioc-9
ip,not-an-ip,,,,,ioc-10
ip,203.0.113.52,very high,,,,ioc-11
hash,login-verify.example,,,,,ioc-12
ip
"""


def test_csv_columns_are_read(tmp_path: Path) -> None:
    path = tmp_path / "cert.csv"
    path.write_text(CSV_FEED, encoding="utf-8")
    result = load_csv(path, "cert-csv", default_confidence=50, now=NOW)
    assert values(result) == {
        ("ip", "203.0.113.50"), ("cidr", "198.51.100.0/24"), ("domain", "login-verify.example"),
        ("url", "http://login-verify.example/owa/"), ("sha256", SHA256), ("md5", MD5), ("sha1", SHA1),
        ("ip", "203.0.113.52"),
    }  # fmt: skip
    c2 = next(ind for ind in result.indicators if ind.value == "203.0.113.50")
    assert (c2.confidence, c2.description, c2.labels, c2.source_id) == (90, "Botnet C2", ("botnet", "c2"), "ioc-1")
    assert c2.valid_until == datetime(2030, 1, 1, tzinfo=UTC)
    phish = next(ind for ind in result.indicators if ind.type.value == "domain")
    assert phish.labels == ("phishing", "gov")
    assert phish.confidence == 50  # no confidence in the row: the feed's default
    assert result.report.skipped == {
        "expired (valid_until has passed)": 1,
        "unknown type 'email'": 1,
        "invalid ip": 1,
        "hash column value is not an MD5, SHA-1 or SHA-256": 1,
        "row has fewer columns than the header": 1,
    }
    assert result.report.warnings == {"confidence ignored: not a number 0-100": 1}
    # Line numbers in the examples are the file's own, comments included.
    assert any(example.startswith("line 11: ") for example in result.report.examples)


def test_csv_header_may_name_only_the_value_column() -> None:
    result = parse_csv("indicator\n203.0.113.60\nevil.example\n", "f", now=NOW)
    assert values(result) == {("ip", "203.0.113.60"), ("domain", "evil.example")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("type,address\nip,1.2.3.4\n", r"no value column \(one of value, indicator, ioc, observable\)"),
        ("# only a comment\n\n", "CSV feed is empty"),
    ],
)
def test_csv_without_a_usable_header_is_a_feed_error(text: str, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_csv(text, "f")


PLAIN_LIST = f"""\
# abuse list, one indicator per line
203.0.113.70
203.0.113.71:443          # C2 port noted by the analyst
[2001:db8::71]:443
192.0.2.0/26
evil-updates.example
hxxp://evil-updates[.]example/a.php#frag
{SHA256.upper()}
    # indented comment

???
"""


def test_plain_list_types_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(PLAIN_LIST, encoding="utf-8")
    result = load_list(path, "abuse", default_confidence=80)
    assert values(result) == {
        ("ip", "203.0.113.70"), ("ip", "203.0.113.71"), ("ip", "2001:db8::71"), ("cidr", "192.0.2.0/26"),
        ("domain", "evil-updates.example"), ("url", "http://evil-updates.example/a.php#frag"), ("sha256", SHA256),
    }  # fmt: skip
    assert all(ind.confidence == 80 and ind.feed == "abuse" for ind in result.indicators)
    assert result.report.skipped == {"not an IP, network, hash, URL or domain": 1}
    assert result.report.examples == ["line 11: '???': not an IP, network, hash, URL or domain"]


def test_a_missing_list_is_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot read list feed"):
        load_list(tmp_path / "nope.txt", "f")


# --- fuzzing: arbitrary text never raises, and every non-comment line is loaded or counted

LINE = st.one_of(
    st.text(max_size=60).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
    st.sampled_from(["203.0.113.1", "10.0.0.0/8", MD5, "evil.example", "http://e.example/x", "# c", "", "1.2.3.4:99"]),
)


def _content(lines: list[str]) -> list[str]:
    return [ln for ln in "\n".join(lines).splitlines() if ln.strip() and not ln.strip().startswith("#")]


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=30))
def test_fuzz_list_loader_accounts_for_every_line(lines: list[str]) -> None:
    result = parse_list("\n".join(lines), "fuzz")
    json.dumps(result.report.to_dict())
    content = [ln for ln in _content(lines) if ln.split(" #")[0].split("\t#")[0].strip()]
    assert result.report.loaded + result.report.skipped_total == len(content)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(LINE, max_size=5).map(",".join), max_size=20))
def test_fuzz_csv_loader_never_raises_past_a_good_header(rows: list[str]) -> None:
    result = parse_csv("type,value,confidence,valid_until\n" + "\n".join(rows), "fuzz", now=NOW)
    json.dumps(result.report.to_dict())
    assert result.report.loaded == len(result.indicators)
    assert result.report.loaded + result.report.skipped_total <= len(_content(rows))
