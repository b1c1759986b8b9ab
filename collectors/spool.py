"""The durable spool: every accepted record is on disk (fsync'd) before anyone is told it was accepted.

Inputs call ``append`` (or ``append_async``); it returns only once the records are fsync'd. One
committer thread writes and fsyncs for everyone: appends that arrive while an fsync runs share the
next one (group commit), so many small appends cost few fsyncs. Records go to numbered segment
files (see ``spool_frames``); the one consumer (the ingest worker) reads them back in order with a
``SpoolReader``, stores them, and then commits its position to the checkpoint file. Segments it has
fully consumed are deleted. The folder itself (lock, files, recovery) is ``spool_folder``.

After a crash, ``Spool(directory)`` cuts a torn frame off the last segment and the reader resumes at
the checkpoint: records stored after the last checkpoint are read again, and because they decode to
the same raw records they get the same ``event.id``, so storing them again is a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from collectors.spool_folder import SEGMENT_START, SpoolError, SpoolFolder, SpoolPosition, write_all
from collectors.spool_frames import encode_record
from normalizers.record import RawRecord

if TYPE_CHECKING:
    from collectors.spool_reader import SpoolReader

log = logging.getLogger(__name__)

__all__ = [
    "SEGMENT_START",
    "BatchTooLarge",
    "Spool",
    "SpoolError",
    "SpoolFull",
    "SpoolMetrics",
    "SpoolPosition",
]

DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024


class SpoolFull(SpoolError):
    """The spool holds ``max_bytes`` already: the store is behind. Try again later (backpressure)."""


class BatchTooLarge(SpoolError):
    """One append is bigger than the spool could ever hold; split it."""


class SpoolMetrics:
    """The spool's Prometheus counters and gauges."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.appended = Counter(
            "sontra_spool_appended_records", "Records made durable in the spool, by input", ["input"], registry=registry
        )
        self.replayed = Counter(
            "sontra_spool_replayed_records", "Records read back after a restart (spooled by an earlier run)",
            registry=registry,
        )
        self.fsyncs = Counter(
            "sontra_spool_fsyncs", "fsyncs of spool segments (one per group commit)", registry=registry
        )
        self.full = Counter("sontra_spool_full", "Appends refused because the spool was full", registry=registry)
        self.torn_bytes = Counter(
            "sontra_spool_torn_bytes", "Bytes of torn frames cut from the spool's tail at start-up", registry=registry
        )
        self.corrupt_bytes = Counter(
            "sontra_spool_corrupt_bytes", "Spooled bytes skipped because a frame failed its checksum", registry=registry
        )
        self.commit_seconds = Histogram(
            "sontra_spool_commit_seconds",
            "Time from append to durable (written and fsync'd)",
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )
        self.disk_bytes = Gauge("sontra_spool_bytes", "Disk space the spool's segments use", registry=registry)
        self.backlog_bytes = Gauge("sontra_spool_backlog_bytes", "Spooled bytes not yet stored", registry=registry)


@dataclass(slots=True)
class _Append:
    """One caller's records, encoded, waiting for the committer."""

    data: bytes
    inputs: Tally[str]
    future: Future[None]
    submitted: float


class Spool:
    """An append-only, fsync'd, checkpointed log of raw records in ``directory`` (one process at a time).

    ``max_bytes`` bounds the disk space of all segments; an append that would pass it raises
    ``SpoolFull``. ``commit_wait`` (seconds) lets the committer wait that long after the first
    pending append for others to share its fsync; 0 relies on appends piling up during an fsync.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        commit_wait: float = 0.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if segment_bytes < 4096 or max_bytes < 2 * segment_bytes:
            raise ValueError(
                f"spool needs segment_bytes >= 4096 and max_bytes >= 2 * segment_bytes "
                f"(got segment_bytes={segment_bytes}, max_bytes={max_bytes}): a consumed segment is freed "
                "only once it is full, so a spool of one segment could never make room"
            )
        if not 0 <= commit_wait <= 1:
            raise ValueError(f"commit_wait must be between 0 and 1 second, got {commit_wait}")
        self.directory = Path(directory)
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.commit_wait = commit_wait
        self.metrics = SpoolMetrics(registry if registry is not None else CollectorRegistry())
        self._cond = threading.Condition()
        self._pending: list[_Append] = []
        self._pending_bytes = 0
        self._writing = False
        self._closed = False
        self._listeners: list[Callable[[], None]] = []
        self._reader_taken = False
        self._folder = SpoolFolder(self.directory)
        try:
            found = self._folder.recover()
            self.metrics.torn_bytes.inc(found.torn_bytes)
            # Segment number -> bytes on disk (for the active segment: written and fsync'd).
            self._segments: dict[int, int] = found.segments
            self._committed = found.start
            # Segments up to this one were written by an earlier run: reading them is a replay.
            self.replay_until = found.next_number - 1
            self._active = found.next_number
            self._fd = self._folder.create_segment(self._active)
            self._segments[self._active] = SEGMENT_START
        except BaseException:
            self._folder.close()
            raise
        self.metrics.disk_bytes.set_function(self.disk_bytes)
        self.metrics.backlog_bytes.set_function(self.backlog_bytes)
        self._thread = threading.Thread(target=self._commit_loop, name="sontra-spool-commit", daemon=True)
        self._thread.start()

    # --- appending -------------------------------------------------------------------------------

    def append(self, records: Iterable[RawRecord]) -> None:
        """Write ``records`` and return once they are fsync'd; SpoolFull when there is no room."""
        future = self._submit(records)
        if future is not None:
            future.result()

    async def append_async(self, records: Iterable[RawRecord]) -> None:
        """``append`` for the event loop: the fsync happens on the committer thread."""
        future = self._submit(records)
        if future is not None:
            await asyncio.wrap_future(future)

    def _submit(self, records: Iterable[RawRecord]) -> Future[None] | None:
        frames = []
        inputs: Tally[str] = Tally()
        for record in records:
            frames.append(encode_record(record))
            inputs[record.input] += 1
        if not frames:
            return None
        data = b"".join(frames)
        size = len(data)
        if size > self.max_bytes - self.segment_bytes:
            raise BatchTooLarge(
                f"{len(frames)} records take {size} bytes, more than a spool of {self.max_bytes} bytes can hold "
                f"next to a {self.segment_bytes}-byte segment; send smaller batches"
            )
        future: Future[None] = Future()
        with self._cond:
            if self._closed:
                raise SpoolError(f"spool {self.directory} is closed")
            used = self._disk_bytes() + self._pending_bytes
            if used + size > self.max_bytes:
                self.metrics.full.inc()
                raise SpoolFull(
                    f"spool {self.directory} is full ({used} of {self.max_bytes} bytes waiting to be stored); "
                    "the store is behind, retry later"
                )
            self._pending.append(_Append(data, inputs, future, time.perf_counter()))
            self._pending_bytes += size
            self._cond.notify_all()
        return future

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return  # closed and nothing left to write
                if self.commit_wait:
                    # Hold this fsync back a little so that more appends can share it.
                    deadline = time.monotonic() + self.commit_wait
                    while not self._closed and (left := deadline - time.monotonic()) > 0:
                        self._cond.wait(left)
                batch, self._pending = self._pending, []
                self._writing = True
            # From here a caller's cancel() no longer works, so resolving its future cannot fail.
            # (A cancelled caller's records are still written: harmless, they just are not acknowledged.)
            waiting = [item for item in batch if item.future.set_running_or_notify_cancel()]
            try:
                self._write(batch)
            except Exception as exc:  # the disk failed (or a bug): refuse these appends, keep the committer alive
                error = SpoolError(f"cannot write the spool in {self.directory}: {exc}")
                log.error("%s; %d appends refused", error, len(batch))
                for item in waiting:
                    item.future.set_exception(error)
            else:
                done = time.perf_counter()
                for item in batch:
                    for name, n in item.inputs.items():
                        self.metrics.appended.labels(name).inc(n)
                    self.metrics.commit_seconds.observe(done - item.submitted)
                for item in waiting:
                    item.future.set_result(None)
            finally:
                with self._cond:
                    self._pending_bytes -= sum(len(item.data) for item in batch)
                    self._writing = False
                    self._cond.notify_all()
            for listener in list(self._listeners):
                try:
                    listener()
                except Exception:  # a consumer's wake-up must never stop the committer
                    log.exception("spool listener %r failed", listener)

    def _write(self, batch: list[_Append]) -> None:
        """Write every append of ``batch`` to the active segment (rolling when full), then fsync once."""
        with self._cond:
            size = self._segments[self._active]
        try:
            for item in batch:
                if size > SEGMENT_START and size + len(item.data) > self.segment_bytes:
                    self._roll()
                    size = SEGMENT_START
                write_all(self._fd, item.data)
                size += len(item.data)
            os.fdatasync(self._fd)
            self.metrics.fsyncs.inc()
        except Exception:
            # Cut what this batch half-wrote, so the next batch does not follow garbage. (Appends that a
            # roll already sealed in the previous segment stay: they are refused yet stored, at least once.)
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._segments[self._active])
                os.lseek(self._fd, self._segments[self._active], os.SEEK_SET)
            raise
        with self._cond:
            self._segments[self._active] = size

    def _roll(self) -> None:
        """Seal the active segment (fsync'd: a sealed segment never has a torn tail) and start the next."""
        os.fdatasync(self._fd)
        self.metrics.fsyncs.inc()
        sealed_size = os.fstat(self._fd).st_size
        new_fd = self._folder.create_segment(self._active + 1)
        os.close(self._fd)
        with self._cond:
            self._segments[self._active] = sealed_size
            self._active += 1
            self._segments[self._active] = SEGMENT_START
            self._fd = new_fd

    # --- consuming -------------------------------------------------------------------------------

    def reader(self) -> SpoolReader:
        """The one reader of this spool, positioned at the last checkpoint."""
        from collectors.spool_reader import SpoolReader

        with self._cond:
            if self._reader_taken:
                raise SpoolError("a spool has one consumer; its reader was already taken")
            self._reader_taken = True
        return SpoolReader(self, self._committed)

    def readable(self, segment: int) -> tuple[int, int | None]:
        """How far ``segment`` may be read (durable bytes), and the next segment once it is sealed."""
        with self._cond:
            end = self._segments.get(segment, SEGMENT_START)
            if segment == self._active:
                return end, None
            later = [n for n in self._segments if n > segment]
            return end, min(later) if later else None

    def commit(self, position: SpoolPosition) -> None:
        """Record that everything before ``position`` is stored; delete the segments that are wholly consumed."""
        if position < self._committed:
            raise ValueError(f"spool checkpoint may only move forward: {position} is before {self._committed}")
        self._folder.write_checkpoint(position)
        with self._cond:
            self._committed = position
            consumed = [n for n in self._segments if n < position.segment and n != self._active]
            for n in consumed:
                del self._segments[n]
        for n in consumed:
            self._folder.delete_segment(n)

    @property
    def committed(self) -> SpoolPosition:
        """The last checkpoint: everything before it is stored."""
        return self._committed

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (on the committer thread) after each group commit; returns the unsubscribe."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    # --- state -----------------------------------------------------------------------------------

    def disk_bytes(self) -> int:
        """Bytes all segments take on disk (what ``max_bytes`` limits)."""
        with self._cond:
            return self._disk_bytes()

    def _disk_bytes(self) -> int:
        return sum(self._segments.values())

    def backlog_bytes(self) -> int:
        """Bytes spooled but not yet stored (after the checkpoint)."""
        with self._cond:
            at = self._committed
            waiting = sum(size - SEGMENT_START for n, size in self._segments.items() if n >= at.segment)
            if at.segment in self._segments:
                waiting -= at.offset - SEGMENT_START
            return max(0, waiting)

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until every append handed in so far is written; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._writing, timeout)

    def close(self) -> None:
        """Write what is pending, stop the committer and release the folder. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        os.close(self._fd)
        self._folder.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def segment_path(self, number: int) -> Path:
        """The file of segment ``number``."""
        return self._folder.segment_path(number)
