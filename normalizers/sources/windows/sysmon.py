"""Sysmon (Microsoft-Windows-Sysmon/Operational), event ids 1-29 and 255, mapped like Winlogbeat's sysmon module.

Fields are mapped by name, whichever event carries them (``Image`` is ``process.executable`` in
every event that has it), as Winlogbeat does; ``winlog.event_data`` is kept whole, so Sigma rules
that use the raw names (``Details``, ``Hashes``, ``IntegrityLevel``) still match.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, NamedTuple

from normalizers.sources.windows.fields import (
    add_related,
    put,
    put_command_line,
    put_executable,
    put_file_path,
)
from normalizers.sources.windows.values import as_bool, as_ip, as_long, as_port, present, split_account
from normalizers.timestamps import format_timestamp, parse_iso_timestamp


class SysmonEvent(NamedTuple):
    """How one Sysmon event id is categorised, and its task name as Windows renders it."""

    action: str
    category: tuple[str, ...]
    type: tuple[str, ...]
    task: str


_REGISTRY = ("configuration", "registry")
EVENTS: dict[int, SysmonEvent] = {
    1: SysmonEvent("Process creation", ("process",), ("start",), "Process Create (rule: ProcessCreate)"),
    2: SysmonEvent("A process changed a file creation time", ("file",), ("change",),
                   "File creation time changed (rule: FileCreateTime)"),
    3: SysmonEvent("Network connection", ("network",), ("start", "connection", "protocol"),
                   "Network connection detected (rule: NetworkConnect)"),
    4: SysmonEvent("Sysmon service state changed", ("process",), ("change",), "Sysmon service state changed"),
    5: SysmonEvent("Process terminated", ("process",), ("end",), "Process terminated (rule: ProcessTerminate)"),
    6: SysmonEvent("Driver loaded", ("driver",), ("start",), "Driver loaded (rule: DriverLoad)"),
    7: SysmonEvent("Image loaded", ("process",), ("change",), "Image loaded (rule: ImageLoad)"),
    8: SysmonEvent("CreateRemoteThread", ("process",), ("change",),
                   "CreateRemoteThread detected (rule: CreateRemoteThread)"),
    9: SysmonEvent("RawAccessRead", ("process",), ("access",), "RawAccessRead detected (rule: RawAccessRead)"),
    10: SysmonEvent("ProcessAccess", ("process",), ("access",), "Process accessed (rule: ProcessAccess)"),
    11: SysmonEvent("FileCreate", ("file",), ("creation",), "File created (rule: FileCreate)"),
    12: SysmonEvent("RegistryEvent (Object create and delete)", _REGISTRY, ("change",),
                    "Registry object added or deleted (rule: RegistryEvent)"),
    13: SysmonEvent("RegistryEvent (Value Set)", _REGISTRY, ("change",), "Registry value set (rule: RegistryEvent)"),
    14: SysmonEvent("RegistryEvent (Key and Value Rename)", _REGISTRY, ("change",),
                    "Registry object renamed (rule: RegistryEvent)"),
    15: SysmonEvent("FileCreateStreamHash", ("file",), ("access",), "File stream created (rule: FileCreateStreamHash)"),
    16: SysmonEvent("ServiceConfigurationChange", ("configuration",), ("change",), "Sysmon config state changed"),
    17: SysmonEvent("PipeEvent (Pipe Created)", ("file",), ("creation",), "Pipe Created (rule: PipeEvent)"),
    18: SysmonEvent("PipeEvent (Pipe Connected)", ("file",), ("access",), "Pipe Connected (rule: PipeEvent)"),
    19: SysmonEvent("WmiEvent (WmiEventFilter activity detected)", ("process",), ("info",),
                    "WmiEventFilter activity detected (rule: WmiEvent)"),
    20: SysmonEvent("WmiEvent (WmiEventConsumer activity detected)", ("process",), ("change",),
                    "WmiEventConsumer activity detected (rule: WmiEvent)"),
    21: SysmonEvent("WmiEvent (WmiEventConsumerToFilter activity detected)", ("process",), ("access",),
                    "WmiEventConsumerToFilter activity detected (rule: WmiEvent)"),
    22: SysmonEvent("DNSEvent (DNS query)", ("network",), ("connection", "protocol", "info"),
                    "Dns query (rule: DnsQuery)"),
    23: SysmonEvent("FileDelete (File Delete archived)", ("file",), ("deletion",),
                    "File Delete archived (rule: FileDelete)"),
    24: SysmonEvent("ClipboardChange (New content in the clipboard)", (), ("change",),
                    "Clipboard changed (rule: ClipboardChange)"),
    25: SysmonEvent("ProcessTampering (Process image change)", ("process",), ("change",),
                    "Process Tampering (rule: ProcessTampering)"),
    26: SysmonEvent("FileDeleteDetected (File Delete logged)", ("file",), ("deletion",),
                    "File Delete logged (rule: FileDeleteDetected)"),
    27: SysmonEvent("FileBlockExecutable", ("file",), ("creation",),
                    "File Block Executable (rule: FileBlockExecutable)"),
    28: SysmonEvent("FileBlockShredding", ("file",), ("deletion",), "File Block Shredding (rule: FileBlockShredding)"),
    29: SysmonEvent("FileExecutableDetected", ("file",), ("creation",),
                    "File Executable Detected (rule: FileExecutableDetected)"),
    255: SysmonEvent("Error", (), ("error",), "Error report"),
}  # fmt: skip

# Which events' Hashes describe the acting process and which the file they are about (26: both).
_PROCESS_HASH_EVENTS = frozenset({1, 23, 24, 25, 26})
_FILE_HASH_EVENTS = frozenset({6, 7, 15, 26, 29})
_REGISTRY_EVENTS = frozenset({12, 13, 14})
_PE_FIELDS = (("OriginalFileName", "original_file_name"), ("Company", "company"),
              ("Description", "description"), ("FileVersion", "file_version"), ("Product", "product"))  # fmt: skip
_HIVES = {
    "HKEY_CLASSES_ROOT": "HKCR", "HKCR": "HKCR", "HKEY_CURRENT_CONFIG": "HKCC", "HKCC": "HKCC",
    "HKEY_CURRENT_USER": "HKCU", "HKCU": "HKCU", "HKEY_DYN_DATA": "HKDD", "HKDD": "HKDD",
    "HKEY_LOCAL_MACHINE": "HKLM", "HKLM": "HKLM", "HKEY_PERFORMANCE_DATA": "HKPD", "HKPD": "HKPD",
    "HKEY_USERS": "HKU", "HKU": "HKU",
}  # fmt: skip
_DNS_TYPES = {
    "1": "A", "2": "NS", "5": "CNAME", "6": "SOA", "12": "PTR", "13": "HINFO", "15": "MX", "16": "TXT",
    "28": "AAAA", "33": "SRV", "35": "NAPTR", "39": "DNAME", "64": "SVCB", "65": "HTTPS", "255": "ANY",
}  # fmt: skip
_DNS_STATUS = {
    "0": "SUCCESS", "5": "ERROR_ACCESS_DENIED", "87": "ERROR_INVALID_PARAMETER", "123": "ERROR_INVALID_NAME",
    "1214": "ERROR_INVALID_NETNAME", "1223": "ERROR_CANCELLED", "1460": "ERROR_TIMEOUT",
    "9002": "DNS_ERROR_RCODE_SERVER_FAILURE", "9003": "DNS_ERROR_RCODE_NAME_ERROR",
    "9005": "DNS_ERROR_RCODE_REFUSED", "9501": "DNS_INFO_NO_RECORDS", "9701": "DNS_ERROR_RECORD_DOES_NOT_EXIST",
    "9702": "DNS_ERROR_RECORD_FORMAT", "9852": "DNS_ERROR_NO_DNS_SERVERS", "10054": "WSAECONNRESET",
    "10060": "WSAETIMEDOUT",
}  # fmt: skip
_DWORD = re.compile(r"DWORD \((0x[0-9A-Fa-f]{1,8})\)")
_QWORD = re.compile(r"QWORD \((0x[0-9A-Fa-f]{1,8})-(0x[0-9A-Fa-f]{1,8})\)")


def title(event_id: int) -> str | None:
    """The first line of a Sysmon message (``Process Create:``), for the synthesized ``message``."""
    spec = EVENTS.get(event_id)
    return spec.task.split(" (rule:", 1)[0] + ":" if spec else None


def enrich(event: dict[str, Any], winlog: dict[str, Any], event_id: int) -> None:
    """Fill the ECS fields Winlogbeat's sysmon module derives from a Sysmon event."""
    data = winlog.get("event_data") or {}
    spec = EVENTS.get(event_id)
    if spec is not None:
        meta = event["event"]
        meta["action"] = spec.action
        if spec.category:
            meta["category"] = list(spec.category)
        meta["type"] = list(spec.type)
        winlog.setdefault("task", spec.task)
        if event_id == 27:
            meta["outcome"] = "failure"  # the file was blocked
    utc_time = present(data.get("UtcTime"))
    if utc_time is not None:
        # Sysmon's own clock reading of the action; Winlogbeat uses it as @timestamp too.
        with contextlib.suppress(ValueError, OverflowError):
            event["@timestamp"] = format_timestamp(parse_iso_timestamp(utc_time))
    _hashes(event, data, event_id)
    _process(event, data, event_id)
    _file(event, data, event_id)
    _network(event, data, event_id)
    if event_id == 22:
        _dns(event, data)
    if event_id in _REGISTRY_EVENTS:
        _registry(event, data)
    # The account the acting process runs as (10 names it SourceUser). Not user.id: the event's
    # Security UserID is the Sysmon service's own account (SYSTEM), not this user.
    domain, name = split_account(data.get("User"))
    if name is None:
        domain, name = split_account(data.get("SourceUser"))
    put(event, "user.domain", domain)
    put(event, "user.name", name)
    add_related(event, "user", name)
    put(event, "sysmon.file.archived", as_bool(data.get("Archived")))
    put(event, "sysmon.file.is_executable", as_bool(data.get("IsExecutable")))


def _hashes(event: dict[str, Any], data: dict[str, Any], event_id: int) -> None:
    """``Hashes: SHA1=..,MD5=..,SHA256=..,IMPHASH=..`` -> ``process.hash.*`` / ``file.hash.*`` (lowercase)."""
    text = present(data.get("Hashes")) or present(data.get("Hash"))
    if text is None:
        return
    hashes: dict[str, str] = {}
    for pair in text.split(","):
        algorithm, sep, value = pair.partition("=")
        value = value.strip().lower()
        if sep and value and value.strip("0"):  # all zeros means Sysmon could not hash the file
            hashes[algorithm.strip().lower()] = value
    targets = []
    if event_id in _PROCESS_HASH_EVENTS:
        targets.append("process")
    if event_id in _FILE_HASH_EVENTS:
        targets.append("file")
    for target in targets:
        for algorithm, value in hashes.items():
            if algorithm == "imphash":
                put(event, f"{target}.pe.imphash", value)
            elif algorithm.isalnum():
                put(event, f"{target}.hash.{algorithm}", value)
    for value in hashes.values():
        add_related(event, "hash", value)


def _process(event: dict[str, Any], data: dict[str, Any], event_id: int) -> None:
    put(event, "process.entity_id", present(data.get("ProcessGuid")) or present(data.get("SourceProcessGuid"))
        or present(data.get("SourceProcessGUID")))  # fmt: skip
    pid = as_long(data.get("ProcessId"))
    put(event, "process.pid", pid if pid is not None else as_long(data.get("SourceProcessId")))
    put(event, "process.thread.id", as_long(data.get("SourceThreadId")))
    executable = present(data.get("Image")) or present(data.get("SourceImage")) or present(data.get("Destination"))
    put_executable(event, "process", executable)
    put_command_line(event, "process", present(data.get("CommandLine")))
    put(event, "process.working_directory", present(data.get("CurrentDirectory")))
    put(event, "process.parent.entity_id", present(data.get("ParentProcessGuid")))
    put(event, "process.parent.pid", as_long(data.get("ParentProcessId")))
    put_executable(event, "process.parent", present(data.get("ParentImage")))
    put_command_line(event, "process.parent", present(data.get("ParentCommandLine")))
    # PE metadata describes the process, except in 7 (image load) where it describes the DLL.
    target = "file" if event_id == 7 else "process"
    for name, ecs_name in _PE_FIELDS:
        put(event, f"{target}.pe.{ecs_name}", present(data.get(name)))


def _file(event: dict[str, Any], data: dict[str, Any], event_id: int) -> None:
    path = present(data.get("TargetFilename")) or present(data.get("ImageLoaded")) or present(data.get("Device"))
    put_file_path(event, path)
    put(event, "file.name", present(data.get("PipeName")))
    put(event, "file.code_signature.subject_name", present(data.get("Signature")))
    status = present(data.get("SignatureStatus"))
    put(event, "file.code_signature.status", status)
    put(event, "file.code_signature.signed", as_bool(data.get("Signed")))
    if status is not None:
        put(event, "file.code_signature.valid", status == "Valid")


def _network(event: dict[str, Any], data: dict[str, Any], event_id: int) -> None:
    transport = present(data.get("Protocol"))
    put(event, "network.transport", transport.lower() if transport else None)
    if event_id == 22:
        put(event, "network.protocol", "dns")
    else:
        protocol = present(data.get("DestinationPortName")) or present(data.get("SourcePortName"))
        put(event, "network.protocol", protocol.lower() if protocol else None)
    initiated = as_bool(data.get("Initiated"))
    if initiated is not None:
        put(event, "network.direction", "egress" if initiated else "ingress")
    ipv6 = as_bool(data.get("SourceIsIpv6"))
    if ipv6 is not None:
        put(event, "network.type", "ipv6" if ipv6 else "ipv4")
    for side, prefix in (("source", "Source"), ("destination", "Destination")):
        address = as_ip(data.get(f"{prefix}Ip"))
        if address is not None:
            put(event, f"{side}.ip", address)
            add_related(event, "ip", address)
        put(event, f"{side}.domain", present(data.get(f"{prefix}Hostname")))
        put(event, f"{side}.port", as_port(data.get(f"{prefix}Port")))


def _dns(event: dict[str, Any], data: dict[str, Any]) -> None:
    """22: the query, its status and the answers (``type:  5 cname.example;192.0.2.1;...``)."""
    name = present(data.get("QueryName"))
    put(event, "dns.question.name", name)
    if name is not None:
        add_related(event, "hosts", name)
    status = present(data.get("QueryStatus"))
    put(event, "sysmon.dns.status", _DNS_STATUS.get(status, status) if status else None)
    results = present(data.get("QueryResults"))
    if results is None:
        return
    answers: list[dict[str, str]] = []
    resolved: list[str] = []
    for item in results.split(";"):
        item = item.strip()
        if not item:
            continue
        if item.startswith("type:"):
            parts = item.split()
            answer = {"type": _DNS_TYPES.get(parts[1], parts[1])} if len(parts) > 1 else {}
            if len(parts) > 2:
                answer["data"] = parts[2]
                add_related(event, "hosts", parts[2])
            if answer:
                answers.append(answer)
            continue
        address = as_ip(item)
        if address is not None and address not in resolved:
            resolved.append(address)
            answers.append({"type": "AAAA" if ":" in address else "A", "data": address})
            add_related(event, "ip", address)
    if answers:
        put(event, "dns.answers", answers)
    if resolved:
        put(event, "dns.resolved_ip", resolved)


def _registry(event: dict[str, Any], data: dict[str, Any]) -> None:
    """12-14: path, hive, key and value from TargetObject; data from Details (DWORD/QWORD as numbers)."""
    path = present(data.get("TargetObject"))
    if path is None:
        return
    put(event, "registry.path", path)
    parts = path.split("\\")
    hive = _HIVES.get(parts[0].upper())
    if hive is not None:
        put(event, "registry.hive", hive)
        if len(parts) > 1:
            # As Winlogbeat: the key is the path below the hive, up to and including its last part.
            put(event, "registry.key", "\\".join(parts[1:]))
    put(event, "registry.value", parts[-1] or None)
    details = present(data.get("Details"))
    if details is None:
        return
    if match := _QWORD.fullmatch(details):
        value, kind = str((int(match.group(1), 16) << 32) + int(match.group(2), 16)), "SZ_QWORD"
    elif match := _DWORD.fullmatch(details):
        value, kind = str(int(match.group(1), 16)), "SZ_DWORD"
    elif details == "Binary Data":
        value, kind = details, "REG_BINARY"
    else:
        value, kind = details, "REG_SZ"
    put(event, "registry.data.strings", [value])
    put(event, "registry.data.type", kind)
