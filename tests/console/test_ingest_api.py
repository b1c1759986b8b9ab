"""POST /api/v1/ingest over real HTTP: the real app on uvicorn, a real spool, a real workflow DB with agents."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from prometheus_client import CollectorRegistry

from collectors.agent_http import AGENT_INPUT
from collectors.pipeline import IngestPipeline
from collectors.spool import Spool
from console.app import create_app
from console.deps import AgentIngest, ConsoleContext
from normalizers.record import RawRecord
from storage.sqlite import SqliteEventStore
from storage.workflow import Agent, AgentStatus, WorkflowDatabase, sqlite_url
from storage.workflow.agents import AgentKeys, enroll_agent, revoke_agent
from tests.collectors.conftest import stored_events

NDJSON = {"Content-Type": "application/x-ndjson"}


@dataclass
class Served:
    url: str
    spool: Spool
    keys: AgentKeys
    db: WorkflowDatabase
    agent_id: str
    key: str

    def post(self, body: bytes | Iterator[bytes], *, key: str | None = None, **headers: str) -> httpx.Response:
        given = {**NDJSON, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if key is not None or "Authorization" not in given:
            given["Authorization"] = f"Bearer {self.key if key is None else key}"
        return httpx.post(self.url + "/api/v1/ingest", content=body, headers=given, timeout=30)

    def spooled(self) -> list[RawRecord]:
        """Everything durable in the spool (the reader never reads what is not fsync'd)."""
        reader = self.spool.reader()
        out: list[RawRecord] = []
        while batch := reader.read(10_000):
            out.extend(batch)
        return out


def enroll(db: WorkflowDatabase, name: str) -> tuple[str, str]:
    with db.transaction(write=True) as session:
        agent, key = enroll_agent(session, name, hostname=f"{name}.city.gov")
        return agent.agent_id, key


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start the app on a real port with the given ingest limits; everything is torn down after the test."""
    started: list[tuple[uvicorn.Server, threading.Thread, Spool, WorkflowDatabase, SqliteEventStore]] = []

    def start(*, spool_bytes: int = 64 * 1024 * 1024, enabled: bool = True, **limits: int) -> Served:
        db = WorkflowDatabase(sqlite_url(tmp_path / "sontra.db"))
        agent_id, key = enroll(db, "web-01")
        spool = Spool(tmp_path / "spool", segment_bytes=spool_bytes // 4, max_bytes=spool_bytes)
        keys = AgentKeys(db)
        events = SqliteEventStore(tmp_path / "events.db")
        context = ConsoleContext(
            events=events,
            registry=CollectorRegistry(),
            started_at=datetime.now(UTC),
            version="test",
            backend="sqlite",
            ingest=AgentIngest(spool, keys, **limits) if enabled else None,
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(context), log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        started.append((server, thread, spool, db, events))
        return Served(f"http://127.0.0.1:{sock.getsockname()[1]}", spool, keys, db, agent_id, key)

    yield start
    for server, thread, spool, db, events in started:
        server.should_exit = True
        thread.join(10)
        spool.close()
        events.close()
        db.close()


def test_ndjson_is_durable_at_202_and_bad_lines_are_named_and_still_stored(serve: Any, tmp_path: Path) -> None:
    served = serve()
    lines = [
        b'{"@timestamp": "2026-11-23T10:00:00Z", "message": "first", "host": {"name": "web-01"}}',
        b"this is not json",
        b"",  # blank: skipped, not an error, but it still counts as a line
        b'{"message": "after a blank line", "agent": {"id": "someone-else"}}',
        b"[1, 2, 3]",
        b'{"message": "crlf line"}\r',
        b'{"message": "unterminated',
    ]
    response = served.post(b"\n".join(lines) + b"\n")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 3
    assert [r["line"] for r in body["rejected"]] == [2, 5, 7]
    assert body["rejected_total"] == 3
    assert body["rejected"][0]["error"].startswith("not valid JSON")
    assert body["rejected"][1]["error"] == "expected a JSON object, got an array"
    assert "parse_failure" in body["note"]

    # 202 came after the fsync: the reader, which only sees durable bytes, has all six lines now.
    spooled = served.spooled()
    assert [r.text for r in spooled] == [line.decode().rstrip("\r") for line in lines if line]
    assert {(r.input, r.source, r.format) for r in spooled} == {(AGENT_INPUT, served.agent_id, "jsonl")}
    assert len({r.position for r in spooled}) == 6

    store = SqliteEventStore(tmp_path / "check.db")
    try:
        IngestPipeline(store).process(spooled)
        events = {e["event"]["original"]: e for e in stored_events(store)}
    finally:
        store.close()
    assert len(events) == 6
    assert {e["agent"]["id"] for e in events.values()} == {served.agent_id}  # the key decides, not the body
    failures = sorted(original for original, e in events.items() if "parse_failure" in e.get("tags", []))
    assert failures == sorted(["this is not json", "[1, 2, 3]", '{"message": "unterminated'])
    assert events["this is not json"]["message"] == "this is not json"
    assert events['{"message": "after a blank line", "agent": {"id": "someone-else"}}']["message"] == (
        "after a blank line"
    )


def test_json_array_and_single_object_and_gzip(serve: Any) -> None:
    served = serve()
    array = orjson.dumps([{"message": "a"}, 42, {"message": "b"}, "text", None])
    response = served.post(array, Content_Type="application/json")
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 2
    assert response.json()["rejected"] == [
        {"index": 1, "error": "expected a JSON object, got a number"},
        {"index": 3, "error": "expected a JSON object, got a string"},
        {"index": 4, "error": "expected a JSON object, got null"},
    ]
    single = served.post(b'{"message": "alone"}', Content_Type="application/json; charset=utf-8")
    assert single.status_code == 202 and single.json() == {"accepted": 1, "rejected": [], "rejected_total": 0}

    ndjson = b"".join(b'{"message": "zipped %d"}\n' % i for i in range(2000))
    zipped = served.post(gzip.compress(ndjson), Content_Encoding="gzip")
    assert zipped.status_code == 202 and zipped.json()["accepted"] == 2000
    two_members = gzip.compress(b'{"message": "m1"}\n') + gzip.compress(b'{"message": "m2"}\n')
    assert served.post(two_members, Content_Encoding="gzip").json()["accepted"] == 2

    texts = [r.text for r in served.spooled()]
    assert texts[:5] == ['{"message":"a"}', "42", '{"message":"b"}', '"text"', "null"]
    assert texts[5] == '{"message": "alone"}'
    assert texts[6:2006] == [f'{{"message": "zipped {i}"}}' for i in range(2000)]
    assert texts[2006:] == ['{"message": "m1"}', '{"message": "m2"}']


def test_bodies_over_the_limit_get_413_and_broken_ones_400(serve: Any) -> None:
    served = serve(max_body_bytes=64 * 1024, max_events=500)
    big = b"".join(b'{"message": "%s"}\n' % (b"x" * 100) for _ in range(1000))  # ~115 KiB
    declared = served.post(big)
    assert declared.status_code == 413 and "at most 65536" in declared.json()["detail"]

    chunked = served.post(iter([big[:40_000], big[40_000:]]))  # no Content-Length: cut while streaming
    assert chunked.status_code == 413

    bomb = gzip.compress(b"\n" * (50 * 1024 * 1024))  # 50 MiB of newlines in ~50 KiB
    assert len(bomb) < 64 * 1024
    exploded = served.post(bomb, Content_Encoding="gzip")
    assert exploded.status_code == 413 and "once decompressed" in exploded.json()["detail"]

    many = served.post(b'{"m": 1}\n' * 501)
    assert many.status_code == 413 and "at most 500" in many.json()["detail"]

    broken = served.post(b"\x1f\x8b\x08\x00 definitely not deflate", Content_Encoding="gzip")
    assert broken.status_code == 400 and "not valid gzip" in broken.json()["detail"]
    cut = served.post(gzip.compress(b'{"m": 1}\n' * 100)[:-12], Content_Encoding="gzip")
    assert cut.status_code == 400 and "cut short" in cut.json()["detail"]
    not_json = served.post(b'[{"m": 1},', Content_Type="application/json")
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["detail"]

    assert served.post(b"{}", Content_Type="text/csv").status_code == 415
    assert served.post(b"{}", Content_Encoding="br").status_code == 415
    assert served.spooled() == []  # nothing of a refused request was kept


def test_keys_wrong_missing_revoked_get_401_and_argon2_runs_once(serve: Any) -> None:
    served = serve()
    body = b'{"message": "hello"}\n'
    assert served.post(body).status_code == 202
    assert served.post(body).status_code == 202
    assert served.keys.argon2_checks == 1  # the second request used the in-memory digest

    agent_id, secret = served.key.split(".")
    wrong = f"{agent_id}.{secret[:-1]}{'B' if secret.endswith('A') else 'A'}"
    for bad in [wrong, wrong, "0123456789abcdef." + secret, "garbage", "a.b"]:
        refused = served.post(body, key=bad)
        assert refused.status_code == 401, bad
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert served.keys.argon2_checks == 2  # the repeated wrong key was refused from memory
    missing = httpx.post(served.url + "/api/v1/ingest", content=body, headers=NDJSON)
    assert missing.status_code == 401 and "missing agent key" in missing.json()["detail"]
    basic = served.post(body, Authorization="Basic dXNlcjpwYXNz")
    assert basic.status_code == 401

    with served.db.session() as session:
        agent = session.query(Agent).filter_by(agent_id=served.agent_id).one()
        assert agent.status == AgentStatus.ACTIVE  # first contact activated it
        assert agent.last_seen_at is not None and agent.ip == "127.0.0.1"

    with served.db.transaction() as session:  # as `sontra agent revoke` does, from another process
        revoke_agent(session, served.agent_id)
    assert served.post(body).status_code == 401  # the cached digest does not outlive the revocation

    other_id, other_key = enroll(served.db, "db-02")
    with served.db.transaction() as session:
        session.query(Agent).filter_by(agent_id=other_id).one().status = AgentStatus.DISABLED
    assert served.post(body, key=other_key).status_code == 401
    assert len(served.spooled()) == 2


def test_full_spool_answers_429_with_retry_after_and_keeps_nothing_of_that_request(serve: Any) -> None:
    served = serve(spool_bytes=16 * 1024 * 1024)  # no worker drains it: it must fill up
    batch = b"".join(b'{"message": "%s %d"}\n' % (b"y" * 200, i) for i in range(2000))  # ~450 KiB spooled
    accepted = 0
    for _ in range(100):
        response = served.post(batch)
        if response.status_code == 429:
            break
        assert response.status_code == 202, response.text
        accepted += response.json()["accepted"]
    else:
        pytest.fail("the spool never filled up")
    assert response.headers["Retry-After"] == "5"
    assert "spool is full" in response.json()["detail"]
    assert accepted > 0
    assert len(served.spooled()) == accepted  # every 202 is there, nothing of the 429 is


def test_ingest_switched_off_answers_503(serve: Any) -> None:
    served = serve(enabled=False)
    response = served.post(b'{"m": 1}\n')
    assert response.status_code == 503 and "not enabled" in response.json()["detail"]
    assert served.spooled() == []
