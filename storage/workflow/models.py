"""The workflow schema: who works the SOC, the tickets they work, and what may be silenced.

Every change to these models needs an Alembic migration in ``migrations/versions`` (see README.md);
a test compares the migrated schema with these models and fails on any difference.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    and_,
    literal_column,
)
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from storage.base import QueryError
from storage.lucene.parse import parse_query
from storage.workflow.columns import JSONDocument, UTCDateTime, utcnow

# Fixed constraint names: migrations (and SQLite batch rebuilds) must be able to name what they alter,
# and the names must be the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids of the tables that grow without bound: 64-bit on PostgreSQL; on SQLite INTEGER is already
# 64-bit and must stay INTEGER to remain the rowid alias that autoincrements.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

USERNAME_LENGTH = 64
IP_LENGTH = 45  # the longest textual IPv6 address (with embedded IPv4)


class Role(StrEnum):
    """What a console user may do: admin (everything), analyst (work tickets), viewer (read only)."""

    ADMIN = "admin"
    ANALYST = "analyst"
    VIEWER = "viewer"


class TicketStatus(StrEnum):
    """Where a ticket is in its life; ``new`` and ``in_progress`` count as open."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    FALSE_POSITIVE = "false_positive"


OPEN_STATUSES: tuple[TicketStatus, ...] = (TicketStatus.NEW, TicketStatus.IN_PROGRESS)


class Severity(StrEnum):
    """Ticket severity, as Sigma rule levels name it (``informational`` alerts do not open tickets)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class EntityType(StrEnum):
    """What a ticket is about: the entity its alerts are grouped on."""

    HOST = "host"
    USER = "user"
    SOURCE_IP = "source_ip"


class AgentStatus(StrEnum):
    """An endpoint agent's enrolment state (online/offline follows from ``last_seen_at``, not from this)."""

    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"
    REVOKED = "revoked"


class TicketAction(StrEnum):
    """The usual ``TicketEvent.action`` values; the column is free text so new actions need no migration."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    SEVERITY_CHANGED = "severity_changed"
    ASSIGNED = "assigned"
    ALERT_ATTACHED = "alert_attached"
    COMMENTED = "commented"
    REOPENED = "reopened"


def _choice(enum_cls: type[StrEnum], name: str) -> Enum:
    """A VARCHAR with a CHECK constraint, not a native PostgreSQL enum: adding a value stays a plain migration."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base of the workflow schema."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class User(Base):
    """A console account. Deactivate rather than delete: comments keep pointing at their author."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_choice(Role, "user_role"), default=Role.VIEWER)
    display_name: Mapped[str | None] = mapped_column(String(128))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # The TOTP shared secret itself (base32): verifying a code needs it, so it cannot be hashed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r}, role={self.role!r})"


class Ticket(Base):
    """A case an analyst works: the alerts of one rule on one entity, or a case opened by hand.

    Rule and entity are empty only for hand-opened tickets. At most one ticket is open per
    (rule_id, entity_type, entity_value): the partial unique index below lets the correlation
    engine find it with one index lookup and makes a second concurrent "open" fail instead of
    flooding the queue with a duplicate.
    """

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(512))
    status: Mapped[TicketStatus] = mapped_column(_choice(TicketStatus, "ticket_status"), default=TicketStatus.NEW)
    severity: Mapped[Severity] = mapped_column(_choice(Severity, "ticket_severity"))
    rule_id: Mapped[str | None] = mapped_column(String(128))
    rule_name: Mapped[str | None] = mapped_column(String(512))
    entity_type: Mapped[EntityType | None] = mapped_column(_choice(EntityType, "ticket_entity_type"))
    entity_value: Mapped[str | None] = mapped_column(String(512))
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]
    # ATT&CK tactic names, e.g. ["initial_access", "execution"]; MutableList so .append() is saved.
    tactics: Mapped[list[str]] = mapped_column(MutableList.as_mutable(JSONDocument()), default=list)

    assignee: Mapped[User | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketEvent.id"
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="Comment.id"
    )
    alerts: Mapped[list[TicketAlert]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketAlert.alert_timestamp"
    )

    __table_args__ = (
        Index(
            "uq_tickets_open_rule_entity",
            "rule_id",
            "entity_type",
            "entity_value",
            unique=True,
            sqlite_where=literal_column("status IN ('new', 'in_progress')"),
            postgresql_where=literal_column("status IN ('new', 'in_progress')"),
        ),
        Index("ix_tickets_status_last_seen", "status", "last_seen"),
        Index("ix_tickets_entity", "entity_type", "entity_value"),
        {"sqlite_autoincrement": True},
    )

    @property
    def is_open(self) -> bool:
        """True while the ticket still needs an analyst (new or in progress)."""
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return f"Ticket(id={self.id!r}, status={self.status!r}, rule_id={self.rule_id!r}, entity={self.entity_value!r})"


class TicketEvent(Base):
    """One line of a ticket's history: who changed what, from which value to which.

    ``actor`` is the username as text (or ``system``), not a foreign key, so the history still
    reads right after a user is renamed or removed.
    """

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    action: Mapped[str] = mapped_column(String(64))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(JSONDocument()), default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")

    __table_args__ = (Index("ix_ticket_events_ticket_at", "ticket_id", "at"), {"sqlite_autoincrement": True})


class Comment(Base):
    """An analyst's note on a ticket (findings, handover to the next shift)."""

    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    # RESTRICT: a user with comments cannot be deleted, only deactivated, so authorship is never lost.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()

    __table_args__ = ({"sqlite_autoincrement": True},)


class TicketAlert(Base):
    """Evidence: an alert (by its ``event.id`` in the alert store) attached to a ticket.

    The primary key makes attaching the same alert twice a no-op conflict rather than a double count.
    """

    __tablename__ = "ticket_alerts"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    alert_timestamp: Mapped[datetime]
    attached_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="alerts")


class Suppression(Base):
    """A known false positive silenced by a Lucene query, with an owner, a reason and usually an expiry."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    query: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # 64-bit: a suppression on a noisy source can pass 2**31 hits within weeks.
    hit_count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hit_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_suppressions_enabled_expires", "is_enabled", "expires_at"),)

    @validates("query")
    def _check_query(self, _key: str, query: str) -> str:
        """Refuse a query that does not parse or that would silence every alert."""
        if parse_query(query) is None:
            raise QueryError(f"suppression query {query!r} matches every alert; narrow it to the false positive")
        return query

    def is_active_at(self, now: datetime) -> bool:
        """True when enabled and not yet expired at ``now``."""
        return self.is_enabled and (self.expires_at is None or self.expires_at > now)

    @classmethod
    def active_clause(cls, now: datetime) -> Any:
        """SQL condition for the suppressions in force at ``now``."""
        return and_(cls.is_enabled.is_(True), (cls.expires_at.is_(None)) | (cls.expires_at > now))


class Agent(Base):
    """An enrolled endpoint agent or network sensor; ``key_hash`` is the argon2 hash of its own key."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    hostname: Mapped[str] = mapped_column(String(255), index=True)
    os: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[str | None] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[AgentStatus] = mapped_column(_choice(AgentStatus, "agent_status"), default=AgentStatus.PENDING)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(IP_LENGTH))


class AuditLog(Base):
    """Who did what in the console (logins, user and rule changes, suppressions), for the SOC lead and auditors."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(512))
    detail: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(JSONDocument()), default=dict)
    source_ip: Mapped[str | None] = mapped_column(String(IP_LENGTH))

    __table_args__ = (Index("ix_audit_log_actor_at", "actor", "at"), {"sqlite_autoincrement": True})
