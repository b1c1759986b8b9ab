"""Endpoint agents: enrolment, revocation, and checking the per-agent key that every agent request carries.

A key looks like ``<agent_id>.<secret>``. It is shown once, at enrolment; the database keeps only
its argon2id hash (``Agent.key_hash``). The agent id in front lets a request be matched to its agent
with one indexed lookup, so argon2 runs against one hash, and only once per key and process:
``AgentKeys`` remembers a fast keyed digest of each key it has verified.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.workflow.columns import utcnow
from storage.workflow.database import WorkflowDatabase
from storage.workflow.models import IP_LENGTH, Agent, AgentStatus, AuditLog
from storage.workflow.users import hash_password, verify_password

KEY_SEPARATOR = "."
_AGENT_ID = re.compile(r"^[0-9a-f]{16}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_NAME_LENGTH = 128
_HOSTNAME_LENGTH = 255
REFUSED_STATUSES = frozenset({AgentStatus.DISABLED, AgentStatus.REVOKED})


class AgentError(ValueError):
    """An agent could not be enrolled or changed; the message says which agent and why."""


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """Who an accepted key belongs to."""

    agent_id: str
    name: str
    hostname: str


def split_key(key: str) -> tuple[str, str] | None:
    """``(agent_id, secret)`` of a well-formed key, else None (never an error: keys come from strangers)."""
    agent_id, separator, secret = key.partition(KEY_SEPARATOR)
    if not separator or not _AGENT_ID.match(agent_id) or not _SECRET.match(secret):
        return None
    return agent_id, secret


def _text(value: str | None, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text or len(text) > limit or not text.isprintable():
        raise AgentError(f"invalid agent {what} {value!r}: 1-{limit} printable characters")
    return text


def enroll_agent(
    session: Session, name: str, *, hostname: str | None = None, actor: str = "system"
) -> tuple[Agent, str]:
    """Add an agent (flushed, not committed) and return it with its key, which exists nowhere else afterwards."""
    name = _text(name, "name", _NAME_LENGTH)
    hostname = _text(hostname if hostname is not None else name, "hostname", _HOSTNAME_LENGTH)
    agent_id = secrets.token_hex(8)
    key = f"{agent_id}{KEY_SEPARATOR}{secrets.token_urlsafe(32)}"
    agent = Agent(agent_id=agent_id, name=name, hostname=hostname, key_hash=hash_password(key))
    session.add(agent)
    session.add(AuditLog(actor=actor, action="agent.enroll", target=agent_id, detail={"name": name}))
    session.flush()
    return agent, key


def list_agents(session: Session) -> list[Agent]:
    """Every enrolled agent, oldest first."""
    return list(session.scalars(select(Agent).order_by(Agent.id)))


def revoke_agent(session: Session, agent_id: str, *, actor: str = "system") -> Agent:
    """Mark the agent revoked: its key is refused from now on. AgentError when there is no such agent."""
    agent = session.scalar(select(Agent).where(Agent.agent_id == agent_id))
    if agent is None:
        raise AgentError(f"no agent with id {agent_id!r} (see `sontra agent list`)")
    if agent.status != AgentStatus.REVOKED:
        session.add(
            AuditLog(actor=actor, action="agent.revoke", target=agent_id, detail={"from": agent.status.value})
        )
        agent.status = AgentStatus.REVOKED
    return agent


class AgentKeys:
    """Checks agent keys against the workflow database, fast after the first time.

    Every check reads the agent's row (one indexed lookup), so a revoked or disabled agent is
    refused at its next request, even when another process (``sontra agent revoke``) revoked it.
    argon2 runs only for a key not verified before in this process, at most two at a time: it is
    slow and memory-hungry on purpose, and a flood of bad keys must not exhaust the server.
    """

    def __init__(self, db: WorkflowDatabase, *, seen_every: float = 60.0, argon2_slots: int = 2) -> None:
        self._db = db
        self._seen_every = seen_every
        self._pepper = secrets.token_bytes(32)  # digests of keys are useless outside this process
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[str, bytes]] = {}  # agent id -> (key hash, digest of its key)
        self._refused: OrderedDict[bytes, None] = OrderedDict()  # digests of wrong keys, most recent last
        self._last_seen: dict[str, float] = {}
        self._argon2 = threading.BoundedSemaphore(argon2_slots)
        self.argon2_checks = 0  # how often argon2 actually ran (the cache's effect, for tests and metrics)

    def authenticate(self, key: str, *, ip: str | None = None) -> AgentIdentity | None:
        """The agent this key belongs to, or None (unknown, wrong, disabled or revoked). Never logs the key."""
        parts = split_key(key)
        if parts is None:
            return None
        agent_id = parts[0]
        with self._db.session() as session:
            row = session.execute(
                select(Agent.name, Agent.hostname, Agent.status, Agent.key_hash).where(Agent.agent_id == agent_id)
            ).one_or_none()
        if row is None or row.status in REFUSED_STATUSES:
            self.forget(agent_id)
            return None
        digest = hmac.new(self._pepper, f"{row.key_hash}\n{key}".encode(), hashlib.blake2b).digest()
        with self._lock:
            known = self._verified.get(agent_id)
            if digest in self._refused:
                return None
        if known is None or known[0] != row.key_hash or not hmac.compare_digest(known[1], digest):
            with self._argon2:
                self.argon2_checks += 1
                good = verify_password(row.key_hash, key)
            with self._lock:
                if not good:
                    self._refused[digest] = None
                    if len(self._refused) > 10_000:
                        self._refused.popitem(last=False)
                    return None
                self._verified[agent_id] = (row.key_hash, digest)
        self._seen(agent_id, row.status, ip)
        return AgentIdentity(agent_id, row.name, row.hostname)

    def forget(self, agent_id: str) -> None:
        """Drop what is remembered about this agent's key (after revoking or re-keying it here)."""
        with self._lock:
            self._verified.pop(agent_id, None)

    def _seen(self, agent_id: str, status: AgentStatus, ip: str | None) -> None:
        """Record last_seen_at (and the address) at most every ``seen_every`` seconds; first contact activates."""
        now = time.monotonic()
        with self._lock:
            last = self._last_seen.get(agent_id)
            if status != AgentStatus.PENDING and last is not None and now - last < self._seen_every:
                return
            self._last_seen[agent_id] = now
        values: dict[str, object] = {"last_seen_at": utcnow()}
        if ip:
            values["ip"] = ip[:IP_LENGTH]
        if status == AgentStatus.PENDING:
            values["status"] = AgentStatus.ACTIVE
        with self._db.transaction() as session:
            session.execute(
                update(Agent)
                .where(Agent.agent_id == agent_id, Agent.status.not_in(tuple(REFUSED_STATUSES)))
                .values(**values)
            )
