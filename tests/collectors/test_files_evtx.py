"""File import of EVTX files and pretty-printed JSON documents, on SigmaHQ's real sample files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson
import pytest

from collectors.files import (
    EVTX_MAGIC,
    FileIngestError,
    detect_format,
    detect_layout,
    ingest_files,
    read_evtx,
    read_records,
)
from collectors.pipeline import IngestPipeline
from storage.sqlite import SqliteEventStore
from tests.collectors.conftest import stored_events

pytest.importorskip("evtx", reason="the evtx package (pyevtx-rs) reads EVTX files")

# Six Sysmon records (event 1) in one EVTX file, with the same six as pretty JSON beside it.
SAMPLE = "rules-emerging-threats/2025/Malware/Shai-Hulud/proc_creation_win_mal_shai_hulud_malicious_node_bun_execution"
RECORD_SIGNATURE = b"\x2a\x2a\x00\x00"  # every EVTX event record starts with it


@pytest.fixture
def sample_dir(shared_dir: Path) -> Path:
    folder = shared_dir / "sigma" / "regression_data" / SAMPLE
    if not folder.is_dir():
        pytest.skip(f"regression sample not found at {folder}")
    return folder


@pytest.fixture
def evtx_file(sample_dir: Path, tmp_path: Path) -> Path:
    source = next(sample_dir.glob("*.evtx"))
    return Path(shutil.copy(source, tmp_path / "sysmon.evtx"))


def record_offsets(data: bytes) -> list[int]:
    offsets, start = [], 0
    while (found := data.find(RECORD_SIGNATURE, start)) != -1:
        offsets.append(found)
        start = found + 1
    return offsets


def test_evtx_file_gives_one_json_record_per_event_record(evtx_file: Path) -> None:
    assert evtx_file.read_bytes()[:8] == EVTX_MAGIC
    assert detect_layout(evtx_file) == "evtx"
    assert detect_format(evtx_file) == "jsonl"
    records = list(read_records(evtx_file, "syslog"))  # a text format hint does not apply to EVTX
    assert len(records) == 6
    assert [r.position for r in records] == [1, 2, 3, 4, 5, 6]  # EventRecordIDs
    assert {r.format for r in records} == {"jsonl"}
    assert {r.source for r in records} == {str(evtx_file.resolve())}
    first = orjson.loads(records[0].text)
    assert first["Event"]["System"]["EventID"] == 1
    assert first["Event"]["System"]["Channel"] == "Microsoft-Windows-Sysmon/Operational"


def test_evtx_file_is_ingested_as_windows_events(evtx_file: Path, events_store: SqliteEventStore) -> None:
    stats = ingest_files([evtx_file], IngestPipeline(events_store))
    assert stats.events == 6
    assert stats.parse_failures == 0
    assert events_store.count('event.code:1 AND event.dataset:"windows.sysmon_operational"') == 6
    assert events_store.count("process.executable:*node.exe OR process.executable:*bun.exe") >= 1
    again = ingest_files([evtx_file], IngestPipeline(events_store))
    assert again.duplicates == 6  # the same file read twice stores each record once


def test_corrupt_record_becomes_a_parse_failure_and_reading_goes_on(
    evtx_file: Path, events_store: SqliteEventStore
) -> None:
    data = bytearray(evtx_file.read_bytes())
    second = record_offsets(bytes(data))[1]
    data[second + 24 : second + 120] = b"\xff" * 96  # break record 2's binary XML, keep its header
    evtx_file.write_bytes(bytes(data))
    records = list(read_evtx(evtx_file))
    assert [r.position for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[1].text.startswith("EVTX record 2 could not be read: ")
    stats = ingest_files([evtx_file], IngestPipeline(events_store))
    assert stats.events == 6
    assert stats.parse_failures == 1
    failed = stored_events(events_store, "tags:parse_failure")
    assert len(failed) == 1
    assert "EVTX record 2" in failed[0]["message"]


def test_gzip_compressed_evtx_is_read(evtx_file: Path, tmp_path: Path) -> None:
    zipped = tmp_path / "sysmon.evtx.gz"
    zipped.write_bytes(gzip.compress(evtx_file.read_bytes()))
    assert detect_layout(zipped) == "evtx"
    assert [r.text for r in read_records(zipped)] == [r.text for r in read_records(evtx_file)]


def test_evtx_with_a_broken_header_is_an_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.evtx"
    broken.write_bytes(EVTX_MAGIC + b"\x00" * 100)
    with pytest.raises(FileIngestError, match=r"broken\.evtx: not a readable EVTX file"):
        list(read_records(broken))


def test_pretty_printed_json_samples_give_one_record_per_document(sample_dir: Path) -> None:
    path = next(sample_dir.glob("*.json"))
    assert detect_layout(path) == "json_documents"
    assert detect_format(path) == "jsonl"
    records = list(read_records(path))
    assert len(records) == 6
    lines = path.read_text().splitlines()
    for record in records:
        assert lines[record.position - 1] == "{"  # numbered by the line the document starts on
        assert orjson.loads(record.text)["Event"]["System"]["EventID"] == 1


def test_json_documents_with_record_headers_and_a_cut_off_end(tmp_path: Path, events_store: SqliteEventStore) -> None:
    doc = {"Event": {"System": {"EventID": 4624, "Channel": "Security", "Computer": "DC01",
                                "TimeCreated": {"#attributes": {"SystemTime": "2026-11-20T01:00:00Z"}}}}}  # fmt: skip
    pretty = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    # evtx_dump -o json writes "Record <n>" before each record; the file here ends mid-document.
    text = f"Record 1\n{pretty}\nRecord 2\n{pretty}\n\n{pretty[:40]}\n"
    path = tmp_path / "dump.json"
    path.write_text(text)
    records = list(read_records(path))
    assert [r.position for r in records] == [2, 2 + pretty.count("\n") + 2, 2 * (pretty.count("\n") + 2) + 2]
    stats = ingest_files([path], IngestPipeline(events_store))
    assert stats.events == 3
    assert stats.parse_failures == 1  # the cut-off document is kept, tagged
    assert events_store.count('event.code:4624 AND host.name:"DC01"') == 2


def test_plain_log_files_keep_their_line_layout(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_text("Nov 20 08:00:01 web-01 sshd[811]: Accepted publickey for alice\n{not json\n")
    assert detect_layout(path) == "lines"
    assert [r.position for r in read_records(path)] == [1, 2]
