"""Source parsers, one module per source family; importing this package registers them in ROUTES."""

# ruff: noqa: I001 - one import line per source family, each added by the engineer who owns it
from normalizers.sources import web_access, web_error  # noqa: F401 - Apache/Nginx access and error logs
from normalizers.sources import linux_auth, sshd  # noqa: F401 - Linux: sshd, PAM, sudo, su, account tools
from normalizers.sources import linux_system  # noqa: F401 - Linux: cron, systemd, systemd-logind
from normalizers.sources import auditd, kernel_firewall  # noqa: F401 - Linux: audit records, netfilter LOG
from normalizers.sources import windows  # noqa: F401 - Windows: EVTX/Winlogbeat JSON, Security, Sysmon
from normalizers.sources import cef, cisco_asa, fortigate, juniper_srx, suricata  # noqa: F401 - network devices, IDS
