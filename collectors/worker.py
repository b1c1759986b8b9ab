"""The ingest worker: reads the spool in batches, stores them through the pipeline, then checkpoints."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from collectors.pipeline import IngestPipeline, PipelineStats
from collectors.spool import Spool
from collectors.spool_reader import SpoolReader
from normalizers.record import RawRecord

log = logging.getLogger(__name__)


class IngestError(RuntimeError):
    """Records were accepted but could not be stored, even after retrying (they stay in the spool)."""


class IngestWorker:
    """Stores what the inputs spooled: read a batch, normalize and write it, commit the spool checkpoint.

    It starts where the last checkpoint left off, so whatever an earlier run spooled but did not
    store is replayed first. A batch is closed at ``batch_size`` records or ``max_delay`` seconds
    after its first record, whichever comes first. Reading and the pipeline run in one dedicated
    thread, so the event loop keeps accepting while a batch is written and batches are stored in
    spool order. A failed write is retried with backoff; event ids are fixed at ingest, so a retry
    (or a replay after a crash between the store write and the checkpoint) never duplicates anything.
    """

    def __init__(
        self,
        spool: Spool,
        pipeline: IngestPipeline,
        *,
        batch_size: int = 1000,
        max_delay: float = 0.2,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
        retries_when_stopping: int = 3,
    ) -> None:
        if batch_size < 1 or max_delay <= 0:
            raise ValueError(f"batch_size must be >= 1 and max_delay > 0 (got {batch_size}, {max_delay})")
        self.spool = spool
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.retries_when_stopping = retries_when_stopping
        self.stats = PipelineStats()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sontra-ingest")
        self._task: asyncio.Task[None] | None = None
        self._reader: SpoolReader | None = None
        self._wake: asyncio.Event | None = None
        self._unsubscribe = lambda: None
        self._stopping = False

    def start(self) -> None:
        """Start storing on the running event loop, beginning with what the spool holds from earlier runs."""
        if self._task is not None:
            raise RuntimeError("ingest worker already started")
        loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()

        def appended() -> None:  # on the spool's committer thread
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)

        self._reader = self.spool.reader()
        self._unsubscribe = self.spool.subscribe(appended)
        self._task = loop.create_task(self._run(), name="sontra-ingest-worker")

    async def stop(self) -> PipelineStats:
        """Store everything spooled so far, flush the stores and stop; return what was stored.

        Call it after the inputs have stopped appending to the spool.
        """
        if self._task is None or self._wake is None:
            raise RuntimeError("ingest worker was not started")
        self._stopping = True
        self._wake.set()
        loop = asyncio.get_running_loop()
        try:
            await self._task
        finally:
            self._unsubscribe()
            try:
                await loop.run_in_executor(self._executor, self.pipeline.flush)
            finally:
                if self._reader is not None:
                    await loop.run_in_executor(self._executor, self._reader.close)
                self._executor.shutdown(wait=True)
        return self.stats

    async def _run(self) -> None:
        assert self._reader is not None
        loop = asyncio.get_running_loop()
        committed = self._reader.position
        while True:
            batch, drained = await self._next_batch()
            if batch:
                await self._store(batch)
            position = self._reader.position
            if position != committed:
                # Only after the store has the batch: a crash before this line replays it, harmlessly.
                await loop.run_in_executor(self._executor, self.spool.commit, position)
                committed = position
            if drained:
                return

    async def _next_batch(self) -> tuple[list[RawRecord], bool]:
        """Read until the batch is full or ``max_delay`` has passed since its first record.

        Returns the batch and whether the worker is stopping with the spool read to its end.
        """
        assert self._reader is not None and self._wake is not None
        loop = asyncio.get_running_loop()
        reader, wake = self._reader, self._wake
        batch: list[RawRecord] = []
        deadline: float | None = None
        while True:
            # Cleared before reading: an append that lands after the read sets it again.
            wake.clear()
            stopping = self._stopping
            if stopping:
                # The inputs have stopped; wait for appends they handed in just before.
                await loop.run_in_executor(self._executor, self.spool.settle)
            got = await loop.run_in_executor(self._executor, reader.read, self.batch_size - len(batch))
            batch.extend(got)
            if len(batch) >= self.batch_size:
                return batch, False
            if stopping and not got:
                return batch, True
            if stopping:
                continue
            if batch and deadline is None:
                deadline = loop.time() + self.max_delay
            if deadline is None:
                await wake.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return batch, False
            try:
                await asyncio.wait_for(wake.wait(), remaining)
            except TimeoutError:
                return batch, False

    async def _store(self, batch: list[RawRecord]) -> None:
        loop = asyncio.get_running_loop()
        delay = self.retry_delay
        failures = 0
        while True:
            try:
                stats = await loop.run_in_executor(self._executor, self.pipeline.process, batch)
            except Exception as exc:
                failures += 1
                if self._stopping and failures > self.retries_when_stopping:
                    raise IngestError(
                        f"{len(batch)} spooled records could not be stored after {failures} attempts ({exc}); "
                        "they stay in the spool and are stored at the next start"
                    ) from exc
                log.warning(
                    "storing a batch of %d records failed (attempt %d), retrying in %.1fs: %s",
                    len(batch),
                    failures,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)
                continue
            self.stats.add(stats)
            return
