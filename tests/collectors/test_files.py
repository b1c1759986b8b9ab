"""File import: plain and gzip, syslog and JSON lines, idempotent re-ingest, clear errors."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson
import pytest

from collectors.files import FileIngestError, detect_format, expand_paths, ingest_files, read_records
from collectors.pipeline import IngestPipeline
from storage.sqlite import SqliteEventStore
from tests.collectors.conftest import stored_events

SYSLOG_LINES = [
    "<38>Nov 20 08:00:01 web-01 sshd[811]: Accepted publickey for alice from 10.0.0.9 port 50122 ssh2",
    "Nov 20 08:00:02 web-01 sudo[900]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
    "",
    "<13>1 2026-11-20T08:00:03.5+07:00 fw-01 filterlog 77 - - block in on em0",
    "Nov 20 08:00:04 web-01 sshd[811]: Received disconnect from 10.0.0.9",
]


def write(path: Path, lines: list[str], *, gz: bool = False) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_plain_and_gzip_syslog_files_are_read_line_by_line(tmp_path: Path, events_store: SqliteEventStore) -> None:
    plain = write(tmp_path / "auth.log", SYSLOG_LINES)
    zipped = write(tmp_path / "auth.log.1.gz", SYSLOG_LINES, gz=True)
    stats = ingest_files([plain, zipped], IngestPipeline(events_store))
    assert stats.events == 8  # the blank line is not a record
    assert stats.parse_failures == 0
    events = stored_events(events_store)
    assert len(events) == 8
    paths = {e["log"]["file"]["path"] for e in events}
    assert paths == {str(plain.resolve()), str(zipped.resolve())}
    sudo = next(e for e in events if e["process"]["name"] == "sudo")
    assert sudo["process"]["pid"] == 900
    assert events_store.count("process.name:sshd") == 4
    assert events_store.count('host.name:"fw-01"') == 2


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    records = list(read_records(write(tmp_path / "a.log", SYSLOG_LINES)))
    assert [r.position for r in records] == [1, 2, 4, 5]
    assert {r.input for r in records} == {"file"}
    assert {r.format for r in records} == {"syslog"}


def test_reingesting_the_same_file_stores_nothing_twice(tmp_path: Path, events_store: SqliteEventStore) -> None:
    path = write(tmp_path / "auth.log", SYSLOG_LINES)
    first = ingest_files([path], IngestPipeline(events_store))
    ids_first = {e["event"]["id"] for e in stored_events(events_store)}
    # A new pipeline (a new `sontra ingest` run), and the path given relative to another folder.
    relative = Path("..") / tmp_path.name / "auth.log"
    second = ingest_files([tmp_path / relative], IngestPipeline(events_store))
    assert first.events == second.events == 4
    assert first.duplicates == 0
    assert second.duplicates == 4
    assert {e["event"]["id"] for e in stored_events(events_store)} == ids_first
    assert events_store.count() == 4


def test_jsonl_file_is_detected_and_bad_lines_are_counted(tmp_path: Path, events_store: SqliteEventStore) -> None:
    docs = [
        {"@timestamp": "2026-11-20T08:00:00Z", "event": {"action": "login"}, "user": {"name": "bob"}},
        {"time": "2026-11-20T08:00:01Z", "msg": "plain app log", "level": "warn"},
    ]
    lines = [orjson.dumps(d).decode() for d in docs] + ['{"broken": ']
    path = write(tmp_path / "events.ndjson.gz", lines, gz=True)
    assert detect_format(path) == "jsonl"
    stats = ingest_files([path], IngestPipeline(events_store))
    assert stats.summary()["events"] == 3
    assert stats.summary()["parse_failures"] == 1
    assert events_store.count("user.name:bob") == 1
    assert events_store.count("tags:parse_failure") == 1
    wrapped = next(e for e in stored_events(events_store) if e.get("message") == "plain app log")
    assert wrapped["json"]["level"] == "warn"


def test_forced_format_overrides_detection(tmp_path: Path, events_store: SqliteEventStore) -> None:
    path = write(tmp_path / "auth.log", SYSLOG_LINES)
    stats = ingest_files([path], IngestPipeline(events_store), record_format="jsonl")
    assert stats.parse_failures == stats.events == 4


def test_summary_has_the_cli_shape(tmp_path: Path, events_store: SqliteEventStore) -> None:
    summary = ingest_files([write(tmp_path / "a.log", SYSLOG_LINES)], IngestPipeline(events_store)).summary()
    assert set(summary) == {"events", "parse_failures", "alerts", "duplicates", "dropped", "seconds"}
    assert summary["alerts"] == 0
    assert isinstance(summary["seconds"], float) and summary["seconds"] >= 0


def test_directories_expand_and_missing_paths_are_named(tmp_path: Path) -> None:
    (tmp_path / "logs" / "old").mkdir(parents=True)
    a = write(tmp_path / "logs" / "b.log", ["x"])
    b = write(tmp_path / "logs" / "old" / "a.log.gz", ["y"], gz=True)
    (tmp_path / "logs" / ".hidden").write_text("z")
    assert expand_paths([tmp_path / "logs"]) == [a, b]
    missing = tmp_path / "nope.log"
    with pytest.raises(FileIngestError, match=r"nope\.log: no such file or directory"):
        expand_paths([a, missing])


def test_missing_file_fails_before_anything_is_stored(tmp_path: Path, events_store: SqliteEventStore) -> None:
    good = write(tmp_path / "a.log", SYSLOG_LINES)
    with pytest.raises(FileIngestError, match=r"missing\.log"):
        ingest_files([good, tmp_path / "missing.log"], IngestPipeline(events_store))
    assert events_store.count() == 0


def test_corrupt_gzip_names_the_file(tmp_path: Path, events_store: SqliteEventStore) -> None:
    data = gzip.compress(("\n".join(SYSLOG_LINES * 200) + "\n").encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileIngestError, match=r"cut\.log\.gz: compressed data is corrupt or truncated"):
        ingest_files([path], IngestPipeline(events_store))


def test_unknown_format_is_rejected(tmp_path: Path, events_store: SqliteEventStore) -> None:
    with pytest.raises(FileIngestError, match="unknown format 'csv'"):
        ingest_files([write(tmp_path / "a.log", ["x"])], IngestPipeline(events_store), record_format="csv")  # type: ignore[arg-type]


def test_openssh_sample_ingests_without_failures(shared_dir: Path, tmp_path: Path) -> None:
    sample = tmp_path / "OpenSSH_2k.log"
    shutil.copy(shared_dir / "samples" / "loghub" / "OpenSSH_2k.log", sample)
    with SqliteEventStore(tmp_path / "ssh.db", kind="events") as store:
        stats = ingest_files([sample], IngestPipeline(store))
        assert stats.events == 2000
        assert stats.parse_failures == 0
        assert store.count() == 2000
        assert store.count("process.name:sshd") == 2000
        assert store.count('message:"Invalid user"') > 0
