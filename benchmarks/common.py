"""Small shared pieces: timing statistics, the emulator request-log reader, machine facts."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.helpers.emulator_proc import EmulatorProcess

TOKEN_OPERATION = "AuthenticationService_GetAuthToken"


def summarize(samples: list[float]) -> dict[str, Any]:
    """Median/min/max of a list of timings (seconds); medians are what every ratio uses."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
        "samples": samples,
    }


@dataclass
class RequestLog:
    """Reads the emulator's ``requests.jsonl`` incrementally (by byte offset).

    Why not ``EmulatorProcess.read_request_log()``: it re-reads the whole file, and a full run
    writes tens of thousands of lines; the benchmark only ever wants "what since the mark".
    """

    path: Path
    offset: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)

    def mark(self) -> None:
        """Skip everything logged so far."""
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def since_mark(self) -> list[dict[str, Any]]:
        """Entries logged after the last mark (and move the mark past them)."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # ignore a half-written last line
        self.offset += end
        return [json.loads(line) for line in data[:end].splitlines() if line.strip()]


def count_operations(entries: list[dict[str, Any]]) -> Counter[str]:
    """Calls by the spec's operationId (``METHOD template`` when the route is unknown)."""
    out: Counter[str] = Counter()
    for e in entries:
        op = e.get("operation") or f"{e.get('method')} {e.get('template') or e.get('path')}"
        if str(op).startswith("Emulator_"):
            continue  # the benchmark's own admin calls, never the provider's
        out[str(op)] += 1
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def code_version() -> dict[str, Any]:
    """The commit measured, and whether the provider/emulator trees had local changes.

    Why: the provider process imports skyflow_provider from the working tree at every command,
    so a result only means something together with the code it ran.
    """
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=False)
        return proc.stdout.strip()

    dirty = git("status", "--porcelain", "--", "skyflow_provider", "skyflow_emulator")
    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "provider_or_emulator_modified": bool(dirty)}


def machine_facts(pulumi_bin: str) -> dict[str, Any]:
    """Everything a reader needs to judge the numbers: date, versions, CPUs, load."""
    cli = subprocess.run([pulumi_bin, "version"], capture_output=True, text=True,
                         env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}, check=False)
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pulumi_cli": cli.stdout.strip() or "unknown",
        "pulumi_python_sdk": _version("pulumi"),
        "skyflow_python_sdk": _version("skyflow"),
        "python": platform.python_version(),
        "python_impl": sys.implementation.name,
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "loadavg_start": list(os.getloadavg()),
        "code": code_version(),
    }


STOCK_WAIT_S = 900.0


def key_stock(emu: EmulatorProcess) -> dict[str, Any]:
    """The emulator's key stock (``GET /_emulator/keys``): size, level, pairs served."""
    r = emu.session().get(emu.url + "/_emulator/keys", timeout=30,
                          headers={"Authorization": f"Bearer {emu.admin_token}"})
    r.raise_for_status()
    return dict(r.json())


def wait_for_stock(emu: EmulatorProcess, timeout: float = STOCK_WAIT_S) -> float:
    """Wait until the stock is full, so a measured create starts from the same place every
    time; seconds waited (the worker fills it at nice 19, off the measured command)."""
    started = time.perf_counter()
    while True:
        status = key_stock(emu)
        if status["level"] >= status["size"]:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"key stock not full after {timeout:.0f} s: {status}")
        time.sleep(0.5)
