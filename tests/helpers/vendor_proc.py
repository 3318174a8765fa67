"""``skyflow-token serve`` as a real subprocess for tests and benchmarks.

    with VendorProcess(args, env) as vp:
        requests.post(vp.url + "/v1/token", headers=...)
    vp.stdout_text, vp.stderr_text   # everything it printed, for secret scans

Everything the process writes is kept in files under ``log_dir`` (so a test can scan it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

READY_PREFIX = "skyflow-token serving on "
ROOT = Path(__file__).resolve().parents[2]


class VendorProcess:
    def __init__(self, args: list[str], env: dict[str, str] | None = None, *,
                 log_dir: Path | None = None, startup_timeout: float = 30.0) -> None:
        self.args = list(args)
        self.env = env or {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if log_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="skyflow-vendor-")
            log_dir = Path(self._tmp.name)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        n = len(list(self.log_dir.glob("vendor-*.stdout.log")))
        self.stdout_path = self.log_dir / f"vendor-{n}.stdout.log"
        self.stderr_path = self.log_dir / f"vendor-{n}.stderr.log"
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.returncode: int | None = None

    def start(self) -> VendorProcess:
        env = {**os.environ, **self.env}
        stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "skyflow_provider.cli.token", "serve", *self.args],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=str(ROOT))
        stderr.close()
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        line = first[0] if first else ""
        with self.stdout_path.open("w") as fh:
            fh.write(line)
        if not line.startswith(READY_PREFIX):
            self.stop()
            raise RuntimeError(f"skyflow-token serve did not become ready: {line!r}\n"
                               f"{self.stderr_text[-3000:]}")
        self.url = line[len(READY_PREFIX):].strip()
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with self.stdout_path.open("a") as fh:
            for line in self.proc.stdout:
                fh.write(line)
                fh.flush()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            self.returncode = self.proc.returncode
            self.proc = None
        return self.returncode

    @property
    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    @property
    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def __enter__(self) -> VendorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_serve(args: list[str], env: dict[str, str] | None = None,
              timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``skyflow-token serve`` expecting it to refuse to start (exits by itself)."""
    return subprocess.run([sys.executable, "-m", "skyflow_provider.cli.token", "serve", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=str(ROOT), timeout=timeout, check=False)
