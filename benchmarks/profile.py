"""``python -m benchmarks.profile``: where a command's time goes, sampled with py-spy.

Runs one command of the bench stack (create, refresh, update, destroy, noop_up, preview) at N
against a fresh emulator and samples, with ``py-spy record --nonblocking``, the three Python
processes involved: the dynamic provider (``python -m pulumi.dynamic``: our code), the program
(``pulumi-language-python-exec``) and the emulator. The rest of the wall time is the Go
engine. Writes a plain-text breakdown (categories + top self-time frames) per process; raw
collapsed stacks go next to it for flame graphs. No secret is ever in a stack sample.

    python -m benchmarks.profile --n 100 --op refresh
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from tests.helpers.emulator_proc import EmulatorProcess

from .stacks import OPERATIONS, StackBench

RESULTS = Path(__file__).parent / "results"

# (category, substring of a frame) - the first category found anywhere in a sample's stack
# wins, so the more specific ones come first.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("RSA private key parse (cryptography load_pem_private_key)",
     ("load_pem_private_key",)),
    ("TLS: CA bundle load per connection (load_verify_locations)",
     ("load_verify_locations",)),
    ("TLS handshake", ("do_handshake",)),
    ("RSA key generation (emulator: each new account's key pair)", ("generate_private_key",)),
    ("JWT sign/verify (PyJWT, RSA)", ("jwt/api_jws", "jwt/algorithms")),
    ("SQLite (emulator store)", ("sqlite3", "skyflow_emulator/store.py")),
    ("HTTP client (requests/urllib3/socket)", ("requests/", "urllib3/", "http/client")),
    ("HTTP server (werkzeug, socketserver)", ("werkzeug/", "socketserver")),
    ("dill (un)pickle of __provider", ("dill/", "pickle")),
    ("Pulumi SDK rpc (de)serialization", ("pulumi/runtime/rpc", "pulumi/output")),
    ("Pulumi dynamic provider shim", ("pulumi/dynamic/",)),
    ("Pulumi SDK other", ("pulumi/",)),
    ("gRPC / protobuf", ("grpc/", "google/protobuf")),
    ("skyflow_provider (ours, other)", ("skyflow_provider/",)),
    ("skyflow_emulator (handlers)", ("skyflow_emulator/",)),
)


# C calls have no frame of their own: attribute by the calling line (the sample's leaf).
LEAF_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("RSA private key parse (cryptography load_pem_private_key)",
     ("_load_private_key (", "prepare_key (")),
    ("TLS: CA bundle load per connection (load_verify_locations)", ("ssl_wrap_socket (",)),
    ("RSA key generation (emulator: each new account's key pair)", ("generate_private_key (",)),
)


def categorize(frames: list[str]) -> str:
    """The category of one sample: by its leaf for C calls, else the first stack match."""
    for name, needles in LEAF_CATEGORIES:
        if any(n in frames[-1] for n in needles):
            return name
    for name, needles in CATEGORIES:
        if any(n in f for f in frames for n in needles):
            return name
    return "other"


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, cmdline) of every live process below ``root``."""
    procs: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        procs[int(entry.name)] = (ppid, cmd)
    out, todo = [], [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, cmd) in procs.items():
            if ppid == parent:
                out.append((pid, cmd))
                todo.append(pid)
    return out


def _spy(pid: int, out: Path, rate: int, gil: bool = False) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking",
         "--format", "raw", "--output", str(out), "--threads", *(["--gil"] if gil else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_collapsed(path: Path, wall: float, rate: int, title: str) -> str:
    """Categories (inclusive, first match) and top self-time frames of one collapsed file."""
    cats: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return f"## {title}\n\n(no samples)\n"
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        cats[categorize(frames)] += count
        leaves[frames[-1].strip()] += count
    busy = total / rate
    lines = [f"## {title}", "",
             f"{total} samples at {rate} Hz = {busy:.1f} s of active (non-idle) thread time "
             f"in {wall:.1f} s wall (threads summed).", "",
             "| Where (inclusive, first match) | seconds | share |", "|---|---|---|"]
    for name, count in cats.most_common():
        lines.append(f"| {name} | {count / rate:.2f} | {count / max(1, total):.0%} |")
    lines += ["", "Top self-time frames:", "", "| frame | seconds |", "|---|---|"]
    for frame, count in leaves.most_common(12):
        lines.append(f"| `{frame[:110]}` | {count / rate:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--op", choices=OPERATIONS, default="create")
    p.add_argument("--rate", type=int, default=100, help="samples per second")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--gil", action="store_true",
                   help="sample only the thread holding the GIL: Python CPU, not waits")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"profile-{args.op}-n{args.n}"
    with tempfile.TemporaryDirectory(prefix="skyflow-prof-") as tmp, \
            EmulatorProcess(Path(tmp) / "emulator") as emu:
        bench = StackBench(emu, Path(tmp) / "work")
        before = OPERATIONS[:OPERATIONS.index(args.op)]
        if before:
            bench.run_sequence("skyflow", args.n, 0, measure_state=False, operations=before)
        else:
            bench.prepare("skyflow", args.n, 0)
        assert emu.proc is not None
        spies: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        emu_out = Path(tmp) / "emulator.collapsed"
        spies["emulator"] = (_spy(emu.proc.pid, emu_out, args.rate, args.gil), emu_out)
        done = threading.Event()
        result: dict[str, float] = {}

        def run_op() -> None:
            try:
                started = time.perf_counter()
                proj = bench.projects["skyflow"]
                if args.op == "update":
                    bench._config(proj, rev="b")
                bench._timed(proj, args.op)
                result["wall"] = time.perf_counter() - started
            finally:
                done.set()

        worker = threading.Thread(target=run_op)
        worker.start()
        wanted = {"provider": "-m pulumi.dynamic", "program": "pulumi-language-python-exec"}
        while not done.is_set() and len(spies) < 3:
            for pid, cmd in _descendants(os.getpid()):
                for role, needle in wanted.items():
                    if role not in spies and needle in cmd and "/bin/sh" not in cmd:
                        out = Path(tmp) / f"{role}.collapsed"
                        spies[role] = (_spy(pid, out, args.rate, args.gil), out)
            time.sleep(0.05)
        worker.join()
        time.sleep(0.5)
        for proc, _ in spies.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc, _ in spies.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        parts = [f"# Profile: {args.op} at N={args.n} ({result.get('wall', 0):.1f} s wall)", "",
                 "Sampled with py-spy (non-blocking, active threads only). The Go engine "
                 "(pulumi) is not sampled: its share is what the Python processes leave.", ""]
        for role in ("provider", "program", "emulator"):
            if role in spies:
                collapsed = spies[role][1]
                parts.append(summarize_collapsed(collapsed, result.get("wall", 0.0),
                                                 args.rate, f"{role} process"))
                if collapsed.exists():
                    (args.out / f"{stem}-{role}.collapsed").write_text(collapsed.read_text())
        text = "\n".join(parts)
        (args.out / f"{stem}.md").write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
