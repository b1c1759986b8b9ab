"""Windows event records for the tests, in the JSON shapes ``evtx`` (pyevtx-rs) and Winlogbeat produce.

Field names and values are as Microsoft documents them for each event id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from normalizers import normalize
from normalizers.record import RawRecord
from normalizers.schema import get_field, validate_event

RECEIVED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
SECURITY = ("Microsoft-Windows-Security-Auditing", "54849625-5478-4994-A5BA-3E3B0328C30D", "Security")
SYSMON = ("Microsoft-Windows-Sysmon", "5770385F-C22A-43E0-BF4C-06F5698FFBD9", "Microsoft-Windows-Sysmon/Operational")
AUDIT_SUCCESS = "0x8020000000000000"
AUDIT_FAILURE = "0x8010000000000000"


def evtx_record(
    source: tuple[str, str, str],
    event_id: int,
    data: dict[str, Any] | None,
    *,
    keywords: str = AUDIT_SUCCESS,
    computer: str = "WS-042.corp.example",
    when: str = "2026-11-20T08:15:30.123456Z",
    user_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event record as ``evtx`` renders it to JSON (attributes under ``#attributes``)."""
    provider, guid, channel = source
    event: dict[str, Any] = {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": provider, "Guid": guid}},
            "EventID": event_id,
            "Version": 2,
            "Level": 0 if channel == "Security" else 4,
            "Task": 12544,
            "Opcode": 0,
            "Keywords": keywords,
            "TimeCreated": {"#attributes": {"SystemTime": when}},
            "EventRecordID": 73321,
            "Correlation": {"#attributes": {"ActivityID": "7B1F4D2E-1C3A-0001-5E4F-1F7B3A1CDB01"}},
            "Execution": {"#attributes": {"ProcessID": 712, "ThreadID": 5120}},
            "Channel": channel,
            "Computer": computer,
            "Security": {"#attributes": {"UserID": "S-1-5-18"}} if channel != "Security" else None,
        },
    }
    if data is not None:
        event["EventData"] = data
    if user_data is not None:
        event["UserData"] = user_data
    return {"Event": event}


def normalize_doc(document: dict[str, Any], position: int = 1) -> dict[str, Any]:
    text = orjson.dumps(document).decode()
    event = normalize(RawRecord(text, RECEIVED, "/var/log/windows.jsonl", "file", "jsonl", position))
    assert event["event"]["original"] == text
    assert validate_event(event) == [], validate_event(event)
    return event


def field(event: dict[str, Any], name: str) -> Any:
    return get_field(event, name)


LOGON_4624 = {
    "SubjectUserSid": "S-1-5-18",
    "SubjectUserName": "WS-042$",
    "SubjectDomainName": "CORP",
    "SubjectLogonId": "0x3e7",
    "TargetUserSid": "S-1-5-21-3623811015-3361044348-30300820-1013",
    "TargetUserName": "nguyen.van.a",
    "TargetDomainName": "CORP",
    "TargetLogonId": "0x8dcdc",
    "LogonType": 3,
    "LogonProcessName": "NtLmSsp ",
    "AuthenticationPackageName": "NTLM",
    "WorkstationName": "ATTACKER-PC",
    "LogonGuid": "00000000-0000-0000-0000-000000000000",
    "TransmittedServices": "-",
    "LmPackageName": "NTLM V2",
    "KeyLength": 128,
    "ProcessId": "0x0",
    "ProcessName": "-",
    "IpAddress": "10.20.30.40",
    "IpPort": "51234",
    "ImpersonationLevel": "%%1833",
    "ElevatedToken": "%%1842",
}


def winlogbeat_doc(event_id: Any = "4624") -> dict[str, Any]:
    """A Winlogbeat 8 document as the agent ships it (before any ingest pipeline)."""
    return {
        "@timestamp": "2026-11-20T08:15:30.123Z",
        "agent": {"type": "winlogbeat", "version": "8.15.0", "name": "WEC-01"},
        "ecs": {"version": "8.0.0"},
        "host": {"name": "wec-01.corp.example"},
        "log": {"level": "information"},
        "message": "An account was successfully logged on.\n\nSubject:\n\tSecurity ID:\t\tS-1-5-18",
        "event": {
            "code": str(event_id),
            "kind": "event",
            "provider": "Microsoft-Windows-Security-Auditing",
            "action": "Logon",
            "created": "2026-11-20T08:15:31.000Z",
            "outcome": "success",
        },
        "winlog": {
            "channel": "Security",
            "event_id": event_id,
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "provider_guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            "computer_name": "WS-042.corp.example",
            "record_id": 73321,
            "api": "wineventlog",
            "task": "Logon",
            "opcode": "Info",
            "keywords": ["Audit Success"],
            "process": {"pid": 712, "thread": {"id": 5120}},
            "event_data": {k: str(v) for k, v in LOGON_4624.items()},
        },
    }
