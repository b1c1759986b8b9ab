"""The Security channel (Microsoft-Windows-Security-Auditing, and 1102 from the Eventlog provider).

Event categorisation, ``event.action`` names and the user/group/logon mapping follow Winlogbeat's
security module, so searches and dashboards written for Winlogbeat data work on Sontra's.
``winlog.event_data`` is kept whole; the ECS fields below are copies of what it says.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from normalizers.sources.windows.fields import add_related, lookup, put, put_command_line, put_executable
from normalizers.sources.windows.values import as_ip, as_long, as_port, present, without_realm


class SecurityEvent(NamedTuple):
    """How one Security event id is categorised, and the first line of its Windows message."""

    action: str
    category: tuple[str, ...]
    type: tuple[str, ...]
    title: str


_AUTH = ("authentication",)
_IAM = ("iam",)
_IAM_CONF = ("iam", "configuration")
_GROUP_CHANGE = ("group", "change")

EVENTS: dict[int, SecurityEvent] = {
    1100: SecurityEvent("logging-service-shutdown", ("process",), ("end",), "The event logging service has shut down."),
    1102: SecurityEvent("audit-log-cleared", _IAM, ("admin", "change"), "The audit log was cleared."),
    1104: SecurityEvent("logging-full", _IAM, ("admin",), "The security log is now full."),
    4616: SecurityEvent("system-time-changed", ("configuration",), ("change",), "The system time was changed."),
    4624: SecurityEvent("logged-in", _AUTH, ("start",), "An account was successfully logged on."),
    4625: SecurityEvent("logon-failed", _AUTH, ("start",), "An account failed to log on."),
    4634: SecurityEvent("logged-out", _AUTH, ("end",), "An account was logged off."),
    4647: SecurityEvent("logged-out", _AUTH, ("end",), "User initiated logoff."),
    4648: SecurityEvent("logged-in-explicit", _AUTH, ("start",), "A logon was attempted using explicit credentials."),
    4657: SecurityEvent("registry-value-modified", ("registry", "configuration"), ("change",),
                        "A registry value was modified."),
    4670: SecurityEvent("permissions-changed", _IAM_CONF, ("admin", "change"),
                        "Permissions on an object were changed."),
    4672: SecurityEvent("logged-in-special", _IAM, ("admin",), "Special privileges assigned to new logon."),
    4673: SecurityEvent("privileged-service-called", _IAM, ("admin",), "A privileged service was called."),
    4674: SecurityEvent("privileged-operation", _IAM, ("admin",), "An operation was attempted on a privileged object."),
    4688: SecurityEvent("created-process", ("process",), ("start",), "A new process has been created."),
    4689: SecurityEvent("exited-process", ("process",), ("end",), "A process has exited."),
    4697: SecurityEvent("service-installed", _IAM_CONF, ("admin", "change"), "A service was installed in the system."),
    4698: SecurityEvent("scheduled-task-created", _IAM_CONF, ("creation", "admin"), "A scheduled task was created."),
    4699: SecurityEvent("scheduled-task-deleted", _IAM_CONF, ("deletion", "admin"), "A scheduled task was deleted."),
    4700: SecurityEvent("scheduled-task-enabled", _IAM_CONF, ("change", "admin"), "A scheduled task was enabled."),
    4701: SecurityEvent("scheduled-task-disabled", _IAM_CONF, ("change", "admin"), "A scheduled task was disabled."),
    4702: SecurityEvent("scheduled-task-updated", _IAM_CONF, ("change", "admin"), "A scheduled task was updated."),
    4719: SecurityEvent("changed-audit-config", _IAM_CONF, ("admin", "change"), "System audit policy was changed."),
    4720: SecurityEvent("added-user-account", _IAM, ("user", "creation"), "A user account was created."),
    4722: SecurityEvent("enabled-user-account", _IAM, ("user", "change"), "A user account was enabled."),
    4723: SecurityEvent("changed-password", _IAM, ("user", "change"),
                        "An attempt was made to change an account's password."),
    4724: SecurityEvent("reset-password", _IAM, ("user", "change"),
                        "An attempt was made to reset an account's password."),
    4725: SecurityEvent("disabled-user-account", _IAM, ("user", "deletion"), "A user account was disabled."),
    4726: SecurityEvent("deleted-user-account", _IAM, ("user", "deletion"), "A user account was deleted."),
    4727: SecurityEvent("added-group-account", _IAM, ("group", "creation"),
                        "A security-enabled global group was created."),
    4728: SecurityEvent("added-member-to-group", _IAM, _GROUP_CHANGE,
                        "A member was added to a security-enabled global group."),
    4729: SecurityEvent("removed-member-from-group", _IAM, _GROUP_CHANGE,
                        "A member was removed from a security-enabled global group."),
    4730: SecurityEvent("deleted-group-account", _IAM, ("group", "deletion"),
                        "A security-enabled global group was deleted."),
    4731: SecurityEvent("added-group-account", _IAM, ("group", "creation"),
                        "A security-enabled local group was created."),
    4732: SecurityEvent("added-member-to-group", _IAM, _GROUP_CHANGE,
                        "A member was added to a security-enabled local group."),
    4733: SecurityEvent("removed-member-from-group", _IAM, _GROUP_CHANGE,
                        "A member was removed from a security-enabled local group."),
    4734: SecurityEvent("deleted-group-account", _IAM, ("group", "deletion"),
                        "A security-enabled local group was deleted."),
    4735: SecurityEvent("modified-group-account", _IAM, _GROUP_CHANGE, "A security-enabled local group was changed."),
    4737: SecurityEvent("modified-group-account", _IAM, _GROUP_CHANGE, "A security-enabled global group was changed."),
    4738: SecurityEvent("modified-user-account", _IAM, ("user", "change"), "A user account was changed."),
    4740: SecurityEvent("locked-out-user-account", _IAM, ("user", "change"), "A user account was locked out."),
    4741: SecurityEvent("added-computer-account", _IAM, ("creation", "admin"), "A computer account was created."),
    4742: SecurityEvent("changed-computer-account", _IAM, ("change", "admin"), "A computer account was changed."),
    4743: SecurityEvent("deleted-computer-account", _IAM, ("deletion", "admin"), "A computer account was deleted."),
    4754: SecurityEvent("added-group-account", _IAM, ("group", "creation"),
                        "A security-enabled universal group was created."),
    4755: SecurityEvent("modified-group-account", _IAM, _GROUP_CHANGE,
                        "A security-enabled universal group was changed."),
    4756: SecurityEvent("added-member-to-group", _IAM, _GROUP_CHANGE,
                        "A member was added to a security-enabled universal group."),
    4757: SecurityEvent("removed-member-from-group", _IAM, _GROUP_CHANGE,
                        "A member was removed from a security-enabled universal group."),
    4758: SecurityEvent("deleted-group-account", _IAM, ("group", "deletion"),
                        "A security-enabled universal group was deleted."),
    4767: SecurityEvent("unlocked-user-account", _IAM, ("user", "change"), "A user account was unlocked."),
    4768: SecurityEvent("kerberos-authentication-ticket-requested", _AUTH, ("start",),
                        "A Kerberos authentication ticket (TGT) was requested."),
    4769: SecurityEvent("kerberos-service-ticket-requested", _AUTH, ("start",),
                        "A Kerberos service ticket was requested."),
    4770: SecurityEvent("kerberos-service-ticket-renewed", _AUTH, ("start",), "A Kerberos service ticket was renewed."),
    4771: SecurityEvent("kerberos-preauth-failed", _AUTH, ("start",), "Kerberos pre-authentication failed."),
    4776: SecurityEvent("credential-validated", _AUTH, ("start",),
                        "The computer attempted to validate the credentials for an account."),
    4778: SecurityEvent("session-reconnected", ("authentication", "session"), ("start",),
                        "A session was reconnected to a Window Station."),
    4779: SecurityEvent("session-disconnected", ("authentication", "session"), ("end",),
                        "A session was disconnected from a Window Station."),
    4781: SecurityEvent("renamed-user-account", _IAM, ("user", "change"), "The name of an account was changed."),
    4798: SecurityEvent("group-membership-enumerated", _IAM, ("user", "info"),
                        "A user's local group membership was enumerated."),
    4799: SecurityEvent("user-member-enumerated", _IAM, ("group", "info"),
                        "A security-enabled local group membership was enumerated."),
    4964: SecurityEvent("logged-in-special", _IAM, ("admin", "group"),
                        "Special groups have been assigned to a new logon."),
}  # fmt: skip

LOGON_TYPES = {
    0: "System", 2: "Interactive", 3: "Network", 4: "Batch", 5: "Service", 7: "Unlock", 8: "NetworkCleartext",
    9: "NewCredentials", 10: "RemoteInteractive", 11: "CachedInteractive", 12: "CachedRemoteInteractive",
    13: "CachedUnlock",
}  # fmt: skip
# 4625 FailureReason message ids (%%2304 ...) as Windows renders them.
FAILURE_REASONS = {
    "2304": "An Error occured during Logon.", "2305": "The specified user account has expired.",
    "2306": "The NetLogon component is not active.", "2307": "Account locked out.",
    "2308": "The user has not been granted the requested logon type at this machine.",
    "2309": "The specified account's password has expired.", "2310": "Account currently disabled.",
    "2311": "Account logon time restriction violation.", "2312": "User not allowed to logon at this computer.",
    "2313": "Unknown user name or bad password.", "2314": "Domain sid inconsistent.",
    "2315": "Smartcard logon is required and was not used.",
}  # fmt: skip
# NTSTATUS codes in 4625/4776 Status and SubStatus, described in the SOC's words.
LOGON_STATUS = {
    "0x0": "success", "0xc000005e": "no logon servers available", "0xc0000064": "user name does not exist",
    "0xc000006a": "user name is correct but the password is wrong",
    "0xc000006d": "bad user name or authentication information", "0xc000006e": "account restriction",
    "0xc000006f": "logon outside authorized hours", "0xc0000070": "logon from unauthorized workstation",
    "0xc0000071": "password expired", "0xc0000072": "account disabled",
    "0xc00000dc": "SAM server in the wrong state", "0xc0000133": "clocks of DC and computer out of sync",
    "0xc000015b": "logon type not granted at this machine", "0xc000018c": "domain trust relationship failed",
    "0xc0000192": "Netlogon service not started", "0xc0000193": "account expired",
    "0xc0000224": "password must be changed at next logon", "0xc0000225": "Windows internal error (not a risk)",
    "0xc0000234": "account locked out", "0xc00002ee": "an error occurred during logon",
    "0xc0000371": "local account store has no secret for the account",
    "0xc0000413": "authentication firewall refused the account",
}  # fmt: skip
SERVICE_TYPES = {
    "0x1": "Kernel Driver", "0x2": "File System Driver", "0x8": "Recognizer Driver", "0x10": "Win32 Own Process",
    "0x20": "Win32 Share Process", "0x110": "Interactive Own Process", "0x120": "Interactive Share Process",
}  # fmt: skip

NULL_SID = "S-1-0-0"
_GROUP_EVENTS = frozenset({*range(4727, 4738), *range(4744, 4765), 4799}) - {4736}
_SUBJECT_IS_USER = frozenset(
    {4648, 4657, 4670, 4672, 4673, 4674, 4688, 4689, 4697, *range(4698, 4703), 4706, 4707, 4713, *range(4716, 4721),
     *range(4722, 4736), *range(4737, 4765), 4767, 4781, 4798, 4799, 4817, 4904, 4905, 4907, 4912}
)  # fmt: skip
_TARGET_IS_TARGET_USER = frozenset({4670, 4720, 4722, 4723, 4724, 4725, 4726, 4738, 4740, 4767, 4798, 4817, 4907})
_TARGET_IS_EFFECTIVE_USER = frozenset({4648, 4688})
_TARGET_IS_LOGON_USER = frozenset({4624, 4625, 4634, 4647, 4648, 4768, 4769, 4770, 4771, 4776, 4964})
# Events about one logon session: their TargetLogonId is that session (SubjectLogonId is its creator).
_SESSION_EVENTS = frozenset({4624, 4634, 4647, 4964})


def title(event_id: int) -> str | None:
    """The first line of the event's Windows message, for the synthesized ``message``."""
    spec = EVENTS.get(event_id)
    return spec.title if spec else None


def enrich(event: dict[str, Any], winlog: dict[str, Any], event_id: int) -> None:
    """Fill the ECS fields Winlogbeat's security module derives from a Security event."""
    data = winlog.get("event_data") or {}
    spec = EVENTS.get(event_id)
    if spec is not None:
        meta = event["event"]
        meta["action"] = spec.action
        meta["category"] = list(spec.category)
        meta["type"] = list(spec.type)
    _users(event, winlog, data, event_id)
    _logon(event, winlog, data, event_id)
    if event_id == 4688:
        _process_creation(event, data)
    else:
        _caller(event, data)
    if event_id in (4778, 4779):
        _session(event, data)
    service = present(data.get("ServiceName"))
    if service is not None:
        put(event, "service.name", service)
        service_type = present(data.get("ServiceType"))
        put(event, "service.type", SERVICE_TYPES.get(service_type.lower()) if service_type else None)


def _users(event: dict[str, Any], winlog: dict[str, Any], data: dict[str, Any], event_id: int) -> None:
    if event_id == 1102:
        subject = winlog.get("user_data") or {}
        _account(event, "user", subject.get("SubjectUserName"), subject.get("SubjectDomainName"),
                 subject.get("SubjectUserSid"))  # fmt: skip
    if event_id in _SUBJECT_IS_USER:
        _account(event, "user", data.get("SubjectUserName"), data.get("SubjectDomainName"), data.get("SubjectUserSid"))
    if event_id in _TARGET_IS_TARGET_USER:
        _account(event, "user.target", data.get("TargetUserName"), data.get("TargetDomainName"), data.get("TargetSid"))
    if event_id in _TARGET_IS_EFFECTIVE_USER:
        _account(event, "user.effective", data.get("TargetUserName"), data.get("TargetDomainName"),
                 data.get("TargetUserSid"))  # fmt: skip
    if event_id in _TARGET_IS_LOGON_USER:
        prefix = "user" if lookup(event, "user.name") is None else "user.target"
        _account(event, prefix, data.get("TargetUserName"), data.get("TargetDomainName"),
                 data.get("TargetUserSid") or data.get("TargetSid"))  # fmt: skip
    if event_id in _GROUP_EVENTS:
        _group(event, data)


def _account(event: dict[str, Any], prefix: str, name: Any, domain: Any, sid: Any) -> None:
    user_name = present(name)
    if user_name is not None:
        user_name = without_realm(user_name)
        put(event, f"{prefix}.name", user_name)
        add_related(event, "user", user_name)
    put(event, f"{prefix}.domain", present(domain))
    sid_text = present(sid)
    if sid_text != NULL_SID or user_name is not None:  # the NULL SID alone names nobody
        put(event, f"{prefix}.id", sid_text)


def _group(event: dict[str, Any], data: dict[str, Any]) -> None:
    """Group management: the group is the event's Target*, the member (if any) is ``user.target``."""
    put(event, "group.id", present(data.get("TargetSid")))
    put(event, "group.name", present(data.get("TargetUserName")))
    domain = present(data.get("TargetDomainName"))
    put(event, "group.domain", domain.replace("DC=", "").replace("dc=", "") if domain else None)
    member = present(data.get("MemberName"))
    if member is not None:
        # An LDAP distinguished name: CN=Jane Doe,OU=Staff,DC=corp,DC=example
        parts = [part.strip() for part in member.split(",")]
        name = parts[0][3:] if parts[0][:3].upper() == "CN=" else parts[0]
        if name:
            put(event, "user.target.name", name)
            add_related(event, "user", name)
        domain_part = next((p[3:] for p in parts[1:] if p[:3].upper() == "DC="), None)
        put(event, "user.target.domain", domain_part or None)
    put(event, "user.target.id", present(data.get("MemberSid")))


def _logon(event: dict[str, Any], winlog: dict[str, Any], data: dict[str, Any], event_id: int) -> None:
    logon_type = as_long(data.get("LogonType"))
    if logon_type in LOGON_TYPES:
        put(event, "winlog.logon.type", LOGON_TYPES[logon_type])
    logon_id = present(data.get("TargetLogonId")) if event_id in _SESSION_EVENTS else None
    if logon_id is None:
        logon_id = present(data.get("SubjectLogonId")) or present(data.get("LogonID"))
    if logon_id is None and event_id == 1102:
        logon_id = present((winlog.get("user_data") or {}).get("SubjectLogonId"))
    put(event, "winlog.logon.id", logon_id)
    if event_id not in (4625, 4776):
        return
    reason = present(data.get("FailureReason"))
    if reason is not None:
        put(event, "winlog.logon.failure.reason", FAILURE_REASONS.get(reason.replace("%%", "").strip()))
    status = present(data.get("Status"))
    put(event, "winlog.logon.failure.status", LOGON_STATUS.get(status.lower()) if status else None)
    sub_status = present(data.get("SubStatus"))
    put(event, "winlog.logon.failure.sub_status", LOGON_STATUS.get(sub_status.lower()) if sub_status else None)


def _caller(event: dict[str, Any], data: dict[str, Any]) -> None:
    """The process and network peer an event names (ProcessId/ProcessName, IpAddress/IpPort)."""
    put(event, "process.pid", as_long(data.get("ProcessId")))
    put_executable(event, "process", present(data.get("ProcessName")))
    address = as_ip(data.get("IpAddress"))
    if address is not None:
        put(event, "source.ip", address)
        add_related(event, "ip", address)
    put(event, "source.port", as_port(data.get("IpPort")))
    put(event, "source.domain", present(data.get("WorkstationName")))


def _process_creation(event: dict[str, Any], data: dict[str, Any]) -> None:
    """4688: the new process, its parent (ProcessId is the creator's pid) and its command line."""
    put(event, "process.pid", as_long(data.get("NewProcessId")))
    put_executable(event, "process", present(data.get("NewProcessName")))
    put(event, "process.parent.pid", as_long(data.get("ProcessId")))
    put_executable(event, "process.parent", present(data.get("ParentProcessName")))
    put_command_line(event, "process", present(data.get("CommandLine")))


def _session(event: dict[str, Any], data: dict[str, Any]) -> None:
    """4778/4779 (RDP and console sessions): account, client address and client name."""
    _account(event, "user", data.get("AccountName"), data.get("AccountDomain"), None)
    client = present(data.get("ClientAddress"))
    address = "127.0.0.1" if client == "LOCAL" else as_ip(client)
    if address is not None:
        put(event, "source.ip", address)
        add_related(event, "ip", address)
    put(event, "source.domain", present(data.get("ClientName")))
