"""Suppressions: Lucene queries that keep known false positives out of the ticket queue.

A suppressed alert is still stored and searchable; it only opens no ticket, and its suppression
counts it (``hit_count``, ``last_hit_at``), so the SOC lead can see what each one silences.
Every suppression has an owner, a reason and, unless someone chose ``never``, an expiry.

``SuppressionSet`` is the in-memory view triage matches against: the enabled, unexpired
suppressions with their queries compiled once. It reloads from the database every
``refresh_every`` (another process, the CLI or the console, may have added or disabled one) and
at once after ``invalidate()``; expiry is checked at match time, so a suppression stops applying
the moment it expires, not at the next reload.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from storage.base import QueryError
from storage.lucene.match import EventQuery, compile_query
from storage.lucene.parse import parse_query
from storage.timefmt import format_timestamp
from storage.workflow.columns import utcnow
from storage.workflow.database import WorkflowDatabase
from storage.workflow.models import USERNAME_LENGTH, AuditLog, Suppression

log = logging.getLogger(__name__)

DEFAULT_REFRESH = timedelta(seconds=30)
MAX_NAME_LENGTH = 128  # Suppression.name
_SLUG = re.compile(r"[^a-z0-9]+")


class SuppressionError(ValueError):
    """A suppression could not be created or changed; the message names the field and the problem."""


@dataclass(frozen=True, slots=True)
class ActiveSuppression:
    """One suppression in force, with its compiled query."""

    id: int
    name: str
    query: str
    expires_at: datetime | None
    test: EventQuery

    def applies(self, alert: Mapping[str, Any], now: datetime) -> bool:
        """True when not expired at ``now`` and the alert matches the query."""
        return (self.expires_at is None or self.expires_at > now) and self.test(alert)


class SuppressionSet:
    """The suppressions in force, reloaded from the workflow DB periodically and on ``invalidate()``."""

    def __init__(
        self,
        workflow_db: WorkflowDatabase,
        *,
        refresh_every: timedelta = DEFAULT_REFRESH,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = workflow_db
        self.refresh_every = refresh_every
        self.clock = clock
        self._active: tuple[ActiveSuppression, ...] = ()
        self._compiled: dict[tuple[int, str], EventQuery] = {}
        self._loaded_at: datetime | None = None
        self._lock = threading.Lock()
        # Stored queries that no longer compile (e.g. written by an older Sontra): skipped, listed here.
        self.broken: dict[int, str] = {}

    @property
    def active(self) -> tuple[ActiveSuppression, ...]:
        """The suppressions loaded at the last refresh (expiry is re-checked when matching)."""
        return self._active

    def invalidate(self) -> None:
        """Reload before the next match (call after changing suppressions in this process)."""
        self._loaded_at = None

    def refresh(self) -> None:
        """Load the enabled, unexpired suppressions and compile any query not compiled before."""
        now = self.clock()
        with self.db.transaction() as session:
            rows = session.execute(
                select(Suppression.id, Suppression.name, Suppression.query, Suppression.expires_at)
                .where(Suppression.active_clause(now))
                .order_by(Suppression.id)
            ).all()
        with self._lock:
            active: list[ActiveSuppression] = []
            compiled: dict[tuple[int, str], EventQuery] = {}
            broken: dict[int, str] = {}
            for sid, name, query, expires_at in rows:
                test = self._compiled.get((sid, query))
                if test is None:
                    try:
                        test = compile_query(query)
                    except QueryError as exc:
                        broken[sid] = str(exc)
                        if sid not in self.broken:
                            log.error("suppression %d (%s) is not applied: %s", sid, name, exc)
                        continue
                compiled[(sid, query)] = test
                active.append(ActiveSuppression(sid, name, query, expires_at, test))
            self._compiled = compiled
            self.broken = broken
            self._active = tuple(active)
            self._loaded_at = now

    def refresh_if_stale(self) -> None:
        """Reload when never loaded, invalidated, or older than ``refresh_every``."""
        loaded = self._loaded_at
        if loaded is None or self.clock() - loaded >= self.refresh_every:
            self.refresh()

    def match(self, alert: Mapping[str, Any], now: datetime | None = None) -> ActiveSuppression | None:
        """The first suppression (lowest id) that applies to ``alert``, or None."""
        when = now if now is not None else self.clock()
        for suppression in self._active:
            if suppression.applies(alert, when):
                return suppression
        return None


# --- changing suppressions ----------------------------------------------------------------------


def check_query(query: str) -> str:
    """The query, stripped, if it compiles and does not match every alert; SuppressionError otherwise."""
    text = (query or "").strip()
    try:
        if parse_query(text) is None:
            raise SuppressionError(
                f"suppression query {query!r} matches every alert; narrow it to the false positive, "
                'e.g. rule.id:"..." AND host.name:"backup-01"'
            )
        compile_query(text)
    except QueryError as exc:
        raise SuppressionError(f"suppression query {query!r} is not usable: {exc}") from None
    return text


def create_suppression(
    db: WorkflowDatabase,
    *,
    query: str,
    reason: str,
    owner: str,
    expires_at: datetime | None,
    name: str | None = None,
    now: datetime | None = None,
) -> Suppression:
    """Add a suppression; ``expires_at`` must be given (None only when it is meant to last forever)."""
    when = now or utcnow()
    text = check_query(query)
    why = _required(reason, "a reason", "say why these alerts are false positives")
    who = _required(owner, "an owner", "name who answers for it")
    if len(who) > USERNAME_LENGTH:
        raise SuppressionError(f"owner {who[:20]!r}... is longer than {USERNAME_LENGTH} characters")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise SuppressionError("expiry must carry a time zone (e.g. 2026-12-31T00:00:00Z)")
        if expires_at <= when:
            raise SuppressionError(f"expiry {expires_at.isoformat()} is not in the future")
    with db.transaction(write=True) as session:
        label = _chosen_name(session, name) if name is not None else _unique_name(session, _slug(why))
        suppression = Suppression(name=label, query=text, reason=why, owner=who, expires_at=expires_at, created_at=when)
        session.add(suppression)
        session.flush()
        session.add(
            AuditLog(
                at=when,
                actor=who,
                action="suppression_created",
                target=f"suppression:{suppression.id}",
                detail={"name": label, "query": text, "reason": why, "expires_at": _iso(expires_at)},
            )
        )
    return suppression


def disable_suppression(db: WorkflowDatabase, suppression_id: int, *, actor: str) -> Suppression:
    """Turn a suppression off (kept, with its hit count, for the record); SuppressionError if unknown."""
    with db.transaction(write=True) as session:
        suppression = _get(session, suppression_id)
        if suppression.is_enabled:
            suppression.is_enabled = False
            session.add(
                AuditLog(
                    actor=_required(actor, "an actor", "name who disables it")[:USERNAME_LENGTH],
                    action="suppression_disabled",
                    target=f"suppression:{suppression.id}",
                    detail={"name": suppression.name, "hit_count": suppression.hit_count},
                )
            )
    return suppression


def expire_suppression(
    db: WorkflowDatabase, suppression_id: int, *, actor: str, now: datetime | None = None
) -> Suppression:
    """End a suppression now (its expiry becomes now); SuppressionError if unknown."""
    when = now or utcnow()
    with db.transaction(write=True) as session:
        suppression = _get(session, suppression_id)
        if suppression.expires_at is None or suppression.expires_at > when:
            previous = suppression.expires_at
            suppression.expires_at = when
            session.add(
                AuditLog(
                    at=when,
                    actor=_required(actor, "an actor", "name who ends it")[:USERNAME_LENGTH],
                    action="suppression_expired",
                    target=f"suppression:{suppression.id}",
                    detail={"name": suppression.name, "previous_expiry": _iso(previous)},
                )
            )
    return suppression


def list_suppressions(db: WorkflowDatabase, *, include_inactive: bool = True) -> list[Suppression]:
    """Every suppression (or only those in force), oldest first."""
    with db.transaction() as session:
        statement = select(Suppression).order_by(Suppression.id)
        if not include_inactive:
            statement = statement.where(Suppression.active_clause(utcnow()))
        return list(session.scalars(statement))


def suppression_state(suppression: Suppression, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``disabled``."""
    if not suppression.is_enabled:
        return "disabled"
    return "active" if suppression.is_active_at(now or utcnow()) else "expired"


def suppression_as_dict(suppression: Suppression, now: datetime | None = None) -> dict[str, Any]:
    """The JSON form the CLI and API show."""
    return {
        "id": suppression.id,
        "name": suppression.name,
        "query": suppression.query,
        "reason": suppression.reason,
        "owner": suppression.owner,
        "state": suppression_state(suppression, now),
        "created_at": _iso(suppression.created_at),
        "expires_at": _iso(suppression.expires_at),
        "hit_count": suppression.hit_count,
        "last_hit_at": _iso(suppression.last_hit_at),
    }


def _get(session: Any, suppression_id: int) -> Suppression:
    suppression = session.get(Suppression, suppression_id)
    if suppression is None:
        raise SuppressionError(f"no suppression with id {suppression_id}")
    return suppression


def _required(value: str | None, what: str, hint: str) -> str:
    text = (value or "").strip()
    if not text:
        raise SuppressionError(f"a suppression needs {what}: {hint}")
    return text


def _slug(reason: str) -> str:
    return _SLUG.sub("-", reason.lower()).strip("-")[:60] or "suppression"


def _chosen_name(session: Any, name: str) -> str:
    """A name given by the owner: must be free, never silently changed."""
    label = _required(name, "a name", "or leave it out to derive one from the reason")
    if len(label) > MAX_NAME_LENGTH:
        raise SuppressionError(f"name {label[:20]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if session.scalar(select(Suppression.id).where(Suppression.name == label)) is not None:
        raise SuppressionError(f"a suppression named {label!r} already exists; choose another name")
    return label


def _unique_name(session: Any, wanted: str) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``... when taken (names are unique)."""
    base = wanted[: MAX_NAME_LENGTH - 6]
    taken = set(session.scalars(select(Suppression.name).where(Suppression.name.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _iso(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None
