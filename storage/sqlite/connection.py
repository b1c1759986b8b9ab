"""SQLite connections for the store: one per thread, all in WAL mode, plus one lock for writers.

The service writes from one thread and searches from many API threads. Each thread gets its own
connection (sqlite3 connections must not be shared while in use), so readers never wait for
each other, and WAL lets them read while the writer commits. Writers in this process take
``write_lock`` so they queue in Python instead of spinning on SQLite's busy handler; writers in
other processes are held off by ``BEGIN IMMEDIATE`` and the busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.base import StoreError
from storage.sqlite.checkpoint import WalCheckpointer
from storage.sqlite.codec import SQL_FUNCTIONS

# One lock per database file, shared by the events and alerts stores that live in it.
_WRITE_LOCKS: dict[Path, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()

_PRAGMAS = (
    # FULL: a commit is on disk when write() returns, so the ingest worker may advance the spool's
    # checkpoint past it even if power is lost next. Commits are per batch, so the fsync is cheap.
    "PRAGMA synchronous=FULL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",  # 64 MiB per connection
    "PRAGMA mmap_size=1073741824",
    # No checkpoint inside COMMIT: checkpoint.WalCheckpointer runs them on its own thread.
    "PRAGMA wal_autocheckpoint=0",
    "PRAGMA journal_size_limit=67108864",
    # SQLite here is built with SECURE_DELETE, which would zero every page of a dropped day.
    "PRAGMA secure_delete=FAST",
    "PRAGMA foreign_keys=OFF",
)


class Connections:
    """Per-thread connections to one database file, closed together."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with _WRITE_LOCKS_GUARD:
            self.write_lock = _WRITE_LOCKS.setdefault(path.resolve(), threading.Lock())
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        conn = self.get()
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"{path}: SQLite refused WAL mode (got {mode!r}); is it on a network filesystem?")
        self.checkpointer = WalCheckpointer(path)

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        try:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
            # check_same_thread=False only so that close() can close every thread's connection.
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        for name, (nargs, fn) in SQL_FUNCTIONS.items():
            conn.create_function(name, nargs, fn, deterministic=True)
        self._local.conn = conn
        with self._guard:
            self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection, committed on success."""
        with self.write_lock:
            conn = self.get()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self.checkpointer.committed()

    def close(self) -> None:
        """Close every thread's connection; later calls raise StoreError."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            conns, self._all = self._all, []
        self.checkpointer.stop()
        for conn in conns:
            conn.close()
        self._local = threading.local()
