"""The spool's folder on disk: its lock, the numbered segment files, the checkpoint, and start-up recovery.

Every write that must survive a crash is fsync'd, and so is the folder when a file is created or
renamed in it (otherwise the file's name itself could be lost).
"""

from __future__ import annotations

import fcntl
import json
import logging
import mmap
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from collectors.spool_frames import SEGMENT_MAGIC, scan_frames

log = logging.getLogger(__name__)

SEGMENT_START = len(SEGMENT_MAGIC)  # offset of a segment's first frame
CHECKPOINT_FILE = "checkpoint"
_SEGMENT_NAME = re.compile(r"^(\d{16})\.seg$")


class SpoolError(RuntimeError):
    """The spool cannot be used: its folder is locked by another process, corrupt, closed, or the disk failed."""


@dataclass(frozen=True, order=True, slots=True)
class SpoolPosition:
    """A place in the spool: segment number and byte offset in it (always at a frame boundary)."""

    segment: int
    offset: int


@dataclass(slots=True)
class Recovered:
    """What start-up found: the live segments and their sizes, where to resume, the next segment number."""

    segments: dict[int, int] = field(default_factory=dict)
    start: SpoolPosition = SpoolPosition(1, SEGMENT_START)
    next_number: int = 1
    torn_bytes: int = 0


class SpoolFolder:
    """One spool folder, locked for this process (a second `sontra serve` on it would corrupt it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise SpoolError(f"cannot use the spool folder {directory}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SpoolError(
                f"spool {directory} is in use by another process (is another sontra serve running?)"
            ) from None
        self._lock = fd

    def close(self) -> None:
        """Release the folder."""
        os.close(self._lock)

    def segment_path(self, number: int) -> Path:
        """The file of segment ``number``."""
        return self.directory / f"{number:016d}.seg"

    def create_segment(self, number: int) -> int:
        """Create segment ``number`` with its header, durably; return its file descriptor, open for writing."""
        fd = os.open(self.segment_path(number), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            write_all(fd, SEGMENT_MAGIC)
            os.fdatasync(fd)
            self._fsync_folder()
        except BaseException:
            os.close(fd)
            raise
        return fd

    def delete_segment(self, number: int) -> None:
        """Delete a wholly stored segment (no fsync: if a crash brings it back, recovery deletes it again)."""
        self.segment_path(number).unlink(missing_ok=True)

    def write_checkpoint(self, position: SpoolPosition) -> None:
        """Replace the checkpoint so that a crash leaves either the old or the new one, whole."""
        path = self.directory / CHECKPOINT_FILE
        temp = path.with_name(CHECKPOINT_FILE + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            write_all(fd, json.dumps({"segment": position.segment, "offset": position.offset}).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        self._fsync_folder()

    def recover(self) -> Recovered:
        """Read the checkpoint, delete stored segments, cut a torn tail off the last segment."""
        numbers = sorted(int(m[1]) for name in os.listdir(self.directory) if (m := _SEGMENT_NAME.match(name)))
        saved = self._read_checkpoint()
        found = Recovered(next_number=max([*numbers, saved.segment if saved else 0]) + 1)
        if saved is not None and saved.segment in numbers:
            start = saved
        else:
            # The checkpointed segment was stored and deleted: go on from the next one there is.
            later = [n for n in numbers if saved is None or n > saved.segment]
            start = SpoolPosition(later[0] if later else found.next_number, SEGMENT_START)
        for n in numbers:
            if n < start.segment:
                self.delete_segment(n)  # stored; a crash came before its deletion
        live = [n for n in numbers if n >= start.segment]
        for n in live:
            size = self._check_segment(n, start.offset if n == start.segment else SEGMENT_START, n == live[-1], found)
            if size is not None:
                found.segments[n] = size
        if start.segment not in found.segments:
            start = SpoolPosition(min(found.segments, default=found.next_number), SEGMENT_START)
        elif start.offset > found.segments[start.segment]:
            log.warning("spool checkpoint %s is past the end of its segment; resuming at the segment's end", start)
            start = SpoolPosition(start.segment, found.segments[start.segment])
        found.start = start
        if found.segments:
            log.info("spool %s: resuming at %s", self.directory, start)
        return found

    def _check_segment(self, number: int, from_offset: int, is_last: bool, found: Recovered) -> int | None:
        """The usable size of a segment found at start-up (torn tail cut), or None when it holds nothing."""
        path = self.segment_path(number)
        with path.open("r+b") as f:
            size = os.fstat(f.fileno()).st_size
            magic = f.read(SEGMENT_START)
            if len(magic) < SEGMENT_START:
                path.unlink()  # created just before a crash, before its header was written
                return None
            if magic != SEGMENT_MAGIC:
                raise SpoolError(f"{path} is not a Sontra spool segment (header {magic!r}); move it out of the spool")
            if not is_last:
                return size  # sealed segments were fsync'd whole before the next one began
            start = min(max(from_offset, SEGMENT_START), size)
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                end = scan_frames(data, start)
            if end < size:
                log.warning(
                    "spool %s: cut %d bytes of a torn frame at offset %d (written during a crash, never acknowledged)",
                    path, size - end, end,
                )
                found.torn_bytes += size - end
                f.truncate(end)
                os.fsync(f.fileno())
            return end

    def _read_checkpoint(self) -> SpoolPosition | None:
        path = self.directory / CHECKPOINT_FILE
        try:
            data = json.loads(path.read_bytes())
            return SpoolPosition(int(data["segment"]), int(data["offset"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            # Written atomically, so this is damage from outside; replaying everything is safe (ids are fixed).
            log.error("spool checkpoint %s is unreadable (%s); replaying the whole spool", path, exc)
            return None

    def _fsync_folder(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
