"""Record a test's figures in tests/results/reliability.json (quoted by docs/reliability.md).

Why a file: the figures (429s survived, duplicates, secret hits, ...) are the proof the
reliability and security docs cite; printing them is not enough because pytest hides output
of passing tests. Each test writes its own entry; the file is rewritten atomically.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results" / "reliability.json"


def record(test: str, **figures: Any) -> None:
    """Store ``figures`` under ``test`` (with the UTC time) and print them for ``pytest -s``."""
    print(f"[figures] {test}: {json.dumps(figures, sort_keys=True)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with (RESULTS.parent / ".reliability.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several pytest processes may record at once
        try:
            data = json.loads(RESULTS.read_text())
        except (OSError, ValueError):
            data = {}
        data[test] = {**figures,
                      "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        fd, tmp = tempfile.mkstemp(dir=RESULTS.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, RESULTS)
