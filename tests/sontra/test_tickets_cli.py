"""`sontra tickets` and `sontra suppressions` on a real data dir: JSON shapes, filters, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from correlation.tickets import AlertTriage, SuppressionSet
from sontra.cli import main
from storage.workflow import Ticket, TicketStatus, WorkflowDatabase, sqlite_url
from tests.correlation.ticket_support import T0, make_alert


@pytest.fixture(autouse=True)
def _no_sontra_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SONTRA_"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir whose workflow DB holds three tickets: two open (high, critical), one resolved."""
    data = tmp_path / "sontra-data"
    with WorkflowDatabase(sqlite_url(data / "sontra.db")) as db:
        triage = AlertTriage(db, SuppressionSet(db))
        triage.handle(
            [
                make_alert("e1", at=T0, host="web-01"),
                make_alert("e2", at=T0 + timedelta(minutes=5), host="web-01"),
                make_alert(
                    "e3",
                    at=T0 + timedelta(minutes=1),
                    host="db-01",
                    level="critical",
                    rule_id="rule-dump",
                    rule_name="LSASS memory dump",
                    tactics=("Credential Access",),
                ),
                make_alert("e4", at=T0 - timedelta(hours=2), host="old-01"),
            ]
        )
        with db.transaction(write=True) as s:
            s.query(Ticket).filter(Ticket.entity_value == "old-01").update({"status": TicketStatus.RESOLVED})
    return data


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_shows_open_tickets_most_recent_first(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "tickets", "list", "--json", "--data-dir", str(data_dir))
    assert code == 0
    page = json.loads(out)
    assert page["total"] == 2
    assert [t["entity"]["value"] for t in page["tickets"]] == ["web-01", "db-01"]
    first = page["tickets"][0]
    assert set(first) == {
        "id",
        "title",
        "status",
        "severity",
        "rule",
        "entity",
        "alert_count",
        "first_seen",
        "last_seen",
        "tactics",
        "assignee",
        "created_at",
        "updated_at",
        "resolved_at",
    }
    assert first["title"] == "SSH brute force on host web-01"
    assert (first["status"], first["severity"], first["alert_count"]) == ("new", "high", 2)
    assert first["rule"] == {"id": "rule-ssh-brute", "name": "SSH brute force"}
    assert first["entity"] == {"type": "host", "value": "web-01"}
    assert (first["first_seen"], first["last_seen"]) == ("2026-11-20T08:30:00.000Z", "2026-11-20T08:35:00.000Z")
    assert first["tactics"] == ["credential_access"] and first["assignee"] is None


@pytest.mark.parametrize(
    ("filters", "entities", "total"),
    [
        (["--status", "all"], ["web-01", "db-01", "old-01"], 3),
        (["--status", "resolved"], ["old-01"], 1),
        (["--severity", "critical"], ["db-01"], 1),
        (["--status", "all", "--severity", "high,critical", "--limit", "1"], ["web-01"], 3),
    ],
)
def test_list_filters(
    data_dir: Path, capsys: pytest.CaptureFixture[str], filters: list[str], entities: list[str], total: int
) -> None:
    code, out, _ = _run(capsys, "tickets", "list", "--json", *filters, "--data-dir", str(data_dir))
    page = json.loads(out)
    assert code == 0 and page["total"] == total
    assert [t["entity"]["value"] for t in page["tickets"]] == entities


def test_list_refuses_an_unknown_status(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tickets", "list", "--status", "done", "--data-dir", str(data_dir)])
    assert exit_info.value.code == 2
    assert "unknown status 'done'" in capsys.readouterr().err


def test_show_json_has_the_alerts_and_history(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "tickets", "list", "--json", "--data-dir", str(data_dir))
    ticket_id = json.loads(out)["tickets"][0]["id"]

    code, out, _ = _run(capsys, "tickets", "show", str(ticket_id), "--json", "--data-dir", str(data_dir))
    detail = json.loads(out)
    assert code == 0 and detail["id"] == ticket_id and detail["alert_count"] == 2
    assert [a["alert_id"] for a in detail["alerts"]] == [
        make_alert("e2")["event"]["id"],
        make_alert("e1")["event"]["id"],
    ]
    assert detail["alerts"][0]["timestamp"] == "2026-11-20T08:35:00.000Z"
    assert [(h["actor"], h["action"], h["to"]) for h in detail["history"]] == [("system", "created", "new")]
    assert detail["history"][0]["detail"]["alerts"] == 2
    assert detail["comments"] == []

    code, out, _ = _run(capsys, "tickets", "show", str(ticket_id), "--data-dir", str(data_dir))
    assert code == 0 and "SSH brute force on host web-01" in out and "created" in out

    code, _, err = _run(capsys, "tickets", "show", "999", "--data-dir", str(data_dir))
    assert code == 1 and "no ticket with id 999" in err


def test_suppressions_add_list_disable(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys,
        "suppressions",
        "add",
        "--query",
        "host.name:backup-01",
        "--reason",
        "Nightly backup",
        "--owner",
        "lan",
        "--expires",
        "7d",
        "--json",
        "--data-dir",
        str(data_dir),
    )
    added = json.loads(out)
    assert code == 0 and added["state"] == "active" and added["name"] == "nightly-backup"
    expires = datetime.fromisoformat(added["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)

    # The triage of a running service picks it up and counts what it silences.
    with WorkflowDatabase(sqlite_url(data_dir / "sontra.db")) as db:
        assert AlertTriage(db, SuppressionSet(db)).handle([make_alert("e9", host="backup-01")]).suppressed == 1

    code, out, _ = _run(capsys, "suppressions", "list", "--json", "--data-dir", str(data_dir))
    [listed] = json.loads(out)["suppressions"]
    assert (listed["id"], listed["hit_count"], listed["owner"], listed["reason"]) == (
        added["id"],
        1,
        "lan",
        "Nightly backup",
    )

    code, out, _ = _run(
        capsys, "suppressions", "disable", str(added["id"]), "--by", "minh", "--json", "--data-dir", str(data_dir)
    )
    assert code == 0 and json.loads(out)["state"] == "disabled"
    code, out, _ = _run(capsys, "suppressions", "list", "--active", "--json", "--data-dir", str(data_dir))
    assert json.loads(out)["suppressions"] == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--query", "*"], "matches every alert"),
        (["--query", "host.name:x", "--expires", "soon"], "invalid --expires 'soon'"),
        (["--query", "host.name:x", "--expires", "2020-01-01"], "not in the future"),
    ],
)
def test_suppressions_add_refuses_bad_input(
    data_dir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, _, err = _run(
        capsys, "suppressions", "add", "--reason", "r", "--owner", "lan", *extra, "--data-dir", str(data_dir)
    )
    assert code == 2 and message in err


def test_the_installed_command_runs_as_a_process(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONTRA_")}
    done = subprocess.run(
        [sys.executable, "-m", "sontra", "tickets", "list", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["ID", "SEVERITY", "STATUS", "ALERTS", "LAST", "SEEN", "TITLE"]
    assert "SSH brute force on host web-01" in lines[1] and "LSASS memory dump on host db-01" in lines[2]
    assert "-- 2 of 2 tickets" in done.stderr
