"""Alembic environment: migrate the connection WorkflowDatabase hands over, or a URL for developer commands."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine

from storage.workflow.columns import JSONDocument, UTCDateTime
from storage.workflow.models import Base

config = context.config
target_metadata = Base.metadata


def _render_type(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write Sontra's column types as plain SQLAlchemy types, so a migration never imports the models it predates."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, JSONDocument):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def _configure(connection: Connection) -> None:
    """Settings shared by every online run."""
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        # WorkflowDatabase runs SQLite with explicit BEGIN, so DDL there is transactional too.
        transactional_ddl=True if sqlite else None,
        compare_type=True,
        compare_server_default=True,
        render_item=_render_type,
    )


def run_offline() -> None:
    """Write the migration SQL instead of running it (``python -m storage.workflow sql``), for a DBA to review."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate the given connection (inside its caller's transaction) or open one from the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: open the database with WorkflowDatabase(url)")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
