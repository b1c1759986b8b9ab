"""When to retry an OpenSearch request and how long to wait between attempts."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import SSLError, TransportError

T = TypeVar("T")

# 429: the cluster's write or search queue is full; 502-504: a node or proxy is briefly away.
# 500 is included because a bulk item that failed on a shard being relocated reports it.
# 501 (not implemented) and other 5xx will not get better by waiting.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    """True for statuses that mean "try again later" rather than "this request is wrong"."""
    return status in RETRYABLE_STATUS


def is_retryable_error(exc: BaseException) -> bool:
    """True for connection failures and 429/5xx answers from the cluster."""
    if isinstance(exc, SSLError):  # a certificate that fails verification will not pass on retry
        return False
    if isinstance(exc, TransportConnectionError):  # refused, reset or timed out
        return True
    if isinstance(exc, TransportError) and isinstance(exc.status_code, int):
        return is_retryable_status(exc.status_code)
    return False


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: ``base * 2**attempt`` seconds, capped, half of it random.

    Keeping half of the delay fixed guarantees the cluster really gets a pause; the random half
    spreads the retries of many collectors that were all rejected by the same full queue.
    """

    max_retries: int = 5
    base: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.base < 0 or self.cap < 0:
            raise ValueError(f"backoff base and cap must be >= 0, got base={self.base} cap={self.cap}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * (2**attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def pause(self, attempt: int) -> None:
        """Wait before retry number ``attempt``."""
        self.sleep(self.delay(attempt))

    def call(self, request: Callable[[], T]) -> T:
        """Run ``request``, retrying connection errors and 429/5xx; the last error propagates."""
        attempt = 0
        while True:
            try:
                return request()
            except TransportError as exc:
                if attempt >= self.max_retries or not is_retryable_error(exc):
                    raise
            self.pause(attempt)
            attempt += 1
