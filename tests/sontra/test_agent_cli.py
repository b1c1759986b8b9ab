"""`sontra agent enroll|list|revoke` against a real workflow database: the key is shown once, stored hashed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sontra.cli import main
from storage.workflow import Agent, AgentStatus, AuditLog, WorkflowDatabase, sqlite_url
from storage.workflow.agents import AgentKeys, split_key


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_enroll_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    code, out, _ = run(capsys, "agent", "enroll", "web-01", "--hostname", "web-01.danang.gov.vn", "--json", *data)
    assert code == 0
    enrolled = json.loads(out)
    key = enrolled["key"]
    assert split_key(key) == (enrolled["agent_id"], key.split(".", 1)[1])
    assert enrolled["status"] == "pending" and enrolled["hostname"] == "web-01.danang.gov.vn"

    code, out, _ = run(capsys, "agent", "enroll", "db-02", *data)
    assert code == 0 and "key: " in out and "shown only this once" in out

    code, out, _ = run(capsys, "agent", "list", "--json", *data)
    listed = json.loads(out)
    assert [a["name"] for a in listed] == ["web-01", "db-02"]
    assert all("key" not in a for a in listed)
    code, out, _ = run(capsys, "agent", "list", *data)
    assert enrolled["agent_id"] in out and "pending" in out and key not in out

    db = WorkflowDatabase(sqlite_url(tmp_path / "data" / "sontra.db"))
    try:
        with db.session() as session:
            stored = session.query(Agent).filter_by(agent_id=enrolled["agent_id"]).one()
            assert stored.key_hash.startswith("$argon2id$") and key not in stored.key_hash
        keys = AgentKeys(db)
        assert keys.authenticate(key) is not None

        code, out, _ = run(capsys, "agent", "revoke", enrolled["agent_id"], "--json", *data)
        assert code == 0 and json.loads(out)["status"] == "revoked"
        assert keys.authenticate(key) is None  # refused at once, by the running verifier too
        with db.session() as session:
            assert session.query(Agent).filter_by(agent_id=enrolled["agent_id"]).one().status == AgentStatus.REVOKED
            actions = [a.action for a in session.query(AuditLog).order_by(AuditLog.id)]
            assert actions.count("agent.enroll") == 2 and actions.count("agent.revoke") == 1
    finally:
        db.close()


def test_bad_input_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    code, _, err = run(capsys, "agent", "revoke", "0123456789abcdef", *data)
    assert code == 1 and "no agent with id '0123456789abcdef'" in err
    code, _, err = run(capsys, "agent", "enroll", "   ", *data)
    assert code == 2 and "invalid agent name" in err
    code, _, err = run(capsys, "agent", "enroll", "ok", "--hostname", "x" * 300, *data)
    assert code == 2 and "invalid agent hostname" in err
