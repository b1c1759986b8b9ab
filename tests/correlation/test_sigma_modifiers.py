"""Sigma value matching, one modifier (or value form) at a time, with small rules written for the test."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.types import SigmaString

from correlation.sigma import SigmaEngine
from correlation.sigma.strings import StringSet, pattern_of
from tests.correlation.sigma_support import engine_with, fires, unit_event, unit_rule


def one(detection: str, **options: object) -> SigmaEngine:
    return engine_with(unit_rule(detection), **options)


def test_plain_strings_match_whole_values_case_insensitively() -> None:
    engine = one("sel:\n  Image: 'C:\\Windows\\cmd.exe'\ncondition: sel")
    assert fires(engine, unit_event(Image="c:\\windows\\CMD.EXE"))
    assert not fires(engine, unit_event(Image="C:\\Windows\\cmd.exe.bak"))
    assert not fires(engine, unit_event(Other="C:\\Windows\\cmd.exe"))


def test_contains_startswith_endswith() -> None:
    engine = engine_with(
        unit_rule("sel:\n  CommandLine|contains: ' -EncodedCommand '\ncondition: sel", "contains"),
        unit_rule("sel:\n  CommandLine|startswith: 'powershell'\ncondition: sel", "startswith"),
        unit_rule("sel:\n  CommandLine|endswith: '.PS1'\ncondition: sel", "endswith"),
    )
    names = {m.rule.title for m in engine.match(unit_event(CommandLine="PowerShell -encodedcommand AAA x.ps1"))}
    assert names == {"contains", "startswith", "endswith"}
    assert not engine.match(unit_event(CommandLine="cmd /c echo"))


def test_value_list_is_or_and_all_makes_it_and() -> None:
    any_of = one("sel:\n  CommandLine|contains: [alpha, beta]\ncondition: sel")
    all_of = one("sel:\n  CommandLine|contains|all: [alpha, beta]\ncondition: sel")
    assert fires(any_of, unit_event(CommandLine="only beta"))
    assert not fires(all_of, unit_event(CommandLine="only beta"))
    assert fires(all_of, unit_event(CommandLine="beta then ALPHA"))


def test_wildcards_and_escapes() -> None:
    # Sigma escapes with a backslash before *, ? and \: a path separator before a wildcard is \\.
    inner = one(
        r"""
        sel:
          Path: 'C:\\Users\\*\\AppData\\?ocal\\x.exe'
        condition: sel
        """
    )
    assert fires(inner, unit_event(Path="c:\\users\\bob\\appdata\\local\\X.EXE"))
    assert not fires(inner, unit_event(Path="c:\\users\\bob\\appdata\\llocal\\x.exe"))
    escaped = one(
        r"""
        sel:
          Name: 'star\*name\?'
        condition: sel
        """
    )
    assert fires(escaped, unit_event(Name="STAR*name?"))
    assert not fires(escaped, unit_event(Name="starXnameY"))
    plain_backslash = one(
        r"""
        sel:
          Image|endswith: '\cmd.exe'
        condition: sel
        """
    )
    assert fires(plain_backslash, unit_event(Image="C:\\Windows\\cmd.exe"))
    assert not fires(plain_backslash, unit_event(Image="C:\\Windows\\xcmd.exe"))


def test_star_alone_matches_any_present_value() -> None:
    engine = one("sel:\n  Field: '*'\ncondition: sel")
    assert fires(engine, unit_event(Field=""))
    assert not fires(engine, unit_event(Other="x"))


def test_regular_expressions_and_their_flags() -> None:
    sensitive = one("sel:\n  CommandLine|re: 'Invoke-[A-Z]+'\ncondition: sel")
    assert fires(sensitive, unit_event(CommandLine="x Invoke-MIMI y"))
    assert not fires(sensitive, unit_event(CommandLine="x invoke-mimi y"))
    caseless = one("sel:\n  CommandLine|re|i: 'invoke-[a-z]+'\ncondition: sel")
    assert fires(caseless, unit_event(CommandLine="x INVOKE-MIMI y"))
    multiline = one("sel:\n  Text|re|m: '^second'\ncondition: sel")
    assert fires(multiline, unit_event(Text="first\nsecond"))
    assert not fires(one("sel:\n  Text|re: '^second'\ncondition: sel"), unit_event(Text="first\nsecond"))
    dotall = one("sel:\n  Text|re|s: 'first.second'\ncondition: sel")
    assert fires(dotall, unit_event(Text="first\nsecond"))
    assert not fires(one("sel:\n  Text|re: 'first.second'\ncondition: sel"), unit_event(Text="first\nsecond"))


def test_cidr_for_ipv4_and_ipv6() -> None:
    engine = one("sel:\n  SourceIp|cidr: ['10.0.0.0/8', 'fd00::/8']\ncondition: sel")
    assert fires(engine, unit_event(SourceIp="10.20.30.40"))
    assert fires(engine, unit_event(SourceIp="fd12::1"))
    assert not fires(engine, unit_event(SourceIp="11.0.0.1"))
    assert not fires(engine, unit_event(SourceIp="not an address"))


def test_base64_and_base64offset() -> None:
    plain = one("sel:\n  Data|base64: 'secret'\ncondition: sel")
    assert fires(plain, unit_event(Data=base64.b64encode(b"secret").decode()))
    offset = one("sel:\n  Data|base64offset|contains: 'http://'\ncondition: sel")
    for prefix in (b"", b"a", b"ab"):  # the value at each offset inside a larger encoded string
        encoded = base64.b64encode(prefix + b"get http://evil/ now").decode()
        assert fires(offset, unit_event(Data=f"-enc {encoded}")), prefix
    assert not fires(offset, unit_event(Data=base64.b64encode(b"nothing here").decode()))


@pytest.mark.parametrize(
    ("modifier", "encoding"), [("wide", "utf-16-le"), ("utf16le", "utf-16-le"), ("utf16be", "utf-16-be")]
)
def test_utf16_encodings_before_base64(modifier: str, encoding: str) -> None:
    engine = one(f"sel:\n  CommandLine|{modifier}|base64offset|contains: 'Invoke-Mimikatz'\ncondition: sel")
    payload = "IEX; Invoke-Mimikatz -DumpCreds".encode(encoding)
    assert fires(engine, unit_event(CommandLine=f"powershell -enc {base64.b64encode(payload).decode()}"))
    ascii_payload = base64.b64encode(b"IEX; Invoke-Mimikatz -DumpCreds").decode()
    assert not fires(engine, unit_event(CommandLine=f"powershell -enc {ascii_payload}"))


def test_wide_alone_matches_utf16_text_in_a_field() -> None:
    engine = one("sel:\n  Blob|wide|contains: 'ab'\ncondition: sel")
    assert fires(engine, unit_event(Blob="x a\x00b\x00 y"))
    assert not fires(engine, unit_event(Blob="x ab y"))


def test_windash_accepts_every_dash_form() -> None:
    engine = one("sel:\n  CommandLine|windash|contains: ' -exec bypass'\ncondition: sel")
    for dash in ("-", "/", "\u2013", "\u2014", "\u2015"):
        assert fires(engine, unit_event(CommandLine=f"powershell {dash}exec bypass")), dash
    assert not fires(engine, unit_event(CommandLine="powershell exec bypass"))


def test_exists() -> None:
    present = one("sel:\n  Token|exists: true\ncondition: sel")
    absent = one("sel:\n  Token|exists: false\n  Other: x\ncondition: sel")
    assert fires(present, unit_event(Token=""))
    assert not fires(present, unit_event(Other="x"))
    assert fires(absent, unit_event(Other="x"))
    assert not fires(absent, unit_event(Other="x", Token="t"))


@pytest.mark.parametrize(
    ("modifier", "hits", "misses"),
    [("lt", [9, "9.5"], [10, 11]), ("lte", [10, "10"], [11]), ("gt", [11, " 12 "], [10]), ("gte", [10, 11.0], [9])],
)
def test_numeric_comparisons(modifier: str, hits: list[object], misses: list[object]) -> None:
    engine = one(f"sel:\n  Count|{modifier}: 10\ncondition: sel")
    for value in hits:
        assert fires(engine, unit_event(Count=value)), value
    for value in [*misses, "ten", True]:
        assert not fires(engine, unit_event(Count=value)), value


def test_fieldref_compares_two_fields() -> None:
    equal = one("sel:\n  User|fieldref: ParentUser\ncondition: sel")
    assert fires(equal, unit_event(User="CORP\\Bob", ParentUser="corp\\bob"))
    assert not fires(equal, unit_event(User="CORP\\Bob", ParentUser="CORP\\Alice"))
    assert not fires(equal, unit_event(User="CORP\\Bob"))
    starts = one("sel:\n  Path|fieldref|startswith: Folder\ncondition: sel")
    assert fires(starts, unit_event(Path="C:\\Temp\\x.exe", Folder="c:\\temp"))
    contains = one("sel:\n  CommandLine|fieldref|contains: Image\ncondition: sel")
    assert fires(contains, unit_event(CommandLine='"C:\\a.exe" -x', Image="c:\\a.exe"))
    assert not fires(contains, unit_event(CommandLine="other", Image="c:\\a.exe"))


def test_cased_matches_exact_case_only() -> None:
    engine = one("sel:\n  Name|cased|contains: 'MiMi'\ncondition: sel")
    assert fires(engine, unit_event(Name="xxMiMixx"))
    assert not fires(engine, unit_event(Name="xxmimixx"))


def test_expand_uses_configured_placeholder_values() -> None:
    rule = unit_rule("sel:\n  Host|expand: '%admin_hosts%'\ncondition: sel")
    engine = engine_with(rule, placeholders={"admin_hosts": ["ws-admin-1", "WS-ADMIN-2"]})
    assert fires(engine, unit_event(Host="ws-admin-2"))
    assert not fires(engine, unit_event(Host="ws-user-1"))
    report = SigmaEngine().load_yaml(rule)
    assert report.loaded == 0
    assert "placeholder %admin_hosts%" in report.failures[0].reason


def test_null_matches_a_missing_or_null_field_not_an_empty_one() -> None:
    engine = one("sel:\n  Description: null\n  Image: x\ncondition: sel")
    assert fires(engine, unit_event(Image="x"))
    assert fires(engine, unit_event(Image="x", Description=None))
    assert not fires(engine, unit_event(Image="x", Description=""))
    empty = one("sel:\n  Description: ''\ncondition: sel")
    assert fires(empty, unit_event(Description=""))
    assert not fires(empty, unit_event(Image="x"))


def test_numbers_and_booleans_match_their_text_forms() -> None:
    number = one("sel:\n  EventID: 4688\ncondition: sel")
    assert fires(number, unit_event(EventID=4688))
    assert fires(number, unit_event(EventID="4688"))
    assert not fires(number, unit_event(EventID="46880"))
    flag = one("sel:\n  Signed: false\ncondition: sel")
    assert fires(flag, unit_event(Signed=False))
    assert fires(flag, unit_event(Signed="FALSE"))
    assert not fires(flag, unit_event(Signed=True))


def test_list_valued_fields_match_any_element() -> None:
    engine = one("sel:\n  Tags|endswith: '.exe'\ncondition: sel")
    assert fires(engine, unit_event(Tags=["a.dll", "b.EXE"]))
    assert not fires(engine, unit_event(Tags=["a.dll"]))
    all_values = one("sel:\n  Tags|contains|all: [alpha, beta]\ncondition: sel")
    assert fires(all_values, unit_event(Tags=["alpha", "beta"]))


def test_keywords_search_every_value_but_the_original_record() -> None:
    engine = one("keywords:\n  - 'sekurlsa::'\n  - 'mimidrv.sys'\ncondition: keywords")
    assert fires(engine, unit_event(message="started with SEKURLSA::logonpasswords"))
    assert fires(engine, unit_event(deep__nested__list=["x", "C:\\mimidrv.sys"]))
    assert not fires(engine, unit_event(message="clean", event__original="sekurlsa::"))
    together = one("keywords:\n  '|all':\n    - 'OabVirtualDirectory'\n    - ' -ExternalUrl '\ncondition: keywords")
    assert fires(together, unit_event(a="Set-OabVirtualDirectory", b="x -externalurl y"))
    assert not fires(together, unit_event(a="Set-OabVirtualDirectory"))


def test_neq_negates_an_item() -> None:
    engine = one("sel:\n  Kind: x\nfilter_name:\n  Name|neq: admin\ncondition: sel and filter_name")
    assert fires(engine, unit_event(Kind="x", Name="bob"))
    assert not fires(engine, unit_event(Kind="x", Name="ADMIN"))


def test_timestamp_part_modifier() -> None:
    engine = one("sel:\n  Time|hour: 3\ncondition: sel")
    assert fires(engine, unit_event(Time="2026-01-02T03:04:05Z"))
    assert not fires(engine, unit_event(Time="2026-01-02T04:04:05Z"))


@given(
    pattern=st.text(alphabet="ab*?", min_size=1, max_size=7),
    values=st.lists(st.text(alphabet="abAB", max_size=9), min_size=1, max_size=8),
)
@settings(max_examples=300, deadline=None)
def test_string_tests_agree_with_a_reference_wildcard_regex(pattern: str, values: list[str]) -> None:
    """``in``/``startswith``/ordered ``find`` shortcuts give the answers a plain wildcard regex gives."""
    group = StringSet(cased=False)
    group.add(pattern_of(SigmaString(pattern), lambda placeholder: AssertionError(placeholder)))
    test = group.build()
    reference = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)
    for value in values:
        assert bool(test(value.lower())) == bool(reference.fullmatch(value.lower())), (pattern, value)


def test_placeholder_values_are_checked() -> None:
    engine = one("sel:\n  Host|expand: '%solo%'\ncondition: sel", placeholders={"solo": "ws-1"})
    assert fires(engine, unit_event(Host="WS-1"))  # one text is one value, not its characters
    assert not fires(engine, unit_event(Host="w"))
    with pytest.raises(ValueError, match="non-empty list"):
        SigmaEngine(placeholders={"empty": []})
