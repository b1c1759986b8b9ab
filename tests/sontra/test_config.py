"""Configuration: defaults, YAML, SONTRA_* overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sontra.config import SECRET_MASK, ConfigError, config_as_dict, describe_keys, load_config


def test_defaults_are_safe_and_embedded() -> None:
    cfg = load_config(environ={})
    assert cfg.api.host == "127.0.0.1" and cfg.api.port == 8080
    assert cfg.syslog.udp.host == "127.0.0.1" and cfg.syslog.udp.port == 5514
    assert cfg.syslog.tcp.host == "127.0.0.1" and cfg.syslog.tcp.port == 5514
    assert cfg.storage.backend == "sqlite"
    assert cfg.data_dir == Path("sontra-data")
    assert cfg.database_url.startswith("sqlite:///") and cfg.database_url.endswith("sontra-data/sontra.db")


def test_yaml_then_environment_then_flags(tmp_path: Path) -> None:
    f = tmp_path / "sontra.yaml"
    f.write_text("api:\n  port: 9000\nsyslog:\n  tcp:\n    port: 6514\n  timezone: Asia/Ho_Chi_Minh\n")
    env = {"SONTRA_API__PORT": "9100", "SONTRA_DATA_DIR": "/srv/sontra", "SONTRA_SYSLOG__UDP__ENABLED": "false"}
    cfg = load_config(f, environ=env, overrides={"data_dir": tmp_path / "d"})
    assert cfg.api.port == 9100  # env beats file
    assert cfg.syslog.tcp.port == 6514  # file beats default
    assert cfg.syslog.udp.enabled is False
    assert cfg.syslog.timezone == "Asia/Ho_Chi_Minh"
    assert cfg.data_dir == tmp_path / "d"  # flags beat env


def test_config_file_from_environment(tmp_path: Path) -> None:
    f = tmp_path / "other.yaml"
    f.write_text("storage:\n  retention_days: 30\n")
    assert load_config(environ={"SONTRA_CONFIG": str(f)}).storage.retention_days == 30


@pytest.mark.parametrize(
    ("text", "env", "named"),
    [
        ("api:\n  prot: 8080\n", {}, "api.prot: unknown key"),
        ("api:\n  port: 99999\n", {}, "api.port"),
        ("storage:\n  backend: mysql\n", {}, "storage.backend"),
        ("syslog:\n  timezone: Mars/Olympus\n", {}, "unknown time zone 'Mars/Olympus'"),
        ("", {"SONTRA_API__PORT": "eighty"}, "api.port"),
        ("", {"SONTRA_NOSUCH": "1"}, "nosuch: unknown key"),
    ],
)
def test_bad_key_or_value_is_named(tmp_path: Path, text: str, env: dict[str, str], named: str) -> None:
    f = tmp_path / "sontra.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(f, environ=env)
    assert named in str(err.value)


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("api: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, environ={})
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(listy, environ={})


def test_secrets_are_masked() -> None:
    env = {
        "SONTRA_STORAGE__OPENSEARCH__PASSWORD": "hunter2",
        "SONTRA_DATABASE__URL": "postgresql+psycopg://soc:s3cret@db/sontra",
    }
    cfg = load_config(environ=env)
    assert cfg.storage.opensearch.password.get_secret_value() == "hunter2"
    shown = config_as_dict(cfg)
    assert shown["storage"]["opensearch"]["password"] == SECRET_MASK
    assert shown["database"]["url"] == SECRET_MASK
    assert "hunter2" not in repr(cfg) and "s3cret" not in repr(cfg)


def test_every_key_is_documented() -> None:
    rows = describe_keys()
    keys = {k for k, _, _ in rows}
    assert {"data_dir", "api.port", "syslog.tcp.port", "storage.backend", "database.url"} <= keys
    undocumented = [k for k, _, text in rows if not text]
    assert undocumented == []


def test_configuration_reference_is_in_sync() -> None:
    from sontra.config import keys_markdown

    doc = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    regenerate = "run: sontra config keys --markdown > docs/configuration.md"
    assert doc.read_text(encoding="utf-8") == keys_markdown(), regenerate
