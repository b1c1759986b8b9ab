"""Suricata EVE protocol sections (dns, http, tls, fileinfo) -> ECS, as Filebeat's suricata module maps them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from normalizers.sources.network_values import add_related, as_count, as_ip, put
from normalizers.timestamps import format_timestamp, parse_iso_timestamp

_DNS_TYPES = {"query": "query", "request": "query", "answer": "answer", "response": "answer"}


def iso_time(value: Any) -> str | None:
    """An EVE timestamp (``2023-10-11T14:32:52.123456+0200``; certificate dates have no zone: UTC) as @timestamp."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        return format_timestamp(parse_iso_timestamp(value))
    except (ValueError, OverflowError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def dns_fields(event: dict[str, Any], dns: dict[str, Any]) -> None:
    """EVE dns v1 (one record per line), v2 (answers grouped) and v3 (``queries`` list)."""
    out: dict[str, Any] = {}
    kind = _DNS_TYPES.get(str(dns.get("type", "")))
    if kind:
        out["type"] = kind
    if isinstance(dns.get("id"), int | str) and not isinstance(dns.get("id"), bool):
        out["id"] = str(dns["id"])
    if _text(dns.get("rcode")):
        out["response_code"] = dns["rcode"]
    question = dns
    queries = dns.get("queries")
    if isinstance(queries, list) and queries and isinstance(queries[0], dict):
        question = queries[0]
    if _text(question.get("rrname")):
        out["question"] = {"name": question["rrname"]}
        if _text(question.get("rrtype")):
            out["question"]["type"] = question["rrtype"]
    answers = _answers(dns)
    if answers:
        out["answers"] = answers
        resolved = [a["data"] for a in answers if a.get("type") in ("A", "AAAA") and as_ip(a.get("data", ""))]
        if resolved:
            out["resolved_ip"] = resolved
            add_related(event, "ip", *resolved)
    if out:
        event["dns"] = out


def _answers(dns: dict[str, Any]) -> list[dict[str, Any]]:
    raw = dns.get("answers")
    if not isinstance(raw, list):
        # v1: each answer record is its own line with rrname/rrtype/rdata at the top of "dns"
        raw = [dns] if dns.get("type") == "answer" and "rdata" in dns else []
    answers = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        answer = {
            out: item[key]
            for key, out in (("rrname", "name"), ("rrtype", "type"), ("rdata", "data"))
            if isinstance(item.get(key), str)
        }
        ttl = as_count(item.get("ttl"))
        if ttl is not None:
            answer["ttl"] = ttl
        if answer:
            answers.append(answer)
    return answers


def http_fields(event: dict[str, Any], http: dict[str, Any]) -> None:
    """Method, URL parts, status, referrer, user agent and sizes of an EVE http record."""
    request: dict[str, Any] = {}
    response: dict[str, Any] = {}
    if _text(http.get("http_method")):
        request["method"] = http["http_method"]
    if _text(http.get("http_refer")):
        request["referrer"] = http["http_refer"]
    status = as_count(http.get("status"))
    if status is not None and status < 1000:
        response["status_code"] = status
    length = as_count(http.get("length"))
    if length is not None:
        response["body"] = {"bytes": length}
    if _text(http.get("http_content_type")):
        response["mime_type"] = http["http_content_type"]
    out: dict[str, Any] = {}
    if request:
        out["request"] = request
    if response:
        out["response"] = response
    protocol = _text(http.get("protocol"))
    if protocol and protocol.startswith("HTTP/"):
        out["version"] = protocol[5:]
    if out:
        event["http"] = out
    url = _text(http.get("url"))
    hostname = _text(http.get("hostname"))
    if url:
        path, _, query = url.partition("?")
        put(event, "url", "original", url)
        if path.startswith("/"):
            put(event, "url", "path", path)
        if query:
            put(event, "url", "query", query)
    if hostname:
        put(event, "url", "domain", hostname)
        if not as_ip(hostname):
            put(event, "destination", "domain", hostname)
    if _text(http.get("http_user_agent")):
        event["user_agent"] = {"original": http["http_user_agent"]}


def tls_fields(event: dict[str, Any], tls: dict[str, Any]) -> None:
    """SNI, version, certificate subject/issuer/fingerprint/validity and JA3/JA3S of an EVE tls record."""
    out: dict[str, Any] = {}
    client: dict[str, Any] = {}
    server: dict[str, Any] = {}
    sni = _text(tls.get("sni"))
    if sni:
        client["server_name"] = sni.rstrip(".")
        put(event, "destination", "domain", sni.rstrip("."))
    version = _text(tls.get("version"))
    if version and " " in version:
        protocol, _, number = version.partition(" ")
        out["version_protocol"] = protocol.lower()
        out["version"] = number
    for key, field in (("subject", "subject"), ("issuerdn", "issuer")):
        if _text(tls.get(key)):
            server[field] = tls[key]
    fingerprint = _text(tls.get("fingerprint"))
    if fingerprint:
        server["hash"] = {"sha1": fingerprint.replace(":", "").upper()}
        add_related(event, "hash", server["hash"]["sha1"])
    for key, field in (("notbefore", "not_before"), ("notafter", "not_after")):
        stamp = iso_time(tls.get(key))
        if stamp:
            server[field] = stamp
    for key, side, field in (("ja3", client, "ja3"), ("ja3s", server, "ja3s")):
        digest = tls.get(key)
        if isinstance(digest, dict) and _text(digest.get("hash")):
            side[field] = digest["hash"]
    if isinstance(tls.get("session_resumed"), bool):
        out["resumed"] = tls["session_resumed"]
    if client:
        out["client"] = client
    if server:
        out["server"] = server
    if out:
        event["tls"] = out


def fileinfo_fields(event: dict[str, Any], fileinfo: dict[str, Any]) -> None:
    """Name, size and hashes of a file Suricata saw on the wire."""
    out: dict[str, Any] = {}
    filename = _text(fileinfo.get("filename"))
    if filename:
        out["path"] = filename
        out["name"] = filename.rsplit("/", 1)[-1]
    size = as_count(fileinfo.get("size"))
    if size is not None:
        out["size"] = size
    hashes = {name: fileinfo[name] for name in ("md5", "sha1", "sha256") if _text(fileinfo.get(name))}
    if hashes:
        out["hash"] = hashes
        add_related(event, "hash", *hashes.values())
    if out:
        event["file"] = out


PROTOCOL_FIELDS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "dns": dns_fields,
    "http": http_fields,
    "tls": tls_fields,
    "fileinfo": fileinfo_fields,
}
