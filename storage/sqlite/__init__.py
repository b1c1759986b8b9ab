"""The embedded event store: SQLite in WAL mode, one table per day, FTS5 on message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.sqlite.store import SqliteEventStore

__all__ = ["SqliteEventStore"]


def __getattr__(name: str) -> Any:
    # Imported on first use: storage.lucene.sql needs storage.sqlite.codec, and an eager import of
    # the store here would import storage.lucene.sql back while it is still loading.
    if name == "SqliteEventStore":
        from storage.sqlite.store import SqliteEventStore

        return SqliteEventStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
