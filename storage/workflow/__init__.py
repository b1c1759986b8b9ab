"""The workflow database: users, tickets and their history, comments, suppressions, agents, audit log.

SQLAlchemy 2 models with Alembic migrations; SQLite in the data dir by default, PostgreSQL by URL.
``WorkflowDatabase(url)`` opens it and migrates it to head.
"""

from storage.workflow.columns import JSONDocument, UTCDateTime, utcnow
from storage.workflow.database import (
    WorkflowDatabase,
    WorkflowDatabaseError,
    alembic_config,
    head_revision,
    open_workflow_db,
    sqlite_url,
)
from storage.workflow.models import (
    OPEN_STATUSES,
    Agent,
    AgentStatus,
    AuditLog,
    Base,
    Comment,
    EntityType,
    Role,
    Severity,
    Suppression,
    Ticket,
    TicketAction,
    TicketAlert,
    TicketEvent,
    TicketStatus,
    User,
)
from storage.workflow.users import (
    FIRST_ADMIN_USERNAME,
    UserError,
    authenticate,
    create_user,
    ensure_first_admin,
    hash_password,
    set_password,
    verify_password,
)

__all__ = [
    "FIRST_ADMIN_USERNAME",
    "OPEN_STATUSES",
    "Agent",
    "AgentStatus",
    "AuditLog",
    "Base",
    "Comment",
    "EntityType",
    "JSONDocument",
    "Role",
    "Severity",
    "Suppression",
    "Ticket",
    "TicketAction",
    "TicketAlert",
    "TicketEvent",
    "TicketStatus",
    "UTCDateTime",
    "User",
    "UserError",
    "WorkflowDatabase",
    "WorkflowDatabaseError",
    "alembic_config",
    "authenticate",
    "create_user",
    "ensure_first_admin",
    "hash_password",
    "head_revision",
    "open_workflow_db",
    "set_password",
    "sqlite_url",
    "utcnow",
    "verify_password",
]
