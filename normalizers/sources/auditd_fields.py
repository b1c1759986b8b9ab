"""The ECS fields of one audit event, built from its parsed records (see ``normalizers.sources.auditd``)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from normalizers.sources.auditd_vocabulary import (
    APPARMOR_ACTION,
    ARCHES,
    GROUP_TYPES,
    IAM_TYPES,
    RECORD_ACTIONS,
    SYSCALL_ACTIONS,
    SYSCALL_FALLBACK,
    SYSCALLS,
    Classification,
)
from normalizers.sources.network_values import is_ip

if TYPE_CHECKING:
    from normalizers.sources.auditd import AuditRecord

_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def decode_hex_text(value: str) -> str:
    """Text that auditd hex-encoded; invalid UTF-8 stays visible as ``\\xNN`` escapes."""
    return bytes.fromhex(value).decode("utf-8", "backslashreplace")


_UNSET_IDS = frozenset({"4294967295", "-1", "unset"})
_EMPTY = frozenset({"", "?", "(null)", "(none)"})
_SUCCESS = frozenset({"yes", "success", "1"})
_FAILURE = frozenset({"no", "failed", "fail", "0"})
# Record types whose acct/id fields name the account logging in, not the daemon that wrote them.
_LOGIN_TYPES = frozenset({"USER_AUTH", "USER_ACCT", "USER_LOGIN", "USER_LOGOUT", "USER_START", "USER_END",
                          "USER_ERR", "CRED_ACQ", "CRED_DISP", "CRED_REFR", "GRP_AUTH"})  # fmt: skip
_INBOUND_CALLS = frozenset({"accept", "accept4", "recvfrom", "bind", "listen"})
_EXEC_CALLS = frozenset({"execve", "execveat"})


def record_event_fields(records: Sequence[AuditRecord], max_args: int) -> dict[str, Any]:
    """ECS fields (no envelope) for the records of one audit event; EOE records are ignored."""
    parts = [r for r in records if r.type != "EOE"] or list(records[:1])
    if not parts:
        return {}
    by_type: dict[str, list[AuditRecord]] = {}
    for record in parts:
        by_type.setdefault(record.type, []).append(record)
    primary = by_type["SYSCALL"][0] if "SYSCALL" in by_type else parts[0]
    fields = primary.fields
    data = {key: value for key, value in fields.items() if key != "msg" and value not in _EMPTY}
    auditd: dict[str, Any] = {"message_type": primary.type, "data": data}
    if primary.serial is not None:
        auditd["sequence"] = primary.serial
    auditd["record_types"] = list(by_type)
    if primary.node:
        auditd["node"] = primary.node
    out: dict[str, Any] = {"auditd": auditd}
    stamp = primary.timestamp
    if stamp is not None:
        out["@timestamp"] = stamp
    keys = _rule_keys(fields.get("key"))
    if keys:
        auditd["key"] = keys[0] if len(keys) == 1 else keys
    outcome = _outcome(fields)
    if outcome is not None:
        auditd["result"] = "success" if outcome == "success" else "fail"

    process = _process(primary, by_type, max_args, auditd)
    if process:
        out["process"] = process
    _users(out, primary)
    syscall = ""
    if primary.type == "SYSCALL":
        syscall = _syscall_name(primary, data)
        classification = SYSCALL_ACTIONS.get(syscall, SYSCALL_FALLBACK)
    else:
        classification = _record_classification(primary)
        _account(out, primary)
        _remote(out, fields)
        name = fields.get("name")
        if primary.type == "AVC" and isinstance(name, str) and name.startswith("/"):
            out["file"] = {"path": name, "name": name.rsplit("/", 1)[-1]}
    _paths(out, by_type, auditd, syscall)
    _socket(out, by_type, syscall)
    action, categories, types = classification
    meta: dict[str, Any] = {"action": action, "category": list(categories), "type": list(types)}
    if outcome is not None:
        meta["outcome"] = outcome
    out["event"] = meta
    return out


def _rule_keys(value: Any) -> list[str]:
    """Audit rule keys: several are joined by 0x01 (and then hex-encoded, already decoded here)."""
    if not isinstance(value, str) or value in _EMPTY:
        return []
    return [key for key in value.split("\x01") if key]


def _outcome(fields: dict[str, Any]) -> str | None:
    for key in ("success", "res", "result"):
        value = fields.get(key)
        if isinstance(value, str):
            lowered = value.lower()
            if lowered in _SUCCESS:
                return "success"
            if lowered in _FAILURE:
                return "failure"
    return None


def _syscall_name(record: AuditRecord, data: dict[str, Any]) -> str:
    """The syscall's name: from ENRICHED ``SYSCALL=``, else from the number for the record's arch."""
    arch = ARCHES.get(str(data.get("arch", "")).lower())
    if arch is not None:
        data["arch"] = arch
    name = record.enriched.get("SYSCALL")
    number = str(data.get("syscall", ""))
    if not name and number.isdigit() and arch in SYSCALLS:
        name = SYSCALLS[arch].get(int(number))
    if name:
        data["syscall"] = name
        return name
    return number


def _process(
    primary: AuditRecord, by_type: dict[str, list[AuditRecord]], max_args: int, auditd: dict[str, Any]
) -> dict[str, Any]:
    fields = primary.fields
    process: dict[str, Any] = {}
    pid, ppid = fields.get("pid"), fields.get("ppid")
    if isinstance(pid, str) and pid.isdigit() and len(pid) <= 18:
        process["pid"] = int(pid)
    if isinstance(ppid, str) and ppid.isdigit() and len(ppid) <= 18:
        process["parent"] = {"pid": int(ppid)}
    for key, target in (("comm", "name"), ("exe", "executable")):
        value = fields.get(key)
        if isinstance(value, str) and value not in _EMPTY:
            process[target] = value
    if "name" not in process and "executable" in process:
        process["name"] = process["executable"].rsplit("/", 1)[-1]
    args = _execve_args(by_type.get("EXECVE", ()), max_args)
    if args is not None:
        auditd["execve"] = {"argc": len(args)} | {f"a{i}": arg for i, arg in enumerate(args)}
        process["args"] = args
        process["args_count"] = len(args)
        process["command_line"] = " ".join(args)
    cwd = by_type.get("CWD")
    if cwd and isinstance(cwd[0].fields.get("cwd"), str):
        process["working_directory"] = cwd[0].fields["cwd"]
    elif primary.type != "SYSCALL" and isinstance(fields.get("cwd"), str):
        process["working_directory"] = fields["cwd"]
    title = by_type.get("PROCTITLE")
    if title and isinstance(title[0].fields.get("proctitle"), str):
        process["title"] = title[0].fields["proctitle"]
    return process


def _execve_args(records: Sequence[AuditRecord], max_args: int) -> list[str] | None:
    """Arguments from EXECVE records; long ones come split as ``a1_len=N a1[0]=.. a1[1]=..``."""
    if not records:
        return None
    merged: dict[str, Any] = {}
    for record in records:
        merged.update(record.fields)
    argc_text = str(merged.get("argc", ""))
    argc = int(argc_text) if argc_text.isdigit() and len(argc_text) <= 6 else 0
    args: list[str] = []
    for i in range(min(argc, max_args)):
        value = merged.get(f"a{i}")
        if value is None:
            pieces = []
            chunk = 0
            while (piece := merged.get(f"a{i}[{chunk}]")) is not None:
                pieces.append(piece)
                chunk += 1
            if not pieces:
                break
            # Chunks are hex; decode them joined so a character split across two stays whole.
            joined = "".join(pieces)
            value = decode_hex_text(joined) if _HEX.fullmatch(joined) else joined.strip('"')
        args.append(value)
    return args


def _users(out: dict[str, Any], record: AuditRecord) -> None:
    """uid/euid/gid (and their ENRICHED names) as the acting user; auid as ``user.audit``."""
    fields, names = record.fields, record.enriched
    user: dict[str, Any] = {}
    login_record = record.type in _LOGIN_TYPES
    if not login_record or not (fields.get("acct") or fields.get("id")):
        _id_and_name(user, fields.get("uid"), names.get("UID"))
    effective: dict[str, Any] = {}
    _id_and_name(effective, fields.get("euid"), names.get("EUID"))
    if effective:
        user["effective"] = effective
    audit: dict[str, Any] = {}
    _id_and_name(audit, fields.get("auid"), names.get("AUID"))
    if audit:
        user["audit"] = audit
    if login_record:
        account = fields.get("acct")
        if isinstance(account, str) and account not in _EMPTY:
            user["name"] = account
        account_id = fields.get("id")
        if isinstance(account_id, str) and account_id.isdigit():
            user["id"] = account_id
    if user:
        out["user"] = user
    group: dict[str, Any] = {}
    _id_and_name(group, fields.get("gid"), names.get("GID"))
    if group:
        out["group"] = group


def _id_and_name(node: dict[str, Any], uid: Any, name: str | None) -> None:
    if isinstance(uid, str) and uid not in _UNSET_IDS and uid.lstrip("-").isdigit():
        node["id"] = uid
        if name and name not in _EMPTY and name != "unset":
            node["name"] = name


def _account(out: dict[str, Any], record: AuditRecord) -> None:
    """For account-management records, the account acted upon: ``user.target.*`` or ``group.*``."""
    if record.type not in IAM_TYPES:
        return
    fields = record.fields
    name = fields.get("acct")
    name = name if isinstance(name, str) and name not in _EMPTY else None
    ident = fields.get("id")
    ident = ident if isinstance(ident, str) and ident.isdigit() else None
    if not name and not ident:
        return
    target = ({"name": name} if name else {}) | ({"id": ident} if ident else {})
    if record.type in GROUP_TYPES:
        out["group"] = target
    else:
        out.setdefault("user", {})["target"] = target


def _remote(out: dict[str, Any], fields: dict[str, Any]) -> None:
    """``addr``/``hostname`` of user-space records: where a login or authentication came from."""
    address = fields.get("addr")
    hostname = fields.get("hostname")
    source: dict[str, Any] = {}
    if isinstance(address, str) and address not in _EMPTY:
        source["address"] = address
        if is_ip(address):
            source["ip"] = address
    if isinstance(hostname, str) and hostname not in _EMPTY and hostname != address and not is_ip(hostname):
        source["domain"] = hostname
    if source:
        out["source"] = source


def _record_classification(record: AuditRecord) -> Classification:
    if record.type == "AVC" and "apparmor" in record.fields:
        verdict = str(record.fields["apparmor"]).upper()
        if verdict == "DENIED":
            return APPARMOR_ACTION
        if verdict == "ALLOWED":
            return APPARMOR_ACTION[0], APPARMOR_ACTION[1], ("allowed",)
        return f"apparmor-{verdict.lower()}", ("configuration",), ("info",)
    if record.type == "AVC" and record.fields.get("seresult") == "granted":
        action, categories, _ = RECORD_ACTIONS["AVC"]
        return action, categories, ("allowed",)
    known = RECORD_ACTIONS.get(record.type)
    if known is not None:
        return known
    return record.type.lower(), ("host",), ("info",)


def _paths(out: dict[str, Any], by_type: dict[str, list[AuditRecord]], auditd: dict[str, Any], syscall: str) -> None:
    """PATH records in item order as ``auditd.paths``; the object the call acted on as ``file.*``."""
    records = by_type.get("PATH")
    if not records:
        return
    paths = sorted(
        ({k: v for k, v in r.fields.items() if v not in _EMPTY} for r in records),
        key=lambda p: int(p["item"]) if str(p.get("item", "")).isdigit() else 0,
    )
    auditd["paths"] = paths
    if syscall in _EXEC_CALLS:
        return
    chosen = None
    for path in paths:
        if path.get("nametype") != "PARENT" and isinstance(path.get("name"), str):
            chosen = path
    if chosen is None:
        return
    name: str = chosen["name"]
    cwd = by_type.get("CWD")
    if not name.startswith("/") and cwd and isinstance(cwd[0].fields.get("cwd"), str):
        name = cwd[0].fields["cwd"].rstrip("/") + "/" + name
    file: dict[str, Any] = {"path": name, "name": name.rsplit("/", 1)[-1]}
    for key, target in (("inode", "inode"), ("mode", "mode"), ("ouid", "uid"), ("ogid", "gid")):
        if isinstance(chosen.get(key), str):
            file[target] = chosen[key]
    out["file"] = file


def _socket(out: dict[str, Any], by_type: dict[str, list[AuditRecord]], syscall: str) -> None:
    """The SOCKADDR record's address: the peer of connect/sendto, the local or peer end of accept/bind."""
    records = by_type.get("SOCKADDR")
    if not records:
        return
    endpoint = _sockaddr(records[0])
    if endpoint:
        out["source" if syscall in _INBOUND_CALLS else "destination"] = endpoint


def _sockaddr(record: AuditRecord) -> dict[str, Any] | None:
    """Decode ``saddr`` (a raw struct sockaddr in hex) for AF_INET, AF_INET6 and AF_UNIX."""
    saddr = record.fields.get("saddr")
    if not isinstance(saddr, str) or len(saddr) < 4 or len(saddr) > 512:
        return None
    try:
        raw = bytes.fromhex(saddr)
    except ValueError:
        return None
    family = int.from_bytes(raw[0:2], "little")  # sa_family is in host order (little-endian on x86/arm)
    if family == 2 and len(raw) >= 8:
        address = str(ipaddress.IPv4Address(raw[4:8]))
        return {"address": address, "ip": address, "port": int.from_bytes(raw[2:4], "big")}
    if family == 10 and len(raw) >= 24:
        address = str(ipaddress.IPv6Address(raw[8:24]))
        return {"address": address, "ip": address, "port": int.from_bytes(raw[2:4], "big")}
    if family == 1:
        path = raw[2:]
        abstract = path[:1] == b"\x00"  # Linux abstract sockets start with NUL; shown as "@name"
        name = (path[1:] if abstract else path).split(b"\x00", 1)[0].decode("utf-8", "backslashreplace")
        text = "@" + name if abstract else name
        return {"address": text} if name else None
    return None
