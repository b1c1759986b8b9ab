"""The common event schema: the ECS fields Sontra relies on, their types, and the OpenSearch template.

Everything that stores or queries events takes field types from here: the SQLite store for its
columns and comparisons, the OpenSearch store for its index template, the Sigma pipelines for
their field mapping.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

ECS_VERSION = "8.11.0"

FieldType = Literal["keyword", "text", "ip", "date", "long", "float", "boolean", "geo_point", "object"]


@dataclass(frozen=True, slots=True)
class Field:
    """One ECS field: its dotted name, type, and how it is searched."""

    name: str
    type: FieldType
    description: str = ""
    # A lowercase-normalized `.caseless` sub-field: pySigma's OpenSearch backend queries these
    # case-insensitively because Sigma string matching is case-insensitive.
    caseless: bool = False
    # ECS allows arrays anywhere; this marks fields that normally hold several values.
    array: bool = False


def _f(name: str, type_: FieldType, description: str = "", *, caseless: bool = False, array: bool = False) -> Field:
    return Field(name, type_, description, caseless, array)


FIELDS: tuple[Field, ...] = (
    _f("@timestamp", "date", "When the event happened (UTC, ISO 8601)"),
    _f("message", "text", "Human-readable message; full-text searchable"),
    _f("tags", "keyword", "Labels such as parse_failure", array=True),
    _f("labels", "object", "Free key/value labels"),
    # ecs
    _f("ecs.version", "keyword", "ECS version the event follows"),
    # event
    _f("event.id", "keyword", "Unique id fixed at ingest; makes writes idempotent"),
    _f("event.kind", "keyword", "event, alert, metric, state, pipeline_error"),
    _f("event.category", "keyword", "ECS category: authentication, process, network, ...", array=True),
    _f("event.type", "keyword", "ECS type: start, end, info, creation, ...", array=True),
    _f("event.action", "keyword", "What happened, in the source's words", caseless=True),
    _f("event.outcome", "keyword", "success, failure, unknown"),
    _f("event.code", "keyword", "Source-specific event code (e.g. Windows event id)"),
    _f("event.dataset", "keyword", "Source family, e.g. system.auth, apache.access"),
    _f("event.module", "keyword", "Module that produced the event"),
    _f("event.provider", "keyword", "Provider inside the source"),
    _f("event.severity", "long", "Numeric severity"),
    _f("event.original", "keyword", "The raw record as received; never indexed for search"),
    _f("event.created", "date", "When Sontra first saw the event"),
    _f("event.ingested", "date", "When the event was stored"),
    _f("event.duration", "long", "Duration in nanoseconds"),
    _f("event.risk_score", "float", "Risk score"),
    _f("event.count", "long", "Number of occurrences this record stands for"),
    _f("event.reason", "keyword", "Why the event happened (close reason, deny reason)"),
    _f("event.start", "date", "When the activity started (flow start)"),
    _f("event.end", "date", "When the activity ended (flow end)"),
    _f("event.timezone", "keyword", "Time zone the source wrote its times in"),
    # error
    _f("error.code", "keyword", "Error code (errno, vendor error number)"),
    _f("error.message", "text", "Error description"),
    # host / agent / observer
    _f("host.name", "keyword", "Host name", caseless=True),
    _f("host.hostname", "keyword", "Host name as the host reports it", caseless=True),
    _f("host.ip", "ip", "Host addresses", array=True),
    _f("host.os.type", "keyword", "linux, windows, macos"),
    _f("host.os.family", "keyword", "OS family"),
    _f("agent.id", "keyword", "Sontra agent id"),
    _f("agent.name", "keyword", "Agent name"),
    _f("agent.type", "keyword", "Agent type"),
    _f("observer.name", "keyword", "Device that observed the event", caseless=True),
    _f("observer.vendor", "keyword", "Vendor of the observer"),
    _f("observer.product", "keyword", "Product of the observer"),
    _f("observer.type", "keyword", "firewall, ids, ..."),
    _f("observer.ip", "ip", "Observer addresses", array=True),
    _f("observer.hostname", "keyword", "Host name of the observer as it logs it", caseless=True),
    _f("observer.serial_number", "keyword", "Serial number of the observer (FortiGate devid)"),
    _f("observer.version", "keyword", "Observer software version"),
    _f("observer.ingress.zone", "keyword", "Security zone traffic came from"),
    _f("observer.egress.zone", "keyword", "Security zone traffic went to"),
    _f("observer.ingress.interface.name", "keyword", "Interface a packet came in on (netfilter IN=)"),
    _f("observer.egress.interface.name", "keyword", "Interface a packet went out on (netfilter OUT=)"),
    # log
    _f("log.level", "keyword", "Log level"),
    _f("log.logger", "keyword", "Logger name"),
    _f("log.file.path", "keyword", "File the record was read from"),
    _f("log.source.address", "keyword", "Address the record was received from"),
    _f("log.syslog.facility.code", "long", "Syslog facility number"),
    _f("log.syslog.facility.name", "keyword", "Syslog facility name"),
    _f("log.syslog.severity.code", "long", "Syslog severity number"),
    _f("log.syslog.severity.name", "keyword", "Syslog severity name"),
    _f("log.syslog.priority", "long", "Syslog PRI value"),
    _f("log.syslog.version", "keyword", "RFC 5424 version"),
    _f("log.syslog.hostname", "keyword", "Syslog HOSTNAME field", caseless=True),
    _f("log.syslog.appname", "keyword", "Syslog APP-NAME / TAG", caseless=True),
    _f("log.syslog.procid", "keyword", "Syslog PROCID"),
    _f("log.syslog.msgid", "keyword", "RFC 5424 MSGID"),
    _f("log.syslog.structured_data", "object", "RFC 5424 structured data"),
    # process
    _f("process.name", "keyword", "Process name", caseless=True),
    _f("process.pid", "long", "Process id"),
    _f("process.executable", "keyword", "Executable path", caseless=True),
    _f("process.command_line", "keyword", "Full command line", caseless=True),
    _f("process.args", "keyword", "Arguments", array=True, caseless=True),
    _f("process.working_directory", "keyword", "Working directory", caseless=True),
    _f("process.entity_id", "keyword", "Unique process id"),
    _f("process.args_count", "long", "Number of arguments"),
    _f("process.title", "keyword", "Process title (auditd PROCTITLE)", caseless=True),
    _f("process.thread.id", "long", "Thread id"),
    _f("process.parent.entity_id", "keyword", "Unique id of the parent process"),
    _f("process.parent.args", "keyword", "Parent arguments", array=True, caseless=True),
    _f("process.parent.args_count", "long", "Number of parent arguments"),
    _f("process.pe.imphash", "keyword", "PE import hash"),
    _f("process.pe.file_version", "keyword", "PE file version"),
    _f("process.hash.md5", "keyword", "MD5 of the executable"),
    _f("process.hash.sha1", "keyword", "SHA-1 of the executable"),
    _f("process.hash.sha256", "keyword", "SHA-256 of the executable"),
    _f("process.parent.name", "keyword", "Parent process name", caseless=True),
    _f("process.parent.pid", "long", "Parent process id"),
    _f("process.parent.executable", "keyword", "Parent executable", caseless=True),
    _f("process.parent.command_line", "keyword", "Parent command line", caseless=True),
    _f("process.pe.original_file_name", "keyword", "PE original file name", caseless=True),
    _f("process.pe.company", "keyword", "PE company", caseless=True),
    _f("process.pe.description", "keyword", "PE description", caseless=True),
    _f("process.pe.product", "keyword", "PE product", caseless=True),
    # user
    _f("user.name", "keyword", "User name", caseless=True),
    _f("user.id", "keyword", "User id"),
    _f("user.domain", "keyword", "User domain", caseless=True),
    _f("user.target.name", "keyword", "Account acted upon", caseless=True),
    _f("user.target.id", "keyword", "Id (SID) of the account acted upon"),
    _f("user.target.domain", "keyword", "Domain of the account acted upon", caseless=True),
    _f("user.effective.name", "keyword", "Effective user (sudo, su)", caseless=True),
    _f("user.effective.id", "keyword", "Id (SID) of the effective user"),
    _f("user.effective.domain", "keyword", "Domain of the effective user", caseless=True),
    _f("user.audit.id", "keyword", "Login (audit) uid that started the session (Auditbeat)"),
    _f("user.audit.name", "keyword", "Login (audit) user name (Auditbeat)", caseless=True),
    _f("group.name", "keyword", "Group name", caseless=True),
    _f("user.group.name", "keyword", "Group of the user (VPN group policy)", caseless=True),
    _f("group.id", "keyword", "Group id (SID)"),
    _f("group.domain", "keyword", "Group domain", caseless=True),
    _f("service.name", "keyword", "Service name", caseless=True),
    _f("service.type", "keyword", "Service type"),
    # network endpoints
    _f("source.ip", "ip", "Source address"),
    _f("source.port", "long", "Source port"),
    _f("source.address", "keyword", "Source address as logged (IP or host name)"),
    _f("source.mac", "keyword", "Source MAC (AA-BB-CC-DD-EE-FF)"),
    _f("source.domain", "keyword", "Source domain", caseless=True),
    _f("source.bytes", "long", "Bytes sent by the source"),
    _f("source.packets", "long", "Packets sent by the source"),
    _f("source.nat.ip", "ip", "Source address after NAT"),
    _f("source.nat.port", "long", "Source port after NAT"),
    _f("source.user.name", "keyword", "User on the source side (firewall user identity)", caseless=True),
    _f("source.user.id", "keyword", "Id of the user on the source side"),
    _f("source.user.group.name", "keyword", "Group of the user on the source side", caseless=True),
    _f("destination.ip", "ip", "Destination address"),
    _f("destination.port", "long", "Destination port"),
    _f("destination.address", "keyword", "Destination address as logged (IP or host name)"),
    _f("destination.mac", "keyword", "Destination MAC (AA-BB-CC-DD-EE-FF)"),
    _f("destination.domain", "keyword", "Destination domain", caseless=True),
    _f("destination.bytes", "long", "Bytes sent by the destination"),
    _f("destination.packets", "long", "Packets sent by the destination"),
    _f("destination.nat.ip", "ip", "Destination address after NAT"),
    _f("destination.nat.port", "long", "Destination port after NAT"),
    _f("destination.user.name", "keyword", "User on the destination side", caseless=True),
    _f("destination.user.id", "keyword", "Id of the user on the destination side"),
    _f("client.ip", "ip", "Client address"),
    _f("server.ip", "ip", "Server address"),
    _f("server.address", "keyword", "Server address as logged"),
    _f("server.port", "long", "Server port"),
    _f("network.transport", "keyword", "tcp, udp, icmp"),
    _f("network.protocol", "keyword", "Application protocol"),
    _f("network.direction", "keyword", "inbound, outbound, internal"),
    _f("network.type", "keyword", "ipv4, ipv6"),
    _f("network.iana_number", "keyword", "IANA protocol number (6 = TCP)"),
    _f("network.bytes", "long", "Total bytes"),
    _f("network.packets", "long", "Total packets"),
    _f("network.application", "keyword", "Application seen by the device (lowercase)"),
    _f("network.community_id", "keyword", "Community ID flow hash"),
    # dns / url / http / tls
    _f("dns.question.name", "keyword", "DNS query name", caseless=True),
    _f("dns.question.type", "keyword", "DNS query type"),
    _f("dns.question.class", "keyword", "DNS query class"),
    _f("dns.id", "keyword", "DNS transaction id"),
    _f("dns.type", "keyword", "query or answer"),
    _f("dns.response_code", "keyword", "DNS response code (NOERROR, NXDOMAIN, ...)"),
    _f("dns.answers", "object", "DNS answers (type, data)", array=True),
    _f("dns.resolved_ip", "ip", "Addresses the DNS answer resolved to", array=True),
    _f("url.original", "keyword", "URL as seen", caseless=True),
    _f("url.domain", "keyword", "URL domain", caseless=True),
    _f("url.path", "keyword", "URL path", caseless=True),
    _f("url.query", "keyword", "URL query string", caseless=True),
    _f("http.request.method", "keyword", "HTTP method"),
    _f("http.request.referrer", "keyword", "Referrer", caseless=True),
    _f("http.response.status_code", "long", "HTTP status"),
    _f("http.response.body.bytes", "long", "Response body size"),
    _f("http.version", "keyword", "HTTP version (1.1, 2.0)"),
    _f("http.response.mime_type", "keyword", "Response content type"),
    _f("user_agent.original", "keyword", "User agent", caseless=True),
    _f("tls.server.sni", "keyword", "TLS server name", caseless=True),
    _f("tls.client.server_name", "keyword", "SNI the client asked for (ECS)", caseless=True),
    _f("tls.client.ja3", "keyword", "JA3 fingerprint of the client hello"),
    _f("tls.server.ja3s", "keyword", "JA3S fingerprint of the server hello"),
    _f("tls.server.subject", "keyword", "Certificate subject", caseless=True),
    _f("tls.server.issuer", "keyword", "Certificate issuer", caseless=True),
    _f("tls.server.hash.sha1", "keyword", "Certificate SHA-1 fingerprint (uppercase hex)"),
    _f("tls.server.not_before", "date", "Certificate validity start"),
    _f("tls.server.not_after", "date", "Certificate validity end"),
    _f("tls.version", "keyword", "TLS version (1.2, 1.3)"),
    _f("tls.version_protocol", "keyword", "tls or ssl"),
    _f("tls.resumed", "boolean", "The session was resumed"),
    # file / registry
    _f("file.path", "keyword", "File path", caseless=True),
    _f("file.name", "keyword", "File name", caseless=True),
    _f("file.extension", "keyword", "File extension", caseless=True),
    _f("file.size", "long", "File size in bytes"),
    _f("file.directory", "keyword", "Directory of the file", caseless=True),
    _f("file.inode", "keyword", "Inode"),
    _f("file.mode", "keyword", "Octal permissions"),
    _f("file.uid", "keyword", "Owner uid"),
    _f("file.gid", "keyword", "Owner gid"),
    _f("file.pe.original_file_name", "keyword", "PE original file name", caseless=True),
    _f("file.pe.company", "keyword", "PE company", caseless=True),
    _f("file.pe.description", "keyword", "PE description", caseless=True),
    _f("file.pe.product", "keyword", "PE product", caseless=True),
    _f("file.pe.file_version", "keyword", "PE file version"),
    _f("file.pe.imphash", "keyword", "PE import hash"),
    _f("file.code_signature.subject_name", "keyword", "Signer", caseless=True),
    _f("file.code_signature.status", "keyword", "Signature status (Valid, Expired, ...)"),
    _f("file.code_signature.signed", "boolean", "The file is signed"),
    _f("file.code_signature.valid", "boolean", "The signature is valid"),
    _f("file.hash.md5", "keyword", "MD5"),
    _f("file.hash.sha1", "keyword", "SHA-1"),
    _f("file.hash.sha256", "keyword", "SHA-256"),
    _f("registry.path", "keyword", "Registry path", caseless=True),
    _f("registry.key", "keyword", "Registry key", caseless=True),
    _f("registry.value", "keyword", "Registry value name", caseless=True),
    _f("registry.hive", "keyword", "Registry hive (HKLM, HKCU, ...)"),
    _f("registry.data.type", "keyword", "Registry data type"),
    _f("registry.data.strings", "keyword", "Registry data", array=True, caseless=True),
    # rule / threat (alerts)
    _f("rule.id", "keyword", "Detection rule id"),
    _f("rule.name", "keyword", "Detection rule title", caseless=True),
    _f("rule.level", "keyword", "Sigma level: informational .. critical"),
    _f("rule.description", "text", "Rule description"),
    _f("rule.ruleset", "keyword", "Rule pack"),
    _f("rule.category", "keyword", "Rule or signature category"),
    _f("rule.uuid", "keyword", "Rule uuid (firewall policy uuid)"),
    _f("rule.version", "keyword", "Rule revision"),
    _f("threat.framework", "keyword", "MITRE ATT&CK"),
    _f("threat.tactic.name", "keyword", "ATT&CK tactics", array=True),
    _f("threat.tactic.id", "keyword", "ATT&CK tactic ids", array=True),
    _f("threat.technique.id", "keyword", "ATT&CK technique ids", array=True),
    _f("threat.indicator.name", "keyword", "Matched indicator"),
    # IOC match alerts (correlation/ioc): the indicator in ECS 8.x threat.indicator.* shape, its feed
    _f("threat.indicator.type", "keyword", "Indicator type: ipv4-addr, ipv6-addr, domain-name, url, file"),
    _f("threat.indicator.ip", "ip", "Indicator IP address (a network indicator is in threat.indicator.name only)"),
    _f("threat.indicator.url.original", "keyword", "Indicator URL as the feed wrote it", caseless=True),
    _f("threat.indicator.url.domain", "keyword", "Indicator domain (matches its subdomains too)", caseless=True),
    _f("threat.indicator.file.hash.md5", "keyword", "Indicator MD5"),
    _f("threat.indicator.file.hash.sha1", "keyword", "Indicator SHA-1"),
    _f("threat.indicator.file.hash.sha256", "keyword", "Indicator SHA-256"),
    _f("threat.indicator.confidence", "keyword", "Not Specified, None, Low, Medium, High (STIX 2.1 scale)"),
    _f("threat.indicator.description", "keyword", "What the feed says about the indicator"),
    _f("threat.feed.name", "keyword", "Threat-intelligence feed the indicator came from"),
    _f("sontra.ioc.matched.field", "keyword", "Event field whose value matched the indicator"),
    _f("sontra.ioc.matched.atomic", "keyword", "The event value that matched the indicator"),
    _f("sontra.ioc.indicator_id", "keyword", "STIX indicator id or MISP attribute uuid of the indicator"),
    # related (pivots across an event's entities)
    _f("related.ip", "ip", "Every IP address in the event", array=True),
    _f("related.user", "keyword", "Every user name in the event", array=True, caseless=True),
    _f("related.hash", "keyword", "Every hash in the event", array=True),
    _f("related.hosts", "keyword", "Every host or domain name in the event", array=True, caseless=True),
    # vendor namespaces are stored whole and searched with dynamic keyword mapping
    _f("winlog", "object", "Windows event log fields"),
    _f("apache", "object", "Apache httpd fields (apache.error.module)"),
    _f("nginx", "object", "Nginx fields (nginx.error.connection_id, ...)"),
    _f("fortinet", "object", "FortiGate key=value fields not mapped to ECS (fortinet.firewall.*)"),
    _f("cisco", "object", "Cisco ASA/FTD fields (cisco.asa.message_id, ...)"),
    _f("juniper", "object", "Juniper SRX fields (juniper.srx.tag, ...)"),
    _f("suricata", "object", "The Suricata EVE record (suricata.eve.*)"),
    _f("cef", "object", "CEF header and extensions (cef.extensions.*)"),
    _f("system.auth.ssh.event", "keyword", "sshd verdict word: Accepted, Failed, Invalid, ..."),
    _f("system.auth.ssh.method", "keyword", "SSH authentication method (password, publickey, ...)"),
    _f("system.auth.ssh.signature", "keyword", "Key type and fingerprint of an accepted key"),
    _f("system.auth.ssh.disconnect_code", "long", "SSH disconnect reason code"),
    _f("system.auth.sudo.command", "keyword", "Command run through sudo", caseless=True),
    _f("system.cron.command", "keyword", "Command run by cron", caseless=True),
    _f("systemd.unit", "keyword", "systemd unit name"),
    _f("iptables.prefix", "keyword", "netfilter LOG prefix (e.g. [UFW BLOCK])"),
    _f("auditd.message_type", "keyword", "Primary audit record type (SYSCALL, USER_LOGIN, ...)"),
    _f("auditd.sequence", "long", "Audit event serial number"),
    _f("auditd.result", "keyword", "success or fail"),
    _f("auditd.key", "keyword", "Audit rule key(s)", array=True),
    _f("auditd.record_types", "keyword", "Types of the records merged into the event", array=True),
    _f("auditd.data.syscall", "keyword", "Syscall name (number when unknown)"),
    _f("sysmon.dns.status", "keyword", "Sysmon DNS query status name"),
    _f("sysmon.file.archived", "boolean", "Sysmon archived the deleted file"),
    _f("sysmon.file.is_executable", "boolean", "The deleted or blocked file is an executable"),
    # sontra: alerts raised by correlation/ (Sigma correlation rules, kill chain)
    _f("sontra.alert.source_event_ids", "keyword", "event.id of the events (alerts) that raised it", array=True),
    _f("sontra.alert.source_timestamps", "date", "@timestamp of those events, in the same order", array=True),
    _f("sontra.alert.entity_type", "keyword", "What the alert is about for ticket grouping: host, user, source_ip"),
    _f("sontra.correlation.type", "keyword", "Sigma correlation type: event_count, value_count, temporal, ..."),
    _f("sontra.correlation.count", "long", "What was counted: events, distinct values or distinct rules"),
    _f("sontra.correlation.timespan", "long", "The correlation rule's timespan in seconds"),
    _f("sontra.correlation.group", "keyword", "The group-by values as field=value", array=True),
    _f("sontra.correlation.values", "keyword", "value_count: the distinct values seen (first 20)", array=True),
    _f("sontra.killchain.entity.field", "keyword", "Entity field followed: host.name, user.name, source.ip"),
    _f("sontra.killchain.entity.value", "keyword", "The entity's value"),
    _f("sontra.killchain.phases", "keyword", "Kill-chain phases reached, in order", array=True),
    _f("sontra.killchain.phase_count", "long", "Number of phases reached in order"),
    _f("sontra.killchain.timeline", "object", "Alerts: timestamp, rule, phase, tactic, event.id", array=True),
)

FIELD_BY_NAME: Mapping[str, Field] = {f.name: f for f in FIELDS}

_NUMERIC = {"long": (int,), "float": (int, float)}


class SchemaError(ValueError):
    """An event does not have the shape the schema requires."""


def field_type(name: str) -> FieldType | None:
    """The schema type of a dotted field name, or None for fields outside the schema."""
    f = FIELD_BY_NAME.get(name)
    return f.type if f else None


def get_field(event: Mapping[str, Any], name: str) -> Any:
    """Read a dotted field from a nested ECS event (also accepts flat dotted keys)."""
    if name in event:
        return event[name]
    node: Any = event
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def set_field(event: dict[str, Any], name: str, value: Any) -> None:
    """Write a dotted field into a nested ECS event, creating parents as needed."""
    if name.startswith("@"):
        event[name] = value
        return
    parts = name.split(".")
    node = event
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def iter_leaves(event: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted name, value) for every leaf of a nested event."""
    for key, value in event.items():
        name = f"{prefix}{key}"
        f = FIELD_BY_NAME.get(name)
        if isinstance(value, Mapping) and (f is None or f.type != "object"):
            yield from iter_leaves(value, name + ".")
        else:
            yield name, value


def validate_event(event: Mapping[str, Any]) -> list[str]:
    """Return the problems with an event's shape (empty when it is valid)."""
    problems: list[str] = []
    if not isinstance(event, Mapping):
        return ["event is not an object"]
    ts = event.get("@timestamp")
    if not isinstance(ts, str) or not ts:
        problems.append("@timestamp: missing or not a string")
    for name, value in iter_leaves(event):
        f = FIELD_BY_NAME.get(name)
        if f is None or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            problem = _check_type(f, v)
            if problem:
                problems.append(f"{name}: {problem}")
                break
    return problems


def _check_type(f: Field, v: Any) -> str | None:
    if f.type in _NUMERIC:
        if isinstance(v, bool) or not isinstance(v, _NUMERIC[f.type]):
            return f"expected {f.type}, got {type(v).__name__}"
    elif f.type == "boolean":
        if not isinstance(v, bool):
            return f"expected boolean, got {type(v).__name__}"
    elif f.type in ("keyword", "text", "ip", "date") and not isinstance(v, str):
        return f"expected string ({f.type}), got {type(v).__name__}"
    return None


def require_valid(event: Mapping[str, Any]) -> None:
    """Raise SchemaError naming every problem with the event's shape."""
    problems = validate_event(event)
    if problems:
        raise SchemaError("; ".join(problems))


def _mapping_for(f: Field) -> dict[str, Any]:
    if f.type == "object":
        return {"type": "object", "dynamic": True}
    if f.type == "date":
        return {"type": "date", "format": "strict_date_optional_time||epoch_millis"}
    if f.type == "text":
        return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}}}
    if f.name == "event.original":
        return {"type": "keyword", "index": False, "doc_values": False}
    m: dict[str, Any] = {"type": f.type}
    if f.type == "keyword":
        m["ignore_above"] = 8191
        if f.caseless:
            m["fields"] = {"caseless": {"type": "keyword", "normalizer": "sontra_lowercase", "ignore_above": 8191}}
    return m


def _properties() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in FIELDS:
        node = props
        parts = [f.name] if f.name.startswith("@") else f.name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = _mapping_for(f)
    return props


def index_template(index_patterns: list[str], *, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Build the OpenSearch composable index template body for the given index patterns."""
    return {
        "index_patterns": index_patterns,
        "priority": 200,
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "analysis": {"normalizer": {"sontra_lowercase": {"type": "custom", "filter": ["lowercase"]}}},
            },
            "mappings": {
                "dynamic_templates": [
                    {
                        "strings_as_keyword": {
                            "match_mapping_type": "string",
                            "mapping": {"type": "keyword", "ignore_above": 8191},
                        }
                    }
                ],
                "properties": _properties(),
            },
        },
        "_meta": {"ecs_version": ECS_VERSION, "managed_by": "sontra"},
    }
