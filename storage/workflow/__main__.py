"""Developer and DBA commands for the workflow database: ``python -m storage.workflow --help``."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.workflow.database import (
    MIGRATIONS_DIR,
    WorkflowDatabase,
    WorkflowDatabaseError,
    alembic_config,
    head_revision,
    sqlite_url,
)


def next_revision_id() -> str:
    """The id after head: revisions are numbered 0001, 0002, ... so files sort in the order they apply."""
    head = head_revision()
    if not head.isdigit():
        raise WorkflowDatabaseError(f"head revision {head!r} is not a number; pass an explicit id")
    return f"{int(head) + 1:0{len(head)}d}"


def write_revision(message: str, versions_dir: Path | None = None) -> Path:
    """Autogenerate the next migration from the difference between the models and head; returns its file."""
    target = versions_dir or MIGRATIONS_DIR / "versions"
    with tempfile.TemporaryDirectory() as scratch:
        # Compare against a scratch database at head, never against a live one.
        url = sqlite_url(Path(scratch) / "head.db")
        WorkflowDatabase(url).close()
        config = alembic_config(url)
        if versions_dir is not None:
            config.set_main_option("version_locations", f"{MIGRATIONS_DIR / 'versions'} {versions_dir}")
            config.set_main_option("path_separator", "space")  # older Alembic splits on spaces anyway
        if importlib.util.find_spec("ruff") is not None:
            # Leave the new file as the repository's lint and format checks want it.
            config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
            for hook, options in (("ruff_fix", "check --fix --quiet"), ("ruff_format", "format --quiet")):
                config.set_section_option("post_write_hooks", f"{hook}.type", "module")
                config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
                config.set_section_option("post_write_hooks", f"{hook}.options", f"{options} REVISION_SCRIPT_FILENAME")
        script = command.revision(
            config, message, autogenerate=True, rev_id=next_revision_id(), version_path=str(target)
        )
    if script is None or isinstance(script, list):
        raise WorkflowDatabaseError("alembic wrote no single revision")
    return Path(script.path)


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit status 0 on success, 2 with a message on a database error."""
    parser = argparse.ArgumentParser(prog="python -m storage.workflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="migrate the database at --url to head")
    up.add_argument("--url", required=True, help="sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB")
    cur = sub.add_parser("current", help="print the revision the database at --url is at, and head")
    cur.add_argument("--url", required=True)
    sql = sub.add_parser("sql", help="print the SQL of every migration for a DBA to review (nothing is run)")
    sql.add_argument("--url", default="postgresql+psycopg://sontra@localhost/sontra", help="names the dialect")
    rev = sub.add_parser("revision", help="autogenerate the next migration from the models (developers)")
    rev.add_argument("-m", "--message", required=True, help="what the migration does, e.g. 'add playbook runs'")
    args = parser.parse_args(argv)
    try:
        if args.command == "upgrade":
            with WorkflowDatabase(args.url) as db:
                print(f"{db.safe_url} is at {db.current_revision()}")
        elif args.command == "current":
            with WorkflowDatabase(args.url, upgrade=False) as db:
                print(f"current {db.current_revision()} head {head_revision()}")
        elif args.command == "sql":
            command.upgrade(alembic_config(args.url), "head", sql=True)
        else:
            print(write_revision(args.message))
    except WorkflowDatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
