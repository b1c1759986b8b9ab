"""The workflow database: migrations, schema against models, ticket/suppression round trips, users.

Every test runs on a real SQLite file. Tests taking ``db_url`` also run on PostgreSQL when
SONTRA_TEST_POSTGRES_URL names a database; each run works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from storage.base import QueryError
from storage.workflow import (
    FIRST_ADMIN_USERNAME,
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
    UserError,
    WorkflowDatabase,
    WorkflowDatabaseError,
    alembic_config,
    authenticate,
    create_user,
    ensure_first_admin,
    head_revision,
    sqlite_url,
)
from storage.workflow.__main__ import main as workflow_cli
from storage.workflow.__main__ import write_revision
from storage.workflow.database import MIGRATIONS_DIR

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("SONTRA_TEST_POSTGRES_URL")
T0 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
ICT = timezone(timedelta(hours=7))  # Indochina Time, where the SOC sits
PASSWORD = "correct horse battery staple"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty workflow database on each backend."""
    if request.param == "sqlite":
        # A data dir that does not exist yet, as on a first `sontra serve`.
        yield sqlite_url(tmp_path / "sontra-data" / "sontra.db")
        return
    if not PG_URL:
        pytest.skip(
            "PostgreSQL not configured: set SONTRA_TEST_POSTGRES_URL=postgresql+psycopg://USER:PASSWORD@HOST/DB "
            "(the tests create and drop their own schema in it)"
        )
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'sontra[postgres]'")
    schema = f"sontra_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = (
        make_url(PG_URL).set(drivername="postgresql+psycopg").update_query_dict({"options": f"-csearch_path={schema}"})
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[WorkflowDatabase]:
    """The workflow database at ``db_url``, migrated to head."""
    with WorkflowDatabase(db_url) as database:
        yield database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[WorkflowDatabase]:
    """A migrated SQLite workflow database (for what only SQLite has: pragmas, file locks)."""
    with WorkflowDatabase(sqlite_url(tmp_path / "sontra.db")) as database:
        yield database


def _schema_fingerprint(db: WorkflowDatabase) -> dict[str, Any]:
    """Tables, columns, indexes and the migration row: anything a second upgrade could have touched."""
    insp = inspect(db.engine)
    tables = sorted(insp.get_table_names())
    shape: dict[str, Any] = {
        t: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)),
        )
        for t in tables
    }
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            # schema_version goes up on every DDL statement, even one that changes nothing visible.
            shape["_schema_version"] = conn.exec_driver_sql("PRAGMA schema_version").scalar()
            shape["_version"] = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        else:
            # xmin changes when the row is rewritten, even with the same value.
            shape["_version"] = conn.execute(text("SELECT version_num, xmin::text FROM alembic_version")).all()
    return shape


# --- migrations -------------------------------------------------------------------------------


def test_migration_creates_every_table_on_an_empty_database(db: WorkflowDatabase) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert set(Base.metadata.tables) == {
        "users",
        "tickets",
        "ticket_events",
        "ticket_comments",
        "ticket_alerts",
        "suppressions",
        "agents",
        "audit_log",
    }
    assert db.current_revision() == head_revision() == "0001"


def test_second_open_changes_nothing(db_url: str) -> None:
    with WorkflowDatabase(db_url) as first:
        before = _schema_fingerprint(first)
    with WorkflowDatabase(db_url) as second:
        after = _schema_fingerprint(second)
    assert after == before
    assert before["_version"][0][0] == head_revision()


def test_migrated_schema_equals_the_models(db: WorkflowDatabase) -> None:
    opts = {"compare_type": True, "compare_server_default": True}
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata) == []
        # The comparison is live: a model column the migrations lack is reported.
        drifted = MetaData(naming_convention=Base.metadata.naming_convention)
        for table in Base.metadata.tables.values():
            table.to_metadata(drifted)
        drifted.tables["tickets"].append_column(Column("mttr_seconds", Integer))
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), drifted)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "mttr_seconds")]


def test_downgrade_to_base_and_upgrade_again(db: WorkflowDatabase) -> None:
    with db.migration_connection() as conn:
        command.downgrade(alembic_config(connection=conn), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())


FUTURE_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    # Changing a column type makes SQLite rebuild the table: copy, drop the old one, rename.
    with op.batch_alter_table("users", recreate="always") as batch:
        batch.add_column(sa.Column("phone", sa.String(32), nullable=True))
        batch.alter_column("display_name", type_=sa.String(256))
"""


def test_rebuilding_a_referenced_table_keeps_the_rows_that_point_at_it(
    sqlite_db: WorkflowDatabase, tmp_path: Path
) -> None:
    with sqlite_db.transaction() as s:
        analyst = create_user(s, "lan", PASSWORD, Role.ANALYST)
        ticket = _ticket(assignee=analyst)
        ticket.comments.append(Comment(author=analyst, body="handover: still watching web-01"))
        s.add(ticket)
    versions = tmp_path / "future"
    versions.mkdir()
    (versions / "0002_users_phone.py").write_text(FUTURE_REVISION)
    with sqlite_db.migration_connection() as conn:
        config = alembic_config(connection=conn)
        config.set_main_option("path_separator", "space")
        config.set_main_option("version_locations", f"{MIGRATIONS_DIR / 'versions'} {versions}")
        command.upgrade(config, "0002")
    # With foreign keys enforced during the rebuild, dropping the old users table would have failed on
    # the comment (RESTRICT) or cleared the assignee (SET NULL).
    with sqlite_db.session() as s:
        assert s.execute(text("SELECT phone FROM users WHERE username = 'lan'")).one() == (None,)
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.assignee is not None and ticket.assignee.username == "lan"
        assert [c.author.username for c in ticket.comments] == ["lan"]
        assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_failing_migration_leaves_nothing_behind(db: WorkflowDatabase, tmp_path: Path) -> None:
    versions = tmp_path / "future"
    versions.mkdir()
    (versions / "0002_broken.py").write_text(
        'import sqlalchemy as sa\nfrom alembic import op\nrevision = "0002"\ndown_revision = "0001"\n\n\n'
        "def upgrade():\n"
        '    op.create_table("playbook_runs", sa.Column("id", sa.Integer, primary_key=True))\n'
        '    op.add_column("tickets", sa.Column("sla_due", sa.DateTime(timezone=True)))\n'
        '    raise RuntimeError("step 3 failed")\n'
    )
    with pytest.raises(RuntimeError, match="step 3 failed"), db.migration_connection() as conn:
        config = alembic_config(connection=conn)
        config.set_main_option("path_separator", "space")
        config.set_main_option("version_locations", f"{MIGRATIONS_DIR / 'versions'} {versions}")
        command.upgrade(config, "0002")
    # The whole upgrade is one transaction, DDL included, on SQLite as on PostgreSQL.
    assert "playbook_runs" not in inspect(db.engine).get_table_names()
    assert "sla_due" not in {c["name"] for c in inspect(db.engine).get_columns("tickets")}
    assert db.current_revision() == "0001"


def test_database_from_a_newer_sontra_is_refused(sqlite_db: WorkflowDatabase) -> None:
    with sqlite_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(WorkflowDatabaseError, match=r"migration '0999'.*newer Sontra"):
        WorkflowDatabase(sqlite_db.url.render_as_string())


def test_migrations_run_from_any_working_directory(tmp_path: Path) -> None:
    # The migrations are found next to the package, not through an alembic.ini in the current directory.
    code = (
        "import sys; from storage.workflow import WorkflowDatabase;"
        "print(WorkflowDatabase(sys.argv[1]).current_revision())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, sqlite_url(tmp_path / "d" / "w.db")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == head_revision()


def test_migrations_ship_in_the_package() -> None:
    setuptools = pytest.importorskip("setuptools")
    packages = setuptools.find_packages(str(REPO), include=["storage*"])
    assert {"storage.workflow", "storage.workflow.migrations", "storage.workflow.migrations.versions"} <= set(packages)
    migrations = REPO / "storage" / "workflow" / "migrations"
    assert (migrations / "script.py.mako").is_file()  # shipped by the "*.mako" package-data pattern


def test_new_revision_is_numbered_after_head_and_empty_when_models_match(tmp_path: Path) -> None:
    path = write_revision("nothing changed", tmp_path)
    assert path.name == "0002_nothing_changed.py"
    source = path.read_text()
    assert 'down_revision: str | None = "0001"' in source
    assert "op.create_table" not in source and "op.add_column" not in source


def test_cli_prints_postgresql_sql_without_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    assert workflow_cli(["sql", "--url", "postgresql+psycopg://nobody@127.0.0.1:1/none"]) == 0
    sql = capsys.readouterr().out
    assert sql.count("CREATE TABLE") == len(Base.metadata.tables) + 1  # plus alembic_version
    assert "JSONB" in sql and "TIMESTAMP WITH TIME ZONE" in sql
    assert "CREATE UNIQUE INDEX uq_tickets_open_rule_entity" in sql and "WHERE status IN ('new', 'in_progress')" in sql


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/sontra", "unsupported database.url 'mysql://root@localhost/sontra'"),
        ("postgresql+psycopg2://u:secret@h/db", r"unsupported database.url 'postgresql\+psycopg2://u:\*\*\*@h/db'"),
        ("not a url", "invalid database.url 'not a url'"),
    ],
)
def test_unsupported_url_is_refused_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(WorkflowDatabaseError, match=message):
        WorkflowDatabase(url)


# --- SQLite connection settings -------------------------------------------------------------


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(sqlite_db: WorkflowDatabase) -> None:
    with sqlite_db.session() as session:
        conn = session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_write_transaction_takes_the_sqlite_write_lock_at_begin(sqlite_db: WorkflowDatabase, tmp_path: Path) -> None:
    import sqlite3

    other = sqlite3.connect(tmp_path / "sontra.db", timeout=0, isolation_level=None)
    try:
        with sqlite_db.transaction(write=True) as session:
            session.scalar(select(User.id))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released on commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def _start_together(url: str, services: int) -> list[str | None]:
    """Open the database and ensure the first admin from ``services`` threads at once, as parallel starts would."""
    barrier = threading.Barrier(services)
    passwords: list[str | None] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            with WorkflowDatabase(url) as db:
                passwords.append(ensure_first_admin(db))
        except BaseException as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(services)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    return passwords


def test_concurrent_first_start_migrates_once_and_creates_one_admin(tmp_path: Path) -> None:
    for round_ in range(3):
        passwords = _start_together(sqlite_url(tmp_path / f"round{round_}" / "sontra.db"), services=3)
        assert sorted(p is None for p in passwords) == [False, True, True]


# --- tickets, history, comments, evidence, suppressions ---------------------------------------


def _ticket(**overrides: Any) -> Ticket:
    fields: dict[str, Any] = {
        "title": "SSH brute force against web-01",
        "severity": Severity.HIGH,
        "rule_id": "ssh-bruteforce",
        "rule_name": "SSH brute force",
        "entity_type": EntityType.HOST,
        "entity_value": "web-01",
        "tactics": ["credential_access"],
    }
    return Ticket(**{**fields, **overrides})


def test_ticket_round_trip_with_history_comments_and_evidence(db_url: str) -> None:
    with WorkflowDatabase(db_url) as db, db.transaction() as s:
        analyst = create_user(s, "Lan.Nguyen", PASSWORD, Role.ANALYST, "Nguyễn Thị Lan")
        ticket = _ticket(
            alert_count=2,
            first_seen=datetime(2026, 11, 20, 15, 30, tzinfo=ICT),  # 08:30 UTC
            last_seen=T0 + timedelta(minutes=5),
            assignee=analyst,
        )
        ticket.alerts = [
            TicketAlert(alert_id="alert-0001", alert_timestamp=T0),
            TicketAlert(alert_id="alert-0002", alert_timestamp=T0 + timedelta(minutes=5)),
        ]
        ticket.events.append(TicketEvent(actor="system", action=TicketAction.CREATED, to_value="new", detail={"n": 2}))
        ticket.events.append(
            TicketEvent(
                actor="lan.nguyen", action=TicketAction.STATUS_CHANGED, from_value="new", to_value="in_progress"
            )
        )
        ticket.comments.append(Comment(author=analyst, body="203.0.113.7 blocked at the perimeter firewall"))
        ticket.status = TicketStatus.IN_PROGRESS
        s.add(ticket)
        s.flush()
        ticket_id, created_at = ticket.id, ticket.updated_at

    # A new WorkflowDatabase reads what the first one committed.
    with WorkflowDatabase(db_url) as db, db.transaction() as s:
        t = s.get(Ticket, ticket_id)
        assert t is not None
        assert (t.title, t.status, t.severity, t.entity_type, t.entity_value, t.alert_count) == (
            "SSH brute force against web-01",
            TicketStatus.IN_PROGRESS,
            Severity.HIGH,
            EntityType.HOST,
            "web-01",
            2,
        )
        assert t.is_open
        assert t.first_seen == T0 and t.first_seen.tzinfo is UTC
        assert t.created_at.tzinfo is UTC and abs(t.created_at - datetime.now(UTC)) < timedelta(minutes=5)
        assert t.assignee is not None and t.assignee.username == "lan.nguyen"
        assert [(a.alert_id, a.alert_timestamp) for a in t.alerts] == [
            ("alert-0001", T0),
            ("alert-0002", T0 + timedelta(minutes=5)),
        ]
        assert [(e.actor, e.action, e.from_value, e.to_value, e.detail) for e in t.events] == [
            ("system", "created", None, "new", {"n": 2}),
            ("lan.nguyen", "status_changed", "new", "in_progress", {}),
        ]
        assert [(c.author.display_name, c.body) for c in t.comments] == [
            ("Nguyễn Thị Lan", "203.0.113.7 blocked at the perimeter firewall")
        ]
        assert t.tactics == ["credential_access"]
        t.tactics.append("lateral_movement")  # in-place change must be saved (MutableList)
        t.status = TicketStatus.RESOLVED
        t.resolved_at = T0 + timedelta(hours=2)

    with WorkflowDatabase(db_url) as db, db.session() as s:
        t = s.get(Ticket, ticket_id)
        assert t is not None
        assert t.tactics == ["credential_access", "lateral_movement"]
        assert (t.status, t.resolved_at, t.is_open) == (TicketStatus.RESOLVED, T0 + timedelta(hours=2), False)
        assert t.updated_at > created_at
        # Enums are stored as their lower-case values, readable by SQL reports.
        assert s.execute(text("SELECT status FROM tickets")).scalar() == "resolved"


def test_one_open_ticket_per_rule_and_entity(db: WorkflowDatabase) -> None:
    with db.transaction() as s:
        s.add(_ticket())
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(_ticket(title="duplicate"))
    with db.transaction() as s:
        s.add(_ticket(entity_value="web-02"))  # another host: its own ticket
        s.add(_ticket(rule_id=None, entity_type=None, entity_value=None, title="reported by phone"))
        s.add(_ticket(rule_id=None, entity_type=None, entity_value=None, title="reported by mail"))
    with db.transaction() as s:
        s.scalars(select(Ticket).where(Ticket.entity_value == "web-01")).one().status = TicketStatus.RESOLVED
    with db.transaction() as s:
        s.add(_ticket(title="it came back"))  # allowed once the first one is resolved
    with db.session() as s:
        assert s.scalar(select(Ticket.title).where(Ticket.entity_value == "web-01", Ticket.status == "new")) == (
            "it came back"
        )


def test_database_checks_status_values(db: WorkflowDatabase) -> None:
    with pytest.raises(IntegrityError, match="ck_tickets_ticket_status"), db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tickets (title, status, severity, alert_count, created_at, updated_at, tactics)"
                " VALUES ('x', 'bogus', 'low', 0, :now, :now, '[]')"
            ),
            {"now": T0},
        )


def test_deleting_a_ticket_removes_its_history_but_users_with_comments_stay(db: WorkflowDatabase) -> None:
    with db.transaction() as s:
        author = create_user(s, "minh", PASSWORD, Role.ANALYST)
        t = _ticket()
        t.comments.append(Comment(author=author, body="checked"))
        t.events.append(TicketEvent(actor="system", action="created"))
        t.alerts.append(TicketAlert(alert_id="a-1", alert_timestamp=T0))
        s.add(t)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE username = 'minh'"))  # ON DELETE RESTRICT
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM tickets"))  # ON DELETE CASCADE, done by the database itself
    with db.engine.connect() as conn:
        for table in ("ticket_comments", "ticket_events", "ticket_alerts"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table


def test_naive_datetime_is_refused(db: WorkflowDatabase) -> None:
    with pytest.raises(Exception, match=r"naive datetime 2026-11-20T08:30:00 refused"), db.transaction() as s:
        s.add(_ticket(first_seen=datetime(2026, 11, 20, 8, 30)))


def test_suppression_with_expiry(db: WorkflowDatabase) -> None:
    with db.transaction() as s:
        s.add(
            Suppression(
                name="weekly vulnerability scan",
                query='source.ip:"10.20.0.5" AND rule.id:port-scan',
                reason="authorised Nessus scan every Monday",
                owner="lan.nguyen",
                expires_at=T0 + timedelta(days=7),
            )
        )
        s.add(Suppression(name="backup agent", query="process.name:veeam*", reason="known", owner="minh"))
        s.add(Suppression(name="old", query="host.name:lab-*", reason="lab", owner="minh", is_enabled=False))

    def active(at: datetime) -> list[str]:
        with db.session() as s:
            return sorted(s.scalars(select(Suppression.name).where(Suppression.active_clause(at))))

    assert active(T0) == ["backup agent", "weekly vulnerability scan"]
    assert active(T0 + timedelta(days=8)) == ["backup agent"]

    with db.transaction() as s:
        scan = s.scalars(select(Suppression).where(Suppression.name == "weekly vulnerability scan")).one()
        assert scan.expires_at == T0 + timedelta(days=7) and scan.expires_at.tzinfo is UTC
        assert scan.is_active_at(T0) and not scan.is_active_at(T0 + timedelta(days=7))
        scan.hit_count += 3_000_000_000  # past 32 bits: a noisy source over a few weeks
        scan.last_hit_at = T0
    with db.session() as s:
        assert s.scalar(select(Suppression.hit_count).where(Suppression.name == "weekly vulnerability scan")) == (
            3_000_000_000
        )


@pytest.mark.parametrize(
    ("query", "message"),
    [("*", "matches every alert"), ("", "matches every alert"), ("host.name:(web-01", "invalid query at position")],
)
def test_suppression_query_must_parse_and_must_not_match_everything(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        Suppression(name="bad", query=query, reason="r", owner="o")


# --- users -----------------------------------------------------------------------------------


def test_password_is_argon2id_and_only_the_right_one_logs_in(sqlite_db: WorkflowDatabase) -> None:
    with sqlite_db.transaction() as s:
        user = create_user(s, "Hoa.Tran", PASSWORD, "analyst")
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert (user.username, user.role, user.is_active, user.last_login_at) == ("hoa.tran", Role.ANALYST, True, None)
    with sqlite_db.transaction() as s:
        assert authenticate(s, "hoa.tran", PASSWORD + "x") is None
        assert authenticate(s, "nobody", PASSWORD) is None
        logged_in = authenticate(s, "HOA.TRAN", PASSWORD)
        assert logged_in is not None and logged_in.last_login_at is not None
        logged_in.is_active = False
    with sqlite_db.transaction() as s:
        assert authenticate(s, "hoa.tran", PASSWORD) is None  # deactivated


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("", PASSWORD, "viewer", "invalid username ''"),
        ("bad name", PASSWORD, "viewer", "invalid username 'bad name'"),
        ("ok", "short", "viewer", "password too short: at least 12"),
        ("ok", PASSWORD, "root", "unknown role 'root': expected one of admin, analyst, viewer"),
        ("Taken", PASSWORD, "viewer", "username 'taken' is already taken"),
    ],
)
def test_create_user_refuses_bad_input(
    sqlite_db: WorkflowDatabase, username: str, password: str, role: str, message: str
) -> None:
    with sqlite_db.transaction() as s:
        create_user(s, "taken", PASSWORD)
    with pytest.raises(UserError, match=message), sqlite_db.transaction() as s:
        create_user(s, username, password, role)


def test_first_admin_password_is_returned_only_the_first_time(db: WorkflowDatabase) -> None:
    password = ensure_first_admin(db)
    assert password is not None and len(password) >= 20
    assert ensure_first_admin(db) is None
    with db.transaction() as s:
        admin = authenticate(s, FIRST_ADMIN_USERNAME, password)
        assert admin is not None and admin.role == Role.ADMIN
        assert admin.password_hash.startswith("$argon2id$")
        audit = s.scalars(select(AuditLog)).one()
        assert (audit.actor, audit.action, audit.target) == ("system", "user.create", "admin")
        assert password not in str(audit.detail)


def test_no_first_admin_when_a_user_already_exists(sqlite_db: WorkflowDatabase) -> None:
    with sqlite_db.transaction() as s:
        create_user(s, "lead", PASSWORD, Role.ADMIN)
    assert ensure_first_admin(sqlite_db) is None
    with sqlite_db.session() as s:
        assert s.scalars(select(User.username)).all() == ["lead"]
