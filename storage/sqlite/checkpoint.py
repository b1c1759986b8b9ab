"""Background WAL checkpoints, so the writer thread never copies pages into the database itself.

SQLite's automatic checkpoint runs inside the COMMIT of whichever connection crosses the WAL
threshold: the ingest writer. Copying the WAL into the database file is pure SQLite work that
releases the GIL, so a thread of its own runs it on the other core while the writer goes on.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# Checkpoint once this many commits have been made since the last one, or after IDLE_SECONDS.
COMMITS_PER_CHECKPOINT = 4
IDLE_SECONDS = 1.0


class WalCheckpointer:
    """A daemon thread that checkpoints one database's WAL after commits (PASSIVE: never blocks writers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._wake = threading.Condition()
        self._pending = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint:{path.name}", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Tell the checkpointer a write transaction was committed."""
        with self._wake:
            self._pending += 1
            if self._pending >= COMMITS_PER_CHECKPOINT:
                self._wake.notify()

    def stop(self) -> None:
        """Run a last checkpoint and end the thread."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            while True:
                with self._wake:
                    if not self._stopping and self._pending < COMMITS_PER_CHECKPOINT:
                        self._wake.wait(IDLE_SECONDS)
                    stopping, pending, self._pending = self._stopping, self._pending, 0
                if pending or stopping:
                    self._checkpoint(conn, "PASSIVE")
                if stopping:
                    return
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection, mode: str) -> None:
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})")
        except sqlite3.Error as exc:  # a failed checkpoint is retried next time; the WAL keeps the data
            log.warning("%s: WAL checkpoint failed: %s", self.path, exc)
