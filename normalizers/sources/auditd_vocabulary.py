"""What Linux audit records mean: record type numbers, syscall names, and the ``event.action`` each maps to.

The actions are Auditbeat's verbs ("executed", "logged-in", "added-user-account") so that rules
and habits from Auditbeat carry over; a record type without a verb falls back to its own name in
lower case (``netfilter_cfg``), as Filebeat's auditd module does.
"""

from __future__ import annotations

# Record type numbers as the kernel prints them when auditd is not running ("audit: type=1400 ...").
RECORD_TYPES: dict[str, str] = {
    "1100": "USER_AUTH", "1101": "USER_ACCT", "1102": "USER_MGMT", "1103": "CRED_ACQ", "1104": "CRED_DISP",
    "1105": "USER_START", "1106": "USER_END", "1107": "USER_AVC", "1108": "USER_CHAUTHTOK", "1109": "USER_ERR",
    "1110": "CRED_REFR", "1111": "USYS_CONFIG", "1112": "USER_LOGIN", "1113": "USER_LOGOUT", "1114": "ADD_USER",
    "1115": "DEL_USER", "1116": "ADD_GROUP", "1117": "DEL_GROUP", "1123": "USER_CMD", "1124": "USER_TTY",
    "1125": "CHUSER_ID", "1126": "GRP_AUTH", "1127": "SYSTEM_BOOT", "1128": "SYSTEM_SHUTDOWN",
    "1129": "SYSTEM_RUNLEVEL", "1130": "SERVICE_START", "1131": "SERVICE_STOP", "1132": "GRP_MGMT",
    "1133": "GRP_CHAUTHTOK", "1135": "ACCT_LOCK", "1136": "ACCT_UNLOCK", "1137": "USER_DEVICE",
    "1138": "SOFTWARE_UPDATE",
    "1200": "DAEMON_START", "1201": "DAEMON_END", "1202": "DAEMON_ABORT", "1203": "DAEMON_CONFIG",
    "1204": "DAEMON_RECONFIG", "1205": "DAEMON_ROTATE", "1206": "DAEMON_RESUME", "1209": "DAEMON_ERR",
    "1300": "SYSCALL", "1302": "PATH", "1303": "IPC", "1304": "SOCKETCALL", "1305": "CONFIG_CHANGE",
    "1306": "SOCKADDR", "1307": "CWD", "1309": "EXECVE", "1317": "FD_PAIR", "1318": "OBJ_PID", "1319": "TTY",
    "1320": "EOE", "1321": "BPRM_FCAPS", "1322": "CAPSET", "1323": "MMAP", "1324": "NETFILTER_PKT",
    "1325": "NETFILTER_CFG", "1326": "SECCOMP", "1327": "PROCTITLE", "1328": "FEATURE_CHANGE",
    "1329": "REPLACE", "1330": "KERN_MODULE", "1331": "FANOTIFY", "1334": "BPF",
    "1400": "AVC", "1401": "SELINUX_ERR", "1403": "MAC_POLICY_LOAD", "1404": "MAC_STATUS",
    "1405": "MAC_CONFIG_CHANGE",
    "1700": "ANOM_PROMISCUOUS", "1701": "ANOM_ABEND", "1702": "ANOM_LINK",
    "2300": "USER_ROLE_CHANGE",
}  # fmt: skip

# Records the kernel writes as part of a syscall event: several share one serial and end with EOE.
SYSCALL_PARTS = frozenset({
    "SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE", "SOCKADDR", "FD_PAIR", "OBJ_PID", "BPRM_FCAPS", "CAPSET",
    "MMAP", "IPC", "SOCKETCALL", "MQ_OPEN", "MQ_SENDRECV", "MQ_NOTIFY", "MQ_GETSETATTR", "NETFILTER_CFG",
    "KERN_MODULE", "CONFIG_CHANGE", "AVC", "SELINUX_ERR", "SECCOMP", "ANOM_LINK", "TTY", "BPF", "OPENAT2",
    "TIME_INJOFFSET", "TIME_ADJNTPVAL", "URINGOP", "FANOTIFY", "LOGIN", "EOE",
})  # fmt: skip

ARCHES = {"c000003e": "x86_64", "c00000b7": "aarch64", "40000003": "i386", "40000028": "arm",
          "c0000015": "ppc64", "c0000016": "s390x", "c00000f3": "riscv64"}  # fmt: skip

_X86_64 = {
    0: "read", 1: "write", 2: "open", 3: "close", 9: "mmap", 10: "mprotect", 16: "ioctl", 21: "access",
    32: "dup", 33: "dup2", 41: "socket", 42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom",
    46: "sendmsg", 47: "recvmsg", 49: "bind", 50: "listen", 56: "clone", 57: "fork", 58: "vfork", 59: "execve",
    60: "exit", 62: "kill", 63: "uname", 76: "truncate", 77: "ftruncate", 80: "chdir", 82: "rename",
    83: "mkdir", 84: "rmdir", 85: "creat", 86: "link", 87: "unlink", 88: "symlink", 89: "readlink",
    90: "chmod", 91: "fchmod", 92: "chown", 93: "fchown", 94: "lchown", 101: "ptrace", 103: "syslog",
    105: "setuid", 106: "setgid", 113: "setreuid", 114: "setregid", 117: "setresuid", 119: "setresgid",
    133: "mknod", 135: "personality", 155: "pivot_root", 157: "prctl", 161: "chroot", 164: "settimeofday",
    165: "mount", 166: "umount2", 169: "reboot", 170: "sethostname", 175: "init_module", 176: "delete_module",
    188: "setxattr", 189: "lsetxattr", 190: "fsetxattr", 197: "removexattr", 200: "tkill",
    227: "clock_settime", 234: "tgkill", 246: "kexec_load", 257: "openat", 258: "mkdirat", 259: "mknodat",
    260: "fchownat", 263: "unlinkat", 264: "renameat", 265: "linkat", 266: "symlinkat", 268: "fchmodat",
    272: "unshare", 288: "accept4", 298: "perf_event_open", 304: "open_by_handle_at", 308: "setns",
    310: "process_vm_readv", 311: "process_vm_writev", 313: "finit_module", 316: "renameat2",
    319: "memfd_create", 320: "kexec_file_load", 321: "bpf", 322: "execveat", 425: "io_uring_setup",
    435: "clone3", 437: "openat2", 452: "fchmodat2",
}  # fmt: skip
# aarch64 and riscv64 use the kernel's generic table (asm-generic/unistd.h).
_GENERIC = {
    5: "setxattr", 6: "lsetxattr", 7: "fsetxattr", 14: "removexattr", 29: "ioctl", 33: "mknodat", 34: "mkdirat",
    35: "unlinkat", 36: "symlinkat", 37: "linkat", 38: "renameat", 39: "umount2", 40: "mount", 41: "pivot_root",
    45: "truncate", 46: "ftruncate", 49: "chdir", 51: "chroot", 52: "fchmod", 53: "fchmodat", 54: "fchownat",
    55: "fchown", 56: "openat", 57: "close", 63: "read", 64: "write", 92: "personality", 97: "unshare",
    104: "kexec_load", 105: "init_module", 106: "delete_module", 112: "clock_settime", 116: "syslog",
    117: "ptrace", 129: "kill", 130: "tkill", 131: "tgkill", 142: "reboot", 143: "setregid", 144: "setgid",
    145: "setreuid", 146: "setuid", 147: "setresuid", 149: "setresgid", 160: "uname", 161: "sethostname",
    167: "prctl", 170: "settimeofday", 198: "socket", 200: "bind", 201: "listen", 202: "accept",
    203: "connect", 206: "sendto", 207: "recvfrom", 220: "clone", 221: "execve", 241: "perf_event_open",
    242: "accept4", 265: "open_by_handle_at", 268: "setns", 270: "process_vm_readv", 271: "process_vm_writev",
    273: "finit_module", 276: "renameat2", 279: "memfd_create", 280: "bpf", 281: "execveat",
    294: "kexec_file_load", 425: "io_uring_setup", 435: "clone3", 437: "openat2", 452: "fchmodat2",
}  # fmt: skip
SYSCALLS: dict[str, dict[int, str]] = {"x86_64": _X86_64, "aarch64": _GENERIC, "riscv64": _GENERIC}

Classification = tuple[str, tuple[str, ...], tuple[str, ...]]  # action, categories, types

_EXEC: Classification = ("executed", ("process",), ("start",))
_FILE_OPEN: Classification = ("opened-file", ("file",), ("access",))
_FILE_DELETE: Classification = ("deleted", ("file",), ("deletion",))
_FILE_RENAME: Classification = ("renamed", ("file",), ("change",))
_FILE_CREATE: Classification = ("created-directory", ("file",), ("creation",))
_FILE_LINK: Classification = ("created-link", ("file",), ("creation",))
_FILE_MODE: Classification = ("changed-file-permissions-of", ("file",), ("change",))
_FILE_OWNER: Classification = ("changed-file-ownership-of", ("file",), ("change",))
_FILE_ATTR: Classification = ("changed-file-attributes-of", ("file",), ("change",))
_FILE_TRUNC: Classification = ("truncated", ("file",), ("change",))
_IDENTITY: Classification = ("changed-identity-of", ("process",), ("change",))
_SIGNAL: Classification = ("killed-pid", ("process",), ("end",))
_MODULE_LOAD: Classification = ("loaded-kernel-module", ("driver",), ("start",))
SYSCALL_ACTIONS: dict[str, Classification] = {
    "execve": _EXEC, "execveat": _EXEC,
    "open": _FILE_OPEN, "openat": _FILE_OPEN, "openat2": _FILE_OPEN, "open_by_handle_at": _FILE_OPEN,
    "creat": ("created", ("file",), ("creation",)),
    "unlink": _FILE_DELETE, "unlinkat": _FILE_DELETE, "rmdir": _FILE_DELETE,
    "rename": _FILE_RENAME, "renameat": _FILE_RENAME, "renameat2": _FILE_RENAME,
    "mkdir": _FILE_CREATE, "mkdirat": _FILE_CREATE,
    "link": _FILE_LINK, "linkat": _FILE_LINK, "symlink": _FILE_LINK, "symlinkat": _FILE_LINK,
    "mknod": ("created-special-file", ("file",), ("creation",)),
    "mknodat": ("created-special-file", ("file",), ("creation",)),
    "chmod": _FILE_MODE, "fchmod": _FILE_MODE, "fchmodat": _FILE_MODE, "fchmodat2": _FILE_MODE,
    "chown": _FILE_OWNER, "fchown": _FILE_OWNER, "lchown": _FILE_OWNER, "fchownat": _FILE_OWNER,
    "setxattr": _FILE_ATTR, "lsetxattr": _FILE_ATTR, "fsetxattr": _FILE_ATTR, "removexattr": _FILE_ATTR,
    "truncate": _FILE_TRUNC, "ftruncate": _FILE_TRUNC,
    "connect": ("connected-to", ("network",), ("connection", "start")),
    "accept": ("accepted-connection-from", ("network",), ("connection", "start")),
    "accept4": ("accepted-connection-from", ("network",), ("connection", "start")),
    "bind": ("bound-socket", ("network",), ("start",)),
    "listen": ("listen-for-connections", ("network",), ("start",)),
    "sendto": ("sent-to", ("network",), ("connection",)),
    "recvfrom": ("received-from", ("network",), ("connection",)),
    "setuid": _IDENTITY, "setgid": _IDENTITY, "setreuid": _IDENTITY, "setregid": _IDENTITY,
    "setresuid": _IDENTITY, "setresgid": _IDENTITY,
    "kill": _SIGNAL, "tkill": _SIGNAL, "tgkill": _SIGNAL,
    "ptrace": ("traced", ("process",), ("access",)),
    "process_vm_readv": ("read-memory-of", ("process",), ("access",)),
    "process_vm_writev": ("wrote-memory-of", ("process",), ("change",)),
    "init_module": _MODULE_LOAD, "finit_module": _MODULE_LOAD,
    "delete_module": ("unloaded-kernel-module", ("driver",), ("end",)),
    "mount": ("mounted", ("file",), ("change",)),
    "umount2": ("unmounted", ("file",), ("change",)),
    "memfd_create": ("created-memory-file", ("process",), ("info",)),
    "bpf": ("loaded-bpf-program", ("process",), ("change",)),
    "syslog": ("read-or-cleared-kernel-log", ("host",), ("change",)),
    "sethostname": ("changed-hostname", ("host",), ("change",)),
    "settimeofday": ("changed-system-time", ("host",), ("change",)),
    "clock_settime": ("changed-system-time", ("host",), ("change",)),
    "reboot": ("rebooted-system", ("host",), ("end",)),
    "kexec_load": ("loaded-kernel", ("host",), ("change",)),
    "kexec_file_load": ("loaded-kernel", ("host",), ("change",)),
    "chroot": ("changed-root-directory", ("process",), ("change",)),
    "pivot_root": ("changed-root-directory", ("process",), ("change",)),
    "unshare": ("changed-namespace", ("process",), ("change",)),
    "setns": ("changed-namespace", ("process",), ("change",)),
    "personality": ("changed-personality", ("process",), ("change",)),
    "clone": ("forked", ("process",), ("start",)), "clone3": ("forked", ("process",), ("start",)),
    "fork": ("forked", ("process",), ("start",)), "vfork": ("forked", ("process",), ("start",)),
}  # fmt: skip
SYSCALL_FALLBACK: Classification = ("called-syscall", ("process",), ("info",))

_AUTH: tuple[tuple[str, ...], tuple[str, ...]] = (("authentication",), ("info",))
RECORD_ACTIONS: dict[str, Classification] = {
    "USER_AUTH": ("authenticated", *_AUTH),
    "USER_ACCT": ("was-authorized", *_AUTH),
    "USER_LOGIN": ("logged-in", ("authentication", "session"), ("start",)),
    "USER_LOGOUT": ("logged-out", ("authentication", "session"), ("end",)),
    "USER_START": ("started-session", ("session",), ("start",)),
    "USER_END": ("ended-session", ("session",), ("end",)),
    "USER_ERR": ("error", *_AUTH),
    "CRED_ACQ": ("acquired-credentials", *_AUTH),
    "CRED_DISP": ("disposed-credentials", *_AUTH),
    "CRED_REFR": ("refreshed-credentials", *_AUTH),
    "GRP_AUTH": ("authenticated-to-group", *_AUTH),
    "USER_CMD": ("ran-command", ("process",), ("start",)),
    "USER_TTY": ("typed", ("process",), ("info",)),
    "TTY": ("typed", ("process",), ("info",)),
    "USER_CHAUTHTOK": ("changed-password", ("iam",), ("user", "change")),
    "GRP_CHAUTHTOK": ("changed-group-password", ("iam",), ("group", "change")),
    "USER_MGMT": ("modified-user-account", ("iam",), ("user", "change")),
    "GRP_MGMT": ("modified-group-account", ("iam",), ("group", "change")),
    "ADD_USER": ("added-user-account", ("iam",), ("user", "creation")),
    "DEL_USER": ("deleted-user-account", ("iam",), ("user", "deletion")),
    "ADD_GROUP": ("added-group-account", ("iam",), ("group", "creation")),
    "DEL_GROUP": ("deleted-group-account", ("iam",), ("group", "deletion")),
    "ACCT_LOCK": ("locked-account", ("iam",), ("user", "change")),
    "ACCT_UNLOCK": ("unlocked-account", ("iam",), ("user", "change")),
    "CHUSER_ID": ("changed-user-id", ("iam",), ("user", "change")),
    "USER_ROLE_CHANGE": ("changed-role-to", ("iam",), ("user", "change")),
    "LOGIN": ("changed-login-id-to", *_AUTH),
    "SERVICE_START": ("started-service", ("process",), ("start",)),
    "SERVICE_STOP": ("stopped-service", ("process",), ("end",)),
    "SYSTEM_BOOT": ("booted-system", ("host",), ("start",)),
    "SYSTEM_SHUTDOWN": ("shutdown-system", ("host",), ("end",)),
    "SYSTEM_RUNLEVEL": ("changed-to-runlevel", ("host",), ("change",)),
    "DAEMON_START": ("started-audit", ("process",), ("start",)),
    "DAEMON_END": ("stopped-audit", ("process",), ("end",)),
    "DAEMON_ABORT": ("aborted-audit", ("process",), ("end",)),
    "CONFIG_CHANGE": ("changed-audit-configuration", ("configuration",), ("change",)),
    "USYS_CONFIG": ("changed-configuration", ("configuration",), ("change",)),
    "NETFILTER_CFG": ("loaded-firewall-rule-to", ("configuration",), ("change",)),
    "MAC_POLICY_LOAD": ("loaded-selinux-policy", ("configuration",), ("change",)),
    "MAC_STATUS": ("changed-selinux-enforcement", ("configuration",), ("change",)),
    "AVC": ("violated-selinux-policy", ("intrusion_detection",), ("denied",)),
    "USER_AVC": ("access-permission", ("intrusion_detection",), ("info",)),
    "SELINUX_ERR": ("caused-mac-policy-error", ("intrusion_detection",), ("denied",)),
    "SECCOMP": ("violated-seccomp-policy", ("intrusion_detection",), ("denied",)),
    "ANOM_ABEND": ("crashed-program", ("process",), ("end",)),
    "ANOM_PROMISCUOUS": ("changed-promiscuous-mode-on-device", ("network",), ("change",)),
    "ANOM_LINK": ("used-suspicious-link", ("file",), ("access",)),
    "KERN_MODULE": ("loaded-kernel-module", ("driver",), ("start",)),
    "SOFTWARE_UPDATE": ("package-updated", ("package",), ("change",)),
    "USER_DEVICE": ("changed-device", ("host",), ("change",)),
    # Parts of a syscall event, when they are stored on their own (no assembly): named by their type.
    "EXECVE": ("execve", ("process",), ("info",)),
    "PROCTITLE": ("proctitle", ("process",), ("info",)),
    "CWD": ("cwd", ("process",), ("info",)),
    "PATH": ("path", ("file",), ("info",)),
    "SOCKADDR": ("sockaddr", ("network",), ("info",)),
    "EOE": ("eoe", ("process",), ("info",)),
}  # fmt: skip
APPARMOR_ACTION: Classification = ("violated-apparmor-policy", ("intrusion_detection",), ("denied",))

# Record types whose account fields name the account acted upon, not the one acting.
IAM_TYPES = frozenset({"ADD_USER", "DEL_USER", "USER_MGMT", "ADD_GROUP", "DEL_GROUP", "GRP_MGMT", "ACCT_LOCK",
                       "ACCT_UNLOCK", "USER_CHAUTHTOK", "GRP_CHAUTHTOK", "CHUSER_ID", "USER_ROLE_CHANGE"})  # fmt: skip
GROUP_TYPES = frozenset({"ADD_GROUP", "DEL_GROUP", "GRP_MGMT", "GRP_CHAUTHTOK"})
