"""A stock of pre-generated RSA-2048 key pairs, so a JWT create need not generate one inline.

Why: generating the pair Skyflow returns with every new service account or key costs ~70 ms of
CPU (more under load) and was most of the emulator's time in a create. The stock is filled by a
worker process at nice 19 (``keygen.py``), off the request path. Every pair is handed out exactly
once and then forgotten (it lives only in memory, never on disk); when the stock is empty a
request generates its pair inline, as before. What a client sees is unchanged: a fresh key pair
per key, as Skyflow's spec says.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import IO, Any

from .auth import KeyPair, new_rsa_keypair

DEFAULT_KEY_STOCK = 4


def worker_command() -> list[str]:
    return [sys.executable, "-m", "skyflow_emulator.keygen"]


class KeyStock:
    """Up to ``size`` pairs ready; ``take()`` hands out one, never the same one twice."""

    def __init__(self, size: int = 0, generate: Callable[[], KeyPair] = new_rsa_keypair,
                 command: list[str] | None = None) -> None:
        if size < 0:
            raise ValueError("key stock size must be >= 0")
        self.size = size
        self._generate = generate
        self._command = command or worker_command()
        self._lock = threading.Lock()
        self._ready: deque[KeyPair] = deque()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.from_stock = 0
        self.inline = 0
        self.produced = 0

    def start(self) -> KeyStock:
        """Start the worker and ask it for a full stock (nothing at size 0)."""
        if self.size == 0 or self._proc is not None:
            return self
        self._proc = subprocess.Popen(self._command, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, close_fds=True)
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,),
                                        name="key-stock", daemon=True)
        self._reader.start()
        self._ask(self.size)
        return self

    def _ask(self, count: int) -> None:
        """Ask the worker for ``count`` more pairs; a dead worker just means inline keys."""
        proc = self._proc
        if proc is None or proc.stdin is None or count <= 0:
            return
        try:
            proc.stdin.write(b"\n" * count)
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def _read(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for line in stream:
            try:
                doc = json.loads(line)
                pair = KeyPair(str(doc["private"]), str(doc["public"]))
            except (ValueError, KeyError, TypeError):
                continue
            with self._lock:
                self._ready.append(pair)
                self.produced += 1

    def take(self) -> KeyPair:
        """A pair from the stock (and one more asked for), else one generated here and now."""
        with self._lock:
            pair = self._ready.popleft() if self._ready else None
            if pair is not None:
                self.from_stock += 1
            else:
                self.inline += 1
        if pair is None:
            return self._generate()
        with self._lock:  # one refill per pair taken: ready + asked stays at ``size``
            self._ask(1)
        return pair

    def status(self) -> dict[str, Any]:
        """What ``GET /_emulator/keys`` shows: a bench waits for level == size."""
        proc = self._proc
        with self._lock:
            return {"size": self.size, "level": len(self._ready),
                    "fromStock": self.from_stock, "inline": self.inline,
                    "produced": self.produced,
                    "workerPid": proc.pid if proc is not None else None,
                    "workerAlive": proc is not None and proc.poll() is None}

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker (its stdin ends, so it exits) and drop every unused pair."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if self._reader is not None:  # the worker's stdout has ended: the reader stops
                self._reader.join(timeout)
            if proc.stdout is not None:
                proc.stdout.close()
        with self._lock:
            self._ready.clear()
