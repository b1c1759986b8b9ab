"""Syslog daemons' "message repeated N times" lines: how many occurrences a line stands for.

Two forms exist. rsyslog (``$RepeatedMsgReduction on``) wraps the message it stopped repeating:
``message repeated 3 times: [ Failed password for root from 203.0.113.7 port 4242 ssh2]``; the
inner message is a real message and is parsed as one. BSD syslogd and busybox say only
``last message repeated 3 times`` (macOS adds ``--- ... ---``): the line repeats the previous
line *of the same host*, which this record does not carry. Pure functions, no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REPEATED = "repeated"  # tag of a BSD "last message repeated" line
# The same bounds for both forms: a count of at most nine digits, so the number stays an ECS long.
_WRAPPED = re.compile(r"message repeated ([1-9][0-9]{0,8}) times?: \[ ?(.*)\]", re.S)
_BARE = re.compile(r"(?:--- )?last message repeated ([1-9][0-9]{0,8}) times?(?: ---)?\s*")
_STARTS = ("message repeated ", "last message repeated ", "--- last message repeated ")


@dataclass(frozen=True, slots=True)
class Repeat:
    """What a repeat line says: how many times, and the repeated message when the line includes it."""

    count: int
    inner: str | None  # None for the BSD form, which only points at the previous line


def read_repeat(message: str) -> Repeat | None:
    """The count (and inner message) of a "message repeated N times" line; None for any other message."""
    if not message.startswith(_STARTS):
        return None
    m = _WRAPPED.fullmatch(message)
    if m is not None:
        return Repeat(int(m[1]), m[2])
    m = _BARE.fullmatch(message)
    if m is not None:
        return Repeat(int(m[1]), None)
    return None
