"""Open the workflow database: engine, connection settings, migrations to head, sessions."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises concurrent upgrades.
_PG_MIGRATION_LOCK = 0x50_6E_74_72_61_57_46  # "SontraWF"
# Execution option read by the SQLite 'begin' listener: BEGIN IMMEDIATE instead of a deferred BEGIN.
WRITE_LOCK = {"sqlite_begin": "IMMEDIATE"}


class WorkflowDatabaseError(RuntimeError):
    """The workflow database cannot be opened or migrated; the message says why and what to do."""


def sqlite_url(path: Path | str) -> str:
    """The URL of a SQLite workflow database file (the embedded default)."""
    return URL.create("sqlite", database=str(Path(path).resolve())).render_as_string()


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged migrations; works from an installed package, no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # New revisions are named 0002_add_something.py, in order of creation.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise WorkflowDatabaseError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


class WorkflowDatabase:
    """The workflow database at ``url``, migrated to head when opened; ``session()`` gives ORM sessions.

    ``url`` is ``sqlite:///PATH`` (the embedded default; the folder is created) or
    ``postgresql+psycopg://user:password@host/db`` (``postgresql://`` is taken to mean psycopg).
    """

    def __init__(self, url: str, *, upgrade: bool = True, echo: bool = False) -> None:
        self.url = _checked_url(url)
        self.engine: Engine = _create_engine(self.url, echo=echo)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade:
            try:
                self.upgrade()
            except BaseException:
                self.engine.dispose()
                raise

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new ORM session; use as ``with db.session() as s, s.begin(): ...``."""
        return self.sessions()

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error.

        ``write=True`` is for read-then-write work (find the open ticket, else create it): on SQLite it
        takes the write lock at BEGIN, so a concurrent writer makes it wait instead of failing later on
        a stale snapshot. PostgreSQL ignores it.
        """
        with self.sessions() as session, session.begin():
            if write:
                session.connection(execution_options=WRITE_LOCK)
            yield session

    def current_revision(self) -> str | None:
        """The migration the database is at (None for an empty database)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> None:
        """Bring the schema to head; does nothing (and takes no write lock) when already there."""
        head = head_revision()
        current = self.current_revision()
        if current == head:
            return
        known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
        if current is not None and current not in known:
            raise WorkflowDatabaseError(
                f"workflow database {self.safe_url} is at migration {current!r}, which this Sontra does not know: "
                "it was upgraded by a newer Sontra; run that version or restore a backup"
            )
        with self.migration_connection() as conn:
            command.upgrade(alembic_config(connection=conn), "head")

    @contextlib.contextmanager
    def migration_connection(self) -> Iterator[Connection]:
        """A connection to run Alembic commands on: one transaction, locked against a concurrent upgrade.

        Pass it as ``alembic_config(connection=conn)``. Everything commits together or not at all.
        """
        with self.engine.connect() as conn:
            if self.dialect != "sqlite":
                with conn.begin():
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
                    yield conn
                return
            # SQLite rebuilds a table to alter it (Alembic batch mode); with foreign keys on, dropping the
            # old table would cascade to or fail on the rows that reference it. The pragma only takes
            # effect outside a transaction, and the keys are checked by hand before committing.
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with conn.execution_options(**WRITE_LOCK).begin():
                    yield conn
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise WorkflowDatabaseError(f"migration left rows with broken foreign keys: {broken[:5]}")
            finally:
                try:
                    raw.execute("PRAGMA foreign_keys = ON")
                except sqlite3.Error:
                    conn.invalidate()  # never hand a connection without foreign keys back to the pool

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> WorkflowDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WorkflowDatabase({self.safe_url!r})"


def open_workflow_db(url: str, *, upgrade: bool = True) -> WorkflowDatabase:
    """Open (and by default migrate to head) the workflow database at ``url``."""
    return WorkflowDatabase(url, upgrade=upgrade)


def _checked_url(url: str) -> URL:
    """Parse ``url`` and accept only the backends Sontra supports, with a message that says what is wrong."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise WorkflowDatabaseError(
            f"invalid database.url {url!r}: expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        try:
            import psycopg  # noqa: F401 - only to give a clear message when the extra is missing
        except ImportError:
            raise WorkflowDatabaseError(
                "database.url names PostgreSQL but psycopg is not installed: pip install 'sontra[postgres]'"
            ) from None
        return parsed.set(drivername="postgresql+psycopg")
    raise WorkflowDatabaseError(
        f"unsupported database.url {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"
    )


def _create_engine(url: URL, *, echo: bool) -> Engine:
    """An engine with the connection settings each backend needs."""
    if url.get_backend_name() != "sqlite":
        # pre_ping: a PostgreSQL restart or failover must not surface as errors in the console.
        return create_engine(url, echo=echo, pool_pre_ping=True)
    kwargs: dict[str, Any] = {}
    if url.database in (None, "", ":memory:"):
        # One shared connection, or every new connection would see its own empty database.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL (readers never block the writer), enforced foreign keys, and waiting instead of failing on a lock."""
    # Take transaction control from the sqlite3 module: it would otherwise not BEGIN before DDL,
    # leaving a failed migration half applied. The 'begin' listener below emits BEGIN itself.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    _use_wal(dbapi_connection)
    dbapi_connection.execute("PRAGMA synchronous = NORMAL")
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def _use_wal(dbapi_connection: sqlite3.Connection) -> None:
    """Switch the file to WAL once; retry while another connection holds a lock.

    SQLite does not call the busy handler for a journal-mode change, so services starting together
    on a fresh file would otherwise fail with "database is locked". The mode is stored in the file:
    every later connection finds WAL already set and skips the switch.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if dbapi_connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                dbapi_connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_begin(conn: Connection) -> None:
    """Start every transaction explicitly; ``sqlite_begin='IMMEDIATE'`` takes the write lock up front."""
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())
