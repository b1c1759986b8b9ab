"""The spool's on-disk format: segment files of length-prefixed, checksummed frames, one raw record each.

A segment starts with ``SEGMENT_MAGIC``; then frames follow back to back::

    <u32 payload length> <u32 CRC-32 of (length bytes + payload)> <payload>

The CRC covers the length too, so a torn or zero-filled tail (what a crash can leave behind) never
reads as a frame. The payload holds every ``RawRecord`` field that ``normalizers.event_id`` reads,
byte for byte, so a record replayed after a crash gets the same ``event.id`` as the first time.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from normalizers.record import FORMATS, RawRecord

SEGMENT_MAGIC = b"SNTSPL01"  # format version 1; a different magic is refused, not misread
FRAME_HEADER = struct.Struct("<II")
HEADER_SIZE = FRAME_HEADER.size
# No record comes near this (syslog messages are capped at 16 MiB); a bigger length means corruption.
MAX_PAYLOAD = 256 * 1024 * 1024

# flags, format, position, then the byte lengths of received_at, input, source and text.
_FIXED = struct.Struct("<BBqIIII")
_TRUNCATED, _HAS_POSITION, _HAS_SOURCE = 1, 2, 4
_FORMAT_CODES = {name: code for code, name in enumerate(FORMATS)}


class FrameError(ValueError):
    """Bytes that are not a valid frame (checksum mismatch, impossible length, undecodable payload)."""


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate (possible in a str built by a caller) survives the round trip,
    # exactly as event_id hashes it.
    return text.encode("utf-8", "surrogatepass")


def encode_record(record: RawRecord) -> bytes:
    """One frame (header and payload) holding ``record``."""
    stamp = record.received_at.isoformat().encode("ascii")
    source = _utf8(record.source) if record.source is not None else b""
    name = _utf8(record.input)
    text = _utf8(record.text)
    flags = (
        (_TRUNCATED if record.truncated else 0)
        | (_HAS_POSITION if record.position is not None else 0)
        | (_HAS_SOURCE if record.source is not None else 0)
    )
    fixed = _FIXED.pack(
        flags,
        _FORMAT_CODES[record.format],
        record.position or 0,
        len(stamp),
        len(name),
        len(source),
        len(text),
    )
    payload = b"".join((fixed, stamp, name, source, text))
    length = len(payload)
    return FRAME_HEADER.pack(length, zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "little")))) + payload


def encode_records(records: Iterable[RawRecord]) -> tuple[bytes, int]:
    """The frames of ``records`` joined, and how many records they hold."""
    frames = [encode_record(record) for record in records]
    return b"".join(frames), len(frames)


def check_frame(length: int, crc: int, payload: bytes | memoryview) -> bool:
    """True when ``payload`` (of the header's ``length``) matches the header's checksum."""
    return zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "little"))) == crc


def plausible_length(length: int) -> bool:
    """False for lengths no writer produces: empty (a zero-filled tail) or absurdly large."""
    return _FIXED.size <= length <= MAX_PAYLOAD


def decode_record(payload: bytes | memoryview) -> RawRecord:
    """The record a frame's payload holds; FrameError when it does not decode."""
    try:
        flags, code, position, n_stamp, n_input, n_source, n_text = _FIXED.unpack_from(payload, 0)
        at = _FIXED.size
        expected = at + n_stamp + n_input + n_source + n_text
        if expected != len(payload):
            raise FrameError(f"payload is {len(payload)} bytes, its fields add up to {expected}")
        stamp = str(payload[at : at + n_stamp], "ascii")
        at += n_stamp
        name = str(payload[at : at + n_input], "utf-8", "surrogatepass")
        at += n_input
        source = str(payload[at : at + n_source], "utf-8", "surrogatepass") if flags & _HAS_SOURCE else None
        at += n_source
        return RawRecord(
            str(payload[at:], "utf-8", "surrogatepass"),
            _parse_stamp(stamp),
            source,
            name,
            FORMATS[code],
            position if flags & _HAS_POSITION else None,
            bool(flags & _TRUNCATED),
        )
    except (struct.error, UnicodeDecodeError, ValueError, IndexError) as exc:
        if isinstance(exc, FrameError):
            raise
        raise FrameError(f"undecodable record payload: {exc}") from exc


@lru_cache(maxsize=256)
def _parse_stamp(stamp: str) -> datetime:
    # Records received together share one stamp: parse it once.
    return datetime.fromisoformat(stamp)


def scan_frames(data: bytes | memoryview, start: int = 0) -> int:
    """The offset just past the last whole, valid frame in ``data`` from ``start`` (where a torn tail begins)."""
    view = memoryview(data)
    at = start
    end = len(view)
    while at + HEADER_SIZE <= end:
        length, crc = FRAME_HEADER.unpack_from(view, at)
        if not plausible_length(length) or at + HEADER_SIZE + length > end:
            break
        if not check_frame(length, crc, view[at + HEADER_SIZE : at + HEADER_SIZE + length]):
            break
        at += HEADER_SIZE + length
    return at
