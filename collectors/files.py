"""File import for ``sontra ingest``: log files (plain or gzip) read into raw records.

Three layouts, recognised by content, not by name:

- lines: one record per non-blank line (syslog, JSON lines), numbered by line;
- JSON documents: pretty-printed JSON objects one after another (``evtx_dump -o json``, the
  SigmaHQ regression samples), one record per object, numbered by the line it starts on;
- EVTX: Windows event log files (magic ``ElfFile\\0``), one JSON record per event record, numbered
  by its EventRecordID; a record the EVTX reader cannot decode becomes a text record that is stored
  as a ``parse_failure`` naming the record, and reading goes on with the next one.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from collectors.pipeline import IngestPipeline, PipelineStats
from normalizers.record import FORMATS, RawRecord, RecordFormat, decode_line

FILE_INPUT = "file"
FileLayout = Literal["lines", "json_documents", "evtx"]
_GZIP_MAGIC = b"\x1f\x8b"
EVTX_MAGIC = b"ElfFile\x00"
# evtx_dump's json output puts "Record <n>" before each pretty-printed record.
_RECORD_HEADER = re.compile(r"Record \d+")
# A JSON document that has not closed after this many characters is cut off and stored as it is.
_MAX_DOCUMENT_CHARS = 16 * 1024 * 1024
_FAILED_RECORD_NUMBER = re.compile(r"record number (\d+)")
# The EVTX reader resumes at the next record after an error; this many errors in a row means it is
# stuck on a broken file, not skipping bad records.
_MAX_CONSECUTIVE_EVTX_ERRORS = 10_000
_SNIFF_LINES = 50  # non-blank lines looked at to decide a file's format
# Refresh event.created this often while reading a long file, instead of once per line.
_CLOCK_EVERY = 1000


class FileIngestError(ValueError):
    """A file could not be read as a log (missing, unreadable, corrupt compression)."""


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The files to read: each file as given, each directory's files (recursively, sorted)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise FileIngestError(f"{path}: not a regular file")
        else:
            raise FileIngestError(f"{path}: no such file or directory")
    return files


@contextmanager
def open_log(path: Path) -> Iterator[BinaryIO]:
    """Open a log file for binary line reading, decompressing it when it is gzip (by content, not name)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise FileIngestError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with raw:
        if raw.read(2) == _GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            raw.seek(0)
            yield raw


def detect_layout(path: Path) -> FileLayout:
    """``evtx`` for an EVTX file, ``json_documents`` when it starts with a pretty-printed object, else ``lines``."""
    with open_log(path) as stream:
        try:
            magic = stream.read(len(EVTX_MAGIC))
            stream.seek(0)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise FileIngestError(f"{path}: compressed data is corrupt or truncated at its start: {exc}") from exc
        if magic == EVTX_MAGIC:
            return "evtx"
        for raw in _guarded(stream, path):
            text = raw.strip()
            if not text or _RECORD_HEADER.fullmatch(text.decode("ascii", "replace")):
                continue
            return "json_documents" if text == b"{" else "lines"
    return "lines"


def detect_format(path: Path) -> RecordFormat:
    """``jsonl`` when the file's records are JSON objects (EVTX and JSON documents too), otherwise ``syslog``."""
    if detect_layout(path) != "lines":
        return "jsonl"
    seen = 0
    json_lines = 0
    with open_log(path) as lines:
        for raw in _guarded(lines, path):
            text = raw.strip()
            if not text:
                continue
            seen += 1
            json_lines += text.startswith(b"{")
            if seen >= _SNIFF_LINES:
                break
    return "jsonl" if seen and json_lines * 2 > seen else "syslog"


def read_records(path: str | Path, record_format: RecordFormat = "auto") -> Iterator[RawRecord]:
    """Yield the file's raw records (see the module docstring for layouts) with the absolute path as source.

    EVTX records are always ``jsonl``: ``record_format`` applies to text files.
    """
    if record_format not in FORMATS:
        raise FileIngestError(f"unknown format {record_format!r}: expected one of {', '.join(FORMATS)}")
    path = Path(path)
    layout = detect_layout(path)
    if layout == "evtx":
        yield from read_evtx(path)
        return
    if record_format == "auto":
        record_format = "jsonl" if layout == "json_documents" else detect_format(path)
    if layout == "json_documents":
        yield from _json_documents(path, record_format)
        return
    source = str(path.resolve())
    received_at = datetime.now(UTC)
    with open_log(path) as lines:
        for number, raw in enumerate(_guarded(lines, path), start=1):
            if number % _CLOCK_EVERY == 0:
                received_at = datetime.now(UTC)
            text = decode_line(raw).rstrip("\r\n")
            if not text or text.isspace():
                continue
            yield RawRecord(text, received_at, source, FILE_INPUT, record_format, number)


def read_evtx(path: str | Path) -> Iterator[RawRecord]:
    """One ``jsonl`` record per EVTX event record (the record as JSON), numbered by its EventRecordID.

    A record that cannot be decoded is yielded as text naming the record and the reader's error,
    so it is stored (as a ``parse_failure``) and counted, and the next record is read.
    """
    path = Path(path)
    source = str(path.resolve())
    received_at = datetime.now(UTC)
    last = 0
    errors_in_a_row = 0
    with open_log(path) as stream:
        records = _evtx_records(path, stream)
        while errors_in_a_row < _MAX_CONSECUTIVE_EVTX_ERRORS:
            try:
                item = next(records)
            except StopIteration:
                return
            except (RuntimeError, OSError, ValueError) as exc:
                errors_in_a_row += 1
                found = _FAILED_RECORD_NUMBER.search(str(exc))
                last = int(found.group(1)) if found else last + 1
                text = f"EVTX record {last} could not be read: {exc}"
                yield RawRecord(text, received_at, source, FILE_INPUT, "jsonl", last)
                continue
            errors_in_a_row = 0
            number = item.get("event_record_id")
            last = number if isinstance(number, int) else last + 1
            if last % _CLOCK_EVERY == 0:
                received_at = datetime.now(UTC)
            yield RawRecord(item["data"], received_at, source, FILE_INPUT, "jsonl", last)
    raise FileIngestError(f"{path}: EVTX reader stopped after {errors_in_a_row} unreadable records in a row")


def _evtx_records(path: Path, stream: BinaryIO) -> Iterator[dict[str, Any]]:
    """The ``evtx`` (pyevtx-rs) record iterator for a plain or gzip-compressed EVTX file."""
    try:
        from evtx import PyEvtxParser  # optional dependency: only EVTX files need it
    except ImportError as exc:
        raise FileIngestError(f"{path}: reading EVTX files needs the 'evtx' package (pip install evtx)") from exc
    try:
        # The Rust reader is fastest on a path; a gzip stream is handed over as a file object.
        parser = PyEvtxParser(stream if isinstance(stream, gzip.GzipFile) else str(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise FileIngestError(f"{path}: not a readable EVTX file: {exc}") from exc
    return parser.records_json()


def _json_documents(path: Path, record_format: RecordFormat) -> Iterator[RawRecord]:
    """One record per pretty-printed top-level JSON object (it closes with a ``}`` in column 0)."""
    source = str(path.resolve())
    received_at = datetime.now(UTC)
    buffer: list[str] = []
    size = start = documents = 0
    with open_log(path) as lines:
        for number, raw in enumerate(_guarded(lines, path), start=1):
            text = decode_line(raw).rstrip("\r\n")
            if not buffer:
                first = text.strip()
                if not first or _RECORD_HEADER.fullmatch(first):
                    continue
                start = number
            buffer.append(text)
            size += len(text) + 1
            one_line = len(buffer) == 1 and first.startswith("{") and first.endswith("}")
            if one_line or text.rstrip() == "}" or size > _MAX_DOCUMENT_CHARS:
                documents += 1
                if documents % _CLOCK_EVERY == 0:
                    received_at = datetime.now(UTC)
                yield RawRecord("\n".join(buffer), received_at, source, FILE_INPUT, record_format, start)
                buffer = []
                size = 0
    if buffer:  # the file ends inside a document: store what there is (a parse failure)
        yield RawRecord("\n".join(buffer), received_at, source, FILE_INPUT, record_format, start)


def ingest_files(
    paths: Iterable[str | Path], pipeline: IngestPipeline, record_format: RecordFormat = "auto"
) -> PipelineStats:
    """Push every line of every file through the pipeline, flush, and return the totals."""
    if record_format not in FORMATS:
        raise FileIngestError(f"unknown format {record_format!r}: expected one of {', '.join(FORMATS)}")
    files = expand_paths(paths)  # fail on a missing path before anything is stored
    stats = PipelineStats()
    for path in files:
        stats.add(pipeline.process(read_records(path, record_format)))
    pipeline.flush()
    return stats


def _guarded(lines: BinaryIO, path: Path) -> Iterator[bytes]:
    """Iterate lines, turning a truncated or corrupt gzip stream into an error that names the file."""
    number = 0
    try:
        for number, line in enumerate(lines, start=1):  # noqa: B007 - number is reported on error
            yield line
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise FileIngestError(f"{path}: compressed data is corrupt or truncated after line {number}: {exc}") from exc
