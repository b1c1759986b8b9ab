"""Windows events: EVTX-as-JSON and Winlogbeat JSON -> ECS: Security event ids, JSON shapes, fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalizers import normalize
from normalizers.record import RawRecord
from normalizers.sources.windows.security import EVENTS as SECURITY_EVENTS
from tests.normalizers.windows_records import (
    AUDIT_FAILURE,
    LOGON_4624,
    RECEIVED,
    SECURITY,
    evtx_record,
    field,
    normalize_doc,
    winlogbeat_doc,
)

# --- Security channel -------------------------------------------------------------------------


def test_4624_network_logon_maps_user_source_and_logon_type() -> None:
    ev = normalize_doc(evtx_record(SECURITY, 4624, LOGON_4624))
    assert ev["@timestamp"] == "2026-11-20T08:15:30.123Z"
    assert ev["event"]["code"] == "4624"
    assert ev["event"]["provider"] == "Microsoft-Windows-Security-Auditing"
    assert ev["event"]["dataset"] == "windows.security"
    assert ev["event"]["module"] == "windows"
    assert ev["event"]["kind"] == "event"
    assert ev["event"]["action"] == "logged-in"
    assert ev["event"]["category"] == ["authentication"]
    assert ev["event"]["type"] == ["start"]
    assert ev["event"]["outcome"] == "success"
    assert ev["host"]["name"] == "WS-042.corp.example"
    assert ev["log"]["level"] == "information"
    assert ev["winlog"]["logon"] == {"type": "Network", "id": "0x8dcdc"}
    assert ev["winlog"]["keywords"] == ["Audit Success"]  # bit 63 of 0x8020... is no Windows-defined keyword
    assert ev["user"] == {
        "name": "nguyen.van.a",
        "domain": "CORP",
        "id": "S-1-5-21-3623811015-3361044348-30300820-1013",
    }
    assert ev["source"] == {"ip": "10.20.30.40", "port": 51234, "domain": "ATTACKER-PC"}
    assert ev["related"] == {"user": ["nguyen.van.a"], "ip": ["10.20.30.40"]}
    assert ev["process"] == {"pid": 0}  # ProcessName "-" is no executable
    # The raw event data stays, every value a string like Winlogbeat keeps it.
    assert ev["winlog"]["event_data"]["LogonType"] == "3"
    assert ev["winlog"]["event_data"]["IpAddress"] == "10.20.30.40"
    assert ev["winlog"]["event_id"] == "4624"
    assert ev["winlog"]["record_id"] == "73321"
    assert ev["winlog"]["process"] == {"pid": 712, "thread": {"id": 5120}}
    assert ev["winlog"]["activity_id"] == "{7B1F4D2E-1C3A-0001-5E4F-1F7B3A1CDB01}"
    assert ev["message"].startswith("An account was successfully logged on.\nSubjectUserSid: S-1-5-18\n")
    assert "IpAddress: 10.20.30.40" in ev["message"]


def test_4624_ipv4_mapped_address_and_missing_port() -> None:
    data = dict(LOGON_4624, IpAddress="::ffff:192.168.1.50", IpPort="0", LogonType=10)
    ev = normalize_doc(evtx_record(SECURITY, 4624, data))
    assert ev["source"]["ip"] == "192.168.1.50"
    assert "port" not in ev["source"]
    assert ev["winlog"]["logon"]["type"] == "RemoteInteractive"


def test_4624_local_logon_has_no_source_ip_but_a_process() -> None:
    data = dict(
        LOGON_4624,
        IpAddress="-",
        IpPort="-",
        LogonType=2,
        ProcessId="0x2c8",
        ProcessName="C:\\Windows\\System32\\svchost.exe",
        WorkstationName="-",
    )
    ev = normalize_doc(evtx_record(SECURITY, 4624, data))
    assert "source" not in ev
    assert ev["process"] == {"pid": 712, "executable": "C:\\Windows\\System32\\svchost.exe", "name": "svchost.exe"}
    assert ev["winlog"]["logon"]["type"] == "Interactive"


def test_4625_failed_logon_carries_failure_reason_and_status() -> None:
    data = {
        "SubjectUserSid": "S-1-0-0",
        "SubjectUserName": "-",
        "SubjectDomainName": "-",
        "SubjectLogonId": "0x0",
        "TargetUserSid": "S-1-0-0",
        "TargetUserName": "administrator",
        "TargetDomainName": "CORP",
        "Status": "0xc000006d",
        "FailureReason": "%%2313",
        "SubStatus": "0xC000006A",
        "LogonType": 3,
        "LogonProcessName": "NtLmSsp ",
        "AuthenticationPackageName": "NTLM",
        "WorkstationName": "KALI",
        "ProcessId": "0x0",
        "ProcessName": "-",
        "IpAddress": "203.0.113.9",
        "IpPort": "0",
    }
    ev = normalize_doc(evtx_record(SECURITY, 4625, data, keywords=AUDIT_FAILURE))
    assert ev["event"]["action"] == "logon-failed"
    assert ev["event"]["outcome"] == "failure"
    assert ev["user"]["name"] == "administrator"
    assert ev["source"]["ip"] == "203.0.113.9"
    assert ev["winlog"]["logon"]["failure"] == {
        "reason": "Unknown user name or bad password.",
        "status": "bad user name or authentication information",
        "sub_status": "user name is correct but the password is wrong",
    }


def test_4688_process_creation_with_command_line() -> None:
    data = {
        "SubjectUserSid": "S-1-5-21-3623811015-3361044348-30300820-1013",
        "SubjectUserName": "tran.b",
        "SubjectDomainName": "CORP",
        "SubjectLogonId": "0x1f40f",
        "NewProcessId": "0x1a2c",
        "NewProcessName": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "TokenElevationType": "%%1937",
        "ProcessId": "0x9f8",
        "CommandLine": 'powershell.exe -nop -w hidden -enc "SQBFAFgA IAAoAE4A"',
        "TargetUserSid": "S-1-0-0",
        "TargetUserName": "-",
        "TargetDomainName": "-",
        "TargetLogonId": "0x0",
        "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        "MandatoryLabel": "S-1-16-12288",
    }
    ev = normalize_doc(evtx_record(SECURITY, 4688, data))
    assert ev["event"]["action"] == "created-process"
    assert ev["event"]["category"] == ["process"] and ev["event"]["type"] == ["start"]
    assert ev["process"]["pid"] == 0x1A2C
    assert ev["process"]["executable"] == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    assert ev["process"]["name"] == "powershell.exe"
    assert ev["process"]["command_line"] == 'powershell.exe -nop -w hidden -enc "SQBFAFgA IAAoAE4A"'
    assert ev["process"]["args"] == ["powershell.exe", "-nop", "-w", "hidden", "-enc", "SQBFAFgA IAAoAE4A"]
    assert ev["process"]["args_count"] == 6
    assert ev["process"]["parent"] == {"pid": 0x9F8, "executable": "C:\\Windows\\System32\\cmd.exe", "name": "cmd.exe"}
    assert ev["user"] == {"name": "tran.b", "domain": "CORP", "id": "S-1-5-21-3623811015-3361044348-30300820-1013"}
    assert "effective" not in ev["user"]  # TargetUserName "-": no other account
    assert ev["winlog"]["logon"]["id"] == "0x1f40f"


def test_4688_run_as_another_user_sets_user_effective() -> None:
    data = {
        "SubjectUserName": "tran.b",
        "SubjectDomainName": "CORP",
        "NewProcessId": "0x10",
        "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
        "ProcessId": "0x4",
        "CommandLine": "cmd.exe",
        "TargetUserSid": "S-1-5-21-1-2-3-500",
        "TargetUserName": "Administrator",
        "TargetDomainName": "CORP",
    }
    ev = normalize_doc(evtx_record(SECURITY, 4688, data))
    assert ev["user"]["effective"] == {"name": "Administrator", "domain": "CORP", "id": "S-1-5-21-1-2-3-500"}


IAM_SUBJECT = {
    "SubjectUserSid": "S-1-5-21-1-2-3-1105",
    "SubjectUserName": "admin.le",
    "SubjectDomainName": "CORP",
    "SubjectLogonId": "0x4a21f",
}


@pytest.mark.parametrize("event_id", [4720, 4722, 4724, 4725, 4726])
def test_user_account_management_names_actor_and_target(event_id: int) -> None:
    data = dict(IAM_SUBJECT, TargetUserName="svc_backup", TargetDomainName="CORP", TargetSid="S-1-5-21-1-2-3-1190")
    ev = normalize_doc(evtx_record(SECURITY, event_id, data))
    assert ev["event"]["action"] == SECURITY_EVENTS[event_id].action
    assert ev["event"]["category"] == ["iam"]
    assert "user" in ev["event"]["type"]
    assert ev["user"]["name"] == "admin.le"
    assert ev["user"]["target"] == {"name": "svc_backup", "domain": "CORP", "id": "S-1-5-21-1-2-3-1190"}
    assert ev["related"]["user"] == ["admin.le", "svc_backup"]


@pytest.mark.parametrize("event_id", [4728, 4732])
def test_group_membership_names_group_and_member(event_id: int) -> None:
    data = dict(
        IAM_SUBJECT,
        MemberName="CN=Pham Van C,OU=Staff,DC=corp,DC=example",
        MemberSid="S-1-5-21-1-2-3-1201",
        TargetUserName="Domain Admins",
        TargetDomainName="CORP",
        TargetSid="S-1-5-21-1-2-3-512",
        PrivilegeList="-",
    )
    ev = normalize_doc(evtx_record(SECURITY, event_id, data))
    assert ev["event"]["action"] == "added-member-to-group"
    assert ev["event"]["type"] == ["group", "change"]
    assert ev["group"] == {"id": "S-1-5-21-1-2-3-512", "name": "Domain Admins", "domain": "CORP"}
    assert ev["user"]["name"] == "admin.le"
    assert ev["user"]["target"] == {"name": "Pham Van C", "domain": "corp", "id": "S-1-5-21-1-2-3-1201"}


def test_4740_lockout_names_the_locked_account() -> None:
    data = {
        "TargetUserName": "nguyen.van.a",
        "TargetDomainName": "WS-042",
        "TargetSid": "S-1-5-21-1-2-3-1013",
        "SubjectUserSid": "S-1-5-18",
        "SubjectUserName": "DC01$",
        "SubjectDomainName": "CORP",
        "SubjectLogonId": "0x3e7",
    }
    ev = normalize_doc(evtx_record(SECURITY, 4740, data))
    assert ev["event"]["action"] == "locked-out-user-account"
    assert ev["user"]["name"] == "DC01$"
    assert ev["user"]["target"]["name"] == "nguyen.van.a"


def test_1102_log_cleared_reads_user_data() -> None:
    user_data = {
        "LogFileCleared": {
            "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
            "SubjectUserSid": "S-1-5-21-1-2-3-500",
            "SubjectUserName": "Administrator",
            "SubjectDomainName": "CORP",
            "SubjectLogonId": "0x61a2b",
        }
    }
    record = evtx_record(
        ("Microsoft-Windows-Eventlog", "fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148", "Security"),
        1102,
        None,
        keywords="0x4020000000000000",
        user_data=user_data,
    )
    ev = normalize_doc(record)
    assert ev["event"]["action"] == "audit-log-cleared"
    assert ev["event"]["dataset"] == "windows.security"
    assert ev["user"] == {"name": "Administrator", "domain": "CORP", "id": "S-1-5-21-1-2-3-500"}
    assert ev["winlog"]["logon"]["id"] == "0x61a2b"
    assert ev["winlog"]["user_data"]["xml_name"] == "LogFileCleared"


def test_4697_service_install_sets_service_fields() -> None:
    data = dict(
        IAM_SUBJECT,
        ServiceName="PSEXESVC",
        ServiceFileName="%SystemRoot%\\PSEXESVC.exe",
        ServiceType="0x10",
        ServiceStartType="3",
        ServiceAccount="LocalSystem",
    )
    ev = normalize_doc(evtx_record(SECURITY, 4697, data))
    assert ev["event"]["action"] == "service-installed"
    assert ev["service"] == {"name": "PSEXESVC", "type": "Win32 Own Process"}


def test_4648_explicit_credentials_name_both_accounts() -> None:
    data = dict(
        IAM_SUBJECT,
        TargetUserName="backup_admin",
        TargetDomainName="CORP",
        TargetServerName="FS01",
        ProcessId="0x1b4",
        ProcessName="C:\\Windows\\System32\\runas.exe",
        IpAddress="-",
        IpPort="-",
    )
    ev = normalize_doc(evtx_record(SECURITY, 4648, data))
    assert ev["event"]["action"] == "logged-in-explicit"
    assert ev["user"]["name"] == "admin.le"
    assert ev["user"]["target"]["name"] == "backup_admin"
    assert ev["user"]["effective"]["name"] == "backup_admin"
    assert ev["process"]["name"] == "runas.exe"


def test_4634_logoff_uses_the_session_logon_id() -> None:
    data = {
        "TargetUserSid": "S-1-5-21-1-2-3-1013",
        "TargetUserName": "nguyen.van.a",
        "TargetDomainName": "CORP",
        "TargetLogonId": "0x8dcdc",
        "LogonType": 3,
    }
    ev = normalize_doc(evtx_record(SECURITY, 4634, data))
    assert ev["event"]["action"] == "logged-out"
    assert ev["event"]["type"] == ["end"]
    assert ev["winlog"]["logon"] == {"type": "Network", "id": "0x8dcdc"}
    assert ev["user"]["name"] == "nguyen.van.a"


REQUIRED_SECURITY = {
    4624: "logged-in",
    4625: "logon-failed",
    4634: "logged-out",
    4648: "logged-in-explicit",
    4672: "logged-in-special",
    4688: "created-process",
    4697: "service-installed",
    4698: "scheduled-task-created",
    4720: "added-user-account",
    4722: "enabled-user-account",
    4724: "reset-password",
    4725: "disabled-user-account",
    4726: "deleted-user-account",
    4728: "added-member-to-group",
    4732: "added-member-to-group",
    4740: "locked-out-user-account",
    1102: "audit-log-cleared",
}


@pytest.mark.parametrize(("event_id", "action"), sorted(REQUIRED_SECURITY.items()))
def test_every_required_security_event_is_categorised(event_id: int, action: str) -> None:
    ev = normalize_doc(evtx_record(SECURITY, event_id, dict(IAM_SUBJECT)))
    assert ev["event"]["action"] == action
    assert ev["event"]["category"] and ev["event"]["type"]
    # Logon events name the Target account (absent here); 1102 reads UserData.
    assert field(ev, "user.name") == ("admin.le" if event_id not in (4624, 4625, 4634, 1102) else None)


def test_unknown_event_of_another_channel_stays_generic_but_complete() -> None:
    source = ("Service Control Manager", "555908d1-a6d7-4695-8e1e-26931d2012f4", "System")
    record = evtx_record(source, 7036, {"param1": "Windows Update", "param2": "running"})
    record["Event"]["System"]["EventID"] = {"#attributes": {"Qualifiers": 16384}, "#text": 7036}
    ev = normalize_doc(record)
    assert ev["event"]["code"] == "7036"
    assert ev["event"]["dataset"] == "windows.system"
    assert "action" not in ev["event"]
    assert ev["message"] == "Service Control Manager event 7036\nparam1: Windows Update\nparam2: running"


# --- JSON shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize("event_id", ["4624", 4624])  # Winlogbeat 8 ships a string, 7.x a number
def test_winlogbeat_document_maps_like_evtx(event_id: Any) -> None:
    ev = normalize_doc(winlogbeat_doc(event_id))
    from_evtx = normalize_doc(evtx_record(SECURITY, 4624, LOGON_4624))
    for name in (
        "event.code",
        "event.action",
        "event.category",
        "event.type",
        "event.outcome",
        "user",
        "source",
        "winlog.logon",
        "host.name",
        "@timestamp",
        "winlog.event_id",
        "winlog.record_id",
    ):
        assert field(ev, name) == field(from_evtx, name), name
    assert ev["host"]["name"] == "WS-042.corp.example"  # the machine the event is about, not the collector
    assert ev["message"].startswith("An account was successfully logged on.\n\nSubject:")  # rendered text kept
    assert ev["agent"] == {"type": "winlogbeat", "version": "8.15.0", "name": "WEC-01"}
    assert ev["event"]["created"] == "2026-11-20T08:15:31.000Z"
    assert ev["ecs"]["version"] != "8.0.0"  # Sontra's version: the fields follow Sontra's mapping


def test_winlogbeat_document_with_wrongly_typed_extras_drops_only_them() -> None:
    doc = winlogbeat_doc()
    doc["process"] = {"pid": "not-a-number"}
    doc["labels"] = {"site": "da-nang"}
    ev = normalize_doc(doc)
    assert ev["process"] == {"pid": 0}  # Sontra's own value; the bad one is only in event.original
    assert ev["labels"] == {"site": "da-nang"}


def test_separate_attributes_layout_and_unnamed_data() -> None:
    record = {
        "Event": {
            "System": {
                "Provider": None,
                "Provider_attributes": {"Name": "Microsoft-Windows-Sysmon"},
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "WS-7",
                "TimeCreated": None,
                "TimeCreated_attributes": {"SystemTime": "2026-11-20T01:02:03.5Z"},
            },
            "EventData": {"Data": {"#text": ["first", "second"]}, "Binary": "0A0B"},
        }
    }
    ev = normalize_doc(record)
    assert ev["event"]["provider"] == "Microsoft-Windows-Sysmon"
    assert ev["@timestamp"] == "2026-11-20T01:02:03.500Z"
    assert ev["winlog"]["event_data"] == {"param1": "first", "param2": "second", "Binary": "0A0B"}


def test_bad_timestamp_falls_back_to_receive_time_and_is_tagged() -> None:
    ev = normalize_doc(evtx_record(SECURITY, 4624, LOGON_4624, when="yesterday"))
    assert ev["@timestamp"] == "2026-11-20T12:00:00.000Z"
    assert ev["tags"] == ["invalid_timestamp"]


def test_windows_shaped_document_without_event_id_gets_the_generic_json_handling() -> None:
    ev = normalize_doc({"Event": {"System": {"Channel": "Security"}}})
    assert ev["event"]["dataset"] == "json"
    assert ev["json"] == {"Event": {"System": {"Channel": "Security"}}}
    assert "tags" not in ev


# --- fuzz -------------------------------------------------------------------------------------

_scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
_system = st.fixed_dictionaries(
    {},
    optional={
        "Provider": _json | st.just({"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}),
        "EventID": _json | st.integers(min_value=0, max_value=5000) | st.sampled_from([1, 3, 13, 22, 4624, 4688]),
        "Channel": _json | st.sampled_from(["Security", "Microsoft-Windows-Sysmon/Operational"]),
        "Computer": _json,
        "Keywords": _json | st.just(AUDIT_FAILURE),
        "TimeCreated": _json | st.just({"#attributes": {"SystemTime": "2026-11-20T01:02:03Z"}}),
        "Execution": _json,
        "Security": _json,
        "Correlation": _json,
        "Level": _json,
        "Version": _json,
    },
)
_event_data = st.dictionaries(
    st.sampled_from(
        [
            "Image",
            "Hashes",
            "User",
            "TargetObject",
            "Details",
            "QueryResults",
            "SourceIp",
            "IpAddress",
            "IpPort",
            "LogonType",
            "CommandLine",
            "MemberName",
            "ProcessId",
            "Data",
        ]
    )
    | st.text(max_size=10),
    _json,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(system=_system, data=_event_data | _json, user_data=_json)
def test_fuzzed_evtx_json_never_raises_and_fits_the_schema(system: Any, data: Any, user_data: Any) -> None:
    ev = normalize_doc({"Event": {"System": system, "EventData": data, "UserData": user_data}})
    assert isinstance(ev["@timestamp"], str)
    assert "source_parser_error" not in ev.get("tags", [])


@settings(max_examples=200, deadline=None)
@given(
    winlog=st.dictionaries(
        st.sampled_from(
            [
                "event_id",
                "channel",
                "provider_name",
                "event_data",
                "process",
                "keywords",
                "user",
                "computer_name",
                "record_id",
            ]
        ),
        _json,
        max_size=8,
    ),
    extras=st.dictionaries(
        st.sampled_from(["@timestamp", "host", "event", "message", "process", "tags"]), _json, max_size=4
    ),
)
def test_fuzzed_winlogbeat_json_never_raises_and_fits_the_schema(winlog: Any, extras: Any) -> None:
    ev = normalize_doc({**extras, "winlog": winlog})
    assert "source_parser_error" not in ev.get("tags", [])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_fuzzed_text_in_windows_shape_never_raises(noise: str) -> None:
    text = '{"Event": {"System": {"EventID": 4624, "Channel": "Security"}, "EventData": ' + noise
    ev = normalize(RawRecord(text, RECEIVED, "/x", "file", "jsonl", 1))
    assert ev["event"]["original"] == text
