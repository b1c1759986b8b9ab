"""Syslog lines -> ECS events: RFC 5424, RFC 3164 (BSD) and rsyslog's ISO-timestamped variant.

``parse_syslog`` never raises: a line it cannot read becomes an event tagged ``parse_failure`` that
keeps the raw text, stamped with the time it was received.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from normalizers.record import RawRecord
from normalizers.schema import ECS_VERSION
from normalizers.timestamps import format_timestamp

FACILITY_NAMES: tuple[str, ...] = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
SEVERITY_NAMES: tuple[str, ...] = (
    "emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug",
)  # fmt: skip

PARSE_FAILURE = "parse_failure"
_NIL = "-"
_BOM = "\ufeff"
_MAX_PID_DIGITS = 18  # keeps process.pid inside a signed 64-bit long
# A year-less BSD timestamp may run ahead of the receiver's clock by this much (clock skew)
# before we decide it belongs to the previous year.
FUTURE_TOLERANCE = timedelta(days=1)

_MONTHS = {
    name: number
    for number, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}  # fmt: skip

_ALWAYS = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
# (timestamp text, source zone) -> (@timestamp, first receive time it holds for, first it does not)
_STAMP_CACHE: dict[tuple[str, tzinfo], tuple[str, datetime, datetime]] = {}
_STAMP_CACHE_SIZE = 4096

_PRI = re.compile(r"<(\d{1,3})>")
# RFC 5424 header after PRI: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each then one space.
_RFC5424_HEADER = re.compile(r"([1-9]\d{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ")
# RFC 3164 "Mmm dd hh:mm:ss", also with a year after the day and with fractional seconds.
_BSD_TIMESTAMP = re.compile(r"([A-Za-z]{3}) {1,2}(\d{1,2})(?: (\d{4}))? (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6})\d*)?(?: |$)")
# rsyslog's RSYSLOG_FileFormat / ForwardFormat put an RFC 3339 timestamp where BSD has its own.
_ISO_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:?\d\d)?)(?: |$)")
# TAG, optionally [PID], then a colon: "sshd[123]: ", "kernel: ", "postfix/smtpd[9]: ".
_TAG = re.compile(r"([^\s\[\]:]{1,128})(?:\[([^\]\s]{0,64})\])?:(?: |$)")
_SD_ID = re.compile(r'\[([^\s=\]"]{1,64})')
_SD_PARAM = re.compile(r' ([^\s=\]"]{1,64})="((?:[^"\\]|\\.)*)"', re.DOTALL)
_SD_ESCAPE = re.compile(r'\\(["\\\]])')


class _Unparseable(ValueError):
    """The line does not follow any syslog layout we read."""


def parse_syslog(record: RawRecord, source_tz: tzinfo = UTC) -> dict[str, Any]:
    """Parse one syslog line into an ECS event; unreadable lines become ``parse_failure`` events.

    ``source_tz`` is the time zone of senders whose timestamps carry no offset (RFC 3164).
    """
    raw = record.text
    line = raw.rstrip("\r\n")
    pri: int | None = None
    try:
        pos = 0
        if line.startswith("<"):
            m = _PRI.match(line)
            if m is None:
                raise _Unparseable("PRI is not <0..191>")
            pri = int(m.group(1))
            if pri > 191:
                pri = None
                raise _Unparseable("PRI above 191")
            pos = m.end()
            header = _RFC5424_HEADER.match(line, pos)
            if header is not None:
                return _parse_rfc5424(line, raw, pri, header, record.received_at, source_tz)
        return _parse_bsd(line, raw, pri, pos, record.received_at, source_tz)
    except (_Unparseable, ValueError, OverflowError):
        return failure_event(record, pri)


def failure_event(record: RawRecord, pri: int | None = None) -> dict[str, Any]:
    """The event stored for a syslog line that could not be parsed: raw text, received time, tagged."""
    event: dict[str, Any] = {
        "@timestamp": format_timestamp(record.received_at),
        "message": record.text,
        "tags": [PARSE_FAILURE],
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "dataset": "syslog", "original": record.text},
    }
    if pri is not None:
        event["log"] = {"syslog": _priority_fields(pri)}
    return event


def _priority_fields(pri: int) -> dict[str, Any]:
    facility, severity = divmod(pri, 8)
    return {
        "priority": pri,
        "facility": {"code": facility, "name": FACILITY_NAMES[facility]},
        "severity": {"code": severity, "name": SEVERITY_NAMES[severity]},
    }


def _event(
    timestamp: str,
    raw: str,
    message: str,
    pri: int | None,
    hostname: str | None,
    appname: str | None,
    procid: str | None,
) -> dict[str, Any]:
    syslog: dict[str, Any] = _priority_fields(pri) if pri is not None else {}
    event_meta: dict[str, Any] = {"kind": "event", "dataset": "syslog", "original": raw}
    event: dict[str, Any] = {
        "@timestamp": timestamp,
        "message": message,
        "ecs": {"version": ECS_VERSION},
        "event": event_meta,
        "log": {"syslog": syslog},
    }
    if pri is not None:
        event_meta["severity"] = pri & 7
    if hostname:
        syslog["hostname"] = hostname
        event["host"] = {"hostname": hostname, "name": hostname}
    if appname:
        syslog["appname"] = appname
        process: dict[str, Any] = {"name": appname}
        event["process"] = process
        if procid and procid.isascii() and procid.isdigit() and len(procid) <= _MAX_PID_DIGITS:
            process["pid"] = int(procid)
    if procid:
        syslog["procid"] = procid
    return event


# --- RFC 5424 ------------------------------------------------------------------------------------


def _parse_rfc5424(
    line: str, raw: str, pri: int, header: re.Match[str], received_at: datetime, source_tz: tzinfo
) -> dict[str, Any]:
    version, stamp, hostname, appname, procid, msgid = header.groups()
    if stamp == _NIL:
        when = received_at
    else:
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            when = when.replace(tzinfo=source_tz)
    structured, pos = _parse_structured_data(line, header.end())
    if pos == len(line):
        message = ""
    elif line[pos] == " ":
        message = line[pos + 1 :]
        if message.startswith(_BOM):
            message = message[1:]
    else:
        raise _Unparseable("no space between STRUCTURED-DATA and MSG")
    event = _event(
        format_timestamp(when),
        raw,
        message,
        pri,
        None if hostname == _NIL else hostname,
        None if appname == _NIL else appname,
        None if procid == _NIL else procid,
    )
    syslog = event["log"]["syslog"]
    syslog["version"] = version
    if msgid != _NIL:
        syslog["msgid"] = msgid
    if structured:
        syslog["structured_data"] = structured
    return event


def _parse_structured_data(line: str, pos: int) -> tuple[dict[str, dict[str, Any]], int]:
    """Read ``-`` or one or more ``[id name="value" ...]`` elements; return them and the end offset."""
    if line.startswith(_NIL, pos):
        return {}, pos + 1
    elements: dict[str, dict[str, Any]] = {}
    while pos < len(line) and line[pos] == "[":
        m = _SD_ID.match(line, pos)
        if m is None:
            raise _Unparseable(f"bad SD-ID at offset {pos}")
        params: dict[str, Any] = elements.setdefault(m.group(1), {})
        pos = m.end()
        while (p := _SD_PARAM.match(line, pos)) is not None:
            name, value = p.group(1), p.group(2)
            if "\\" in value:
                value = _SD_ESCAPE.sub(r"\1", value)
            previous = params.get(name)
            # RFC 5424 allows a parameter name to repeat inside one element: keep every value.
            if previous is None:
                params[name] = value
            elif isinstance(previous, list):
                previous.append(value)
            else:
                params[name] = [previous, value]
            pos = p.end()
        if not line.startswith("]", pos):
            raise _Unparseable(f"unterminated SD-ELEMENT at offset {pos}")
        pos += 1
    if not elements:
        raise _Unparseable("STRUCTURED-DATA is neither '-' nor '[...]'")
    return elements, pos


# --- RFC 3164 and rsyslog's ISO variant ----------------------------------------------------------


def _parse_bsd(
    line: str, raw: str, pri: int | None, pos: int, received_at: datetime, source_tz: tzinfo
) -> dict[str, Any]:
    m = _BSD_TIMESTAMP.match(line, pos)
    if m is not None:
        stamp = _bsd_timestamp(m, received_at, source_tz)
    else:
        m = _ISO_TIMESTAMP.match(line, pos)
        if m is None:
            raise _Unparseable("no RFC 3164 or RFC 3339 timestamp")
        when = datetime.fromisoformat(m.group(1))
        if when.tzinfo is None:
            when = when.replace(tzinfo=source_tz)
        stamp = format_timestamp(when)
    pos = m.end()

    hostname: str | None = None
    tag = _TAG.match(line, pos)
    if tag is None:
        # No "TAG:" right after the timestamp, so the next word is the HOSTNAME.
        space = line.find(" ", pos)
        end = len(line) if space < 0 else space
        hostname = line[pos:end] or None
        pos = min(end + 1, len(line))
        tag = _TAG.match(line, pos)
    if tag is not None:
        appname, procid = tag.group(1), tag.group(2)
        pos = tag.end()
    else:
        appname = procid = None
    return _event(stamp, raw, line[pos:], pri, hostname, appname, procid or None)


def _bsd_timestamp(m: re.Match[str], received_at: datetime, source_tz: tzinfo) -> str:
    """The ECS @timestamp for a BSD timestamp match, memoized because log lines share their seconds."""
    key = (m.group(0), source_tz)
    cached = _STAMP_CACHE.get(key)
    if cached is not None and cached[1] <= received_at < cached[2]:
        return cached[0]
    stamp, valid_from, valid_until = _bsd_convert(m, received_at, source_tz)
    if len(_STAMP_CACHE) >= _STAMP_CACHE_SIZE:
        _STAMP_CACHE.clear()
    _STAMP_CACHE[key] = (stamp, valid_from, valid_until)
    return stamp


def _bsd_convert(m: re.Match[str], received_at: datetime, source_tz: tzinfo) -> tuple[str, datetime, datetime]:
    """Convert a BSD timestamp; also return the receive-time range over which the result holds."""
    month_name, day_s, year_s, hour_s, minute_s, second_s, fraction = m.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        raise _Unparseable(f"unknown month {month_name!r}")
    clock = (int(hour_s), int(minute_s), int(second_s), int(fraction.ljust(6, "0")) if fraction else 0)
    day = int(day_s)
    if year_s is not None:
        local = datetime(int(year_s), month, day, *clock)
        valid_from, valid_until = _ALWAYS
    else:
        reference = received_at.astimezone(source_tz).replace(tzinfo=None)
        local = _infer_year(month, day, clock, reference)
        # The same text gets this year for every receive time from a day before it until a day
        # before its next occurrence (next year, or the next leap year for Feb 29).
        following = _next_occurrence(local, month, day, clock)
        valid_from = _to_utc(local - FUTURE_TOLERANCE, source_tz)
        valid_until = _to_utc(following - FUTURE_TOLERANCE, source_tz) if following else _ALWAYS[1]
    return format_timestamp(_to_utc(local, source_tz)), valid_from, valid_until


def _to_utc(local: datetime, source_tz: tzinfo) -> datetime:
    return local.replace(tzinfo=source_tz).astimezone(UTC)


def _next_occurrence(local: datetime, month: int, day: int, clock: tuple[int, int, int, int]) -> datetime | None:
    for year in range(local.year + 1, local.year + 9):
        try:
            return datetime(year, month, day, *clock)
        except ValueError:
            continue
    return None


def _infer_year(month: int, day: int, clock: tuple[int, int, int, int], reference: datetime) -> datetime:
    """The latest date with this month/day/time that is not more than a day ahead of ``reference``.

    A message stamped "Jan  1 00:00:01" that arrives at 23:59:59 on 31 December from a sender
    whose clock runs a little fast belongs to the next year; "Dec 31" read on 2 January belongs
    to the previous one. Feb 29 falls back to the most recent leap year.
    """
    limit = reference + FUTURE_TOLERANCE
    first = reference.year + 1 if month == 1 and reference.month == 12 else reference.year
    for year in range(first, first - 9, -1):
        try:
            candidate = datetime(year, month, day, *clock)
        except ValueError:
            continue  # Feb 29 in a common year
        if candidate <= limit:
            return candidate
    raise _Unparseable(f"no year makes {month:02d}-{day:02d} a valid date")
