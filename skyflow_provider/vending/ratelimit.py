"""Per-key rate limits (token bucket), for identities and client addresses.

Why: a stolen session, a buggy page in a reload loop or a credential-stuffing script must not
turn into unbounded token exchanges with Skyflow (which rate-limits the whole account).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
                 "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``per`` seconds (burst up to ``count``)."""

    count: int
    per: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"60/min"``, ``"5/s"``, ``"1000/hour"``."""
        m = _RATE_RE.match(text or "")
        if not m or int(m.group(1)) < 1:
            raise ValueError(f"rate {text!r}: expected N/min (or N/s, N/hour) with N >= 1")
        return cls(int(m.group(1)), float(_UNIT_SECONDS[m.group(2).lower()]))

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "hour"}.get(self.per, f"{self.per:g}s")
        return f"{self.count}/{unit}"


class RateLimiter:
    """Token bucket per key: ``check(key)`` returns 0 when allowed, else the seconds to wait.

    Thread-safe; ``clock`` injectable; memory bounded by ``max_keys`` (full buckets, which
    carry no information, are dropped first, then the least recently seen).
    """

    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.rate = rate
        self._clock = clock
        self._max = max_keys
        self._per_token = rate.per / rate.count  # seconds to earn one request back
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key->(tokens, t)

    def check(self, key: str) -> float:
        """Take one request for ``key``; 0.0 if allowed, else seconds until one is allowed."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.rate.count), now))
            tokens = min(float(self.rate.count), tokens + (now - last) / self._per_token)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._buckets.move_to_end(key)
                self._trim(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            self._buckets.move_to_end(key)
            return (1.0 - tokens) * self._per_token

    def _trim(self, now: float) -> None:
        if len(self._buckets) <= self._max:
            return
        full = [k for k, (t, last) in self._buckets.items()
                if t + (now - last) / self._per_token >= self.rate.count]
        for k in full:
            del self._buckets[k]
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` is whole seconds; round up so a client that obeys it succeeds."""
    return str(max(1, math.ceil(seconds)))
