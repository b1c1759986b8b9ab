"""Splitting a syslog TCP byte stream into messages (RFC 6587: newline-terminated or octet-counted)."""

from __future__ import annotations

import re

# "MSG-LEN SP" at the start of a frame; MSG-LEN has no leading zero (RFC 6587 section 3.4.1).
_OCTET_COUNT = re.compile(rb"([1-9][0-9]{0,8}) ")
_LONGEST_COUNT_PREFIX = 10  # nine digits and the space

Frame = tuple[bytes, bool]  # (message bytes, truncated)


class SyslogFramer:
    """Turns received chunks into whole messages, for one TCP connection.

    A frame that starts with digits and a space is octet-counted; any other frame ends at LF.
    Messages longer than ``max_size`` are cut to ``max_size`` bytes and flagged truncated; the
    rest of that message is skipped so the next one still starts at a frame boundary.
    """

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError(f"max message size must be at least 1 byte, got {max_size}")
        self.max_size = max_size
        self._buffer = bytearray()
        self._skip_octets = 0  # bytes left of an over-long octet-counted message
        self._skip_line = False  # inside an over-long LF-terminated message

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every message they complete."""
        buf = self._buffer
        buf += data
        frames: list[Frame] = []
        pos = 0
        end = len(buf)
        limit = self.max_size
        while pos < end:
            if self._skip_octets:
                n = min(self._skip_octets, end - pos)
                self._skip_octets -= n
                pos += n
                continue
            if self._skip_line:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    pos = end
                    break
                pos = nl + 1
                self._skip_line = False
                continue
            if 0x31 <= buf[pos] <= 0x39:  # '1'..'9': maybe an octet count
                m = _OCTET_COUNT.match(buf, pos)
                if m is not None:
                    start = m.end()
                    length = int(m.group(1))
                    if length <= limit:
                        if end - start < length:
                            break  # wait for the rest of the message
                        frames.append((bytes(buf[start : start + length]), False))
                        pos = start + length
                    else:
                        if end - start < limit:
                            break
                        frames.append((bytes(buf[start : start + limit]), True))
                        self._skip_octets = length - limit
                        pos = start + limit
                    continue
                if end - pos < _LONGEST_COUNT_PREFIX and buf.find(b"\n", pos) < 0 and buf[pos:end].isdigit():
                    break  # only digits so far: cannot tell an octet count from a line yet
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if end - pos > limit:
                    frames.append((bytes(buf[pos : pos + limit]), True))
                    self._skip_line = True
                    pos += limit
                    continue
                break
            if nl - pos > limit:
                frames.append((bytes(buf[pos : pos + limit]), True))
            elif nl > pos:
                frames.append((bytes(buf[pos:nl]), False))
            pos = nl + 1
        del buf[:pos]
        return frames

    def close(self) -> list[Frame]:
        """The connection ended: return a last message that had no terminating LF, if any."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        if not rest or self._skip_octets or self._skip_line:
            # The tail of an over-long message was already delivered truncated.
            return []
        counted = _OCTET_COUNT.match(rest)
        if counted is not None:
            # The sender went away in the middle of an octet-counted message: keep what came.
            body = rest[counted.end() :]
            return [(body[: self.max_size], True)] if body else []
        if len(rest) > self.max_size:
            return [(rest[: self.max_size], True)]
        return [(rest, False)]
