"""Exit the provider process when the engine that started it is gone.

Why: a SIGKILLed ``pulumi up`` (a CI timeout, a cancelled job) cannot stop its plugins, and the
dynamic-provider host (``python -m pulumi.dynamic``) serves gRPC forever: every killed run left
one behind. The engine passes its gRPC address as the plugin's first argument; while a TCP
connect to it succeeds and the process that started the plugin (the CLI, behind the shell
wrapper) exists, the engine is alive. Two failed checks in a row and this process exits
(nothing is in flight that a dead engine could still record).
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time

INTERVAL_S = 1.0
MISSES = 2
_ADDRESS = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$")
_started = threading.Event()


def engine_address(argv: list[str] | None = None) -> tuple[str, int] | None:
    """The engine's loopback address from the plugin's arguments, if there is one."""
    for arg in (sys.argv if argv is None else argv)[1:]:
        match = _ADDRESS.match(arg)
        if match:
            host = match.group(1).strip("[]")
            return ("127.0.0.1" if host == "localhost" else host), int(match.group(2))
    return None


def engine_alive(address: tuple[str, int], timeout: float = 1.0) -> bool:
    """A refused connect means nobody listens there any more; anything else counts as alive."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except ConnectionRefusedError:
        return False
    except OSError:
        return True  # a timeout or a full backlog is not a dead engine


def _ppid(pid: int) -> int | None:
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - one short read
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def engine_pid() -> int | None:
    """The process that started this plugin, skipping the shell wrapper Pulumi's
    ``pulumi-resource-pulumi-python`` script runs in (Linux /proc; None elsewhere)."""
    pid = os.getppid()
    for _ in range(3):
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()  # noqa: SIM115
        except OSError:
            return None
        if comm not in ("sh", "bash", "dash"):
            return pid
        parent = _ppid(pid)
        if parent is None or parent <= 1:
            return None
        pid = parent
    return None


def _gone(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return _ppid(pid) is None  # a zombie has no readable stat line of its own parent chain


def _watch(address: tuple[str, int], interval: float, exit_: object,
           parent: int | None = None) -> None:
    misses = 0
    while True:
        time.sleep(interval)
        try:
            misses = 0 if engine_alive(address) and not _gone(parent) else misses + 1
        except Exception:  # noqa: BLE001 - the watchdog must never die of a check
            misses = 0
        if misses >= MISSES:
            try:  # the CLI that read our stderr may be gone: a broken pipe must not stop exit
                print("skyflow: the Pulumi engine that started this provider is gone; "
                      "exiting", file=sys.stderr, flush=True)
            except Exception:  # noqa: BLE001,S110
                pass
            exit_(0)  # type: ignore[operator]


def start(argv: list[str] | None = None, *, interval: float = INTERVAL_S,
          exit_: object = os._exit) -> bool:
    """Start the watchdog once per process; False when no engine address was passed."""
    address = engine_address(argv)
    if address is None or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_watch, args=(address, interval, exit_, engine_pid()), daemon=True,
                     name="skyflow-engine-lifeline").start()
    return True
