"""The raw record: one line or message as a collector received it, before any parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

RecordFormat = Literal["auto", "syslog", "jsonl"]
FORMATS: tuple[RecordFormat, ...] = ("auto", "syslog", "jsonl")

# Inputs whose records can be read again from the same place (a file): their event ids must not
# depend on when they were read, so that ingesting the same file twice stores each line once.
REPLAYABLE_INPUTS = frozenset({"file"})


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One received line: its text, when and where it came from, and which parser should read it.

    ``source`` is the sender's ``ip:port`` for network inputs and the absolute path for files.
    ``position`` is the line number in a file, or the arrival sequence number in a listener; with
    ``source`` and (for network inputs) ``received_at`` it tells two identical lines apart.
    """

    text: str
    received_at: datetime
    source: str | None = None
    input: str = "file"
    format: RecordFormat = "auto"
    position: int | None = None
    # The collector cut the message at its size limit; the event gets the tag "truncated".
    truncated: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown record format {self.format!r}: expected one of {', '.join(FORMATS)}")
        if self.received_at.tzinfo is None:
            raise ValueError("RawRecord.received_at must be timezone-aware (use datetime.now(UTC))")


def decode_line(data: bytes) -> str:
    """Decode received bytes as UTF-8; bytes that are not UTF-8 stay visible as ``\\xNN`` escapes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Many devices send Latin-1 or binary junk; keep every byte recoverable instead of dropping it.
        return data.decode("utf-8", "backslashreplace")
