"""A stock of pre-generated RSA-2048 key pairs, so a JWT create need not generate one inline.

Why: generating the pair Skyflow returns with every new service account or key costs ~70 ms of
CPU (more under load) and was most of the emulator's time in a create. The stock is filled by a
worker process at nice 19 (``keygen.py``), off the request path. Every pair is handed out exactly
once and then forgotten (it lives only in memory, never on disk); when the stock is empty a
request generates its pair inline, as before. What a client sees is unchanged: a fresh key pair
per key, as Skyflow's spec says.

The pairs taken are made again once creates pause (``refill_after`` seconds with no pair taken),
not one by one while they run: a worker generating beside a burst of creates took CPU from the
very client it served (on 2 cores, ~70 ms per pair against ~15 ms per create), which real
Skyflow, generating on its own servers, never does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Any

from .auth import KeyPair, new_rsa_keypair

DEFAULT_KEY_STOCK = 4
#: seconds with no pair taken before the pairs taken are asked for again
DEFAULT_REFILL_AFTER_S = 0.5


def worker_command() -> list[str]:
    return [sys.executable, "-m", "skyflow_emulator.keygen"]


class KeyStock:
    """Up to ``size`` pairs ready; ``take()`` hands out one, never the same one twice."""

    def __init__(self, size: int = 0, generate: Callable[[], KeyPair] = new_rsa_keypair,
                 command: list[str] | None = None,
                 refill_after: float = DEFAULT_REFILL_AFTER_S) -> None:
        if size < 0:
            raise ValueError("key stock size must be >= 0")
        if refill_after < 0:
            raise ValueError("refill_after must be >= 0")
        self.size = size
        self.refill_after = refill_after
        self._owed = 0  # pairs taken from the stock and not yet asked for again
        self._last_take = 0.0
        self._taken = threading.Event()
        self._refiller: threading.Thread | None = None
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
        self._refiller = threading.Thread(target=self._refill, name="key-refill", daemon=True)
        self._refiller.start()
        return self

    def _refill(self) -> None:
        """Ask for the pairs taken once no pair has been taken for ``refill_after`` s."""
        while self._proc is not None:
            if not self._taken.wait(timeout=1.0):
                continue
            while True:
                with self._lock:
                    quiet = time.monotonic() - self._last_take
                    if quiet >= self.refill_after:
                        owed, self._owed = self._owed, 0
                        self._taken.clear()
                        # asked under the lock: ready + owed + asked stays at ``size``
                        self._ask(owed)
                        break
                time.sleep(self.refill_after - quiet)

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
                self._owed += 1
                self._last_take = time.monotonic()
            else:
                self.inline += 1
        if pair is None:
            return self._generate()
        self._taken.set()
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
        self._taken.set()  # the refiller sees no worker and stops
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
