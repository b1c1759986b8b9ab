"""How the SQLite store encodes values: sortable IP keys, epoch-ms timestamps, markers, SQL functions.

Writes and query translation (storage.lucene.sql) share these encodings, so a CIDR block becomes a
range over the same keys the writer stored. This module imports nothing of the store.
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from storage.timefmt import parse_timestamp, to_epoch_ms

# A hot column holds MARKER when the event's value is not one scalar (several categories, an
# invalid IP): a query then reads that row's JSON document instead of the column.
MARKER_TEXT = "\x1e"
MARKER_BLOB = b"\x1e"
_V4_PREFIX = b"\x00" * 10 + b"\xff\xff"
DAY_MS = 86_400_000


def ip_key(text: str) -> bytes | None:
    """16-byte sortable key of an IPv4 (mapped into IPv6) or IPv6 address; None if not an IP."""
    try:
        return _V4_PREFIX + socket.inet_pton(socket.AF_INET, text)
    except (OSError, TypeError):
        pass
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, TypeError):
        return None


def ip_text(key: bytes) -> str:
    """The address a 16-byte key stands for, IPv4 in dotted form."""
    if key[:12] == _V4_PREFIX:
        return socket.inet_ntop(socket.AF_INET, key[12:])
    return socket.inet_ntop(socket.AF_INET6, key)


_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_SECONDS_CACHE: dict[str, int] = {}


def epoch_ms(text: Any) -> int:
    """Epoch milliseconds of an ISO 8601 ``@timestamp``; ValueError names a value that is not one.

    Events arrive with ``...T12:34:56.789Z`` stamps and many share a second, so the whole-second
    part is parsed once and cached; other forms go through the general parser.
    """
    if type(text) is str and len(text) >= 20 and text[-1] == "Z":
        head = text[:19]
        base = _SECONDS_CACHE.get(head)
        if base is None and _SECOND.fullmatch(head):
            base = int(datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp()) * 1000
            if len(_SECONDS_CACHE) > 100_000:
                _SECONDS_CACHE.clear()
            _SECONDS_CACHE[head] = base
        if base is not None:
            frac = text[19:-1]
            if not frac:
                return base
            if frac[0] == "." and frac[1:].isdigit():
                return base + int((frac[1:] + "00")[:3])
    if not isinstance(text, str):
        raise ValueError(f"@timestamp must be an ISO 8601 string, got {text!r}")
    try:
        return to_epoch_ms(parse_timestamp(text))
    except ValueError:
        raise ValueError(f"@timestamp {text!r} is not an ISO 8601 timestamp") from None


def _sql_ip(value: Any) -> bytes | None:
    return ip_key(value) if isinstance(value, str) else None


def _sql_ms(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return epoch_ms(value)
    except ValueError:
        return None


# Tokens as FTS5's unicode61 tokenizer cuts them: runs of letters and digits ('_' separates).
TOKEN = re.compile(r"[^\W_]+")


def _sql_text_has(text: Any, phrase: str) -> int:
    """1 when ``phrase``'s tokens occur in a row in ``text`` (case-insensitive)."""
    if not isinstance(text, str):
        return 0
    want = TOKEN.findall(phrase.lower())
    have = TOKEN.findall(text.lower())
    n = len(want)
    return int(n > 0 and any(have[i : i + n] == want for i in range(len(have) - n + 1)))


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.S)


def _sql_text_like(text: Any, pattern: str) -> int:
    """1 when a token of ``text``, or the whole text, matches the lowercase regular expression ``pattern``."""
    if not isinstance(text, str):
        return 0
    rx = _compiled(pattern)
    lowered = text.lower()
    return int(bool(rx.fullmatch(lowered)) or any(rx.fullmatch(t) for t in TOKEN.findall(lowered)))


def _sql_lower(value: Any) -> Any:
    # SQLite's lower() folds ASCII only; analysts' names are often Vietnamese.
    return value.lower() if isinstance(value, str) else value


# Functions the translated clauses call; the store registers them on every connection.
SQL_FUNCTIONS = {
    "sontra_ip": (1, _sql_ip),
    "sontra_ms": (1, _sql_ms),
    "sontra_text_has": (2, _sql_text_has),
    "sontra_text_like": (2, _sql_text_like),
    "sontra_lower": (1, _sql_lower),
}
