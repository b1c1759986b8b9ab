"""normalize(): format dispatch, deterministic event ids, event.created and where a record came from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from normalizers import event_id, normalize, sniff_format
from normalizers.record import RawRecord, decode_line
from normalizers.timestamps import format_timestamp
from storage.timefmt import format_timestamp as storage_format_timestamp

T = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)
SYSLOG = "Nov 20 10:00:00 web-01 sshd[7]: Accepted publickey for alice"


def test_auto_format_sniffs_json_and_syslog() -> None:
    assert sniff_format('  {"a": 1}') == "jsonl"
    assert sniff_format(SYSLOG) == "syslog"
    assert normalize(RawRecord('{"msg": "x"}', T, "/f", "file", "auto", 1))["event"]["dataset"] == "json"
    assert normalize(RawRecord(SYSLOG, T, "/f", "file", "auto", 1))["event"]["dataset"] == "syslog"


def test_format_hint_wins_over_sniffing() -> None:
    ev = normalize(RawRecord('{"msg": "x"}', T, "/f", "file", "syslog", 1))
    assert ev["tags"] == ["parse_failure"]  # it is not syslog, and the hint said syslog


def test_file_lines_get_the_same_id_whenever_they_are_read() -> None:
    first = normalize(RawRecord(SYSLOG, T, "/var/log/auth.log", "file", "syslog", 12))
    again = normalize(RawRecord(SYSLOG, T + timedelta(days=3), "/var/log/auth.log", "file", "syslog", 12))
    assert first["event"]["id"] == again["event"]["id"]
    assert len(first["event"]["id"]) == 32
    # Same text on another line or in another file is another event.
    assert (
        normalize(RawRecord(SYSLOG, T, "/var/log/auth.log", "file", "syslog", 13))["event"]["id"]
        != first["event"]["id"]
    )
    assert (
        normalize(RawRecord(SYSLOG, T, "/var/log/other.log", "file", "syslog", 12))["event"]["id"]
        != first["event"]["id"]
    )


def test_network_records_with_the_same_text_are_different_events() -> None:
    a = RawRecord(SYSLOG, T, "10.0.0.5:514", "syslog-udp", "syslog", 1)
    b = RawRecord(SYSLOG, T + timedelta(seconds=1), "10.0.0.5:514", "syslog-udp", "syslog", 2)
    same_instant = RawRecord(SYSLOG, T, "10.0.0.5:514", "syslog-udp", "syslog", 2)
    assert len({event_id(a), event_id(b), event_id(same_instant)}) == 3
    # ...but normalizing the same received record again (a retried batch) gives the same id.
    assert normalize(a)["event"]["id"] == normalize(a)["event"]["id"] == event_id(a)


def test_an_id_sent_by_the_source_is_kept() -> None:
    line = '{"@timestamp": "2026-11-20T10:00:00Z", "event": {"id": "agent-7-000042"}}'
    assert normalize(RawRecord(line, T, "/f", "file", "jsonl", 1))["event"]["id"] == "agent-7-000042"


def test_created_source_and_file_path_are_recorded() -> None:
    net = normalize(RawRecord(SYSLOG, T, "192.0.2.9:51514", "syslog-tcp", "syslog", 1))
    assert net["event"]["created"] == "2026-11-20T12:00:00.123Z"
    assert net["log"]["source"] == {"address": "192.0.2.9:51514"}
    assert net["log"]["syslog"]["hostname"] == "web-01"
    from_file = normalize(RawRecord(SYSLOG, T, "/var/log/auth.log", "file", "syslog", 1))
    assert from_file["log"]["file"] == {"path": "/var/log/auth.log"}
    assert "source" not in from_file["log"]


def test_truncated_records_are_tagged() -> None:
    ev = normalize(RawRecord(SYSLOG[:30], T, "10.0.0.1:1", "syslog-tcp", "syslog", 1, truncated=True))
    assert "truncated" in ev["tags"]
    failed = normalize(RawRecord("<13>gar", T, "10.0.0.1:1", "syslog-tcp", "syslog", 1, truncated=True))
    assert failed["tags"] == ["parse_failure", "truncated"]


def test_raw_record_rejects_bad_input_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown record format 'xml'"):
        RawRecord("x", T, format="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        RawRecord("x", datetime(2026, 1, 1))


def test_decode_keeps_non_utf8_bytes_visible() -> None:
    assert decode_line("héllo".encode()) == "héllo"
    assert decode_line(b"caf\xe9 \xff") == "caf\\xe9 \\xff"


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (datetime(2026, 11, 20, 12, 0, 0, 999999, tzinfo=UTC), "2026-11-20T12:00:00.999Z"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05.000Z"),
        (datetime(2026, 1, 1, 7, 0, 0, 1000, tzinfo=timezone(timedelta(hours=7))), "2026-01-01T00:00:00.001Z"),
        (datetime(2026, 3, 1, 0, 0), "2026-03-01T00:00:00.000Z"),
    ],
)
def test_timestamp_format_is_utc_milliseconds_z(dt: datetime, expected: str) -> None:
    assert format_timestamp(dt) == expected
    # The stores format with the very same function.
    assert storage_format_timestamp is format_timestamp
