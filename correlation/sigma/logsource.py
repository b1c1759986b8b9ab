"""Logsource routing: which Sigma log sources (product, category, service) an event belongs to.

A Sigma rule names its log source instead of the events it applies to: ``category:
process_creation`` means Sysmon event 1 or Security event 4688. The taxonomy is data here:
Windows categories as (provider, event id) pairs and services as event log channels (pySigma's
own channel table plus a few it lacks); other sources by ``event.dataset`` and ECS
categorization fields. The engine evaluates an event only against rules whose log source is one
of the event's ``event_keys``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import product as cartesian
from typing import Any

from sigma.pipelines.common import windows_logsource_mapping
from sigma.rule import SigmaLogSource

# (product, category, service); None where the rule (or the event) leaves it open.
LogsourceKey = tuple[str | None, str | None, str | None]

SYSMON = "microsoft-windows-sysmon"
SECURITY = "microsoft-windows-security-auditing"
POWERSHELL = "microsoft-windows-powershell"
POWERSHELL_CLASSIC = "powershell"  # provider of the "Windows PowerShell" channel


@dataclass(frozen=True, slots=True)
class WindowsCategory:
    """One Sigma category as Windows events: provider, event ids, optionally the Sysmon EventType."""

    category: str
    provider: str
    event_ids: tuple[int, ...]
    event_types: tuple[str, ...] = ()


WINDOWS_CATEGORIES: tuple[WindowsCategory, ...] = (
    WindowsCategory("process_creation", SYSMON, (1,)),
    WindowsCategory("process_creation", SECURITY, (4688,)),
    WindowsCategory("file_change", SYSMON, (2,)),
    WindowsCategory("network_connection", SYSMON, (3,)),
    WindowsCategory("sysmon_status", SYSMON, (4, 16)),
    WindowsCategory("process_termination", SYSMON, (5,)),
    WindowsCategory("driver_load", SYSMON, (6,)),
    WindowsCategory("image_load", SYSMON, (7,)),
    WindowsCategory("create_remote_thread", SYSMON, (8,)),
    WindowsCategory("raw_access_thread", SYSMON, (9,)),
    WindowsCategory("process_access", SYSMON, (10,)),
    WindowsCategory("file_event", SYSMON, (11,)),
    WindowsCategory("registry_add", SYSMON, (12,), ("CreateKey",)),
    WindowsCategory("registry_delete", SYSMON, (12,), ("DeleteKey", "DeleteValue")),
    WindowsCategory("registry_set", SYSMON, (13,)),
    WindowsCategory("registry_rename", SYSMON, (14,)),
    WindowsCategory("registry_event", SYSMON, (12, 13, 14)),
    WindowsCategory("create_stream_hash", SYSMON, (15,)),
    WindowsCategory("pipe_created", SYSMON, (17, 18)),
    WindowsCategory("wmi_event", SYSMON, (19, 20, 21)),
    WindowsCategory("dns_query", SYSMON, (22,)),
    WindowsCategory("file_delete", SYSMON, (23, 26)),
    WindowsCategory("clipboard_capture", SYSMON, (24,)),
    WindowsCategory("process_tampering", SYSMON, (25,)),
    WindowsCategory("file_block_executable", SYSMON, (27,)),
    WindowsCategory("file_block_shredding", SYSMON, (28,)),
    WindowsCategory("file_executable_detected", SYSMON, (29,)),
    WindowsCategory("sysmon_error", SYSMON, (255,)),
    WindowsCategory("ps_module", POWERSHELL, (4103,)),
    WindowsCategory("ps_script", POWERSHELL, (4104,)),
    WindowsCategory("ps_classic_start", POWERSHELL_CLASSIC, (400,)),
    WindowsCategory("ps_classic_provider_start", POWERSHELL_CLASSIC, (600,)),
    WindowsCategory("ps_classic_script", POWERSHELL_CLASSIC, (800,)),
)

# Channels of Sigma services that pySigma's table lacks.
EXTRA_WINDOWS_CHANNELS: dict[str, tuple[str, ...]] = {
    "sysmon": ("Microsoft-Windows-Sysmon/Operational",),
    "iis-configuration": ("Microsoft-IIS-Configuration/Operational",),
    "smbserver-connectivity": ("Microsoft-Windows-SMBServer/Connectivity",),
    "ldap": ("Microsoft-Windows-LDAP-Client/Debug",),
    "powershell-classic": ("Windows PowerShell",),
}


def _channel_services() -> dict[str, frozenset[str]]:
    services: dict[str, set[str]] = {}
    tables: list[Mapping[str, str | list[str] | tuple[str, ...]]] = [windows_logsource_mapping, EXTRA_WINDOWS_CHANNELS]
    for table in tables:
        for service, channels in table.items():
            for channel in [channels] if isinstance(channels, str) else channels:
                services.setdefault(channel.lower(), set()).add(service)
    return {channel: frozenset(names) for channel, names in services.items()}


CHANNEL_SERVICES = _channel_services()


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """Log source attributes an event gets when its ``event.dataset`` (or dataset prefix) matches."""

    product: str | None = None
    category: str | None = None
    service: str | None = None


# event.dataset -> Sigma log source. A key ending in "." matches every dataset with that prefix.
DATASET_SOURCES: dict[str, tuple[SourceFacts, ...]] = {
    "apache.access": (SourceFacts(category="webserver", service="apache"),),
    "apache.error": (SourceFacts(service="apache"),),
    "nginx.access": (SourceFacts(category="webserver", service="nginx"),),
    "nginx.error": (SourceFacts(service="nginx"),),
    "iis.access": (SourceFacts(product="windows", category="webserver"),),
    "squid.access": (SourceFacts(category="proxy"),),
    "system.auth": (SourceFacts(product="linux"),),
    "system.syslog": (SourceFacts(product="linux", service="syslog"),),
    "auditd.log": (SourceFacts(product="linux", service="auditd"),),
    "zeek.": (SourceFacts(product="zeek"),),
    "zeek.dns": (SourceFacts(category="dns"),),
    "suricata.dns": (SourceFacts(category="dns"),),
    "fortinet.firewall": (SourceFacts(product="fortigate", category="firewall"),),
    "fortinet.event": (SourceFacts(product="fortigate", service="event"),),
    "cisco.asa": (SourceFacts(product="cisco", category="firewall"),),
    "cisco.ios": (SourceFacts(product="cisco"),),
    "pfsense.log": (SourceFacts(category="firewall"),),
    "iptables.log": (SourceFacts(product="linux", category="firewall"),),
}

# Datasets whose own field names the Sigma service (FortiOS "type=event" -> service: event).
SERVICE_FIELDS: dict[str, tuple[str, ...]] = {"fortinet.firewall": ("fortinet", "firewall", "type")}

# Syslog programs that make an event a Linux service's (Sigma names the service after the daemon).
LINUX_PROGRAMS: dict[str, str | None] = {
    "sshd": "sshd",
    "sudo": "sudo",
    "cron": "cron",
    "crond": "cron",
    "CRON": "cron",
    "vsftpd": "vsftpd",
    "clamd": "clamav",
    "freshclam": "clamav",
    "guacd": "guacamole",
    "su": None,
    "useradd": None,
    "usermod": None,
    "groupadd": None,
    "passwd": None,
    "systemd": None,
    "kernel": None,
    "auditd": "auditd",
}


def rule_key(logsource: SigmaLogSource) -> LogsourceKey:
    """The routing key of a rule: its log source, lower-cased."""
    return (_lower(logsource.product), _lower(logsource.category), _lower(logsource.service))


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


class Router:
    """Event -> the log source keys whose rules may apply to it; remembers answers per event shape."""

    def __init__(self) -> None:
        self._windows_index: dict[tuple[str, int], list[WindowsCategory]] = {}
        for entry in WINDOWS_CATEGORIES:
            for event_id in entry.event_ids:
                self._windows_index.setdefault((entry.provider, event_id), []).append(entry)
        self._cache: dict[tuple[Any, ...], tuple[LogsourceKey, ...]] = {}

    def event_keys(self, event: Mapping[str, Any]) -> tuple[LogsourceKey, ...]:
        """Every (product, category, service) a rule may name and still apply to this event."""
        winlog = event.get("winlog")
        shape = _windows_shape(event, winlog) if isinstance(winlog, Mapping) else _other_shape(event)
        keys = self._cache.get(shape)
        if keys is None:
            if len(self._cache) > 10_000:  # shapes are few; this only guards against odd input
                self._cache.clear()
            keys = self._cache[shape] = self._keys_for(shape)
        return keys

    def _keys_for(self, shape: tuple[Any, ...]) -> tuple[LogsourceKey, ...]:
        if shape[0] == "windows":
            products, categories, services = self._windows_facts(shape)
        else:
            products, categories, services = _other_facts(shape)
        return tuple(
            (p, c, s)
            for p, c, s in cartesian([None, *sorted(products)], [None, *sorted(categories)], [None, *sorted(services)])
            if (p, c, s) != (None, None, None)
        )

    def _windows_facts(self, shape: tuple[Any, ...]) -> tuple[set[str], set[str], set[str]]:
        _, provider, channel, event_id, event_type = shape
        categories: set[str] = set()
        if event_id is not None:
            for entry in self._windows_index.get((provider, event_id), ()):
                if not entry.event_types or event_type in entry.event_types:
                    categories.add(entry.category)
        services = set(CHANNEL_SERVICES.get(channel, ()))
        return {"windows"}, categories, services


def _windows_shape(event: Mapping[str, Any], winlog: Mapping[str, Any]) -> tuple[Any, ...]:
    provider = winlog.get("provider_name") or _nested(event, "event", "provider") or ""
    channel = winlog.get("channel") or ""
    event_id = _as_int(winlog.get("event_id"))
    if event_id is None:
        event_id = _as_int(_nested(event, "event", "code"))
    data = winlog.get("event_data")
    event_type = _text_or_none(data.get("EventType")) if isinstance(data, Mapping) else None
    return ("windows", str(provider).lower(), str(channel).lower(), event_id, event_type)


def _other_shape(event: Mapping[str, Any]) -> tuple[Any, ...]:
    meta = event.get("event")
    meta = meta if isinstance(meta, Mapping) else {}
    dataset = _text_or_none(meta.get("dataset"))
    service_field = SERVICE_FIELDS.get(dataset) if dataset else None
    log = event.get("log")
    return (
        "other",
        dataset,
        _text_or_none(meta.get("module")),
        _as_tuple(meta.get("category")),
        _as_tuple(meta.get("type")),
        _text_or_none(_nested(event, "observer", "type")),
        _text_or_none(_nested(event, "process", "name")),
        _text_or_none(_nested(event, "host", "os", "type")),
        isinstance(log, Mapping) and "syslog" in log,
        isinstance(event.get("dns"), Mapping),
        _text_or_none(_nested(event, *service_field)) if service_field else None,
    )


def _other_facts(shape: tuple[Any, ...]) -> tuple[set[str], set[str], set[str]]:
    _, dataset, module, categories_ecs, types_ecs, observer_type, program, os_type, syslog, has_dns, service = shape
    products: set[str] = set()
    categories: set[str] = set()
    services: set[str] = set()
    for facts in _dataset_facts(dataset):
        _add(facts, products, categories, services)
    if service:
        services.add(service.lower())
    if module == "auditd":
        products.add("linux")
        services.add("auditd")
    if os_type in ("linux", "macos", "windows"):
        products.add(os_type)
    if program in LINUX_PROGRAMS and (syslog or os_type == "linux"):
        products.add("linux")
        service = LINUX_PROGRAMS[program]
        if service:
            services.add(service)
    if syslog and os_type in (None, "linux"):
        services.add("syslog")
    if "process" in categories_ecs and "start" in types_ecs:
        categories.add("process_creation")
    if "file" in categories_ecs and ("creation" in types_ecs or "change" in types_ecs):
        categories.add("file_event")
    if "network" in categories_ecs and "connection" in types_ecs and os_type:
        categories.add("network_connection")
    if observer_type == "firewall":
        categories.add("firewall")
    elif observer_type == "proxy":
        categories.add("proxy")
    elif "web" in categories_ecs:
        categories.add("webserver")
    if has_dns:
        categories.add("dns")
    return products, categories, services


def _dataset_facts(dataset: Any) -> Iterable[SourceFacts]:
    """The table's facts for a dataset, plus the naming convention ``product.service`` (``aws.cloudtrail``)."""
    if not isinstance(dataset, str) or not dataset:
        return ()
    found: list[SourceFacts] = list(DATASET_SOURCES.get(dataset, ()))
    product, dot, service = dataset.partition(".")
    found.extend(DATASET_SOURCES.get(product + ".", ()))
    if dot and service:
        # Sigma names some services with the whole dataset (gcp.audit), most with its second part.
        found.extend((SourceFacts(product=product, service=service), SourceFacts(service=dataset)))
    return found


def _add(facts: SourceFacts, products: set[str], categories: set[str], services: set[str]) -> None:
    if facts.product:
        products.add(facts.product)
    if facts.category:
        categories.add(facts.category)
    if facts.service:
        services.add(facts.service)


def _nested(event: Mapping[str, Any], *parts: str) -> Any:
    node: Any = event
    for part in parts:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _as_tuple(value: Any) -> tuple[str, ...]:
    """A categorization field as a hashable tuple of text (ECS allows a value or a list)."""
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value)
    return () if value is None else (str(value),)
