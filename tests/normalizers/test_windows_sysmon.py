"""Sysmon events (ids 1-29, 255) -> ECS as Winlogbeat's sysmon module maps them; Windows command line splitting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from normalizers.sources.windows.sysmon import EVENTS as SYSMON_EVENTS
from normalizers.sources.windows.values import command_line_args, split_with_escapes
from tests.normalizers.windows_records import SYSMON, evtx_record, normalize_doc

# --- Sysmon -----------------------------------------------------------------------------------

SYSMON_1 = {
    "RuleName": "technique_id=T1059.001,technique_name=PowerShell",
    "UtcTime": "2026-11-20 08:15:29.987",
    "ProcessGuid": "9C3A5F21-D1E2-673D-5A04-000000002A00",
    "ProcessId": 6420,
    "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "FileVersion": "10.0.19041.3996",
    "Description": "Windows PowerShell",
    "Product": "Microsoft® Windows® Operating System",
    "Company": "Microsoft Corporation",
    "OriginalFileName": "PowerShell.EXE",
    "CommandLine": 'powershell.exe -ExecutionPolicy Bypass -File "C:\\Users\\Public\\run me.ps1"',
    "CurrentDirectory": "C:\\Users\\tran.b\\",
    "User": "CORP\\tran.b",
    "LogonGuid": "9C3A5F21-C0A1-673D-0F1F-020000000000",
    "LogonId": "0x21f0f",
    "TerminalSessionId": 1,
    "IntegrityLevel": "High",
    "Hashes": "SHA1=6CBCE4A295C163791B60FC23D285E6D84F28EE4C,MD5=7353F60B1739074EB17C5F4DDDEFE239,"
    "SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C,"
    "IMPHASH=741776AACCFC5B71FF59832DCDCACE0F",
    "ParentProcessGuid": "9C3A5F21-D1DF-673D-5904-000000002A00",
    "ParentProcessId": 5512,
    "ParentImage": "C:\\Windows\\System32\\cmd.exe",
    "ParentCommandLine": "cmd.exe /c start.bat",
    "ParentUser": "CORP\\tran.b",
}


def test_sysmon_1_process_creation() -> None:
    ev = normalize_doc(evtx_record(SYSMON, 1, SYSMON_1, keywords="0x8000000000000000"))
    assert ev["@timestamp"] == "2026-11-20T08:15:29.987Z"  # Sysmon's UtcTime, as Winlogbeat uses it
    assert ev["event"]["dataset"] == "windows.sysmon_operational"
    assert ev["event"]["action"] == "Process creation"
    assert ev["event"]["category"] == ["process"] and ev["event"]["type"] == ["start"]
    assert "outcome" not in ev["event"]
    process = ev["process"]
    assert process["executable"] == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    assert process["name"] == "powershell.exe"
    assert process["pid"] == 6420
    assert process["entity_id"] == "9C3A5F21-D1E2-673D-5A04-000000002A00"
    assert process["command_line"] == SYSMON_1["CommandLine"]
    assert process["args"] == ["powershell.exe", "-ExecutionPolicy", "Bypass", "-File", "C:\\Users\\Public\\run me.ps1"]
    assert process["working_directory"] == "C:\\Users\\tran.b\\"
    assert process["hash"] == {
        "sha1": "6cbce4a295c163791b60fc23d285e6d84f28ee4c",
        "md5": "7353f60b1739074eb17c5f4dddefe239",
        "sha256": "de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c",
    }
    assert process["pe"] == {
        "imphash": "741776aaccfc5b71ff59832dcdcace0f",
        "original_file_name": "PowerShell.EXE",
        "company": "Microsoft Corporation",
        "description": "Windows PowerShell",
        "file_version": "10.0.19041.3996",
        "product": "Microsoft® Windows® Operating System",
    }
    assert process["parent"] == {
        "entity_id": "9C3A5F21-D1DF-673D-5904-000000002A00",
        "pid": 5512,
        "executable": "C:\\Windows\\System32\\cmd.exe",
        "name": "cmd.exe",
        "command_line": "cmd.exe /c start.bat",
        "args": ["cmd.exe", "/c", "start.bat"],
        "args_count": 3,
    }
    assert ev["user"] == {"domain": "CORP", "name": "tran.b"}
    assert ev["related"]["hash"][0] == "6cbce4a295c163791b60fc23d285e6d84f28ee4c"
    assert ev["winlog"]["event_data"]["Hashes"] == SYSMON_1["Hashes"]  # kept raw for Sigma
    assert ev["winlog"]["event_data"]["ProcessId"] == "6420"
    assert ev["winlog"]["task"] == "Process Create (rule: ProcessCreate)"
    assert "rule" not in ev  # RuleName stays in event_data: rule.* is Sontra's own detections
    assert ev["message"].startswith("Process Create:\nRuleName: technique_id=T1059.001")


def test_sysmon_3_network_connection() -> None:
    data = {
        "RuleName": "-",
        "UtcTime": "2026-11-20 08:16:02.441",
        "ProcessGuid": "9C3A5F21-D1E2-673D-5A04-000000002A00",
        "ProcessId": 6420,
        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "User": "CORP\\tran.b",
        "Protocol": "tcp",
        "Initiated": True,
        "SourceIsIpv6": False,
        "SourceIp": "10.10.5.23",
        "SourceHostname": "WS-042.corp.example",
        "SourcePort": 50712,
        "SourcePortName": "-",
        "DestinationIsIpv6": False,
        "DestinationIp": "198.51.100.77",
        "DestinationHostname": "-",
        "DestinationPort": 443,
        "DestinationPortName": "https",
    }
    ev = normalize_doc(evtx_record(SYSMON, 3, data, keywords="0x8000000000000000"))
    assert ev["event"]["action"] == "Network connection"
    assert ev["event"]["category"] == ["network"]
    assert ev["event"]["type"] == ["start", "connection", "protocol"]
    assert ev["source"] == {"ip": "10.10.5.23", "domain": "WS-042.corp.example", "port": 50712}
    assert ev["destination"] == {"ip": "198.51.100.77", "port": 443}
    assert ev["network"] == {"transport": "tcp", "protocol": "https", "direction": "egress", "type": "ipv4"}
    assert ev["related"]["ip"] == ["10.10.5.23", "198.51.100.77"]
    assert ev["process"]["name"] == "powershell.exe"
    assert ev["winlog"]["event_data"]["Initiated"] == "true"  # booleans kept as Winlogbeat writes them


STARTUP = "C:\\Users\\tran.b\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup"


def test_sysmon_11_file_create() -> None:
    data = {
        "RuleName": "-",
        "UtcTime": "2026-11-20 08:16:10.002",
        "ProcessGuid": "9C3A5F21-D1E2-673D-5A04-000000002A00",
        "ProcessId": 6420,
        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "TargetFilename": STARTUP + "\\upd.vbs",
        "CreationUtcTime": "2026-11-20 08:16:10.002",
        "User": "CORP\\tran.b",
    }
    ev = normalize_doc(evtx_record(SYSMON, 11, data))
    assert ev["event"]["action"] == "FileCreate"
    assert ev["event"]["category"] == ["file"] and ev["event"]["type"] == ["creation"]
    assert ev["file"] == {
        "path": data["TargetFilename"],
        "name": "upd.vbs",
        "directory": STARTUP,
        "extension": "vbs",
    }
    assert ev["process"]["executable"] == data["Image"]


@pytest.mark.parametrize(
    ("details", "strings", "kind"),
    [
        ("DWORD (0x00000001)", ["1"], "SZ_DWORD"),
        ("QWORD (0x00000001-0x00000002)", [str((1 << 32) + 2)], "SZ_QWORD"),
        ("C:\\Users\\Public\\evil.exe", ["C:\\Users\\Public\\evil.exe"], "REG_SZ"),
        ("Binary Data", ["Binary Data"], "REG_BINARY"),
    ],
)
def test_sysmon_13_registry_value_set(details: str, strings: list[str], kind: str) -> None:
    data = {
        "RuleName": "-",
        "EventType": "SetValue",
        "UtcTime": "2026-11-20 08:17:00.500",
        "ProcessGuid": "9C3A5F21-D1E2-673D-5A04-000000002A00",
        "ProcessId": 6420,
        "Image": "C:\\Windows\\System32\\reg.exe",
        "TargetObject": "HKU\\S-1-5-21-1-2-3-1013\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
        "Details": details,
        "User": "CORP\\tran.b",
    }
    ev = normalize_doc(evtx_record(SYSMON, 13, data))
    assert ev["event"]["action"] == "RegistryEvent (Value Set)"
    assert ev["event"]["category"] == ["configuration", "registry"]
    assert ev["registry"] == {
        "path": data["TargetObject"],
        "hive": "HKU",
        "key": "S-1-5-21-1-2-3-1013\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
        "value": "Updater",
        "data": {"strings": strings, "type": kind},
    }
    assert ev["winlog"]["event_data"]["Details"] == details  # raw, as Sigma rules match it


def test_sysmon_22_dns_query() -> None:
    data = {
        "RuleName": "-",
        "UtcTime": "2026-11-20 08:18:11.090",
        "ProcessGuid": "9C3A5F21-D1E2-673D-5A04-000000002A00",
        "ProcessId": 6420,
        "QueryName": "update.bad-domain.example",
        "QueryStatus": "0",
        "QueryResults": "type:  5 cdn.bad-domain.example;::ffff:198.51.100.77;2001:db8::7;",
        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "User": "CORP\\tran.b",
    }
    ev = normalize_doc(evtx_record(SYSMON, 22, data))
    assert ev["event"]["action"] == "DNSEvent (DNS query)"
    assert ev["dns"] == {
        "question": {"name": "update.bad-domain.example"},
        "answers": [
            {"type": "CNAME", "data": "cdn.bad-domain.example"},
            {"type": "A", "data": "198.51.100.77"},
            {"type": "AAAA", "data": "2001:db8::7"},
        ],
        "resolved_ip": ["198.51.100.77", "2001:db8::7"],
    }
    assert ev["network"]["protocol"] == "dns"
    assert ev["sysmon"]["dns"]["status"] == "SUCCESS"
    assert ev["related"]["hosts"] == ["update.bad-domain.example", "cdn.bad-domain.example"]


def test_sysmon_7_image_load_describes_the_loaded_file() -> None:
    data = {
        "RuleName": "-",
        "UtcTime": "2026-11-20 08:19:00.000",
        "ProcessGuid": "9C3A5F21-D1E2-673D-5A04-000000002A00",
        "ProcessId": 6420,
        "Image": "C:\\Users\\Public\\loader.exe",
        "ImageLoaded": "C:\\Windows\\System32\\dbghelp.dll",
        "FileVersion": "10.0.19041.1",
        "Description": "Windows Image Helper",
        "Product": "Microsoft® Windows® Operating System",
        "Company": "Microsoft Corporation",
        "OriginalFileName": "dbghelp.dll",
        "Hashes": "SHA256=" + "0" * 64 + ",MD5=ABCDEF0123456789ABCDEF0123456789",
        "Signed": True,
        "Signature": "Microsoft Windows",
        "SignatureStatus": "Valid",
        "User": "CORP\\tran.b",
    }
    ev = normalize_doc(evtx_record(SYSMON, 7, data))
    assert ev["file"]["path"] == "C:\\Windows\\System32\\dbghelp.dll"
    assert ev["file"]["hash"] == {"md5": "abcdef0123456789abcdef0123456789"}  # all-zero hashes are dropped
    assert ev["file"]["pe"]["original_file_name"] == "dbghelp.dll"
    assert ev["file"]["code_signature"] == {
        "subject_name": "Microsoft Windows",
        "status": "Valid",
        "signed": True,
        "valid": True,
    }
    assert "pe" not in ev["process"] and "hash" not in ev["process"]


def test_sysmon_10_process_access_acting_process_and_user() -> None:
    data = {
        "RuleName": "-",
        "UtcTime": "2026-11-20 08:20:00.000",
        "SourceProcessGUID": "9C3A5F21-0001-673D-0000-0000",
        "SourceProcessId": 7224,
        "SourceThreadId": 4144,
        "SourceImage": "C:\\Users\\Public\\procdump64.exe",
        "TargetProcessGUID": "9C3A5F21-0002-673D-0000-0000",
        "TargetProcessId": 688,
        "TargetImage": "C:\\Windows\\System32\\lsass.exe",
        "GrantedAccess": "0x1fffff",
        "CallTrace": "UNKNOWN",
        "SourceUser": "CORP\\tran.b",
        "TargetUser": "NT AUTHORITY\\SYSTEM",
    }
    ev = normalize_doc(evtx_record(SYSMON, 10, data))
    assert ev["process"] == {
        "entity_id": "9C3A5F21-0001-673D-0000-0000",
        "pid": 7224,
        "thread": {"id": 4144},
        "executable": "C:\\Users\\Public\\procdump64.exe",
        "name": "procdump64.exe",
    }
    assert ev["user"] == {"domain": "CORP", "name": "tran.b"}
    assert ev["winlog"]["event_data"]["TargetImage"] == "C:\\Windows\\System32\\lsass.exe"


@pytest.mark.parametrize("event_id", sorted(SYSMON_EVENTS))
def test_every_sysmon_event_id_is_categorised(event_id: int) -> None:
    data = {
        "RuleName": "-",
        "UtcTime": "2026-11-20 08:21:00.000",
        "ProcessId": 100,
        "Image": "C:\\a.exe",
        "User": "CORP\\svc",
    }
    ev = normalize_doc(evtx_record(SYSMON, event_id, data))
    spec = SYSMON_EVENTS[event_id]
    assert ev["event"]["action"] == spec.action
    assert ev["event"]["type"] == list(spec.type)
    assert ev["process"]["executable"] == "C:\\a.exe"
    assert ev["message"].startswith(spec.task.split(" (rule:")[0] + ":\n")
    assert set(range(1, 30)) <= set(SYSMON_EVENTS)


# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command_line", "args"),
    [
        (
            '"C:\\Program Files\\App\\app.exe" --config "C:\\a b\\c.ini"',
            ["C:\\Program Files\\App\\app.exe", "--config", "C:\\a b\\c.ini"],
        ),
        ("cmd.exe  /c\tdir", ["cmd.exe", "/c", "dir"]),
        ('a\\\\\\"b c', ['a\\"b', "c"]),  # 2n+1 backslashes before a quote: n backslashes and a literal quote
        ('a\\\\"b c" d', ["a\\b c", "d"]),  # 2n backslashes: n backslashes, the quote opens
        ('say "he said ""hi"""', ["say", 'he said "hi"']),
        ('x "" y', ["x", "", "y"]),
        ("C:\\dir\\ trailing\\", ["C:\\dir\\", "trailing\\"]),
        ("", []),
    ],
)
def test_command_line_args_follow_windows_rules(command_line: str, args: list[str]) -> None:
    assert command_line_args(command_line) == args


@given(st.text(alphabet='ab \t"\\', max_size=40))
def test_command_line_fast_paths_agree_with_the_full_rules(command_line: str) -> None:
    assert command_line_args(command_line) == split_with_escapes(command_line)
