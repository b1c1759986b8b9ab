"""Suricata EVE JSON -> ECS + ``suricata.eve.*`` (``suricata.eve``), shaped like Filebeat's suricata module.

EVE lines are JSON, so they come through ``parse_jsonl`` and the ``JSON_ROUTES`` hook (a document
with ``event_type`` and ``timestamp`` plus ``flow_id`` or ``src_ip``); EVE sent through syslog
(``suricata[123]: {"timestamp": ...}``, Suricata's ``filetype: syslog`` output) is read too. The
document stays under ``suricata.eve`` minus the keys moved to ECS (time, addresses, ports, protocol).
Alerts become ``event.kind: alert`` with ``rule.id`` (signature_id), ``rule.name`` (signature) and
``rule.category``, plus ``threat.*`` when the rule's metadata names ATT&CK tactics and techniques.
"""

from __future__ import annotations

from typing import Any

import orjson

from normalizers.record import RawRecord
from normalizers.routing import JSON_ROUTES, ROUTES, JsonSourceParser, SourceParser
from normalizers.schema import ECS_VERSION
from normalizers.sources.network_values import add_related, as_count, as_ip, as_port, put, transport_name
from normalizers.sources.suricata_protocols import PROTOCOL_FIELDS, iso_time
from normalizers.timestamps import format_timestamp

DATASET = "suricata.eve"
_MOVED_KEYS = ("timestamp", "src_ip", "src_port", "dest_ip", "dest_port", "proto")
_IGNORED_APP_PROTOS = frozenset({"failed", "template", "template-rust", "unknown"})


def claims(document: dict[str, Any]) -> bool:
    """An EVE record: ``event_type`` and ``timestamp`` strings and a flow id or source address (or stats)."""
    event_type = document.get("event_type")
    return (
        isinstance(event_type, str)
        and isinstance(document.get("timestamp"), str)
        and ("flow_id" in document or "src_ip" in document or (event_type == "stats" and "stats" in document))
    )


def to_event(document: dict[str, Any], record: RawRecord) -> dict[str, Any] | None:
    """The ECS event for one EVE record (from a JSON line)."""
    stamp = iso_time(document.get("timestamp"))
    event: dict[str, Any] = {
        "@timestamp": stamp or format_timestamp(record.received_at),
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "dataset": DATASET, "original": record.text},
    }
    fill_eve(event, document)
    return event


def fill_eve(event: dict[str, Any], document: dict[str, Any]) -> None:
    """Map one EVE document into ``event`` (which already has @timestamp and event.*)."""
    event_type = str(document.get("event_type", "")).lower()
    meta = event["event"]
    meta.update(module="suricata", dataset=DATASET, action=event_type or "eve")
    observer = event.setdefault("observer", {})
    observer.update(vendor="OISF", product="Suricata", type="ids")
    if isinstance(document.get("host"), str):
        observer["hostname"] = document["host"]
    if isinstance(document.get("in_iface"), str):
        observer["ingress"] = {"interface": {"name": document["in_iface"]}}
    _endpoints(event, document)
    _categorize(event, event_type, document)
    flow = document.get("flow")
    if isinstance(flow, dict):
        _flow(event, flow)
    for name, mapper in PROTOCOL_FIELDS.items():  # alerts carry the protocol section of their flow too
        section = document.get(name)
        if isinstance(section, dict):
            mapper(event, section)
    if event_type == "alert" and isinstance(document.get("alert"), dict):
        _alert(event, document["alert"])
    status = event.get("http", {}).get("response", {}).get("status_code")
    if event_type == "http" and status is not None:
        meta["outcome"] = "success" if status < 400 else "failure"
    event["suricata"] = {"eve": {k: v for k, v in document.items() if k not in _MOVED_KEYS}}
    add_related(event, "ip", event.get("source", {}).get("ip"), event.get("destination", {}).get("ip"))


def _endpoints(event: dict[str, Any], document: dict[str, Any]) -> None:
    for prefix, side in (("src", "source"), ("dest", "destination")):
        address = document.get(f"{prefix}_ip")
        if isinstance(address, str) and address:
            put(event, side, "address", address)
            put(event, side, "ip", as_ip(address))
        put(event, side, "port", as_port(document.get(f"{prefix}_port")))
    proto = document.get("proto")
    if isinstance(proto, str | int) and not isinstance(proto, bool):
        transport = transport_name(str(proto))
        put(event, "network", "transport", transport or str(proto).lower())
    app_proto = document.get("app_proto")
    if isinstance(app_proto, str) and app_proto.lower() not in _IGNORED_APP_PROTOS:
        put(event, "network", "protocol", "ftp" if app_proto == "ftp-data" else app_proto.lower())
    if isinstance(document.get("community_id"), str):
        put(event, "network", "community_id", document["community_id"])


def _categorize(event: dict[str, Any], event_type: str, document: dict[str, Any]) -> None:
    """event.kind/category/type by event_type, as Filebeat's eve processor does."""
    meta = event["event"]
    if event_type == "alert":
        meta["kind"] = "alert"
        meta["category"] = ["network", "intrusion_detection"]
    elif event_type == "stats":
        meta["kind"] = "metric"
    elif event_type == "http":
        meta["category"] = ["network", "web"]
        meta["type"] = ["access", "protocol"]
        put(event, "network", "protocol", "http")
    elif event_type == "flow":
        meta["category"] = ["network"]
        types = ["connection"]
        flow = document.get("flow")
        state = flow.get("state") if isinstance(flow, dict) else None
        if state == "new":
            types.append("start")
        elif state == "closed":
            types.append("end")
        meta["type"] = types
    elif event_type == "fileinfo":
        meta["category"] = ["network", "file"]
        meta["type"] = ["info"]
    elif event_type == "anomaly":
        meta["category"] = ["network"]
        meta["type"] = ["info"]
        anomaly = document.get("anomaly")
        if isinstance(anomaly, dict) and isinstance(anomaly.get("event"), str):
            event["message"] = anomaly["event"]
    elif event_type:
        meta["category"] = ["network"]
        meta["type"] = ["protocol"]
        if event_type in ("dns", "tls", "ssh", "smb", "ftp", "tftp", "rdp", "smtp", "dhcp", "krb5", "snmp", "sip"):
            put(event, "network", "protocol", event_type)


def _flow(event: dict[str, Any], flow: dict[str, Any]) -> None:
    pairs = (("bytes_toserver", "source", "bytes"), ("bytes_toclient", "destination", "bytes"),
             ("pkts_toserver", "source", "packets"), ("pkts_toclient", "destination", "packets"))  # fmt: skip
    for key, side, name in pairs:
        put(event, side, name, as_count(flow.get(key)))
    source, destination = event.get("source", {}), event.get("destination", {})
    for name in ("bytes", "packets"):
        if name in source and name in destination:
            put(event, "network", name, source[name] + destination[name])
    start, end = iso_time(flow.get("start")), iso_time(flow.get("end"))
    meta = event["event"]
    if start:
        meta["start"] = start
    if end:
        meta["end"] = end


def _alert(event: dict[str, Any], alert: dict[str, Any]) -> None:
    meta = event["event"]
    action = alert.get("action")
    if action in ("allowed", "blocked"):
        meta["type"] = ["allowed" if action == "allowed" else "denied"]
    severity = as_count(alert.get("severity"))
    if severity is not None:
        meta["severity"] = severity
    rule: dict[str, Any] = {}
    signature_id = alert.get("signature_id")
    if isinstance(signature_id, int | str) and not isinstance(signature_id, bool):
        rule["id"] = str(signature_id)
    for key, field in (("signature", "name"), ("category", "category")):
        if isinstance(alert.get(key), str) and alert[key]:
            rule[field] = alert[key]
    if isinstance(alert.get("rev"), int) and not isinstance(alert.get("rev"), bool):
        rule["version"] = str(alert["rev"])
    if rule:
        event["rule"] = rule
    if "name" in rule:
        event["message"] = rule["name"]
    _threat(event, alert.get("metadata"))


def _threat(event: dict[str, Any], metadata: Any) -> None:
    """ATT&CK ids from ET-style rule metadata (``mitre_tactic_id``, ``mitre_technique_id``)."""
    if not isinstance(metadata, dict):
        return
    threat: dict[str, Any] = {}
    for key, group in (("mitre_tactic_id", "tactic"), ("mitre_technique_id", "technique")):
        values = metadata.get(key)
        ids = [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
        if ids:
            threat[group] = {"id": ids}
    names = metadata.get("mitre_tactic_name")
    if "tactic" in threat and isinstance(names, list):
        threat["tactic"]["name"] = [n for n in names if isinstance(n, str)]
    if threat:
        threat["framework"] = "MITRE ATT&CK"
        event["threat"] = threat


def refine_syslog(event: dict[str, Any]) -> bool:
    """EVE records sent through syslog (program ``suricata``): the message is the JSON document."""
    message = event["message"].strip()
    if not message.startswith("{"):
        return False
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(document, dict) or not claims(document):
        return False
    stamp = iso_time(document.get("timestamp"))
    if stamp:
        event["@timestamp"] = stamp
    event["event"]["kind"] = "event"
    event["message"] = document["event_type"]  # alerts and anomalies replace it with their description
    fill_eve(event, document)
    return True


JSON_PARSER = JSON_ROUTES.add(JsonSourceParser(dataset=DATASET, claims=claims, to_event=to_event))
SYSLOG_PARSER = ROUTES.add(SourceParser(dataset=DATASET, refine=refine_syslog, programs=frozenset({"suricata"})))
