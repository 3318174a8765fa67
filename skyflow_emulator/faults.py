"""Fault injection: latency, 429 with Retry-After, 500/503, and lost responses after commit.

All random decisions come from one seeded RNG so a run with the same seed and the same request
sequence injects the same faults.
"""

from __future__ import annotations

import json
import os
import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import bad_request


@dataclass
class FaultConfig:
    latency_ms: float = 0.0          # fixed delay added to every /v1 request
    latency_jitter_ms: float = 0.0   # plus a uniform random delay in [0, jitter]
    rate_429: float = 0.0            # fraction answered 429 with Retry-After (no side effects)
    retry_after: int = 1             # seconds, the Retry-After header value
    rate_500: float = 0.0            # fraction answered 500 (no side effects)
    rate_503: float = 0.0            # fraction answered 503 (no side effects)
    rate_drop: float = 0.0           # fraction of successful writes committed, then dropped
    seed: int | None = None

    def validate(self) -> FaultConfig:
        for name in ("rate_429", "rate_500", "rate_503", "rate_drop"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise bad_request(f"{name}: must be between 0 and 1")
        if self.rate_429 + self.rate_500 + self.rate_503 > 1.0:
            raise bad_request("rate_429 + rate_500 + rate_503 must not exceed 1")
        if self.latency_ms < 0 or self.latency_jitter_ms < 0 or self.latency_ms > 60000:
            raise bad_request("latency_ms/latency_jitter_ms: must be between 0 and 60000")
        if self.retry_after < 0:
            raise bad_request("retry_after: must not be negative")
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        """Partial updates: keys not given keep their current value."""
        known = {f.name: f.type for f in fields(cls)}
        out = asdict(base or cls())
        for key, value in data.items():
            if key not in known:
                raise bad_request(f"{key}: unknown fault setting")
            if key == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise bad_request("seed: must be an integer or null")
            elif key in ("retry_after",):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise bad_request(f"{key}: must be an integer")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad_request(f"{key}: must be a number")
            out[key] = value
        return cls(**out).validate()

    @classmethod
    def from_env(cls) -> FaultConfig:
        raw = os.environ.get("SKYFLOW_EMULATOR_FAULTS")
        if not raw:
            return cls()
        return cls.from_dict(json.loads(raw))


@dataclass(frozen=True)
class Decision:
    delay_s: float
    status: int | None  # 429/500/503 to answer instead of handling, or None
    drop: bool          # for writes: lose the response after committing


class Faults:
    """Thread-safe holder of the current config and its RNG."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._rng = random.Random(config.seed)  # noqa: S311 - reproducibility, not security

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def update(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)  # noqa: S311

    def decide(self, is_write: bool) -> Decision:
        with self._lock:
            c = self._config
            delay = c.latency_ms / 1000.0
            if c.latency_jitter_ms:
                delay += self._rng.uniform(0, c.latency_jitter_ms) / 1000.0
            status = None
            if c.rate_429 or c.rate_500 or c.rate_503:
                r = self._rng.random()
                if r < c.rate_429:
                    status = 429
                elif r < c.rate_429 + c.rate_500:
                    status = 500
                elif r < c.rate_429 + c.rate_500 + c.rate_503:
                    status = 503
            drop = bool(is_write and status is None and c.rate_drop
                        and self._rng.random() < c.rate_drop)
            return Decision(delay, status, drop)
