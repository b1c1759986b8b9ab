"""Syslog "message repeated N times" lines: event.count, the inner message parsed, the BSD form tagged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from normalizers import normalize
from normalizers.record import RawRecord
from normalizers.repeats import Repeat, read_repeat

RECEIVED = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)


def event(line: str) -> dict[str, Any]:
    return normalize(RawRecord(line, RECEIVED, "192.0.2.10:51514", "syslog-tcp", "syslog", 7))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("message repeated 3 times: [ Failed password for root]", Repeat(3, "Failed password for root")),
        ("message repeated 1 time: [x]", Repeat(1, "x")),
        ("message repeated 12 times: [ a [nested] b]", Repeat(12, "a [nested] b")),
        ("last message repeated 5 times", Repeat(5, None)),
        ("--- last message repeated 2 times ---", Repeat(2, None)),
        ("last message repeated 1 time", Repeat(1, None)),
        ("message repeated 0 times: [ x]", None),  # zero occurrences is not a count
        ("message repeated 3 times", None),  # rsyslog always wraps the message
        ("message repeated 1234567890 times: [ x]", None),  # not a count any sender writes
        ("last message repeated many times", None),
        ("the last message repeated 3 times", None),
        ("Failed password for root", None),
    ],
)
def test_read_repeat(message: str, expected: Repeat | None) -> None:
    assert read_repeat(message) == expected


def test_rsyslog_form_counts_and_parses_the_inner_sshd_message() -> None:
    ev = event(
        "<38>Nov 23 10:00:00 web-01 sshd[812]: message repeated 4 times: "
        "[ Failed password for root from 203.0.113.7 port 4242 ssh2]"
    )
    assert ev["event"]["count"] == 4
    assert ev["event"]["action"] == "ssh_login" and ev["event"]["outcome"] == "failure"
    assert ev["source"]["ip"] == "203.0.113.7" and ev["user"]["name"] == "root"
    assert ev["message"].startswith("message repeated 4 times: [")  # the line as sent stays searchable
    assert "tags" not in ev


def test_rsyslog_form_works_for_any_source_parser() -> None:
    # nginx has no repeat handling of its own: the inner line is what it parses.
    ev = event(
        "<190>Nov 23 10:00:00 web-03 nginx: message repeated 2 times: [ 198.51.100.4 - - "
        '[23/Nov/2026:10:00:00 +0000] "GET /wp-login.php HTTP/1.1" 404 153 "-" "curl/8.5.0"]'
    )
    assert ev["event"]["count"] == 2
    assert ev["event"]["dataset"] == "nginx.access"
    assert ev["url"]["path"] == "/wp-login.php"
    assert ev["http"]["response"]["status_code"] == 404


def test_rsyslog_form_of_an_unknown_program_keeps_the_count() -> None:
    ev = event("<13>Nov 23 10:00:00 h1 myapp[9]: message repeated 7 times: [ cache miss]")
    assert ev["event"]["count"] == 7
    assert ev["message"] == "message repeated 7 times: [ cache miss]"
    assert "tags" not in ev


def test_bsd_form_is_counted_and_tagged_repeated() -> None:
    ev = event("<13>Nov 23 10:00:00 gw01 last message repeated 12 times")
    assert ev["event"]["count"] == 12
    assert ev["tags"] == ["repeated"]
    assert ev["host"]["hostname"] == "gw01"
    assert ev["message"] == "last message repeated 12 times"


def test_ordinary_lines_have_no_count() -> None:
    ev = event("<38>Nov 23 10:00:00 web-01 sshd[812]: Failed password for root from 203.0.113.7 port 4242 ssh2")
    assert "count" not in ev["event"]
    assert "tags" not in ev
