"""One access-log line per request: who, which role, what status, how long. Never a secret.

Why a dedicated formatter: every field is either ours or from a *verified* session, is cut to
a bounded length and stripped of control characters (no log injection), and the whole line
still goes through ``redact_text``, so a token that slipped into a field would be masked.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from dataclasses import dataclass

from ..http.redaction import redact_text

LOGGER_NAME = "skyflow_provider.vending.access"
_UNSAFE = re.compile(r"[^\x21-\x7e]")  # anything but visible ASCII (no spaces, no controls)
MAX_FIELD = 96

access_log = logging.getLogger(LOGGER_NAME)


def clean(value: object) -> str:
    """A log-safe token: visible ASCII only, bounded, ``-`` when empty."""
    text = _UNSAFE.sub("?", str(value if value is not None else ""))[:MAX_FIELD]
    return text or "-"


@dataclass
class AccessRecord:
    """What one request did; filled in as the request goes."""

    method: str
    path: str
    client: str
    status: int = 500
    identity: str | None = None
    role: str | None = None
    source: str | None = None  # cache / minted / shared
    reason: str | None = None  # short error class, e.g. rate-limited-identity

    def line(self, duration_ms: float) -> str:
        parts = [clean(self.method), clean(self.path), str(self.status),
                 f"{duration_ms:.1f}ms", f"identity={clean(self.identity)}",
                 f"role={clean(self.role)}", f"client={clean(self.client)}"]
        if self.source:
            parts.append(f"token={clean(self.source)}")
        if self.reason:
            parts.append(f"reason={clean(self.reason)}")
        return redact_text(" ".join(parts))


def emit(record: AccessRecord, duration_ms: float) -> None:
    access_log.info("%s", record.line(duration_ms))


def log_to_stderr(level: int = logging.INFO) -> logging.Handler:
    """Send access lines (and the vendor's warnings) to stderr, one per line, UTC time."""
    handler = logging.StreamHandler(sys.stderr)
    fmt = logging.Formatter("%(asctime)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    for name in ("skyflow_provider.vending", "waitress"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return handler
