"""The CEF extension dictionary: short key names, and which keys map to which ECS fields.

Names follow the ArcSight "Implementing ArcSight Common Event Format" extension dictionary; the ECS
targets follow Filebeat's ``decode_cef`` processor where it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from normalizers.sources.network_values import as_count, as_ip, as_mac, as_port

# short name -> full dictionary name
FULL_NAMES: dict[str, str] = {
    "act": "deviceAction", "app": "applicationProtocol", "cat": "deviceEventCategory", "cnt": "baseEventCount",
    "dhost": "destinationHostName", "dmac": "destinationMacAddress", "dntdom": "destinationNtDomain",
    "dpid": "destinationProcessId", "dpriv": "destinationUserPrivileges", "dproc": "destinationProcessName",
    "dpt": "destinationPort", "dst": "destinationAddress", "dtz": "deviceTimeZone", "duid": "destinationUserId",
    "duser": "destinationUserName", "dvc": "deviceAddress", "dvchost": "deviceHostName", "dvcmac": "deviceMacAddress",
    "dvcpid": "deviceProcessId", "end": "endTime", "fname": "fileName", "fsize": "fileSize", "in": "bytesIn",
    "msg": "message", "out": "bytesOut", "outcome": "eventOutcome", "proto": "transportProtocol",
    "request": "requestUrl", "rt": "deviceReceiptTime", "shost": "sourceHostName", "smac": "sourceMacAddress",
    "sntdom": "sourceNtDomain", "spid": "sourceProcessId", "spriv": "sourceUserPrivileges",
    "sproc": "sourceProcessName", "spt": "sourcePort", "src": "sourceAddress", "start": "startTime",
    "suid": "sourceUserId", "suser": "sourceUserName", "ahost": "agentHostName", "art": "agentReceiptTime",
    "at": "agentType", "aid": "agentId", "amac": "agentMacAddress", "agt": "agentAddress", "av": "agentVersion",
    "atz": "agentTimeZone", "dlat": "destinationGeoLatitude", "dlong": "destinationGeoLongitude",
    "slat": "sourceGeoLatitude", "slong": "sourceGeoLongitude",
    "c6a1": "deviceCustomIPv6Address1", "c6a1Label": "deviceCustomIPv6Address1Label",
    "c6a2": "deviceCustomIPv6Address2", "c6a2Label": "deviceCustomIPv6Address2Label",
    "c6a3": "deviceCustomIPv6Address3", "c6a3Label": "deviceCustomIPv6Address3Label",
    "c6a4": "deviceCustomIPv6Address4", "c6a4Label": "deviceCustomIPv6Address4Label",
    "cfp1": "deviceCustomFloatingPoint1", "cfp1Label": "deviceCustomFloatingPoint1Label",
    "cfp2": "deviceCustomFloatingPoint2", "cfp2Label": "deviceCustomFloatingPoint2Label",
    "cfp3": "deviceCustomFloatingPoint3", "cfp3Label": "deviceCustomFloatingPoint3Label",
    "cfp4": "deviceCustomFloatingPoint4", "cfp4Label": "deviceCustomFloatingPoint4Label",
    "cn1": "deviceCustomNumber1", "cn1Label": "deviceCustomNumber1Label",
    "cn2": "deviceCustomNumber2", "cn2Label": "deviceCustomNumber2Label",
    "cn3": "deviceCustomNumber3", "cn3Label": "deviceCustomNumber3Label",
    "cs1": "deviceCustomString1", "cs1Label": "deviceCustomString1Label",
    "cs2": "deviceCustomString2", "cs2Label": "deviceCustomString2Label",
    "cs3": "deviceCustomString3", "cs3Label": "deviceCustomString3Label",
    "cs4": "deviceCustomString4", "cs4Label": "deviceCustomString4Label",
    "cs5": "deviceCustomString5", "cs5Label": "deviceCustomString5Label",
    "cs6": "deviceCustomString6", "cs6Label": "deviceCustomString6Label",
}  # fmt: skip


def _text(value: str) -> str:
    return value


def _lower(value: str) -> str:
    return value.lower()


def _ips(value: str) -> list[str] | None:
    ip = as_ip(value)
    return [ip] if ip else None


_Convert = Callable[[str], Any]
# full dictionary name -> (ECS field, converter); a converter returning None leaves the field unset.
ECS_MAPPING: dict[str, tuple[tuple[str, ...], _Convert]] = {
    name: (tuple(field.split(".")), convert)
    for name, field, convert in (
        ("sourceAddress", "source.ip", as_ip),
        ("sourcePort", "source.port", as_port),
        ("sourceHostName", "source.domain", _text),
        ("sourceMacAddress", "source.mac", as_mac),
        ("sourceUserName", "source.user.name", _text),
        ("sourceUserId", "source.user.id", _text),
        ("sourceTranslatedAddress", "source.nat.ip", as_ip),
        ("sourceTranslatedPort", "source.nat.port", as_port),
        ("sourceProcessName", "process.name", _text),
        ("sourceProcessId", "process.pid", as_count),
        ("bytesIn", "source.bytes", as_count),
        ("destinationAddress", "destination.ip", as_ip),
        ("destinationPort", "destination.port", as_port),
        ("destinationHostName", "destination.domain", _text),
        ("destinationMacAddress", "destination.mac", as_mac),
        ("destinationUserName", "destination.user.name", _text),
        ("destinationUserId", "destination.user.id", _text),
        ("destinationTranslatedAddress", "destination.nat.ip", as_ip),
        ("destinationTranslatedPort", "destination.nat.port", as_port),
        ("bytesOut", "destination.bytes", as_count),
        ("deviceAction", "event.action", _text),
        ("deviceHostName", "observer.hostname", _text),
        ("deviceAddress", "observer.ip", _ips),
        ("deviceInboundInterface", "observer.ingress.interface.name", _text),
        ("deviceOutboundInterface", "observer.egress.interface.name", _text),
        ("deviceTimeZone", "event.timezone", _text),
        ("baseEventCount", "event.count", as_count),
        ("reason", "event.reason", _text),
        ("message", "message", _text),
        ("applicationProtocol", "network.protocol", _lower),
        ("requestUrl", "url.original", _text),
        ("requestMethod", "http.request.method", _text),
        ("requestClientApplication", "user_agent.original", _text),
        ("fileName", "file.name", _text),
        ("filePath", "file.path", _text),
        ("fileSize", "file.size", as_count),
    )
}
