"""Shared by the ticket tests: a real workflow DB on SQLite (and PostgreSQL when configured), alert builder."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.timefmt import format_timestamp
from storage.workflow import WorkflowDatabase, sqlite_url

PG_URL = os.environ.get("SONTRA_TEST_POSTGRES_URL")
T0 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand: triage and suppressions read 'now' from it."""

    def __init__(self, now: datetime = T0 + timedelta(minutes=5)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowDatabase]:
    """A migrated, empty workflow database on each backend (PostgreSQL when SONTRA_TEST_POSTGRES_URL is set)."""
    if request.param == "sqlite":
        database = WorkflowDatabase(sqlite_url(tmp_path / "data" / "sontra.db"))
        yield database
        database.close()
        return
    if not PG_URL:
        pytest.skip(
            "PostgreSQL not configured: set SONTRA_TEST_POSTGRES_URL=postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'sontra[postgres]'")
    schema = f"sontra_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = (
        make_url(PG_URL).set(drivername="postgresql+psycopg").update_query_dict({"options": f"-csearch_path={schema}"})
    )
    database = WorkflowDatabase(url.render_as_string(hide_password=False))
    try:
        yield database
    finally:
        database.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_alert(
    event_id: str,
    *,
    rule_id: str = "rule-ssh-brute",
    rule_name: str = "SSH brute force",
    level: str | None = "high",
    at: datetime = T0,
    created: datetime | None = None,
    host: str | None = "web-01",
    user: str | None = None,
    ip: str | None = None,
    tactics: tuple[str, ...] = ("Credential Access",),
    **extra: Any,
) -> dict[str, Any]:
    """An alert as a detector writes it: deterministic event.id from rule + triggering event."""
    alert: dict[str, Any] = {
        "@timestamp": format_timestamp(at),
        "message": rule_name,
        "event": {
            "kind": "alert",
            "id": hashlib.blake2b(f"{rule_id}|{event_id}".encode(), digest_size=16).hexdigest(),
            "created": format_timestamp(created or at + timedelta(seconds=2)),
        },
        "rule": {"id": rule_id, "name": rule_name},
        "sontra": {"alert": {"source_event_ids": [event_id]}},
    }
    if level is not None:
        alert["rule"]["level"] = level
    if tactics:
        alert["threat"] = {"framework": "MITRE ATT&CK", "tactic": {"name": list(tactics)}}
    if host:
        alert["host"] = {"name": host}
    if user:
        alert["user"] = {"name": user}
    if ip:
        alert["source"] = {"ip": ip}
    for key, value in extra.items():
        alert[key] = value
    return alert
