"""Scenarios 1-5 and 7: the same stack run through the real CLI, floor vs Skyflow, per N.

One PulumiProject (file backend, passphrase) per mode, one stack per N; every run goes
create -> preview -> no-op up -> refresh -> update -> destroy on that stack, the floor and the
Skyflow sequence interleaved per (run, N) so background load hits both alike.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiCommandError, PulumiProject

from .common import RequestLog, count_operations, key_stock, wait_for_stock

REPO_ROOT = Path(__file__).resolve().parents[1]
PROGRAM = Path(__file__).parent / "program"
PROJECT = "skyflow-bench"
MODES = ("floor", "skyflow")
OPERATIONS = ("create", "preview", "noop_up", "refresh", "update", "destroy")


@dataclass
class OpResult:
    """One timed CLI command: wall seconds and the Management API calls it caused."""

    seconds: float
    calls: Counter[str] = field(default_factory=Counter)
    summary: str = ""
    emulator_seconds: float = 0.0
    gets: int = 0
    keys_from_stock: int = 0  # RSA pairs the emulator took from its key stock
    keys_inline: int = 0      # ... and generated inside a request


class SequenceError(RuntimeError):
    """A CLI command of a sequence failed; ``op`` names it, ``reason`` is one safe line."""

    def __init__(self, mode: str, n: int, op: str, reason: str, seconds: float) -> None:
        self.mode, self.n, self.op, self.reason, self.seconds = mode, n, op, reason, seconds
        super().__init__(f"{mode} N={n}: {op} failed after {seconds:.0f}s: {reason}")


def failure_reason(err: PulumiCommandError) -> str:
    """The last ``...Error: ...`` line of the CLI output (a program/provider exception)."""
    lines = [ln.strip() for ln in err.result.output.splitlines()
             if re.search(r"(Error|error:)", ln) and "Traceback" not in ln]
    created = re.search(r"\+ (\d+) created", err.result.stdout)
    reason = lines[-1][:200] if lines else f"exit {err.result.returncode}"
    return reason + (f" ({created.group(1)} resources created first)" if created else "")


def provider_env(emu: EmulatorProcess) -> dict[str, str]:
    """What the provider reads in configure() (tests/e2e/conftest.py), plus our import path."""
    env = {
        "SKYFLOW_MANAGEMENT_URL": emu.url,
        "SKYFLOW_ACCOUNT_ID": emu.account_id,
        "SKYFLOW_VAULT_ID": emu.vault_id,
        "SKYFLOW_CREDENTIALS_FILE": str(emu.admin_credentials_path),
        # benchmarks.floor_provider must import in the program and the provider process.
        "PYTHONPATH": str(REPO_ROOT),
    }
    if emu.ca_bundle:
        env["SKYFLOW_CA_BUNDLE"] = emu.ca_bundle
    return env


class StackBench:
    """Drives the bench stack for both modes against one emulator."""

    def __init__(self, emu: EmulatorProcess, work_dir: Path, *, parallel: int | None = None,
                 verbose: bool = True) -> None:
        self.emu = emu
        self.log = RequestLog(emu.data_dir / "requests.jsonl")
        self.parallel = parallel
        self.verbose = verbose
        env = provider_env(emu)
        self.projects = {mode: PulumiProject(PROGRAM, work_dir / mode, env=env, timeout=3600)
                         for mode in MODES}
        self.stacks: dict[tuple[str, int], str] = {}

    def _say(self, text: str) -> None:
        if self.verbose:
            print(text, file=sys.stderr, flush=True)

    def _stack(self, mode: str, n: int) -> PulumiProject:
        proj = self.projects[mode]
        name = f"n{n}"
        if (mode, n) not in self.stacks:
            proj.stack_init(name)
            self.stacks[(mode, n)] = name
        else:
            proj.stack_select(name)
        return proj

    def _config(self, proj: PulumiProject, **values: str) -> None:
        pairs = [f"{PROJECT}:{k}={v}" for k, v in values.items()]
        proj.run("config", "set-all", *sum((["--plaintext", p] for p in pairs), []))

    def _timed(self, proj: PulumiProject, command: str) -> OpResult:
        flags: dict[str, Any] = {}
        if self.parallel:
            flags["parallel"] = self.parallel
        if command == "create":  # start every create from a full key stock, as create_costs
            wait_for_stock(self.emu)
        keys_before = key_stock(self.emu)
        self.log.mark()
        started = time.perf_counter()
        if command in ("create", "update", "noop_up"):
            result = proj.up(**flags)
        elif command == "preview":
            result = proj.preview(**flags)
        elif command == "refresh":
            result = proj.refresh(**flags)
        elif command == "destroy":
            result = proj.destroy(**flags)
        else:
            raise ValueError(command)
        seconds = time.perf_counter() - started
        entries = self.log.since_mark()
        served = sum(float(e.get("duration_ms") or 0) for e in entries) / 1000
        gets = sum(1 for e in entries if e.get("method") == "GET"
                   and not str(e.get("operation") or "").startswith("Emulator_"))
        keys_after = key_stock(self.emu)
        return OpResult(seconds, count_operations(entries), change_summary(result.stdout),
                        served, gets, keys_after["fromStock"] - keys_before["fromStock"],
                        keys_after["inline"] - keys_before["inline"])

    def prepare(self, mode: str, n: int, run: int) -> PulumiProject:
        """Select (or create) the stack for (mode, N) and set its config for this run."""
        proj = self._stack(mode, n)
        self._config(proj, mode=mode, n=str(n), prefix=f"b{run}{mode[0]}{n}", rev="a",
                     vaultId=self.emu.vault_id)
        return proj

    def run_sequence(self, mode: str, n: int, run: int, *, measure_state: bool,
                     operations: tuple[str, ...] = OPERATIONS) -> dict[str, Any]:
        """create .. destroy once; returns {op: OpResult} and, if asked, the state sizes."""
        proj = self.prepare(mode, n, run)
        out: dict[str, Any] = {}
        for op in operations:
            if op == "update":
                self._config(proj, rev="b")
            if op == "destroy" and measure_state:
                out["state"] = state_size(proj, n)
            started = time.perf_counter()
            try:
                res = self._timed(proj, op)
            except PulumiCommandError as err:
                raise SequenceError(mode, n, op, failure_reason(err),
                                    time.perf_counter() - started) from None
            out[op] = res
            calls = sum(res.calls.values())
            self._say(f"  {mode:7s} N={n:<4d} run {run}: {op:8s} {res.seconds:7.2f}s "
                      f"{calls:5d} API call(s) (emulator busy {res.emulator_seconds:.2f}s; "
                      f"RSA pairs {res.keys_from_stock} stock / {res.keys_inline} inline) "
                      f"[{res.summary}]")
        return out


def change_summary(stdout: str) -> str:
    """``201 unchanged`` / ``+ 200 created`` from the CLI's Resources: block (one line)."""
    counts = re.findall(r"^\s*[-+~]*\s*(\d+ (?:to )?(?:create|update|delete|replace|"
                        r"unchanged|created|updated|deleted|replaced|changed)\w*)",
                        stdout.split("Resources:", 1)[-1], flags=re.M)
    return ", ".join(counts)


def _checkpoint_file(proj: PulumiProject) -> Path | None:
    stacks = proj.backend_dir / ".pulumi" / "stacks"
    for candidate in sorted(stacks.rglob(f"{proj.stack}.json*")):
        if not candidate.name.endswith(".bak") and ".json" in candidate.name:
            return candidate
    return None


def ciphertext_plaintext_len(ciphertext: str) -> int | None:
    """Plaintext length of a passphrase-provider secret without decrypting it.

    The passphrase secrets manager stores ``v1:<nonce b64>:<AES-256-GCM ciphertext+16-byte tag
    b64>``; GCM does not pad, so plaintext length = ciphertext length - 16. The plaintext is the
    JSON encoding of the value (a quoted base64 string for ``__provider``).
    """
    parts = ciphertext.split(":")
    if len(parts) != 3 or parts[0] != "v1":
        return None
    try:
        return len(base64.b64decode(parts[2])) - 16
    except ValueError:
        return None


def state_size(proj: PulumiProject, n: int) -> dict[str, Any]:
    """Checkpoint bytes per resource and ``__provider`` bytes per resource (no secret read).

    The ``__provider`` blob is a secret in state; its size comes from the ciphertext length
    (see :func:`ciphertext_plaintext_len`), so no plaintext ever leaves the backend.
    """
    export = proj.export()
    resources = export.get("deployment", {}).get("resources", []) or []
    ours = [r for r in resources if r.get("type", "").startswith("pulumi-python:dynamic/")]
    by_type: dict[str, dict[str, Any]] = {}
    for r in ours:
        t = r["type"].rsplit("/", 1)[-1]
        entry = by_type.setdefault(t, {"count": 0, "json_bytes": 0, "provider_plain": []})
        entry["count"] += 1
        entry["json_bytes"] += len(json.dumps(r, separators=(",", ":")))
        blob = (r.get("outputs") or {}).get("__provider")
        if isinstance(blob, dict) and isinstance(blob.get("ciphertext"), str):
            size = ciphertext_plaintext_len(blob["ciphertext"])
            if size is not None:
                entry["provider_plain"].append(size - 2)  # minus the JSON string quotes
        elif isinstance(blob, str):
            entry["provider_plain"].append(len(blob))
    ckpt = _checkpoint_file(proj)
    ckpt_bytes = ckpt.stat().st_size if ckpt else len(json.dumps(export))
    types = {}
    for t, e in by_type.items():
        sizes = e["provider_plain"]
        types[t] = {
            "count": e["count"],
            "json_bytes_per_resource": e["json_bytes"] / e["count"],
            "provider_bytes_per_resource": (sum(sizes) / len(sizes)) if sizes else None,
        }
    all_sizes = [s for e in by_type.values() for s in e["provider_plain"]]
    return {
        "resources": len(ours),
        "checkpoint_bytes": ckpt_bytes,
        "checkpoint_bytes_per_resource": ckpt_bytes / max(1, len(ours)),
        "provider_bytes_per_resource": (sum(all_sizes) / len(all_sizes)) if all_sizes else None,
        "by_type": types,
        "n": n,
    }
