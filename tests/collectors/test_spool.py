"""The durable spool on real files: crash recovery, checkpoints, idempotent replay, backpressure, group commit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from collectors.pipeline import IngestPipeline
from collectors.spool import BatchTooLarge, Spool, SpoolError, SpoolFull
from collectors.spool_frames import encode_record
from collectors.worker import IngestWorker
from normalizers import event_id
from normalizers.record import RawRecord
from storage.sqlite import SqliteEventStore
from tests.collectors.conftest import sample_value, stored_events

REPO = Path(__file__).resolve().parents[2]


def records(n: int, start: int = 0, *, input_name: str = "syslog-tcp") -> list[RawRecord]:
    at = datetime.now(UTC)
    return [
        RawRecord(f"<13>Nov 20 10:00:00 web-01 app[7]: record {i}", at, "10.0.0.9:5140", input_name, "syslog", i)
        for i in range(start, start + n)
    ]


def read_all(spool: Spool) -> list[RawRecord]:
    reader = spool.reader()
    out: list[RawRecord] = []
    while batch := reader.read(1000):
        out.extend(batch)
    reader.close()
    return out


def segment_files(path: Path) -> list[Path]:
    return sorted(path.glob("*.seg"))


def test_every_field_survives_the_round_trip_and_keeps_its_event_id(tmp_path: Path) -> None:
    plus7 = timezone(timedelta(hours=7))
    odd = [
        RawRecord("plain", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),  # file input, no source or position
        RawRecord("tiếng Việt \\xff\\xfe", datetime(2026, 11, 20, 10, 0, 0, 1, tzinfo=plus7), "[::1]:514",
                  "syslog-udp", "syslog", 0, True),
        RawRecord('{"k": "v"}', datetime.now(UTC), "a1b2c3d4e5f6a7b8", "agent-http", "jsonl", 2**40),
        RawRecord("lone \ud800 surrogate", datetime.now(UTC), "/var/log/x.log", "file", "auto", 17),
    ]
    with Spool(tmp_path / "spool") as spool:
        spool.append(odd)
        back = read_all(spool)
    assert back == odd
    assert [r.received_at.isoformat() for r in back] == [r.received_at.isoformat() for r in odd]
    assert [event_id(r) for r in back] == [event_id(r) for r in odd]


CRASHING_WRITER = """
import sys
from collectors.spool import Spool
from normalizers import event_id
from tests.collectors.test_spool import records

spool = Spool(sys.argv[1], segment_bytes=64 * 1024, max_bytes=256 * 1024 * 1024)
done = 0
while True:
    batch = records(50, done)
    spool.append(batch)  # returns once fsync'd: acknowledged
    done += 50
    print(done, event_id(batch[-1]), flush=True)
"""


def test_sigkill_mid_stream_then_a_torn_tail_loses_no_acknowledged_record(tmp_path: Path) -> None:
    """A writer is SIGKILLed while appending; a half-written frame is left at the tail (as power loss leaves one).

    On reopening, the torn frame is cut (never replayed as garbage), every acknowledged record is
    read back once, in order, with the event id it had before the crash.
    """
    folder = tmp_path / "spool"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(folder)],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    acknowledged: list[tuple[int, str]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        count, eid = line.split()
        acknowledged.append((int(count), eid))
        if int(count) >= 6000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(segment_files(folder)) > 3  # the stream rolled over several segments
    half_frame = encode_record(records(1, 10**9)[0])[:30]
    with segment_files(folder)[-1].open("ab") as tail:
        tail.write(half_frame)

    with Spool(folder, segment_bytes=64 * 1024, max_bytes=256 * 1024 * 1024) as spool:
        assert sample_value(spool.metrics.registry, "sontra_spool_torn_bytes_total") == len(half_frame)
        back = read_all(spool)
    numbers = [int(r.text.rsplit(" ", 1)[1]) for r in back]
    assert numbers == list(range(len(numbers)))  # a prefix of the stream: no gap, no repeat, no garbage
    last_acked = acknowledged[-1][0]
    assert len(numbers) >= last_acked
    ids = {event_id(r) for r in back}
    assert len(ids) == len(back)
    for count, eid in acknowledged:
        assert event_id(back[count - 1]) == eid


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"\x00" * 4096, id="zero-filled"),
        pytest.param(b"\xff\xff\xff\x7f" + b"\x00" * 12, id="impossible-length"),
        pytest.param(b"\x10\x00\x00\x00" + b"\x00" * 4 + b"x" * 16, id="bad-checksum"),
    ],
)
def test_a_damaged_tail_is_cut_at_start_up(tmp_path: Path, tail: bytes) -> None:
    folder = tmp_path / "spool"
    with Spool(folder) as spool:
        spool.append(records(10))
    size = segment_files(folder)[-1].stat().st_size
    with segment_files(folder)[-1].open("ab") as f:
        f.write(tail)
    with Spool(folder) as spool:
        assert [r.text for r in read_all(spool)] == [r.text for r in records(10)]
    assert segment_files(folder)[0].stat().st_size == size


def test_checkpoint_resumes_after_restart_and_frees_stored_segments(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    first = records(3000)
    with Spool(folder, segment_bytes=16 * 1024) as spool:
        for i in range(0, 3000, 100):
            spool.append(first[i : i + 100])
        before = segment_files(folder)
        reader = spool.reader()
        taken = reader.read(1700)
        spool.commit(reader.position)
        reader.close()
        assert spool.backlog_bytes() > 0
        # The segments holding only stored records are deleted; the rest stays.
        after = segment_files(folder)
        assert after == [p for p in before if int(p.stem) >= reader.position.segment]
        assert len(after) < len(before)
    assert [r.text for r in taken] == [r.text for r in first[:1700]]
    with Spool(folder, segment_bytes=16 * 1024) as spool:
        rest = read_all(spool)
        assert sample_value(spool.metrics.registry, "sontra_spool_replayed_records_total") == 1300
    assert [r.text for r in rest] == [r.text for r in first[1700:]]
    assert [event_id(r) for r in rest] == [event_id(r) for r in first[1700:]]


def test_a_batch_stored_but_not_checkpointed_is_replayed_as_a_no_op(tmp_path: Path) -> None:
    """The crash window between the store write and the checkpoint: the replay stores nothing twice."""
    folder = tmp_path / "spool"
    store = SqliteEventStore(tmp_path / "events.db")
    try:
        with Spool(folder) as spool:
            spool.append(records(500))
            reader = spool.reader()
            assert IngestPipeline(store).process(reader.read(500)).events == 500
            reader.close()
            # crash here: no commit
        ids_before = sorted(e["event"]["id"] for e in stored_events(store))

        with Spool(folder) as spool:
            pipeline = IngestPipeline(store)

            async def restart() -> None:
                worker = IngestWorker(spool, pipeline, max_delay=0.05)
                worker.start()
                await spool.append_async(records(20, 500))
                await worker.stop()

            asyncio.run(asyncio.wait_for(restart(), 30))
            assert spool.backlog_bytes() == 0
        assert pipeline.totals.duplicates == 500
        assert pipeline.totals.events == 520
        events = stored_events(store)
        assert len(events) == 520
        assert sorted(e["event"]["id"] for e in events if int(e["message"].rsplit(" ", 1)[1]) < 500) == ids_before
        with Spool(folder) as spool:
            assert read_all(spool) == []  # checkpointed: a third start has nothing to replay
    finally:
        store.close()


def test_full_spool_refuses_appends_until_the_store_catches_up(tmp_path: Path) -> None:
    with Spool(tmp_path / "spool", segment_bytes=8192, max_bytes=32768) as spool:
        appended = 0
        with pytest.raises(SpoolFull, match=r"is full \(\d+ of 32768 bytes"):
            while True:
                spool.append(records(20, appended))
                appended += 20
        assert 0 < spool.disk_bytes() <= 32768
        assert sample_value(spool.metrics.registry, "sontra_spool_full_total") == 1
        with pytest.raises(BatchTooLarge, match="send smaller batches"):
            spool.append(records(1000))
        reader = spool.reader()
        assert len(reader.read(10_000)) == appended
        spool.commit(reader.position)
        assert spool.disk_bytes() < 8192  # consumed segments deleted: room again
        spool.append(records(20, appended))
        assert [r.position for r in reader.read(100)] == list(range(appended, appended + 20))


def test_concurrent_appenders_share_fsyncs(tmp_path: Path) -> None:
    threads, per_thread = 8, 25
    with Spool(tmp_path / "spool", commit_wait=0.02) as spool:
        def work(t: int) -> None:
            for i in range(per_thread):
                spool.append(records(1, t * 1000 + i))

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        fsyncs = sample_value(spool.metrics.registry, "sontra_spool_fsyncs_total")
        back = read_all(spool)
    appends = threads * per_thread
    assert fsyncs <= appends / 4, f"{fsyncs} fsyncs for {appends} appends: appends did not share fsyncs"
    assert sorted(r.position for r in back) == sorted(t * 1000 + i for t in range(threads) for i in range(per_thread))
    for t in range(threads):  # each appender's records stay in its order
        mine = [r.position for r in back if r.position is not None and r.position // 1000 == t]
        assert mine == sorted(mine)


def test_a_caller_cancelled_while_waiting_for_the_fsync_does_not_stop_the_committer(tmp_path: Path) -> None:
    """A TCP handler cancelled at shutdown abandons its append; the committer must go on for everyone else."""

    async def scenario() -> list[RawRecord]:
        with Spool(tmp_path / "spool", commit_wait=0.05) as spool:
            abandoned = asyncio.ensure_future(spool.append_async(records(5)))
            await asyncio.sleep(0.01)  # handed in, the fsync is being held back
            abandoned.cancel()
            await asyncio.wait_for(spool.append_async(records(5, 100)), 5)
            await asyncio.wait_for(spool.append_async(records(5, 200)), 5)
            return read_all(spool)

    back = asyncio.run(scenario())
    assert [r.position for r in back][-10:] == [100, 101, 102, 103, 104, 200, 201, 202, 203, 204]


def test_one_process_per_spool_and_foreign_files_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    with Spool(folder), pytest.raises(SpoolError, match="in use by another process"):
        Spool(folder)
    (folder / "0000000000000099.seg").write_bytes(b"not a spool segment at all")
    with pytest.raises(SpoolError, match=r"0000000000000099\.seg is not a Sontra spool segment"):
        Spool(folder)


def test_bad_sizes_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="max_bytes >= 2 \\* segment_bytes"):
        Spool("/nonexistent/never-created", segment_bytes=1024 * 1024, max_bytes=1024 * 1024)
