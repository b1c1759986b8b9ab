"""Syslog parsing: RFC 3164, RFC 5424, rsyslog ISO timestamps, year inference, failures, fuzzing."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers.record import RawRecord
from normalizers.schema import ECS_VERSION, validate_event
from normalizers.syslog import parse_syslog
from normalizers.timestamps import parse_iso_timestamp

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def parse(text: str, received: datetime = RECEIVED, **kw: object) -> dict:
    return parse_syslog(RawRecord(text, received, "10.0.0.7:40000", "syslog-udp", "syslog", 1), **kw)  # type: ignore[arg-type]


# --- RFC 3164 ------------------------------------------------------------------------------------


def test_rfc3164_with_pri_fills_priority_host_and_process() -> None:
    ev = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    assert ev["@timestamp"] == "2026-10-11T22:14:15.000Z"
    assert ev["host"] == {"hostname": "mymachine", "name": "mymachine"}
    assert ev["process"] == {"name": "su"}
    assert ev["message"] == "'su root' failed for lonvick on /dev/pts/8"
    syslog = ev["log"]["syslog"]
    assert syslog["priority"] == 34
    assert syslog["facility"] == {"code": 4, "name": "auth"}
    assert syslog["severity"] == {"code": 2, "name": "critical"}
    assert syslog["hostname"] == "mymachine"
    assert syslog["appname"] == "su"
    assert ev["event"]["original"].startswith("<34>Oct 11")
    assert ev["event"]["kind"] == "event"
    assert ev["event"]["dataset"] == "syslog"
    assert ev["ecs"]["version"] == ECS_VERSION
    assert "tags" not in ev
    assert validate_event(ev) == []


def test_rfc3164_without_pri_and_with_pid() -> None:
    ev = parse("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186")
    assert ev["process"] == {"name": "sshd", "pid": 24200}
    assert ev["log"]["syslog"]["procid"] == "24200"
    assert "priority" not in ev["log"]["syslog"]
    assert ev["host"]["hostname"] == "LabSZ"
    assert ev["message"] == "Invalid user webmaster from 173.234.31.186"
    assert ev["@timestamp"] == "2025-12-10T06:55:46.000Z"  # December is in the future on 20 Nov 2026


def test_rfc3164_single_digit_day_fraction_and_explicit_year() -> None:
    assert parse("Nov  3 01:02:03 h app: x")["@timestamp"] == "2026-11-03T01:02:03.000Z"
    assert parse("Nov  3 01:02:03.25 h app: x")["@timestamp"] == "2026-11-03T01:02:03.250Z"
    assert parse("Mar 14 2019 01:02:03 h app: x")["@timestamp"] == "2019-03-14T01:02:03.000Z"


def test_rfc3164_without_hostname_reads_the_tag() -> None:
    ev = parse("<13>Nov 20 10:00:00 postfix/smtpd[991]: connect from unknown")
    assert "host" not in ev
    assert ev["process"] == {"name": "postfix/smtpd", "pid": 991}
    assert ev["message"] == "connect from unknown"


def test_rfc3164_without_tag_keeps_the_whole_message() -> None:
    ev = parse("Nov 20 10:00:00 gw01 last message repeated 3 times")
    assert ev["host"]["hostname"] == "gw01"
    assert "process" not in ev
    assert ev["message"] == "last message repeated 3 times"
    assert "tags" not in ev


def test_non_numeric_procid_is_kept_but_is_not_a_pid() -> None:
    ev = parse("Nov 20 10:00:00 h app[worker-3]: x")
    assert ev["process"] == {"name": "app"}
    assert ev["log"]["syslog"]["procid"] == "worker-3"


@pytest.mark.parametrize(
    ("received", "line", "expected"),
    [
        # Written just before midnight on New Year's Eve, read just after it.
        (datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC), "Dec 31 23:59:58 h a: x", "2026-12-31T23:59:58.000Z"),
        # Sender's clock runs a minute fast over New Year: the message belongs to the new year.
        (datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC), "Jan  1 00:00:30 h a: x", "2027-01-01T00:00:30.000Z"),
        # Old lines read in January (a backlog file) stay in the previous year.
        (datetime(2027, 1, 2, 8, 0, tzinfo=UTC), "Dec 30 10:00:00 h a: x", "2026-12-30T10:00:00.000Z"),
        # Less than a day ahead is clock skew, not last year.
        (datetime(2026, 6, 1, 12, 0, tzinfo=UTC), "Jun  2 11:00:00 h a: x", "2026-06-02T11:00:00.000Z"),
        # More than a day ahead is last year.
        (datetime(2026, 6, 1, 12, 0, tzinfo=UTC), "Jun  2 13:00:00 h a: x", "2025-06-02T13:00:00.000Z"),
        # Feb 29 seen in a common year goes back to the last leap year.
        (datetime(2027, 3, 1, 0, 0, tzinfo=UTC), "Feb 29 10:00:00 h a: x", "2024-02-29T10:00:00.000Z"),
    ],
)
def test_year_inference_is_never_more_than_a_day_ahead(received: datetime, line: str, expected: str) -> None:
    ev = parse(line, received)
    assert ev["@timestamp"] == expected
    assert parse_iso_timestamp(ev["@timestamp"]) <= received + timedelta(days=1)


def test_same_text_read_at_different_times_gets_the_right_year_each_time() -> None:
    """The timestamp memo must not hand a year decided for one receive time to another."""
    line = "Dec 31 23:00:00 h a: x"
    assert parse(line, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))["@timestamp"] == "2026-12-31T23:00:00.000Z"
    assert parse(line, datetime(2026, 12, 29, 23, 30, tzinfo=UTC))["@timestamp"] == "2025-12-31T23:00:00.000Z"
    assert parse(line, datetime(2027, 12, 31, 0, 0, tzinfo=UTC))["@timestamp"] == "2027-12-31T23:00:00.000Z"
    assert parse(line, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))["@timestamp"] == "2026-12-31T23:00:00.000Z"


def test_source_time_zone_applies_to_bsd_timestamps() -> None:
    hanoi = ZoneInfo("Asia/Ho_Chi_Minh")
    assert parse("Nov 20 10:00:00 h a: x", source_tz=hanoi)["@timestamp"] == "2026-11-20T03:00:00.000Z"
    fixed = timezone(timedelta(hours=-5))
    assert parse("Nov 20 10:00:00 h a: x", source_tz=fixed)["@timestamp"] == "2026-11-20T15:00:00.000Z"
    # Berlin is UTC+2 in summer and UTC+1 in winter.
    berlin = ZoneInfo("Europe/Berlin")
    assert parse("Jul  1 12:00:00 h a: x", source_tz=berlin)["@timestamp"] == "2026-07-01T10:00:00.000Z"
    assert parse("Jan  1 12:00:00 h a: x", source_tz=berlin)["@timestamp"] == "2026-01-01T11:00:00.000Z"


def test_year_inference_uses_the_source_time_zone_calendar() -> None:
    # 23:30 UTC on 31 Dec is already 06:30 on 1 Jan in Hanoi: a Hanoi "Jan 1" line is this new year.
    received = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    ev = parse("Jan  1 06:20:00 h a: x", received, source_tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert ev["@timestamp"] == "2026-12-31T23:20:00.000Z"


def test_rsyslog_iso_timestamps_keep_their_offset() -> None:
    ev = parse("2026-11-20T10:00:00.123456+07:00 web-01 CRON[12]: (root) CMD (run-parts)")
    assert ev["@timestamp"] == "2026-11-20T03:00:00.123Z"
    assert ev["host"]["hostname"] == "web-01"
    assert ev["process"] == {"name": "CRON", "pid": 12}
    assert ev["message"] == "(root) CMD (run-parts)"
    # The offset in the line wins over the configured source zone...
    assert (
        parse("<13>2026-11-20T10:00:00Z h a: x", source_tz=ZoneInfo("Asia/Ho_Chi_Minh"))["@timestamp"]
        == "2026-11-20T10:00:00.000Z"
    )
    # ...which is used only when the line has none.
    assert (
        parse("2026-11-20T10:00:00 h a: x", source_tz=ZoneInfo("Asia/Ho_Chi_Minh"))["@timestamp"]
        == "2026-11-20T03:00:00.000Z"
    )


# --- RFC 5424 ------------------------------------------------------------------------------------


def test_rfc5424_with_structured_data_and_bom() -> None:
    line = (
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 "
        '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] '
        "\ufeffAn application event log entry..."
    )
    ev = parse(line)
    assert ev["@timestamp"] == "2003-10-11T22:14:15.003Z"
    assert ev["message"] == "An application event log entry..."
    assert ev["host"]["hostname"] == "mymachine.example.com"
    assert ev["process"] == {"name": "evntslog", "pid": 8710}
    syslog = ev["log"]["syslog"]
    assert syslog["version"] == "1"
    assert syslog["msgid"] == "ID47"
    assert syslog["facility"]["name"] == "local4"
    assert syslog["severity"]["name"] == "notice"
    assert syslog["structured_data"] == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
        "examplePriority@32473": {"class": "high"},
    }
    assert ev["event"]["original"] == line
    assert validate_event(ev) == []


def test_rfc5424_nil_values_and_no_message() -> None:
    ev = parse("<13>1 - - - - - -")
    assert ev["@timestamp"] == "2026-11-20T12:00:00.000Z"  # NILVALUE time: when it was received
    assert ev["message"] == ""
    assert "host" not in ev
    assert "process" not in ev
    syslog = ev["log"]["syslog"]
    assert "msgid" not in syslog
    assert "procid" not in syslog
    assert "structured_data" not in syslog
    assert "tags" not in ev


def test_rfc5424_offset_timestamp_and_escaped_param_values() -> None:
    line = r'<86>1 2026-11-20T10:00:00.5+07:00 fw01 auditd - - [a@1 path="C:\\dir\\x" q="say \"hi\"" b="x\]y"] done'
    ev = parse(line)
    assert ev["@timestamp"] == "2026-11-20T03:00:00.500Z"
    assert ev["log"]["syslog"]["structured_data"] == {"a@1": {"path": "C:\\dir\\x", "q": 'say "hi"', "b": "x]y"}}
    assert ev["message"] == "done"


def test_rfc5424_repeated_param_names_keep_every_value() -> None:
    ev = parse('<13>1 2026-11-20T10:00:00Z h app - - [origin ip="10.0.0.1" ip="10.0.0.2"] m')
    assert ev["log"]["syslog"]["structured_data"] == {"origin": {"ip": ["10.0.0.1", "10.0.0.2"]}}


@pytest.mark.parametrize(
    "line",
    [
        '<13>1 2026-11-20T10:00:00Z h app - - [unterminated a="b" msg',
        "<13>1 2026-11-20T10:00:00Z h app - - garbage-instead-of-sd msg",
        "<13>1 2026-13-45T10:00:00Z h app - - - bad date",
        '<13>1 2026-11-20T10:00:00Z h app - - [a b="c"]no-space',
    ],
)
def test_rfc5424_malformed_is_a_parse_failure(line: str) -> None:
    ev = parse(line)
    assert ev["tags"] == ["parse_failure"]
    assert ev["message"] == line
    assert ev["log"]["syslog"]["priority"] == 13  # the valid PRI is still kept for routing


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "<13>garbled line that no parser understands",
        "hello world",
        "<999>Nov 20 10:00:00 h a: x",
        "<abc>Nov 20 10:00:00 h a: x",
        "Foo 20 10:00:00 h a: x",
        "Feb 30 10:00:00 h a: x",
        "Nov 20 25:61:00 h a: x",
        "\x00\x01\x02\xff\ufffd binary \x1b[31m",
        "{not json either",
    ],
)
def test_unparseable_lines_become_parse_failures(text: str) -> None:
    ev = parse(text)
    assert ev["tags"] == ["parse_failure"]
    assert ev["@timestamp"] == "2026-11-20T12:00:00.000Z"
    assert ev["message"] == text
    assert ev["event"]["original"] == text
    assert ev["event"]["dataset"] == "syslog"
    assert validate_event(ev) == []


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_arbitrary_text_never_raises(text: str) -> None:
    ev = parse(text)
    assert ev["event"]["original"] == text
    assert parse_iso_timestamp(ev["@timestamp"]).tzinfo is not None
    assert validate_event(ev) == []


_SYSLOGISH = st.builds(
    lambda pri, head, rest: f"<{pri}>{head}{rest}",
    st.integers(min_value=0, max_value=999),
    st.sampled_from(
        [
            "1 ",
            "1 - ",
            "Nov 20 10:00:00 ",
            "Feb 29 00:00:00 ",
            "2026-11-20T10:00:00Z ",
            "1 2026-01-01T00:00:00Z h a p m [",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=120),
)


@settings(max_examples=400, deadline=None)
@given(_SYSLOGISH)
def test_fuzz_syslog_like_text_never_raises(text: str) -> None:
    ev = parse(text)
    assert ev["event"]["original"] == text
    assert isinstance(ev["@timestamp"], str) and ev["@timestamp"].endswith("Z")
    assert validate_event(ev) == []


# --- real data -----------------------------------------------------------------------------------


def test_every_openssh_sample_line_parses(shared_dir: Path) -> None:
    log_path = shared_dir / "samples" / "loghub" / "OpenSSH_2k.log"
    truth_path = shared_dir / "samples" / "loghub" / "OpenSSH_2k.log_structured.csv"
    lines = log_path.read_text(encoding="utf-8").splitlines()
    with truth_path.open(encoding="utf-8", newline="") as f:
        truth = list(csv.DictReader(f))
    assert len(lines) == len(truth) == 2000
    for line, expected in zip(lines, truth, strict=True):
        ev = parse(line)
        assert "tags" not in ev, line
        assert ev["process"]["name"] == "sshd"
        assert ev["process"]["pid"] == int(expected["Pid"])
        assert ev["host"]["hostname"] == expected["Component"]
        assert ev["message"].strip() == expected["Content"].strip()
        day = int(expected["Day"])
        assert ev["@timestamp"][5:19] == f"12-{day:02d}T{expected['Time']}"
