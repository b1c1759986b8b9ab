"""File import for ``sontra ingest``: plain or gzip log files, read line by line into raw records."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from collectors.pipeline import IngestPipeline, PipelineStats
from normalizers.record import FORMATS, RawRecord, RecordFormat, decode_line

FILE_INPUT = "file"
_GZIP_MAGIC = b"\x1f\x8b"
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


def detect_format(path: Path) -> RecordFormat:
    """``jsonl`` when the file's first non-blank lines are JSON objects, otherwise ``syslog``."""
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
    """Yield one raw record per non-blank line, numbered from 1, with the absolute path as source."""
    if record_format not in FORMATS:
        raise FileIngestError(f"unknown format {record_format!r}: expected one of {', '.join(FORMATS)}")
    path = Path(path)
    if record_format == "auto":
        record_format = detect_format(path)
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
