"""``IocFeeds``: the configured feed files, loaded into one ``IocMatcher`` and reloaded without a restart.

Each feed is loaded on its own. A feed that fails to load (file missing, half-written, not JSON)
keeps its previous indicators and records the error, so a bad download never blinds detection.
After a (re)load a new matcher is built from every feed's current indicators and swapped in with
one reference assignment: a detector that has already taken ``feeds.matcher`` for a batch keeps
a consistent index, the next batch sees the new one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from correlation.ioc.indicators import FeedError, Indicator, LoadReport, LoadResult
from correlation.ioc.lists import load_csv, load_list
from correlation.ioc.matcher import IocMatcher
from correlation.ioc.misp import load_misp
from correlation.ioc.stix import load_stix

log = logging.getLogger(__name__)

FeedFormat = Literal["stix", "misp", "csv", "list"]
FEED_FORMATS: tuple[str, ...] = get_args(FeedFormat)
# What identifies one version of a feed file: replaced (new inode), rewritten (mtime) or grown (size).
FileVersion = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One configured feed: a name for alerts, a file, its format, and loading options."""

    name: str
    path: Path
    format: FeedFormat
    confidence: int | None = None
    include_non_ids: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("feed name must be non-empty text")
        if self.format not in FEED_FORMATS:
            formats = ", ".join(FEED_FORMATS)
            raise ValueError(f"feed {self.name!r}: unknown format {self.format!r} (use one of {formats})")
        if self.confidence is not None and not 0 <= self.confidence <= 100:
            raise ValueError(f"feed {self.name!r}: confidence must be 0-100, got {self.confidence}")
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def from_mapping(cls, item: Mapping[str, Any]) -> FeedSpec:
        """A spec from config data (``{name, path, format, confidence?, include_non_ids?}``)."""
        unknown = set(item) - {"name", "path", "format", "confidence", "include_non_ids"}
        if unknown:
            raise ValueError(f"feed {item.get('name')!r}: unknown keys {sorted(unknown)}")
        missing = [key for key in ("name", "path", "format") if item.get(key) in (None, "")]
        if missing:
            raise ValueError(f"feed {item.get('name')!r}: missing {', '.join(missing)}")
        return cls(
            name=str(item["name"]),
            path=Path(item["path"]),
            format=item["format"],
            confidence=item.get("confidence"),
            include_non_ids=bool(item.get("include_non_ids", False)),
        )

    def load(self) -> LoadResult:
        """Read and parse the feed file; FeedError when it cannot be read at all."""
        if self.format == "stix":
            return load_stix(self.path, self.name, default_confidence=self.confidence)
        if self.format == "misp":
            return load_misp(
                self.path, self.name, default_confidence=self.confidence, include_non_ids=self.include_non_ids
            )
        if self.format == "csv":
            return load_csv(self.path, self.name, default_confidence=self.confidence)
        return load_list(self.path, self.name, default_confidence=self.confidence)


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed's current indicators, the report of the load that produced them, and its last error."""

    spec: FeedSpec
    indicators: tuple[Indicator, ...] = ()
    report: LoadReport | None = None
    loaded_at: datetime | None = None
    error: str | None = None
    # The file version of the last attempt, successful or not: a broken file is not re-read until it changes.
    attempted: FileVersion | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready status for the console and the CLI."""
        return {
            "name": self.spec.name,
            "path": str(self.spec.path),
            "format": self.spec.format,
            "indicators": len(self.indicators),
            "loaded_at": self.loaded_at.isoformat() if self.loaded_at else None,
            "error": self.error,
            "report": self.report.to_dict() if self.report else None,
        }


class IocFeeds:
    """A set of feeds and the matcher built from them; ``reload`` and ``reload_if_changed`` swap it."""

    def __init__(
        self,
        specs: Iterable[FeedSpec],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        load: bool = True,
    ) -> None:
        self._specs = tuple(specs)
        names = [spec.name for spec in self._specs]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"feed names must be unique; repeated: {', '.join(duplicated)}")
        self._clock = clock
        self._lock = threading.Lock()
        self._states = {spec.name: FeedState(spec) for spec in self._specs}
        self._matcher = IocMatcher()
        if load:
            self.reload()

    @classmethod
    def from_config(cls, feeds: Iterable[Mapping[str, Any] | Any], **kwargs: Any) -> IocFeeds:
        """Feeds from config items: mappings or models with ``model_dump()`` (the ``ioc.feeds`` list)."""
        items = [item.model_dump() if hasattr(item, "model_dump") else item for item in feeds]
        return cls([FeedSpec.from_mapping(item) for item in items], **kwargs)

    @property
    def matcher(self) -> IocMatcher:
        """The current matcher; take it once per batch so the whole batch sees one version."""
        return self._matcher

    def status(self) -> list[FeedState]:
        """Every feed's current state, in configuration order."""
        states = self._states
        return [states[spec.name] for spec in self._specs]

    def reload(self) -> list[FeedState]:
        """Re-read every feed now and swap in the new matcher; returns each feed's state."""
        with self._lock:
            return self._reload(self._specs)

    def reload_if_changed(self) -> list[FeedState] | None:
        """Re-read only the feeds whose file changed since the last attempt; None when none did."""
        with self._lock:
            changed = [spec for spec in self._specs if _file_version(spec.path) != self._states[spec.name].attempted]
            if not changed:
                return None
            return self._reload(changed)

    def watch(self, interval_seconds: float) -> FeedWatcher:
        """A started background thread calling ``reload_if_changed`` every ``interval_seconds``."""
        watcher = FeedWatcher(self, interval_seconds)
        watcher.start()
        return watcher

    def _reload(self, specs: Iterable[FeedSpec]) -> list[FeedState]:
        states = dict(self._states)
        for spec in specs:
            states[spec.name] = self._load_one(spec, states[spec.name])
        self._matcher = IocMatcher(ind for spec in self._specs for ind in states[spec.name].indicators)
        self._states = states
        log.info("IOC feeds loaded: %d indicators (%s)", len(self._matcher), self._matcher.counts())
        return self.status()

    def _load_one(self, spec: FeedSpec, previous: FeedState) -> FeedState:
        version = _file_version(spec.path)
        try:
            result = spec.load()
        except FeedError as exc:
            error = str(exc)
        except Exception as exc:
            # A loader bug on one hostile file must not stop the other feeds from reloading.
            log.exception("IOC feed %s: unexpected error while loading %s", spec.name, spec.path)
            error = f"unexpected {type(exc).__name__}: {exc}"
        else:
            if result.report.skipped_total:
                log.warning("IOC feed %s: %d entries skipped %s", spec.name, result.report.skipped_total,
                            dict(result.report.skipped.most_common(5)))
            return FeedState(spec, result.indicators, result.report, self._clock(), None, version)
        kept = f"; keeping the previous version ({len(previous.indicators)} indicators)" if previous.loaded_at else ""
        log.warning("IOC feed %s failed to load: %s%s", spec.name, error, kept)
        return replace(previous, spec=spec, error=error, attempted=version)


class FeedWatcher(threading.Thread):
    """Background reload of changed feed files; ``stop()`` ends it (also usable as a context manager)."""

    def __init__(self, feeds: IocFeeds, interval_seconds: float) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"reload interval must be positive, got {interval_seconds}")
        super().__init__(name="sontra-ioc-feeds", daemon=True)
        self.feeds = feeds
        self.interval = interval_seconds
        self._stopped = threading.Event()

    def run(self) -> None:
        """Check the feeds every interval until stopped."""
        while not self._stopped.wait(self.interval):
            try:
                self.feeds.reload_if_changed()
            except Exception:
                # The watcher must outlive one bad check: the next tick tries again.
                log.exception("IOC feed reload check failed")

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop checking and wait for the thread to end."""
        self._stopped.set()
        if self.is_alive():
            self.join(timeout)

    def __enter__(self) -> FeedWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _file_version(path: Path) -> FileVersion | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
