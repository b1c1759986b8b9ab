"""`sontra ingest` with detection and triage, and `sontra rules replay` after a rule change (no duplicates)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sontra.cli import main
from storage.sqlite import SqliteEventStore
from tests.sontra.detection_rules import ATTACKER, failed_passwords, write_rules


def _log(tmp_path: Path) -> Path:
    """An auth log of the last hour: a brute force (4 failures) and a new local account."""
    stamp = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    lines = [
        *failed_passwords("web01", stamp),
        f"<86>1 {stamp}:30.000Z web01 useradd 2400 - - new user: name=backdoor, UID=1002, GID=1002, "
        "home=/home/backdoor, shell=/bin/bash, from=/dev/pts/0",
    ]
    path = tmp_path / "auth.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _tickets(capsys: pytest.CaptureFixture[str], data: Path) -> list[dict]:
    code, out, err = _cli(capsys, "tickets", "list", "--json", "--data-dir", str(data))
    assert code == 0, err
    return json.loads(out)["tickets"]


def test_ingest_detects_and_tickets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SONTRA_RULES__PATHS", str(write_rules(tmp_path / "rules")))
    data = tmp_path / "data"
    code, out, err = _cli(capsys, "ingest", str(_log(tmp_path)), "--json", "--data-dir", str(data))
    assert code == 0, err
    # One brute force (the base rule is silenced: generate false) and one new-user alert.
    assert json.loads(out)["alerts"] == 2
    tickets = {t["rule"]["name"]: t for t in _tickets(capsys, data)}
    assert set(tickets) == {"SSH brute force", "Local user account created"}
    assert tickets["SSH brute force"]["entity"]["value"] == ATTACKER
    assert tickets["SSH brute force"]["severity"] == "high"
    with SqliteEventStore(data / "events.db", kind="alerts") as alerts:
        (created,) = alerts.search('rule.name:"Local user account created"', size=5).hits
        assert created["event"]["created"] >= created["@timestamp"]
        (event_id,) = created["sontra"]["alert"]["source_event_ids"]
    with SqliteEventStore(data / "events.db") as events:
        assert "new user: name=backdoor" in events.get(event_id)["event"]["original"]

    # Importing the same file again stores nothing new and opens no ticket.
    code, out, _ = _cli(capsys, "ingest", str(_log(tmp_path)), "--json", "--data-dir", str(data))
    assert code == 0 and json.loads(out)["duplicates"] == 5
    assert sorted(t["alert_count"] for t in _tickets(capsys, data)) == [1, 1]


def test_replay_after_a_rule_change_writes_each_alert_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    # Stored before the rules existed: no alerts.
    monkeypatch.setenv("SONTRA_RULES__PATHS", "[]")
    code, out, err = _cli(capsys, "ingest", str(_log(tmp_path)), "--json", "--data-dir", str(data))
    assert code == 0 and json.loads(out)["alerts"] == 0, err
    assert _tickets(capsys, data) == []

    monkeypatch.setenv("SONTRA_RULES__PATHS", str(write_rules(tmp_path / "rules")))
    code, out, err = _cli(capsys, "rules", "replay", "--since", "24h", "--json", "--data-dir", str(data))
    assert code == 0, err
    first = json.loads(out)
    assert (first["events"], first["written"], first["duplicates"]) == (5, 2, 0)
    assert first["rules_loaded"] == 3
    assert first["triage"]["tickets_opened"] == 2

    code, out, err = _cli(capsys, "rules", "replay", "--since", "24h", "--json", "--data-dir", str(data))
    assert code == 0, err
    second = json.loads(out)
    assert (second["events"], second["written"], second["duplicates"]) == (5, 0, 2)
    assert second["triage"]["tickets_opened"] == 0
    with SqliteEventStore(data / "events.db", kind="alerts") as alerts:
        assert alerts.count("*") == 2
    assert sorted(t["alert_count"] for t in _tickets(capsys, data)) == [1, 1]


def test_replay_refuses_a_bad_look_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "rules", "replay", "--since", "yesterday", "--data-dir", str(tmp_path / "d"))
    assert code == 2 and "--since" in err and "yesterday" in err


def test_a_missing_rule_path_stops_ingest_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SONTRA_RULES__PATHS", str(tmp_path / "no-rules"))
    code, _, err = _cli(capsys, "ingest", str(_log(tmp_path)), "--data-dir", str(tmp_path / "d"))
    assert code == 2
    assert "rules.paths" in err and "no-rules" in err
