"""ECS ``@timestamp`` formatting and ISO 8601 parsing, shared by the normalizers and the stores."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def format_timestamp(dt: datetime) -> str:
    """Format a datetime as ECS ``@timestamp``: UTC, millisecond precision, ``Z`` (naive means UTC)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    # isoformat is implemented in C and zero-pads years below 1000, unlike strftime("%Y") on glibc.
    return dt.isoformat(timespec="milliseconds") + "Z"


def parse_iso_timestamp(text: str, default_tz: tzinfo = UTC) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime; a naive one is read in ``default_tz``."""
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=default_tz)
    return dt.astimezone(UTC)
