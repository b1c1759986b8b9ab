"""Timestamps and intervals as every store reads and writes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# The normalizers stamp events and own the format; the stores read and write the same one.
from normalizers.timestamps import format_timestamp

__all__ = ["format_timestamp", "from_epoch_ms", "parse_interval", "parse_timestamp", "since", "to_epoch_ms"]

_INTERVAL = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_interval(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``1h``, ``1d``, ``2w`` into a timedelta; ValueError names the input."""
    m = _INTERVAL.match(text or "")
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"invalid interval {text!r}: expected a positive number and a unit ms|s|m|h|d|w")
    return timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[m.group(2)])


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime (naive means UTC)."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_epoch_ms(dt: datetime) -> int:
    """Milliseconds since the epoch for an aware (or UTC-naive) datetime, rounded down."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # Integer arithmetic: int(dt.timestamp() * 1000) is one short for about 1 in 160 exact
    # millisecond times (float error), which moves a window's start onto the previous millisecond.
    return (dt - _EPOCH) // _ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    """Aware UTC datetime for milliseconds since the epoch."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def since(text: str, now: datetime | None = None) -> datetime:
    """The start of a look-back window such as ``24h`` or ``7d``."""
    return (now or datetime.now(UTC)) - parse_interval(text)
