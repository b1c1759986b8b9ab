"""Reading the spool back, in order, from the last checkpoint: the ingest worker's side of ``Spool``."""

from __future__ import annotations

import logging
import os

from collectors.spool import SEGMENT_START, Spool, SpoolPosition
from collectors.spool_frames import FRAME_HEADER, HEADER_SIZE, FrameError, check_frame, decode_record, plausible_length
from normalizers.record import RawRecord

log = logging.getLogger(__name__)

_READ_CHUNK = 1024 * 1024


class SpoolReader:
    """Reads durable records from a position onwards; used by one thread at a time (the ingest worker's).

    It never reads past what the committer has fsync'd, so nothing reaches the store that a crash
    could still take back from the spool.
    """

    def __init__(self, spool: Spool, start: SpoolPosition) -> None:
        self._spool = spool
        self._segment = start.segment
        self._offset = start.offset
        self._fd: int | None = None
        self._buffer = b""
        self._buffer_at = 0  # file offset of self._buffer[0]

    @property
    def position(self) -> SpoolPosition:
        """Where the next read starts; commit it once everything read so far is stored."""
        return SpoolPosition(self._segment, self._offset)

    def read(self, max_records: int) -> list[RawRecord]:
        """Up to ``max_records`` records after the current position (fewer, or none, when the spool has no more)."""
        records: list[RawRecord] = []
        while len(records) < max_records:
            end, next_segment = self._spool.readable(self._segment)
            if self._offset >= end:
                if next_segment is None:
                    break
                self._move_to(next_segment)
                continue
            before = len(records)
            self._read_segment(end, max_records, records)
            if self._segment <= self._spool.replay_until:
                self._spool.metrics.replayed.inc(len(records) - before)
        return records

    def close(self) -> None:
        """Close the open segment file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _move_to(self, segment: int) -> None:
        self.close()
        self._segment = segment
        self._offset = SEGMENT_START
        self._buffer = b""
        self._buffer_at = 0

    def _read_segment(self, end: int, max_records: int, out: list[RawRecord]) -> None:
        """Decode frames of the current segment up to ``end`` into ``out``."""
        while len(out) < max_records and self._offset < end:
            header = self._bytes(HEADER_SIZE, end)
            if header is None:
                self._skip_corrupt(end, "a frame header runs past the durable end")
                return
            length, crc = FRAME_HEADER.unpack_from(header)
            if not plausible_length(length):
                self._skip_corrupt(end, f"impossible frame length {length}")
                return
            frame = self._bytes(HEADER_SIZE + length, end)
            if frame is None:
                self._skip_corrupt(end, f"a {length}-byte frame runs past the durable end")
                return
            payload = frame[HEADER_SIZE:]
            if not check_frame(length, crc, payload):
                self._skip_corrupt(end, "checksum mismatch")
                return
            try:
                out.append(decode_record(payload))
            except FrameError as exc:
                self._skip_corrupt(end, str(exc))
                return
            self._offset += HEADER_SIZE + length

    def _bytes(self, size: int, end: int) -> memoryview | None:
        """``size`` bytes at the current offset (from the buffer, refilled as needed); None past ``end``."""
        if self._offset + size > end:
            return None
        at = self._offset - self._buffer_at
        if at < 0 or at + size > len(self._buffer):
            if self._fd is None:
                self._fd = os.open(self._spool.segment_path(self._segment), os.O_RDONLY | os.O_CLOEXEC)
            want = min(max(size, _READ_CHUNK), end - self._offset)
            self._buffer = os.pread(self._fd, want, self._offset)
            self._buffer_at = self._offset
            at = 0
            if len(self._buffer) < size:
                return None  # the file is shorter than the spool believes: damaged from outside
        return memoryview(self._buffer)[at : at + size]

    def _skip_corrupt(self, end: int, reason: str) -> None:
        """Skip the rest of the readable part of this segment: its records cannot be trusted."""
        skipped = end - self._offset
        log.error(
            "spool segment %s is corrupt at offset %d (%s): skipping %d bytes of records",
            self._spool.segment_path(self._segment), self._offset, reason, skipped,
        )
        self._spool.metrics.corrupt_bytes.inc(skipped)
        self._offset = end
        self._buffer = b""
