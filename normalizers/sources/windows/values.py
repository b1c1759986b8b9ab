"""Readers for the values Windows puts in event data: numbers, addresses, paths, accounts, command lines.

Every reader takes whatever a JSON document holds (any type) and returns a clean value or None, so
the mapping code never has to guard against a malformed record itself.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any

import orjson

# Values Windows writes for "nothing here" in event data.
EMPTY_VALUES = frozenset({"", "-", "%%1793", "{00000000-0000-0000-0000-000000000000}"})
_LONG_MIN = -(2**63)
_LONG_MAX = 2**63 - 1
_V4_MAPPED = "::ffff:"
_BLANKS = re.compile(r"[ \t]+")
# One argument: runs of non-blank, non-quote characters and quoted stretches (an unclosed quote runs to the end).
_QUOTED_ARG = re.compile(r'(?:[^ \t"]+|"[^"]*(?:"|$))+')


def as_text(value: Any) -> str | None:
    """One event data value as Winlogbeat keeps it: a string (booleans as true/false), or None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return None
    if isinstance(value, dict) and "#text" in value:
        return as_text(value["#text"])
    # Lists and nested objects stay searchable as compact JSON instead of being dropped.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


def present(value: Any) -> str | None:
    """A string value that carries information (not empty, not Windows' ``-`` placeholders)."""
    if isinstance(value, str):
        return None if value.strip() in EMPTY_VALUES else value
    return None


def as_long(value: Any) -> int | None:
    """An integer from an int or a decimal/``0x`` hex string, within a signed 64-bit long."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 24:
            return None
        try:
            value = int(text, 16) if text[:2].lower() == "0x" else int(text)
        except ValueError:
            return None
    if isinstance(value, int) and _LONG_MIN <= value <= _LONG_MAX:
        return value
    return None


def as_ip(value: Any) -> str | None:
    """A valid IP address in canonical form; IPv4-mapped IPv6 and zone ids are reduced to the address."""
    text = present(value)
    if text is None or len(text) > 64:
        return None
    text = text.strip().strip("[]")
    if text.lower().startswith(_V4_MAPPED) and "." in text:
        text = text[len(_V4_MAPPED) :]
    return _canonical_ip(text.split("%", 1)[0])


@lru_cache(maxsize=4096)  # the same few addresses recur in every log
def _canonical_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def as_port(value: Any) -> int | None:
    """A TCP/UDP port (1-65535); 0 and ``-`` mean Windows had none."""
    port = as_long(value)
    return port if port is not None and 0 < port <= 65535 else None


def as_bool(value: Any) -> bool | None:
    """``true``/``false`` as Windows writes booleans (also real JSON booleans)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return None


def base_name(path: str) -> str:
    """The last component of a Windows path (the whole text when it has no backslash)."""
    return path.rsplit("\\", 1)[-1]


def split_account(value: Any) -> tuple[str | None, str | None]:
    """``DOMAIN\\user`` -> (domain, user); a bare name has no domain."""
    text = present(value)
    if text is None:
        return None, None
    domain, sep, name = text.partition("\\")
    if not sep:
        return None, text
    return (domain or None), (name or None)


def without_realm(name: str) -> str:
    """``user@domain`` -> ``user``, as Winlogbeat stores Kerberos-style names in ``user.name``."""
    return name.split("@", 1)[0] if "@" in name[1:] else name


def command_line_args(command_line: str) -> list[str]:
    """Split a Windows command line into arguments the way the C runtime does (quotes and backslashes).

    Whitespace outside quotes separates arguments; ``2n`` backslashes before a quote give ``n``
    backslashes and toggle quoting, ``2n+1`` give ``n`` and a literal quote; ``""`` inside quotes
    is a literal quote; other backslashes are literal.
    """
    if '"' not in command_line:  # most command lines: backslashes are literal, only blanks separate
        return [arg for arg in _BLANKS.split(command_line) if arg]
    if '\\"' not in command_line and '""' not in command_line:
        # Quotes only group: drop them from each blank-separated run (no escapes to interpret).
        return [arg.replace('"', "") for arg in _QUOTED_ARG.findall(command_line)]
    return split_with_escapes(command_line)


def split_with_escapes(command_line: str) -> list[str]:
    """The full C runtime splitting rules, character by character (``command_line_args``'s slow path)."""
    args: list[str] = []
    current: list[str] = []
    in_arg = in_quotes = False
    slashes = 0
    i = 0
    length = len(command_line)
    while i < length:
        char = command_line[i]
        if char == "\\":
            slashes += 1
            in_arg = True
        elif char == '"':
            current.append("\\" * (slashes // 2))
            if slashes % 2:
                current.append('"')
            elif in_quotes and i + 1 < length and command_line[i + 1] == '"':
                current.append('"')
                i += 1
            else:
                in_quotes = not in_quotes
            slashes = 0
            in_arg = True
        elif char in " \t" and not in_quotes:
            if slashes:
                current.append("\\" * slashes)
                slashes = 0
            if in_arg:
                args.append("".join(current))
                current = []
                in_arg = False
        else:
            if slashes:
                current.append("\\" * slashes)
                slashes = 0
            current.append(char)
            in_arg = True
        i += 1
    if slashes:
        current.append("\\" * slashes)
    if in_arg:
        args.append("".join(current))
    return args
