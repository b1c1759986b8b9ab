"""Typed indicators of compromise, value normalization, and the load report every feed loader fills in.

Every loader (STIX, MISP, CSV, plain list) turns its format into ``Indicator`` objects through
``make_indicator``, so an IP, domain, URL or hash is validated and written the same way whatever
feed it came from, and the matcher can compare it with event values by plain equality.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

# How many "where: why" lines a load report keeps, so a feed with a million bad lines stays small.
EXAMPLE_LIMIT = 20


class IndicatorType(StrEnum):
    """What an indicator's value is: an address, a network, a name, a URL or a file hash."""

    IP = "ip"
    CIDR = "cidr"
    DOMAIN = "domain"
    URL = "url"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"


HASH_TYPES = frozenset({IndicatorType.MD5, IndicatorType.SHA1, IndicatorType.SHA256})
HASH_LENGTHS = {IndicatorType.MD5: 32, IndicatorType.SHA1: 40, IndicatorType.SHA256: 64}
_TYPE_BY_HASH_LENGTH = {length: kind for kind, length in HASH_LENGTHS.items()}
_HEX = re.compile(r"[0-9a-f]+")
_SPACE = re.compile(r"\s")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}
# Threat reports "defang" indicators so nobody clicks them; feeds copied from reports keep that.
_DEFANG = (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[:]", ":"), ("[://]", "://"))
_DEFANGED_SCHEME = re.compile(r"^(hxxp|hxxps|fxp)(?=[\[:])", re.IGNORECASE)


class IndicatorError(ValueError):
    """An indicator value is not valid for its type; the message says why."""


class FeedError(ValueError):
    """A whole feed could not be read (missing file, not JSON, wrong top-level shape)."""


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator from one feed, its value normalized for matching."""

    type: IndicatorType
    value: str
    feed: str
    confidence: int | None = None
    valid_until: datetime | None = None
    labels: tuple[str, ...] = ()
    description: str = ""
    source_id: str = ""

    def expired(self, now: datetime) -> bool:
        """True once ``valid_until`` has passed."""
        return self.valid_until is not None and self.valid_until <= now


@dataclass
class LoadReport:
    """What one feed load produced: indicators loaded, entries skipped by reason, warnings."""

    feed: str
    format: str
    source: str = ""
    loaded: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str = "") -> None:
        """Count an entry that was not loaded, under a reason that groups like with like."""
        self.skipped[reason] += 1
        self._example(where, reason)

    def warn(self, reason: str, where: str = "") -> None:
        """Count something that was loaded with a caveat (an ignored confidence, a partial pattern)."""
        self.warnings[reason] += 1
        self._example(where, reason)

    def _example(self, where: str, reason: str) -> None:
        if len(self.examples) < EXAMPLE_LIMIT:
            self.examples.append(f"{where}: {reason}" if where else reason)

    @property
    def skipped_total(self) -> int:
        """How many entries were skipped, all reasons together."""
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary for the console and ``--json`` output."""
        return {
            "feed": self.feed,
            "format": self.format,
            "source": self.source,
            "loaded": self.loaded,
            "skipped": dict(self.skipped.most_common()),
            "warnings": dict(self.warnings.most_common()),
            "examples": list(self.examples),
        }


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A feed's indicators and the report of how they were loaded."""

    indicators: tuple[Indicator, ...]
    report: LoadReport


def refang(text: str) -> str:
    """Undo the usual defanging (``hxxp://evil[.]com``) so the indicator can match real traffic."""
    text = text.strip()
    if "[" in text or "(" in text or "{" in text:
        for old, new in _DEFANG:
            text = text.replace(old, new)
    if text[:1] in "hHfF":
        text = _DEFANGED_SCHEME.sub(lambda m: m.group(1).lower().replace("xx", "tt").replace("fxp", "ftp"), text)
    return text


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IP address; IPv4-mapped IPv6 (``::ffff:1.2.3.4``) becomes the IPv4 address it carries."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise IndicatorError(f"not an IP address: {text!r}") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalize_ip_or_network(text: str) -> tuple[IndicatorType, str]:
    """``1.2.3.4`` -> (ip, '1.2.3.4'); ``10.0.0.0/8`` -> (cidr, ...); a /32 or /128 network is an ip."""
    text = text.strip()
    if "/" not in text:
        return IndicatorType.IP, str(parse_ip(text))
    try:
        # strict=False: feeds often write the host they saw with its network length (10.1.2.3/24).
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise IndicatorError(f"not an IP network: {text!r}") from None
    if network.prefixlen == network.max_prefixlen:
        return IndicatorType.IP, str(parse_ip(str(network.network_address)))
    if network.prefixlen == 0:
        raise IndicatorError(f"network {text!r} covers every address")
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96")):
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None  # inside ::ffff:0:0/96
        network = ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return IndicatorType.CIDR, str(network)


def normalize_domain(text: str) -> str:
    """A lowercase ASCII (IDNA) host name without a trailing dot; ``*.evil.com`` means evil.com and below."""
    name = text.strip().lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise IndicatorError(f"not a valid international domain name: {text!r}") from None
    if not _DOMAIN.fullmatch(name) or len(name) > 253:
        if "." not in name and name:
            raise IndicatorError(f"single-label name {text!r} would match a whole top-level domain")
        raise IndicatorError(f"not a domain name: {text!r}")
    if _is_ip(name):
        raise IndicatorError(f"{text!r} is an IP address, not a domain name")
    return name


def event_domain(value: str) -> str:
    """An event's host name in the form ``normalize_domain`` gives indicators (cheap, never raises)."""
    name = value.lower().rstrip(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return name
    return name


def url_key(text: str) -> str:
    """A URL's comparable form: host[:port]/path?query, host lowercased, scheme, default port and fragment dropped.

    The scheme is dropped because feeds and logs disagree on it (``evil.com/x`` in a list,
    ``http://evil.com/x`` in a proxy log) while the host and path are what identify the resource.
    """
    raw = text.strip()
    if not raw or _SPACE.search(raw):
        raise IndicatorError(f"not a URL: {text!r}")
    candidate = raw if "://" in raw else "http://" + raw
    try:
        parts = urlsplit(candidate)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise IndicatorError(f"not a URL: {text!r} ({exc})") from None
    if not host:
        raise IndicatorError(f"URL has no host: {text!r}")
    host = event_domain(host)
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()) else f"{host}:{port}"
    path = parts.path or "/"
    return f"{netloc}{path}?{parts.query}" if parts.query else f"{netloc}{path}"


def url_host(text: str) -> str | None:
    """The host of a URL (lowercase), or None when there is none or the URL does not parse."""
    candidate = text.strip()
    if "://" not in candidate:
        return None
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    return event_domain(host) if host else None


def normalize_hash(kind: IndicatorType, text: str) -> str:
    """A lowercase hex digest of the length ``kind`` requires."""
    digest = text.strip().lower()
    expected = HASH_LENGTHS[kind]
    if not _HEX.fullmatch(digest):
        raise IndicatorError(f"{kind} hash is not hexadecimal: {text!r}")
    if len(digest) != expected:
        raise IndicatorError(f"{kind} hash must have {expected} hex digits, got {len(digest)}: {text!r}")
    return digest


def detect_type(text: str) -> IndicatorType | None:
    """Guess what a bare value is (IP, network, hash, URL, domain); None when it is none of them."""
    value = refang(text)
    if not value or _SPACE.search(value):
        return None
    if _is_ip(value) or _is_ip(strip_port(value)):
        return IndicatorType.IP
    if "/" in value and "://" not in value and _is_network(value):
        return IndicatorType.CIDR
    if _HEX.fullmatch(value.lower()) and len(value) in _TYPE_BY_HASH_LENGTH:
        return _TYPE_BY_HASH_LENGTH[len(value)]
    if "://" in value or "/" in value:
        return IndicatorType.URL
    if _DOMAIN.fullmatch(value.lower().rstrip(".").removeprefix("*.")):
        return IndicatorType.DOMAIN
    return None


def strip_port(text: str) -> str:
    """``1.2.3.4:443`` -> ``1.2.3.4``; ``[2001:db8::1]:443`` -> ``2001:db8::1``; anything else unchanged."""
    value = text.strip()
    if value.startswith("[") and "]" in value:
        return value[1 : value.index("]")]
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and host.count(":") == 0 and _is_ip(host):
        return host
    return value


def make_indicator(
    kind: IndicatorType | str,
    raw: str,
    feed: str,
    *,
    confidence: int | None = None,
    valid_until: datetime | None = None,
    labels: tuple[str, ...] = (),
    description: str = "",
    source_id: str = "",
) -> Indicator:
    """A validated, normalized indicator; raises IndicatorError naming the problem with the value."""
    if not isinstance(raw, str):
        raise IndicatorError(f"indicator value must be text, got {type(raw).__name__}")
    try:
        kind = IndicatorType(kind)
    except ValueError:
        raise IndicatorError(f"unknown indicator type {kind!r}") from None
    value = refang(raw)
    if not value:
        raise IndicatorError("empty indicator value")
    if kind in (IndicatorType.IP, IndicatorType.CIDR):
        kind, value = normalize_ip_or_network(strip_port(value) if kind is IndicatorType.IP else value)
    elif kind is IndicatorType.DOMAIN:
        value = normalize_domain(value)
    elif kind is IndicatorType.URL:
        url_key(value)  # validates; the URL itself is kept as the feed wrote it, for the analyst
    else:
        value = normalize_hash(kind, value)
    if valid_until is not None and valid_until.tzinfo is None:
        valid_until = valid_until.replace(tzinfo=UTC)
    return Indicator(kind, value, feed, confidence, valid_until, labels, description, source_id)


def parse_confidence(value: Any) -> int | None:
    """A 0-100 confidence from a feed (int, float or numeric text); None when absent; ValueError when bad."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"confidence must be a number 0-100, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"confidence must be a number 0-100, got {value!r}") from None
    if not 0 <= number <= 100:
        raise ValueError(f"confidence must be between 0 and 100, got {value!r}")
    return round(number)


def parse_time(value: Any) -> datetime:
    """An ISO 8601 timestamp (``Z`` allowed) as an aware UTC datetime; ValueError when it is not one."""
    if not isinstance(value, str):
        raise ValueError(f"timestamp must be text, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
