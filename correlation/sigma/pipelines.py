"""Sigma field names -> the fields Sontra's normalizers produce, as pySigma processing pipelines.

The mapping is data: one ``FieldTable`` per log source. Windows fields go to the ECS names
Winlogbeat gives them where the ECS field carries the very same value (``Image`` ->
``process.executable``); every other Windows field goes to ``winlog.event_data.<Field>``, where
the Windows normalizer keeps each raw field. Because ECS coverage grows over time, a rule that
reads an ECS field falls back to the raw ``winlog.event_data`` field(s) it came from when the ECS
field is absent from an event (``fallbacks_for``).

Fields whose ECS form differs from the raw value stay raw on purpose: Winlogbeat splits ``User``
(``DOMAIN\\name``) into ``user.domain`` and ``user.name``, splits ``Hashes`` into ``*.hash.*``
and turns registry ``Details`` into a list, so a Sigma value written for the raw form would miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sigma.processing.conditions import IncludeFieldCondition, LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    AddFieldnamePrefixTransformation,
    FieldMappingTransformation,
    ValueListPlaceholderTransformation,
)
from sigma.rule import SigmaLogSource

WINLOG_RAW = "winlog.event_data."


@dataclass(frozen=True, slots=True)
class FieldTable:
    """The Sigma -> event field names for the rules of one log source.

    ``logsource`` selects the rules (unset keys match anything). ``raw_prefix`` names where the
    source's raw fields live: a mapped field falls back to ``raw_prefix + <Sigma name>`` (and to
    ``raw_prefix + alias`` for each alias of that name) when the mapped field is absent.
    """

    name: str
    logsource: Mapping[str, str]
    fields: Mapping[str, str]
    raw_prefix: str | None = None
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def applies_to(self, logsource: SigmaLogSource) -> bool:
        """Whether this table maps the fields of a rule with this log source."""
        return all(getattr(logsource, key) == value for key, value in self.logsource.items())


_PE_FIELDS = ("OriginalFileName", "Description", "Product", "Company", "FileVersion")
_PE_ECS = ("original_file_name", "description", "product", "company", "file_version")


def _pe(prefix: str) -> dict[str, str]:
    return {sigma: f"{prefix}.pe.{ecs}" for sigma, ecs in zip(_PE_FIELDS, _PE_ECS, strict=True)}


# Every Windows rule (Sysmon and the built-in channels). Category tables below come first.
WINDOWS_FIELDS: dict[str, str] = {
    "EventID": "winlog.event_id",
    "Provider_Name": "winlog.provider_name",
    "Channel": "winlog.channel",
    "Computer": "winlog.computer_name",
    "Image": "process.executable",
    "CommandLine": "process.command_line",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "CurrentDirectory": "process.working_directory",
    "ProcessId": "process.pid",
    "ProcessGuid": "process.entity_id",
    "ParentProcessId": "process.parent.pid",
    "ParentProcessGuid": "process.parent.entity_id",
    "TargetFilename": "file.path",
    "TargetObject": "registry.path",
    "QueryName": "dns.question.name",
    "DestinationIp": "destination.ip",
    "DestinationPort": "destination.port",
    "DestinationHostname": "destination.domain",
    "SourceIp": "source.ip",
    "SourcePort": "source.port",
    "SourceHostname": "source.domain",
    "IpAddress": "source.ip",
    "IpPort": "source.port",
}

# Security 4688 names the same values differently from Sysmon 1; rules are written for Sysmon.
WINDOWS_ALIASES: dict[str, tuple[str, ...]] = {
    "Image": ("NewProcessName",),
    "CommandLine": ("ProcessCommandLine",),
    "ParentImage": ("ParentProcessName",),
}

_WINDOWS = {"product": "windows"}

FIELD_TABLES: tuple[FieldTable, ...] = (
    FieldTable("windows_process_creation", {**_WINDOWS, "category": "process_creation"}, _pe("process"), WINLOG_RAW),
    FieldTable(
        "windows_image_load",
        {**_WINDOWS, "category": "image_load"},
        {**_pe("file"), "ImageLoaded": "file.path"},
        WINLOG_RAW,
    ),
    FieldTable(
        "windows_driver_load",
        {**_WINDOWS, "category": "driver_load"},
        {**_pe("file"), "ImageLoaded": "file.path"},
        WINLOG_RAW,
    ),
    FieldTable(
        "windows_process_access",
        {**_WINDOWS, "category": "process_access"},
        {
            "SourceImage": "process.executable",
            "SourceProcessId": "process.pid",
            "SourceProcessGUID": "process.entity_id",
        },
        WINLOG_RAW,
    ),
    FieldTable(
        "windows_create_remote_thread",
        {**_WINDOWS, "category": "create_remote_thread"},
        {
            "SourceImage": "process.executable",
            "SourceProcessId": "process.pid",
            "SourceProcessGuid": "process.entity_id",
        },
        WINLOG_RAW,
    ),
    FieldTable("windows", _WINDOWS, WINDOWS_FIELDS, WINLOG_RAW, WINDOWS_ALIASES),
    # Linux and macOS endpoint events (auditd/Sysmon for Linux/ESF normalized to ECS).
    *(
        FieldTable(
            f"{product}_{category}",
            {"product": product, "category": category},
            {
                "Image": "process.executable",
                "CommandLine": "process.command_line",
                "ParentImage": "process.parent.executable",
                "ParentCommandLine": "process.parent.command_line",
                "CurrentDirectory": "process.working_directory",
                "ProcessId": "process.pid",
                "ParentProcessId": "process.parent.pid",
                "User": "user.name",
                "TargetFilename": "file.path",
                "DestinationIp": "destination.ip",
                "DestinationPort": "destination.port",
                "DestinationHostname": "destination.domain",
                "SourceIp": "source.ip",
                "SourcePort": "source.port",
            },
        )
        for product in ("linux", "macos")
        for category in ("process_creation", "file_event", "network_connection")
    ),
    # Auditbeat's layout, which the auditd normalizer follows: the SYSCALL record's raw fields in
    # auditd.data (also the fallback of every mapped field), EXECVE arguments in auditd.execve.
    FieldTable(
        "linux_auditd",
        {"product": "linux", "service": "auditd"},
        {
            "type": "auditd.record_types",
            "SYSCALL": "auditd.data.syscall",
            "syscall": "auditd.data.syscall",
            "key": "auditd.key",
            "exe": "process.executable",
            "comm": "process.name",
            "name": "auditd.paths.name",
            "nametype": "auditd.paths.nametype",
            "cwd": "process.working_directory",
            "uid": "user.id",
            "euid": "user.effective.id",
            "auid": "user.audit.id",
            # EXECVE arguments; a SYSCALL rule's a0..a3 fall back to the syscall's own arguments.
            **{f"a{index}": f"auditd.execve.a{index}" for index in range(10)},
        },
        "auditd.data.",
    ),
    # Filebeat's fortinet layout: every FortiOS key=value in fortinet.firewall.*.
    FieldTable("fortigate", {"product": "fortigate"}, {}, "fortinet.firewall."),
    FieldTable(
        "webserver",
        {"category": "webserver"},
        {
            "c-ip": "source.ip",
            "c-uri": "url.original",
            "cs-uri": "url.original",
            "cs-uri-stem": "url.path",
            "cs-uri-query": "url.query",
            "cs-method": "http.request.method",
            "cs-version": "http.version",
            "sc-status": "http.response.status_code",
            "sc-bytes": "http.response.body.bytes",
            "cs-user-agent": "user_agent.original",
            "cs-referer": "http.request.referrer",
            "cs-host": "url.domain",
            "cs-username": "user.name",
        },
    ),
    FieldTable(
        "proxy",
        {"category": "proxy"},
        {
            "c-ip": "source.ip",
            "src_ip": "source.ip",
            "dst_ip": "destination.ip",
            "c-uri": "url.original",
            "cs-uri": "url.original",
            "c-uri-stem": "url.path",
            "c-uri-query": "url.query",
            "c-uri-extension": "url.extension",
            "c-useragent": "user_agent.original",
            "cs-host": "url.domain",
            "r-dns": "destination.domain",
            "cs-method": "http.request.method",
            "sc-status": "http.response.status_code",
            "cs-referrer": "http.request.referrer",
            "cs-referer": "http.request.referrer",
            "cs-bytes": "http.request.bytes",
            "sc-bytes": "http.response.bytes",
            "cs-username": "user.name",
        },
    ),
    FieldTable(
        "firewall",
        {"category": "firewall"},
        {
            "src_ip": "source.ip",
            "src_port": "source.port",
            "dst_ip": "destination.ip",
            "dst_port": "destination.port",
            "username": "user.name",
        },
    ),
    FieldTable(
        "dns",
        {"category": "dns"},
        {
            "query": "dns.question.name",
            "record_type": "dns.question.type",
            "answer": "dns.answers.data",
            "response_code": "dns.response_code",
            "src_ip": "source.ip",
            "dst_ip": "destination.ip",
        },
    ),
)


def build_pipeline(
    placeholders: Mapping[str, Sequence[str]] | None = None,
    tables: Sequence[FieldTable] = FIELD_TABLES,
) -> ProcessingPipeline:
    """The pipeline every rule goes through: placeholder values (``expand``), then field mapping."""
    values = {name: _placeholder_values(name, given) for name, given in (placeholders or {}).items()}
    items: list[ProcessingItem] = []
    if placeholders:
        items.append(
            ProcessingItem(
                ValueListPlaceholderTransformation(include=sorted(placeholders)),
                identifier="sontra_placeholders",
            )
        )
    for table in tables:
        items.append(
            ProcessingItem(
                FieldMappingTransformation(dict(table.fields)),
                rule_conditions=[LogsourceCondition(**table.logsource)],
                identifier=f"sontra_fields_{table.name}",
            )
        )
    for prefix, logsource in _raw_prefixes(tables):
        # Fields still without a dot were not mapped above: they live under the raw prefix.
        # (A Sigma name with a dot, such as userIdentity.arn, is a path the rule spells out.)
        items.append(
            ProcessingItem(
                AddFieldnamePrefixTransformation(prefix),
                rule_conditions=[LogsourceCondition(**logsource)],
                field_name_conditions=[IncludeFieldCondition([r"[^.]+\Z"], mode="re")],
                identifier=f"sontra_raw_{prefix.rstrip('.').replace('.', '_')}",
            )
        )
    return ProcessingPipeline(
        items=items,
        vars=values,
        name="sontra",
    )


def _placeholder_values(name: str, given: object) -> list[str]:
    """A placeholder's values as a list of text; one text is one value (not its characters)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"placeholder names must be non-empty text, got {name!r}")
    items = [given] if isinstance(given, str | int | float) else given
    if not isinstance(items, list | tuple | set | frozenset) or not items:
        raise ValueError(f"placeholder %{name}% needs a value or a non-empty list of values, got {given!r}")
    if not all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in items):
        raise ValueError(f"placeholder %{name}% values must be text or numbers, got {given!r}")
    return [str(item) for item in items]


def _raw_prefixes(tables: Sequence[FieldTable]) -> list[tuple[str, Mapping[str, str]]]:
    """One (prefix, log source) per distinct raw prefix, with the broadest log source that declared it."""
    chosen: dict[str, Mapping[str, str]] = {}
    for table in tables:
        if table.raw_prefix is None:
            continue
        known = chosen.get(table.raw_prefix)
        if known is None or len(table.logsource) < len(known):
            chosen[table.raw_prefix] = table.logsource
    return list(chosen.items())


def fallbacks_for(logsource: SigmaLogSource, tables: Sequence[FieldTable] = FIELD_TABLES) -> dict[str, tuple[str, ...]]:
    """Mapped field -> the raw fields to read, in order, when an event lacks the mapped field."""
    result: dict[str, list[str]] = {}
    for table in tables:
        if table.raw_prefix is None or not table.applies_to(logsource):
            continue
        for sigma_name, mapped in table.fields.items():
            raws = result.setdefault(mapped, [])
            for raw in (sigma_name, *table.aliases.get(sigma_name, ())):
                path = table.raw_prefix + raw
                if path not in raws and path != mapped:
                    raws.append(path)
    if logsource.product == "windows":
        # Winlogbeat has the event id in winlog.event_id; other Windows shippers only in event.code.
        result.setdefault("winlog.event_id", []).append("event.code")
    return {mapped: tuple(raws) for mapped, raws in result.items() if raws}
