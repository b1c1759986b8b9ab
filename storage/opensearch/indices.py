"""Names of the daily indices of one store: ``{prefix}-{kind}-YYYY.MM.DD`` by the event's UTC day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from storage.base import StoreKind
from storage.timefmt import from_epoch_ms, parse_timestamp

# OpenSearch index names: lowercase, no \ / * ? " < > | , # : or space, not starting with - _ +.
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_KINDS: tuple[StoreKind, ...] = ("events", "alerts")
# Longest prefix that still leaves room for "-alerts-YYYY.MM.DD" under the 255-byte name limit.
_MAX_PREFIX = 200


@dataclass(frozen=True, slots=True)
class DailyIndices:
    """The naming scheme for one store: which index an event goes to, which indices are ours."""

    prefix: str
    kind: StoreKind

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be 'events' or 'alerts', got {self.kind!r}")
        if not _PREFIX.match(self.prefix or "") or len(self.prefix) > _MAX_PREFIX:
            raise ValueError(
                f"invalid index prefix {self.prefix!r}: use lowercase letters, digits, '.', '_' or '-', "
                f"starting with a letter or digit, at most {_MAX_PREFIX} characters"
            )

    @property
    def base(self) -> str:
        """``{prefix}-{kind}``: also the name of this store's index template."""
        return f"{self.prefix}-{self.kind}"

    @property
    def pattern(self) -> str:
        """The wildcard that matches every daily index of this store (and nothing of other stores)."""
        return f"{self.base}-*"

    def name_for_day(self, day: date) -> str:
        """The index that holds the events of this UTC day."""
        return f"{self.base}-{day:%Y.%m.%d}"

    def name_for(self, timestamp: Any) -> str:
        """The index for an event's ``@timestamp`` (ISO 8601 string or epoch milliseconds)."""
        return self.name_for_day(event_time(timestamp).date())

    def day_of(self, index: str) -> date | None:
        """The UTC day of one of this store's daily indices; None for any other index name."""
        head = self.base + "-"
        if not index.startswith(head):
            return None
        try:
            return datetime.strptime(index[len(head) :], "%Y.%m.%d").date()
        except ValueError:
            return None


def event_time(timestamp: Any) -> datetime:
    """An event's ``@timestamp`` as an aware UTC datetime; ValueError names a bad value."""
    if isinstance(timestamp, bool):
        raise ValueError(f"@timestamp must be an ISO 8601 string or epoch milliseconds, got {timestamp!r}")
    if isinstance(timestamp, int | float):
        return from_epoch_ms(int(timestamp))
    if isinstance(timestamp, str) and timestamp.strip():
        try:
            return parse_timestamp(timestamp)
        except ValueError:
            pass
    raise ValueError(f"@timestamp must be an ISO 8601 string or epoch milliseconds, got {timestamp!r}")


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)
