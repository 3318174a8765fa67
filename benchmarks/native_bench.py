"""The native provider plugin against the dynamic resources and the floor.

One run drives three stacks of the same shape (N service accounts + N VAULT_VIEWER role
assignments) through create -> no-op up -> refresh -> destroy, interleaved per run so background
load hits all three alike: the engine floor and the dynamic resources (``benchmarks/program``,
the same stacks as ``stacks.py``) and a Pulumi YAML program on ``pulumi-resource-skyflow``.

Why a generated YAML program: Pulumi YAML (v1.25) has no loop over a number, so the bench writes
``Pulumi.yaml`` with N resources itself. Why a second, profiled pass: py-spy on the plugin costs
CPU on a 2-core machine, so the timed pass is never sampled; the profiled pass (``--idle``,
per-thread speedscope samples) shows where the plugin's time goes and how many client calls are
in flight at once, i.e. whether the engine's parallelism reaches the thread pool.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiCommandError, PulumiProject

from .common import TOKEN_OPERATION
from .profile import _descendants, categorize
from .stacks import OpResult, SequenceError, StackBench, failure_reason, provider_env

MODES = ("floor", "dynamic", "native")
OPS = ("create", "noop_up", "refresh", "destroy")
PROFILED_OPS = ("create", "refresh")
PLUGIN = "pulumi-resource-skyflow"
RATE = 100


def yaml_program(n: int, dest: Path) -> Path:
    """Write the bench stack as Pulumi YAML: the dynamic program's shape, resource by resource.

    The resources go in ``Main.yaml`` beside a small ``Pulumi.yaml``, as the Python program sits
    in ``__main__.py``: the CLI reads and re-encodes the project file several times in every
    command (``refresh`` and ``destroy`` too), so a program inlined in ``Pulumi.yaml`` is parsed
    by the engine in each of them (0.18 s of engine CPU at 600 resources), which is the YAML
    layout's cost, not the plugin's (docs/performance.md).
    """
    dest.mkdir(parents=True, exist_ok=True)
    name_line = "name: skyflow-bench-native"
    project = [name_line, "runtime: yaml",
               f"description: make bench - {n} service accounts + {n} role assignments (native)",
               "config:", "  vaultId:", "    type: string", "  prefix:", "    type: string"]
    # pulumi-yaml 1.25 needs the name in the template too, or it fails on a config reference
    lines = [name_line, "resources:"]
    for i in range(n):
        name = f"${{prefix}}-sa-{i:04d}"
        lines += [f"  sa{i:04d}:", "    type: skyflow:index:ServiceAccount", "    properties:",
                  f"      name: {name}", f"      displayName: {name} rev a",
                  "      description: make bench",
                  f"  ra{i:04d}:", "    type: skyflow:index:RoleAssignment", "    properties:",
                  f"      serviceAccountId: ${{sa{i:04d}.id}}", "      vaultId: ${vaultId}",
                  "      roleName: VAULT_VIEWER"]
    (dest / "Pulumi.yaml").write_text("\n".join(project) + "\n")
    (dest / "Main.yaml").write_text("\n".join(lines) + "\n")
    return dest


class PluginSpy:
    """py-spy on every plugin process of one command (found by name below the bench process).

    Why every one: for a YAML program the language host starts its own plugin to read the
    schema, and the engine starts the one that serves the resources.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.procs: dict[int, tuple[subprocess.Popen[bytes], Path]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._attach, daemon=True)

    def _attach(self) -> None:
        py_spy = Path(sys.executable).with_name("py-spy")
        while not self._stop.is_set():
            for pid, cmd in _descendants(os.getpid()):
                if PLUGIN in cmd and "/bin/sh" not in cmd and pid not in self.procs:
                    out = self.out.with_name(f"{self.out.stem}-{pid}.json")
                    self.procs[pid] = (subprocess.Popen(
                        [str(py_spy), "record", "--pid", str(pid), "--rate", str(RATE),
                         "--nonblocking", "--idle", "--threads", "--format", "speedscope",
                         "--output", str(out)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out)
            time.sleep(0.02)

    def __enter__(self) -> PluginSpy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for proc, _ in self.procs.values():
            try:  # the plugin exits with the command; py-spy then writes its file
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
                proc.wait(20)

    def files(self) -> list[Path]:
        return [out for _, out in self.procs.values() if out.exists()]


def _idle_loop(stack: list[str]) -> bool:
    return any("EpollSelector.select" in f or "_worker (" in f for f in stack[-2:])


def _loop_category(stack: list[str]) -> str:
    """What the loop thread runs, below ``run_forever`` (the frames above it, our ``main``,
    are in every sample)."""
    below = stack[max((i for i, f in enumerate(stack) if "run_forever" in f), default=-1) + 1:]
    if any("_find_and_load" in f for f in below):
        return "imports (first Configure)"
    if len(below) < 2 or below[-1].startswith(("Handle._run", "BaseEventLoop._run_once")):
        return "gRPC aio / asyncio callbacks (C, no Python frame)"
    if any("property_value.py" in f or "native/wire.py" in f for f in below):
        return "wire conversion (PropertyValue, wire.py)"
    if any("run_in_executor" in f for f in below):
        return "handing calls to the pool"
    return categorize(below)


def analyze_process(path: Path) -> dict[str, Any]:
    """Where one plugin process's time goes, and how many calls it runs at once.

    Per thread, py-spy (``--idle``) samples every tick in order, so tick ``t`` from the end is
    the same instant in every thread (pool threads never exit before the process). A pool thread
    (``skyflow_*``) is "in a call" when its stack holds our code; the main thread is "busy"
    when it is not parked in epoll (before the loop starts: imports and setup).
    """
    data = json.loads(path.read_text())
    frames = [f"{f['name']} ({f.get('file', '')})" for f in data["shared"]["frames"]]
    cats: Counter[str] = Counter()
    in_call: list[list[bool]] = []
    main_ticks = startup = loop_busy = 0
    for index, prof in enumerate(data["profiles"]):
        weights = prof.get("weights") or [1] * len(prof["samples"])
        scale = RATE if prof.get("unit") == "seconds" else 1
        flat = [[frames[i] for i in s] for s, w in zip(prof["samples"], weights, strict=True)
                for _ in range(max(1, round(w * scale)))]
        name = str(prof.get("name", ""))
        if '"skyflow_' in name:
            marks = [any("skyflow_provider/" in f and "/native/" not in f for f in st)
                     for st in flat]
            in_call.append(marks)
            for st, m in zip(flat, marks, strict=True):
                if m:
                    cats[categorize(st)] += 1
        elif index == 0:
            main_ticks = len(flat)
            looping = False
            for st in flat:
                looping = looping or any("run_forever" in f for f in st)
                if not looping:
                    startup += 1
                    cats["startup: imports, setup (main thread)"] += 1
                elif not _idle_loop(st):
                    loop_busy += 1
                    cats["asyncio loop: " + _loop_category(st)] += 1
    ticks = max((len(m) for m in in_call), default=0)
    concurrent = [sum(m[len(m) - ticks + t] for m in in_call if len(m) - ticks + t >= 0)
                  for t in range(ticks)]
    busy = [c for c in concurrent if c]
    return {
        "sampled_seconds": main_ticks / RATE,
        "startup_seconds": startup / RATE,
        "pool_threads": len(in_call),
        "in_flight_max": max(concurrent, default=0),
        "in_flight_mean_while_busy": statistics.fmean(busy) if busy else 0.0,
        "seconds_with_calls": len(busy) / RATE,
        "thread_seconds_in_calls": sum(busy) / RATE,
        "loop_busy_seconds": loop_busy / RATE,
        "where": {k: round(v / RATE, 2) for k, v in cats.most_common(10)},
    }


def analyze_profile(paths: list[Path]) -> dict[str, Any]:
    """Every plugin process of one command; the serving one (with a pool) is ``serving``."""
    procs = [analyze_process(p) for p in paths]
    serving = max(procs, key=lambda p: (p["pool_threads"], p["sampled_seconds"]), default={})
    return {"plugin_processes": len(procs),
            "startup_seconds_each": [p["startup_seconds"] for p in procs],
            "serving": serving}


class NativeBench:
    """Floor, dynamic and native stacks at one N against one emulator."""

    def __init__(self, emu: EmulatorProcess, work: Path, n: int,
                 parallel: int | None = None) -> None:
        self.n = n
        self.bench = StackBench(emu, work / "py", parallel=parallel)
        program = yaml_program(n, work / "native-src")
        self.native = PulumiProject(program, work / "native", env=provider_env(emu),
                                    timeout=3600)
        self.native.stack_init(f"n{n}")
        self.vault_id = emu.vault_id
        self.work = work

    def _native(self, run: int, ops: tuple[str, ...], profile: bool) -> dict[str, Any]:
        proj = self.native
        for key, value in (("vaultId", self.vault_id), ("prefix", f"nb{run}{int(profile)}")):
            proj.run("config", "set", "--plaintext", key, value)
        out: dict[str, Any] = {}
        for op in ops:
            started = time.perf_counter()
            spy_file = self.work / f"native-{op}-{run}.json"
            try:
                if profile and op in PROFILED_OPS:
                    with PluginSpy(spy_file) as spy:
                        res = self.bench._timed(proj, op)
                    out[f"profile_{op}"] = analyze_profile(spy.files())
                    out[f"profile_{op}"]["wall_seconds"] = res.seconds
                else:
                    res = self.bench._timed(proj, op)
            except PulumiCommandError as err:
                raise SequenceError("native", self.n, op, failure_reason(err),
                                    time.perf_counter() - started) from None
            out[op] = res
            tag = " (profiled)" if profile and op in PROFILED_OPS else ""
            _say(f"  native  N={self.n:<4d} run {run}: {op:8s} {res.seconds:7.2f}s "
                 f"{sum(res.calls.values()):5d} API call(s) (emulator busy "
                 f"{res.emulator_seconds:.2f}s){tag} [{res.summary}]")
        return out

    def run(self, runs: int, profile: bool = True) -> dict[str, Any]:
        """``runs`` timed sequences per mode, interleaved; then one profiled native pass."""
        samples: dict[str, dict[str, list[OpResult]]] = {m: {op: [] for op in OPS}
                                                         for m in MODES}
        failures: list[str] = []
        for run in range(runs):
            for mode in MODES:
                try:
                    if mode == "native":
                        out = self._native(run, OPS, profile=False)
                    else:
                        py_mode = "floor" if mode == "floor" else "skyflow"
                        out = self.bench.run_sequence(py_mode, self.n, run, measure_state=False,
                                                      operations=OPS)
                except SequenceError as err:
                    _say(f"  FAILED: {err}")
                    failures.append(str(err))
                    continue
                for op in OPS:
                    samples[mode][op].append(out[op])
        data: dict[str, Any] = {"n": self.n, "runs": runs, "failures": failures,
                                "modes": _aggregate(samples, self.n)}
        if profile and not failures:
            prof = self._native(runs, ("create", "refresh", "destroy"), profile=True)
            data["profile"] = {op: prof[f"profile_{op}"] for op in PROFILED_OPS
                               if f"profile_{op}" in prof}
        return data


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _aggregate(samples: dict[str, dict[str, list[OpResult]]], n: int) -> dict[str, Any]:
    """Median seconds and calls per Pulumi resource (2N), token exchanges apart."""
    out: dict[str, Any] = {}
    for mode, ops in samples.items():
        out[mode] = {}
        for op, results in ops.items():
            if not results:
                continue
            calls: Counter[str] = Counter()
            for r in results:
                calls.update(r.calls)
            runs = len(results)
            tokens = calls.pop(TOKEN_OPERATION, 0) / runs
            out[mode][op] = {
                "median": statistics.median(r.seconds for r in results),
                "samples": [r.seconds for r in results],
                "calls_per_resource": sum(calls.values()) / runs / (2 * n),
                "calls": {k: v / runs for k, v in sorted(calls.items())},
                "token_exchanges": tokens,
                "emulator_seconds": statistics.median(r.emulator_seconds for r in results),
                "summary": results[-1].summary,
            }
    return out


def dynamic_host_workers() -> int | None:
    """Threads of the dynamic provider host (``pulumi.dynamic.__main__``'s gRPC server): the
    most calls the dynamic form runs at once, whatever the engine's ``--parallel``."""
    import re

    import pulumi.dynamic

    source = Path(pulumi.dynamic.__file__).with_name("__main__.py").read_text()
    found = re.search(r"ThreadPoolExecutor\(max_workers=(\d+)\)", source)
    return int(found.group(1)) if found else None


def ratios(data: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{op: {native/floor, dynamic/floor, native/dynamic}} from medians of the same run."""
    m = data["modes"]
    out: dict[str, dict[str, float]] = {}
    for op in OPS:
        if not all(op in m.get(mode, {}) for mode in MODES):
            continue
        f, d, nat = (m[mode][op]["median"] for mode in MODES)
        out[op] = {"native_vs_floor": nat / f, "dynamic_vs_floor": d / f,
                   "native_vs_dynamic": nat / d}
    return out


def markdown(data: dict[str, Any]) -> str:
    """The native table, the profile and the parallelism figures."""
    n = data["n"]
    lines = [f"## Native provider plugin vs dynamic resources vs engine floor, N={n}",
             "",
             f"{n} service accounts + {n} VAULT_VIEWER role assignments ({2 * n} resources); "
             f"{data['runs']} run(s), the three stacks interleaved; medians. Native = Pulumi YAML "
             "(pulumi-language-yaml) + `pulumi-resource-skyflow`; dynamic = the Python program; "
             "floor = the same shape of dynamic resources that call nothing. Calls = Management "
             "API calls per Pulumi resource from the emulator's request log (token exchanges "
             "apart).", "",
             "| Command | floor s | dynamic s | native s | dynamic / floor | native / floor | "
             "native / dynamic | calls per resource: dynamic / native |",
             "|---|---|---|---|---|---|---|---|"]
    meta = data.get("meta")
    if meta:
        lines[1:1] = ["", f"{meta['date']}: Pulumi CLI {meta['pulumi_cli']}, Pulumi Python SDK "
                      f"{meta['pulumi_python_sdk']}, Python {meta['python']}; {meta['nproc']} "
                      f"CPUs; load average {meta['loadavg_start'][0]:.1f} at start, "
                      f"{meta.get('loadavg_end', [0.0])[0]:.1f} at end; code "
                      f"{meta['code']['commit']}; total {data.get('wall_seconds', 0):.0f} s."]
    m, r = data["modes"], ratios(data)
    for op in OPS:
        if op not in r:
            continue
        f, d, nat = (m[mode][op] for mode in MODES)
        lines.append(
            f"| {op.replace('_', '-')} | {f['median']:.2f} | {d['median']:.2f} | "
            f"{nat['median']:.2f} | {r[op]['dynamic_vs_floor']:.2f}x | "
            f"{r[op]['native_vs_floor']:.2f}x | {r[op]['native_vs_dynamic']:.2f}x | "
            f"{d['calls_per_resource']:.2f} (+{d['token_exchanges']:g} token) / "
            f"{nat['calls_per_resource']:.2f} (+{nat['token_exchanges']:g} token) |")
    if data.get("note"):
        lines += ["", f"Note: {data['note']}"]
    for fail in data.get("failures", []):
        lines.append(f"\nFAILED: {fail}")
    engine = data.get("parallel") or f"CLI default, 4 x {os.cpu_count()} CPUs = " \
        f"{4 * (os.cpu_count() or 1)}"
    lines += ["", f"Engine `--parallel`: {engine}. Dynamic provider host: a gRPC server with "
              f"{data.get('dynamic_host_workers')} threads (pulumi.dynamic.__main__), so at most "
              "that many dynamic calls at once; the plugin: a synchronous gRPC server, each "
              "request on its own thread (SKYFLOW_PROVIDER_THREADS, default 32), so the "
              "engine's --parallel decides."]
    prof = data.get("profile") or {}
    if prof:
        lines += ["", "Plugin processes, profiled pass (py-spy `--idle` at "
                  f"{RATE} Hz; not the timed pass). Calls in flight = pool threads inside "
                  "`skyflow_provider` at the same tick.", "",
                  "| Command | wall s | plugin processes (startup s each) | serving process: "
                  "pool threads | calls in flight: max / mean while any | s with a call in "
                  "flight | asyncio loop busy s | thread time by where (s) |",
                  "|---|---|---|---|---|---|---|---|"]
        for op, p in prof.items():
            sv = p.get("serving") or {}
            where = ", ".join(f"{k} {v}" for k, v in sorted(
                sv.get("where", {}).items(), key=lambda kv: -kv[1]))
            starts = ", ".join(f"{x:.2f}" for x in p.get("startup_seconds_each", []))
            lines.append(
                f"| {op} | {p.get('wall_seconds', 0):.2f} | {p.get('plugin_processes', 0)} "
                f"({starts}) | {sv.get('pool_threads', 0)} | {sv.get('in_flight_max', 0)} / "
                f"{sv.get('in_flight_mean_while_busy', 0):.1f} | "
                f"{sv.get('seconds_with_calls', 0):.2f} | {sv.get('loop_busy_seconds', 0):.2f} "
                f"| {where} |")
    return "\n".join(lines) + "\n"


def run_native(emu: EmulatorProcess, work: Path, *, n: int = 100, runs: int = 1,
               parallel: int | None = None, profile: bool = True) -> dict[str, Any]:
    """The whole native comparison at one N (timed runs, then the profiled pass)."""
    _say(f"native plugin vs dynamic vs floor at N={n}")
    started = time.perf_counter()
    data = NativeBench(emu, work, n, parallel).run(runs, profile=profile)
    data["ratios"] = ratios(data)
    data["parallel"] = parallel
    data["dynamic_host_workers"] = dynamic_host_workers()
    data["wall_seconds"] = time.perf_counter() - started
    return data


def write(data: dict[str, Any], out: Path) -> None:
    """``native.{json,md}`` next to the other results."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "native.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    (out / "native.md").write_text(markdown(data))
