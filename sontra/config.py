"""Sontra's configuration: one YAML file, every key defaulted, SONTRA_* environment overrides.

Precedence (highest first): command-line flags, ``SONTRA_*`` environment variables, the YAML file,
the defaults below. Nested keys use a double underscore in the environment:
``SONTRA_API__PORT=9090`` sets ``api.port``; ``SONTRA_DATA_DIR`` sets ``data_dir``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from collectors.filters import FilterError, IngestFilter

ENV_PREFIX = "SONTRA_"
SECRET_MASK = "********"


class ConfigError(ValueError):
    """The configuration is invalid; the message names every bad key and its problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ApiConfig(_Section):
    """The web console and REST API listener."""

    host: str = Field("127.0.0.1", description="Address the console and API listen on")
    port: int = Field(8080, ge=0, le=65535, description="Port the console and API listen on (0 picks a free one)")


class SyslogListenerConfig(_Section):
    """One syslog listener (UDP or TCP)."""

    enabled: bool = Field(True, description="Start this listener")
    host: str = Field("127.0.0.1", description="Address to listen on")
    port: int = Field(5514, ge=0, le=65535, description="Port to listen on (0 picks a free one)")


class SyslogTlsConfig(_Section):
    """The syslog TLS listener (RFC 5425)."""

    enabled: bool = Field(False, description="Start the TLS listener (needs cert_file and key_file)")
    host: str = Field("127.0.0.1", description="Address to listen on")
    port: int = Field(6514, ge=0, le=65535, description="Port to listen on (0 picks a free one)")
    cert_file: Path | None = Field(None, description="Server certificate chain, PEM (leaf first)")
    key_file: Path | None = Field(None, description="Private key of the server certificate, PEM, unencrypted")
    client_ca_file: Path | None = Field(
        None, description="CA bundle (PEM) that client certificates are verified against; none: not asked for"
    )
    require_client_cert: bool = Field(
        False, description="Refuse clients without a certificate signed by client_ca_file"
    )

    @model_validator(mode="after")
    def _files_named(self) -> SyslogTlsConfig:
        if self.enabled:
            missing = [name for name in ("cert_file", "key_file") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)} must be set when the TLS listener is enabled")
        if self.require_client_cert and self.client_ca_file is None:
            raise ValueError("require_client_cert needs client_ca_file, the CA that signs client certificates")
        return self


class SyslogConfig(_Section):
    """Syslog input."""

    udp: SyslogListenerConfig = Field(default_factory=SyslogListenerConfig)
    tcp: SyslogListenerConfig = Field(default_factory=SyslogListenerConfig)
    tls: SyslogTlsConfig = Field(default_factory=SyslogTlsConfig)
    max_message_size: int = Field(
        65536, ge=480, le=16 * 1024 * 1024, description="Longer messages are truncated and tagged 'truncated'"
    )
    timezone: str = Field("UTC", description="Time zone of senders whose timestamps carry none (RFC 3164)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Asia/Ho_Chi_Minh')") from None
        return value


class SqliteStoreConfig(_Section):
    """The embedded event store."""

    path: Path | None = Field(None, description="Events database file; default <data_dir>/events.db")


class OpenSearchStoreConfig(_Section):
    """An OpenSearch cluster as the event store."""

    url: str = Field("http://127.0.0.1:9200", description="Cluster URL")
    username: str | None = Field(None, description="Basic-auth user")
    password: SecretStr | None = Field(None, description="Basic-auth password (masked in output)")
    index_prefix: str = Field("sontra", pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Prefix of every index")
    verify_certs: bool = Field(True, description="Verify the cluster's TLS certificate")
    ca_certs: Path | None = Field(None, description="CA bundle for the cluster's certificate")


class StorageConfig(_Section):
    """Where events and alerts are kept."""

    backend: Literal["sqlite", "opensearch"] = Field("sqlite", description="sqlite (embedded) or opensearch")
    retention_days: int = Field(
        90, ge=1, description="Events and alerts older than this many days are purged (checked hourly)"
    )
    batch_size: int = Field(2000, ge=1, le=100_000, description="Events written per batch")
    sqlite: SqliteStoreConfig = Field(default_factory=SqliteStoreConfig)
    opensearch: OpenSearchStoreConfig = Field(default_factory=OpenSearchStoreConfig)


class SpoolConfig(_Section):
    """The on-disk spool between the inputs and the store: an event is acknowledged once it is fsync'd here."""

    dir: Path | None = Field(None, description="Spool folder; default <data_dir>/spool")
    max_bytes: int = Field(
        1024**3,
        ge=16 * 1024**2,
        description="Disk space the spool may use; when full (the store is behind), HTTP ingest answers 429, "
        "syslog TCP stops reading (backpressure) and UDP datagrams are dropped and counted",
    )
    segment_bytes: int = Field(
        64 * 1024**2, ge=1024**2, le=1024**3, description="Size of one spool file; stored files are deleted whole"
    )
    commit_wait_ms: float = Field(
        0.0,
        ge=0,
        le=100,
        description="How long an append waits for others to share its fsync; 0 groups only the appends that "
        "arrive while the previous fsync runs",
    )

    @model_validator(mode="after")
    def _room_for_two_segments(self) -> SpoolConfig:
        if self.max_bytes < 2 * self.segment_bytes:
            raise ValueError(
                f"max_bytes ({self.max_bytes}) must be at least twice segment_bytes ({self.segment_bytes}): "
                "a file is freed only once it is full and stored"
            )
        return self


class IngestConfig(_Section):
    """HTTP ingest for agents: POST /api/v1/ingest with a per-agent key."""

    enabled: bool = Field(True, description="Accept events from enrolled agents on the API port")
    max_body_bytes: int = Field(
        10 * 1024**2,
        ge=1024,
        le=256 * 1024**2,
        description="Largest request body, measured after gzip decompression; larger gets 413",
    )
    max_events: int = Field(100_000, ge=1, le=1_000_000, description="Most events in one request; more gets 413")


class DatabaseConfig(_Section):
    """The workflow database (users, tickets, suppressions, agents)."""

    url: SecretStr | None = Field(
        None, description="SQLAlchemy URL, e.g. postgresql+psycopg://...; default sqlite:///<data_dir>/sontra.db"
    )


class LoggingConfig(_Section):
    """Sontra's own logs."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level")


class FilterConfig(_Section):
    """One ingest noise filter (docs/ingest-filters.md): events matching ``query`` are dropped or routed."""

    name: str = Field(..., min_length=1, description="Names the filter in errors and in sontra_filter_matches_total")
    query: str = Field(..., description="Lucene query on the normalized event, as typed in search")
    action: Literal["drop", "route"] = Field(..., description="drop: not stored; route: stored with labels.stream")
    stream: str | None = Field(None, description="route only: the labels.stream value given to matching events")
    detect: bool = Field(True, description="route only: false stores matching events without running detection")
    include_parse_failures: bool = Field(
        False, description="Also apply to events tagged parse_failure (never, unless this says so)"
    )

    @model_validator(mode="after")
    def _compiles(self) -> FilterConfig:
        try:
            self.to_filter()
        except FilterError as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_filter(self) -> IngestFilter:
        """The ingest filter this entry configures, its query compiled; FilterError names the problem."""
        return IngestFilter.build(
            self.name,
            self.query,
            self.action,
            stream=self.stream,
            detect=self.detect,
            include_parse_failures=self.include_parse_failures,
        )


class IocFeedConfig(_Section):
    """One threat-intelligence feed file for IOC matching (correlation/ioc/README.md)."""

    name: str = Field(..., min_length=1, description="Feed name, shown in alerts as threat.feed.name")
    path: Path = Field(..., description="The feed file; re-read when it changes")
    format: Literal["stix", "misp", "csv", "list"] = Field(
        ..., description="stix (2.1 bundle), misp (event JSON), csv (with a header row) or list (one per line)"
    )
    confidence: int | None = Field(
        None, ge=0, le=100, description="Confidence 0-100 for indicators that carry none (sets rule.level)"
    )
    include_non_ids: bool = Field(False, description="misp only: also load attributes whose to_ids flag is off")


class IocConfig(_Section):
    """Indicator-of-compromise matching at ingest."""

    feeds: list[IocFeedConfig] = Field(
        default_factory=list,
        description="IOC feed files: each {name, path, format (stix, misp, csv or list), confidence, include_non_ids}",
    )
    reload_seconds: int = Field(
        300, ge=0, description="How often feed files are checked and reloaded when changed (0: only at start)"
    )

    @field_validator("feeds")
    @classmethod
    def _unique_feed_names(cls, value: list[IocFeedConfig]) -> list[IocFeedConfig]:
        names = [f.name for f in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"IOC feed names must be unique; repeated: {', '.join(repeated)}")
        return value


class KillChainConfig(_Section):
    """Kill-chain progression per entity (host, user, source IP) over ATT&CK tactics."""

    window: str = Field("6h", description="How far apart the first and last alert of a chain may be (30m, 6h, 1d)")
    min_phases: int = Field(3, ge=2, le=5, description="Phases in order an entity must go through to raise an alert")

    @field_validator("window")
    @classmethod
    def _interval(cls, value: str) -> str:
        from storage.timefmt import parse_interval

        parse_interval(value)  # ValueError names the bad text
        return value

    @property
    def window_delta(self) -> timedelta:
        """The window as a timedelta."""
        from storage.timefmt import parse_interval

        return parse_interval(self.window)


class RulesConfig(_Section):
    """Detection rules run at ingest (Sigma single-event and correlation rules) and the kill chain."""

    paths: list[Path] | None = Field(
        None,
        description="Sigma rule files and folders (recursive); default: Sontra's own rule pack (correlation/rules/) "
        "when installed; [] runs no Sigma rules",
    )
    placeholders: dict[str, list[str]] = Field(
        default_factory=dict, description="Values of %name% placeholders in rules (the expand modifier)"
    )
    killchain: KillChainConfig = Field(default_factory=KillChainConfig)

    @field_validator("paths", mode="before")
    @classmethod
    def _one_path(cls, value: Any) -> Any:
        # SONTRA_RULES__PATHS=/etc/sontra/rules: one path without YAML list brackets.
        return [value] if isinstance(value, str | Path) else value

    @field_validator("paths")
    @classmethod
    def _paths_exist(cls, value: list[Path] | None) -> list[Path] | None:
        missing = [str(p) for p in value or () if not p.exists()]
        if missing:
            raise ValueError(f"rule path does not exist: {', '.join(missing)}")
        return value

    @property
    def rule_paths(self) -> list[Path]:
        """The rule files and folders to load: the configured ones, else the built-in pack if it is there."""
        if self.paths is not None:
            return list(self.paths)
        pack = Path(__file__).resolve().parent.parent / "correlation" / "rules"
        return [pack] if pack.is_dir() else []


class SontraConfig(_Section):
    """The whole configuration."""

    data_dir: Path = Field(Path("sontra-data"), description="Where the embedded stores keep their files")
    api: ApiConfig = Field(default_factory=ApiConfig)
    syslog: SyslogConfig = Field(default_factory=SyslogConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    ioc: IocConfig = Field(default_factory=IocConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    filters: list[FilterConfig] = Field(
        default_factory=list,
        description="Ingest noise filters, checked in order; the first match drops or routes the event "
        "(docs/ingest-filters.md)",
    )

    @field_validator("filters")
    @classmethod
    def _unique_filter_names(cls, value: list[FilterConfig]) -> list[FilterConfig]:
        names = [f.name for f in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"filter names must be unique; repeated: {', '.join(repeated)}")
        return value

    @property
    def events_db_path(self) -> Path:
        """The embedded events database file."""
        return self.storage.sqlite.path or self.data_dir / "events.db"

    @property
    def spool_dir(self) -> Path:
        """The spool folder."""
        return self.spool.dir or self.data_dir / "spool"

    @property
    def database_url(self) -> str:
        """The workflow database URL (SQLite in the data dir unless configured)."""
        if self.database.url is not None:
            return self.database.url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'sontra.db').resolve()}"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn SONTRA_A__B=value into {"a": {"b": value}}; values are parsed as YAML scalars."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NON_CONFIG_ENV:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: conflicts with another SONTRA_ variable")
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        node[path[-1]] = value
    return tree


# Environment variables that share the prefix but are not config keys.
_NON_CONFIG_ENV = frozenset({"SONTRA_CONFIG", "SONTRA_SHARED_DIR", "SONTRA_TEST_POSTGRES_URL"})


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


def _describe(error: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration ({origin}):"]
    for err in error.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            lines.append(f"  {key}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def load_config(
    path: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SontraConfig:
    """Load the effective config: defaults < YAML file < SONTRA_* environment < overrides."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get("SONTRA_CONFIG"):
        path = environ["SONTRA_CONFIG"]
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        p = Path(path)
        origin = str(p)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {p}: the top level must be a mapping of keys, got {type(loaded).__name__}")
        data = loaded or {}
    env = _env_overrides(environ)
    if env:
        origin += " + SONTRA_* environment"
    data = _merge(_merge(data, env), overrides or {})
    try:
        return SontraConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


def config_as_dict(config: SontraConfig, *, mask_secrets: bool = True) -> dict[str, Any]:
    """The effective config as plain data, secrets masked (for `sontra config show`)."""
    data = config.model_dump(mode="json")
    if not mask_secrets:
        return data
    return _mask(data, config)


def _mask(data: Any, model: Any) -> Any:
    if isinstance(model, BaseModel):
        out = {}
        for key, value in data.items():
            attr = getattr(model, key)
            if isinstance(attr, SecretStr):
                out[key] = SECRET_MASK
            else:
                out[key] = _mask(value, attr)
        return out
    return data


def describe_keys(model: type[BaseModel] = SontraConfig, prefix: str = "") -> list[tuple[str, Any, str]]:
    """Every config key with its default and description (for docs and `sontra config keys`)."""
    rows: list[tuple[str, Any, str]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(describe_keys(annotation, key + "."))
        else:
            default = info.get_default(call_default_factory=True)
            rows.append((key, default, info.description or ""))
    return rows


def keys_markdown() -> str:
    """docs/configuration.md: every key, its default, its environment variable and its meaning."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `sontra/config.py` by `sontra config keys --markdown`; a test keeps it in sync.",
        "Set keys in `sontra.yaml` (nested YAML) or as environment variables (`__` between levels).",
        "",
        "| key | default | environment | meaning |",
        "|---|---|---|---|",
    ]
    for key, default, text in describe_keys():
        env = ENV_PREFIX + key.upper().replace(".", "__")
        shown = "(none)" if default is None else f"`{default}`"
        lines.append(f"| `{key}` | {shown} | `{env}` | {text} |")
    return "\n".join(lines) + "\n"
