"""The ingest worker: drains the listeners' queue into the pipeline in batches, off the event loop."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from collectors.pipeline import IngestPipeline, PipelineStats
from normalizers.record import RawRecord

log = logging.getLogger(__name__)


class _EndOfInput:
    """Queued by ``IngestWorker.stop`` after the last record: everything before it gets stored."""


END_OF_INPUT: Final = _EndOfInput()
QueueItem = RawRecord | _EndOfInput


class IngestError(RuntimeError):
    """Records were accepted but could not be stored, even after retrying."""


class IngestWorker:
    """Takes records off an asyncio queue and stores them through the pipeline.

    A batch is closed at ``batch_size`` records or ``max_delay`` seconds after its first record,
    whichever comes first. The pipeline runs in one dedicated thread, so the event loop keeps
    accepting while a batch is written and batches are written in arrival order. A failed write is
    retried with backoff; event ids are deterministic, so a retry never duplicates anything.
    """

    def __init__(
        self,
        queue: asyncio.Queue[QueueItem],
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
        self.queue = queue
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.retries_when_stopping = retries_when_stopping
        self.stats = PipelineStats()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sontra-ingest")
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        """Start draining the queue on the running event loop."""
        if self._task is not None:
            raise RuntimeError("ingest worker already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sontra-ingest-worker")

    async def stop(self) -> PipelineStats:
        """Store everything queued so far, flush the stores and stop; return what was stored.

        Call it after the listeners have stopped putting records on the queue.
        """
        if self._task is None:
            raise RuntimeError("ingest worker was not started")
        self._stopping = True
        if not self._task.done():
            await self.queue.put(END_OF_INPUT)
        try:
            await self._task
        finally:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(self._executor, self.pipeline.flush)
            finally:
                self._executor.shutdown(wait=True)
        return self.stats

    async def _run(self) -> None:
        done = False
        while not done:
            batch, done = await self._next_batch()
            if batch:
                await self._store(batch)

    async def _next_batch(self) -> tuple[list[RawRecord], bool]:
        """Wait for a record, then gather more until the batch is full or ``max_delay`` has passed."""
        loop = asyncio.get_running_loop()
        first = await self.queue.get()
        if isinstance(first, _EndOfInput):
            return [], True
        batch = [first]
        deadline = loop.time() + self.max_delay
        queue = self.queue
        while len(batch) < self.batch_size:
            if queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                item = await _get_within(queue, remaining)
                if item is None:
                    break
            else:
                item = queue.get_nowait()
            if isinstance(item, _EndOfInput):
                return batch, True
            batch.append(item)
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
                        f"{len(batch)} accepted records could not be stored after {failures} attempts: {exc}"
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


async def _get_within(queue: asyncio.Queue[QueueItem], timeout: float) -> QueueItem | None:
    """The next item, or None after ``timeout`` seconds; an item that arrives as time runs out is kept."""
    getter = asyncio.ensure_future(queue.get())
    done, _ = await asyncio.wait({getter}, timeout=timeout)
    if not done:
        getter.cancel()
        try:
            # The getter may have taken an item just before the cancel reached it.
            return await getter
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we ourselves are being cancelled, not just the getter
            return None
    return getter.result()
