"""Single-flight: concurrent callers asking for the same key share one in-flight call.

Why: when a cached token runs out, every browser of that user asks at once; without this each
request would make its own token exchange with Skyflow (a thundering herd per user).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    """One in-flight call: the leader fills it, followers wait on ``done``."""

    __slots__ = ("done", "result", "error", "followers")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.followers = 0


class SingleFlight(Generic[T]):
    """``do(key, fn)`` runs ``fn`` once per key at a time; callers arriving meanwhile get its
    result (or its exception) instead of calling ``fn`` again. Nothing is cached afterwards.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call[T]] = {}

    def do(self, key: Hashable, fn: Callable[[], T]) -> tuple[T, bool]:
        """Return ``(result, shared)``; ``shared`` is True for a follower."""
        with self._lock:
            call = self._calls.get(key)
            if call is not None:
                call.followers += 1
                leader = False
            else:
                call = self._calls[key] = _Call()
                leader = True
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.result, True  # type: ignore[return-value]
        try:
            call.result = fn()
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
        return call.result, False

    def in_flight(self) -> int:
        """How many keys have a call running (for tests and health reports)."""
        with self._lock:
            return len(self._calls)
