"""``IocMatcher``: an immutable index over every loaded indicator, and the event lookup against it.

Built once per feed load and never changed afterwards, so a reload builds a new matcher and
swaps it in while detection keeps using the old one, with no lock on the hot path. Lookups:

- IP: exact addresses in a dict by integer value; networks in one dict per prefix length (the
  key is the address shifted right by the host bits), probed from the most specific length
  down, so nested networks (10.0.0.0/8 and 10.1.0.0/16) both hit. Separate tables for v4 and v6.
- domains: a set of names; an event name is looked up with each parent suffix in turn, so the
  indicator evil.com matches a.b.evil.com but not notevil.com.
- URLs: the normalized ``url_key`` (host, port, path, query); hashes: one dict per hash type.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from correlation.ioc.indicators import (
    Indicator,
    IndicatorError,
    IndicatorType,
    event_domain,
    url_host,
    url_key,
)

# The event fields looked at, by what they hold. dns.resolved_ip and the TLS server names are not
# in the original list but carry the same kind of value (an address the host talked to, a name it
# resolved), so an indicator on them is just as telling.
IP_FIELDS = ("source.ip", "destination.ip", "client.ip", "server.ip", "dns.resolved_ip")
DOMAIN_FIELDS = ("dns.question.name", "url.domain", "destination.domain", "tls.client.server_name", "tls.server.sni")
URL_FIELDS = ("url.original", "url.full")
HASH_FIELDS = {
    "file.hash.md5": IndicatorType.MD5,
    "file.hash.sha1": IndicatorType.SHA1,
    "file.hash.sha256": IndicatorType.SHA256,
    "process.hash.md5": IndicatorType.MD5,
    "process.hash.sha1": IndicatorType.SHA1,
    "process.hash.sha256": IndicatorType.SHA256,
}


_NONE: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IocHit:
    """One indicator found in one event: which indicator, in which field, on which value."""

    indicator: Indicator
    field: str
    value: str


class _IpIndex:
    """Addresses and networks of one IP version, looked up by the address as an integer."""

    __slots__ = ("exact", "networks")

    def __init__(self, bits: int, exact: dict[int, list[Indicator]], networks: dict[int, dict[int, list]]) -> None:
        self.exact = {key: tuple(found) for key, found in exact.items()}
        # Most specific first, so a hit list reads from the narrowest network outwards.
        self.networks = tuple(
            (bits - prefix, {key: tuple(found) for key, found in table.items()})
            for prefix, table in sorted(networks.items(), reverse=True)
        )

    def lookup(self, number: int) -> list[Indicator]:
        found = list(self.exact.get(number, ()))
        for shift, table in self.networks:
            hit = table.get(number >> shift)
            if hit:
                found.extend(hit)
        return found


class IocMatcher:
    """Every indicator of every feed, indexed for lookup by event values; immutable once built."""

    def __init__(self, indicators: Iterable[Indicator] = ()) -> None:
        exact: dict[int, dict[int, list[Indicator]]] = {4: {}, 6: {}}
        networks: dict[int, dict[int, dict[int, list[Indicator]]]] = {4: {}, 6: {}}
        domains: dict[str, list[Indicator]] = {}
        urls: dict[str, list[Indicator]] = {}
        hashes: dict[IndicatorType, dict[str, list[Indicator]]] = {
            IndicatorType.MD5: {}, IndicatorType.SHA1: {}, IndicatorType.SHA256: {},
        }  # fmt: skip
        seen: set[tuple[str, IndicatorType, str]] = set()
        counts: Counter[str] = Counter()
        duplicates = 0
        for ind in indicators:
            key = url_key(ind.value) if ind.type is IndicatorType.URL else ind.value
            if (ind.feed, ind.type, key) in seen:
                # The same value twice in one feed (two STIX objects, two MISP events) is one indicator.
                duplicates += 1
                continue
            seen.add((ind.feed, ind.type, key))
            counts[ind.type.value] += 1
            if ind.type is IndicatorType.IP:
                version, number = _address(ind.value)  # type: ignore[misc] - loaders only admit valid IPs
                exact[version].setdefault(number, []).append(ind)
            elif ind.type is IndicatorType.CIDR:
                base, _, length = ind.value.partition("/")
                version, number = _address(base)  # type: ignore[misc]
                prefix = int(length)
                shift = (32 if version == 4 else 128) - prefix
                networks[version].setdefault(prefix, {}).setdefault(number >> shift, []).append(ind)
            elif ind.type is IndicatorType.DOMAIN:
                domains.setdefault(ind.value, []).append(ind)
            elif ind.type is IndicatorType.URL:
                urls.setdefault(key, []).append(ind)
            else:
                hashes[ind.type].setdefault(ind.value, []).append(ind)
        self._v4 = _IpIndex(32, exact[4], networks[4])
        self._v6 = _IpIndex(128, exact[6], networks[6])
        self._domains = {name: tuple(found) for name, found in domains.items()}
        self._urls = {key: tuple(found) for key, found in urls.items()}
        self._hashes = {kind: {v: tuple(f) for v, f in table.items()} for kind, table in hashes.items()}
        self._counts = dict(counts)
        self.duplicates = duplicates
        self._has_ips = bool(exact[4] or exact[6] or networks[4] or networks[6])
        self._ip_fields = tuple((name, tuple(name.split("."))) for name in IP_FIELDS)
        self._domain_fields = tuple((name, tuple(name.split("."))) for name in DOMAIN_FIELDS)
        self._url_fields = tuple((name, tuple(name.split("."))) for name in URL_FIELDS)
        self._hash_fields = tuple(
            (name, tuple(name.split(".")), self._hashes[kind])
            for name, kind in HASH_FIELDS.items()
            if self._hashes[kind]
        )

    def __len__(self) -> int:
        return sum(self._counts.values())

    def counts(self) -> dict[str, int]:
        """How many distinct indicators of each type the matcher holds."""
        return dict(self._counts)

    def lookup_ip(self, value: str) -> list[Indicator]:
        """Indicators (addresses and networks) covering an address; empty for a non-address."""
        parsed = _address(value)
        if parsed is None:
            return []
        return (self._v4 if parsed[0] == 4 else self._v6).lookup(parsed[1])

    def lookup_domain(self, value: str) -> list[Indicator]:
        """Indicators on a host name or on any domain above it."""
        name = event_domain(value)
        domains = self._domains
        found = list(domains.get(name, ()))
        dot = name.find(".")
        while dot >= 0:
            found.extend(domains.get(name[dot + 1 :], ()))
            dot = name.find(".", dot + 1)
        return found

    def lookup_url(self, value: str) -> list[Indicator]:
        """Indicators on exactly this URL (after normalization)."""
        try:
            return list(self._urls.get(url_key(value), ()))
        except IndicatorError:
            return []

    def match(self, event: Mapping[str, Any], now: datetime | None = None) -> list[IocHit]:
        """Every indicator the event matches, once each, in field order; expired indicators are left out."""
        hits: list[IocHit] = []
        seen: set[int] = set()

        def add(found: Iterable[Indicator], name: str, value: str) -> None:
            for ind in found:
                if id(ind) not in seen:
                    seen.add(id(ind))
                    hits.append(IocHit(ind, name, value))

        if self._has_ips:
            for name, path in self._ip_fields:
                for value in _values(event, name, path):
                    add(self.lookup_ip(value), name, value)
        if self._domains or self._has_ips:
            for name, path in self._domain_fields:
                for value in _values(event, name, path):
                    add(self._lookup_host(value), name, value)
        if self._urls or self._domains or self._has_ips:
            self._match_urls(event, add)
        for name, path, table in self._hash_fields:
            for value in _values(event, name, path):
                add(table.get(value.lower(), ()), name, value)
        if hits and any(hit.indicator.valid_until is not None for hit in hits):
            now = now or datetime.now(UTC)
            hits = [hit for hit in hits if not hit.indicator.expired(now)]
        return hits

    def _match_urls(self, event: Mapping[str, Any], add: Any) -> None:
        domain = _first(_values(event, "url.domain", ("url", "domain")))
        for name, path in self._url_fields:
            for value in _values(event, name, path):
                full = value
                if value.startswith("/") and domain:
                    # Web server logs keep only the path in url.original; the host is in url.domain.
                    port = _first(_values(event, "url.port", ("url", "port")))
                    full = f"{domain}:{port}{value}" if port else f"{domain}{value}"
                if self._urls:
                    add(self.lookup_url(full), name, value)
                if not domain:
                    host = url_host(value)
                    if host:
                        add(self._lookup_host(host), name, value)

    def _lookup_host(self, value: str) -> list[Indicator]:
        # A host field holds the address itself for a URL like http://203.0.113.5/x.
        if _looks_like_ip(value):
            parsed = _address(value.strip("[]"))
            if parsed is not None:
                return (self._v4 if parsed[0] == 4 else self._v6).lookup(parsed[1])
        return self.lookup_domain(value) if self._domains else []


def _values(event: Mapping[str, Any], name: str, path: tuple[str, ...]) -> tuple[str, ...]:
    """A field's string values, whether nested or a flat dotted key, single or an ECS array."""
    value = event.get(name)
    if value is None:
        node: Any = event
        for part in path:
            # Duck-typed .get instead of isinstance(Mapping): this runs ~15 times per event.
            try:
                node = node.get(part)
            except AttributeError:
                return _NONE
            if node is None:
                return _NONE
        value = node
    if type(value) is str:
        return (value,) if value else _NONE
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str) and v)
    if isinstance(value, int) and not isinstance(value, bool):
        return (str(value),)
    return _NONE


def _first(values: tuple[str, ...]) -> str | None:
    return values[0] if values else None


def _looks_like_ip(value: str) -> bool:
    return ":" in value or (value[:1].isdigit() and value[-1:].isdigit())


def _address(value: str) -> tuple[int, int] | None:
    """(4 or 6, the address as an integer), IPv4-mapped IPv6 folded to v4; None when not an address."""
    text = value.strip()
    try:
        if ":" not in text:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
        if "%" in text:
            text = text[: text.index("%")]  # drop an IPv6 zone (fe80::1%eth0)
        number = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError):
        return None
    if number >> 32 == 0xFFFF:
        return 4, number & 0xFFFFFFFF
    return 6, number
