"""Exit the provider process when the engine that started it is gone.

Why: a SIGKILLed ``pulumi up`` (a CI timeout, a cancelled job) cannot stop its plugins, and the
dynamic-provider host (``python -m pulumi.dynamic``) serves gRPC forever: every killed run left
one behind. The engine passes its gRPC address as the plugin's first argument; while a TCP
connect to it succeeds and the process that started the plugin (the CLI, behind the shell
wrapper) exists, the engine is alive. Two failed checks in a row and this process exits
(nothing is in flight that a dead engine could still record).

Before exiting, the watchdog runs what was registered with ``when_gone`` (``ledger`` registers
its post-mortem: what this process made and the stack's last checkpoint does not hold is
undone). Registering, not importing, keeps this module free of the others (no import cycle).
The watchdog takes a second or two to notice; ``engine_gone`` asks now. A create that made a
key (or an object) after its engine died has nobody to hand the result to: the engine would
never record it, so the key would stay valid with no state holding it. ``ledger.deliver``
checks just before a result is returned and deletes what it made when the engine is gone.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping

INTERVAL_S = 1.0
SHELLS = ("sh", "bash", "dash", "zsh", "busybox")
MISSES = 2
_ADDRESS = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$")
_started = threading.Event()
#: the engine address the watchdog found gone: every later check of it says so at once
_dead: set[tuple[str, int]] = set()
#: the engine being watched: its address and the process that started this plugin
_engine: tuple[tuple[str, int], int | None] | None = None
#: the CLI binary of that process, and the stack it was given (read at start, while it lives)
_cli: str | None = None
_stack: list[str] = []
#: run once the engine is gone, before the process exits (``when_gone``)
_on_gone: list[Callable[[], object]] = []


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
        exe = _exe(pid)
        if exe is None:
            return None
        if os.path.basename(exe) not in SHELLS:
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


def stack_args(cmdline: list[str]) -> list[str]:
    """The ``--stack`` the CLI was given (``[]``: it used PULUMI_STACK or the selected stack,
    which a ``pulumi`` started with the same environment and directory resolves alike)."""
    for i, arg in enumerate(cmdline[1:], 1):
        if arg in ("--stack", "-s") and i + 1 < len(cmdline):
            return ["--stack", cmdline[i + 1]]
        if arg.startswith("--stack="):
            return ["--stack", arg.split("=", 1)[1]]
    return []


def stack_ref(stack: list[str] | None = None, env: Mapping[str, str] | None = None) -> str:
    """The stack as the CLI was given it: its ``--stack`` arguments (``stack``; by default the
    ones read at start), else ``PULUMI_STACK``; "" when neither says."""
    stack = _stack if stack is None else stack
    env = os.environ if env is None else env
    return stack[1] if len(stack) == 2 else env.get("PULUMI_STACK", "")


def stack_name() -> str | None:
    """The running stack's name (no organization or project); None when nothing says."""
    return stack_ref().rsplit("/", 1)[-1] or None


def read_back() -> tuple[str, list[str]] | None:
    """How to read the running stack's checkpoint after the engine died: the CLI binary and its
    stack arguments, captured while it lived (None: not known, so no post-mortem)."""
    return (_cli, _stack) if _cli else None


def _exe(pid: int | None) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe") if pid else None
    except OSError:
        return None


def _cmdline(pid: int | None) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def when_gone(fn: Callable[[], object]) -> None:
    """Run ``fn`` once the watched engine is gone, before this process exits."""
    _on_gone.append(fn)


def _post_mortem() -> None:
    for fn in list(_on_gone):
        try:
            fn()
        except Exception:  # noqa: BLE001,S112 - the watchdog must still exit
            continue


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
            _dead.add(address)
            _post_mortem()
            exit_(0)  # type: ignore[operator]


def engine_gone() -> bool:
    """Whether the watched engine is certainly gone, checked now (one loopback connect).

    False when no engine is watched (tests, the program's own process) or when in doubt: undoing
    a result the engine would have recorded is worse than the orphan this guards against.
    """
    if _engine is None:
        return False
    address, pid = _engine
    if address in _dead:
        return True
    try:
        return not engine_alive(address, timeout=0.5) or _gone(pid)
    except Exception:  # noqa: BLE001 - a failed check must never fail a create
        return False


def start(argv: list[str] | None = None, *, interval: float = INTERVAL_S,
          exit_: object = os._exit) -> bool:
    """Start the watchdog once per process; False when no engine address was passed."""
    global _engine, _cli, _stack
    address = engine_address(argv)
    if address is None or _started.is_set():
        return False
    _started.set()
    _engine = (address, engine_pid())
    _cli = _exe(_engine[1])
    _stack = stack_args(_cmdline(_engine[1]))
    threading.Thread(target=_watch, args=(address, interval, exit_, _engine[1]), daemon=True,
                     name="skyflow-engine-lifeline").start()
    return True
