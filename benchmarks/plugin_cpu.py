"""CPU per request of a provider process, driven over gRPC the way the engine drives it.

``python -m benchmarks.plugin_cpu --n 200 --runs 3 [--forms native,dynamic,wire,floor]``

Why: on a shared 2-core machine wall-clock ratios move with other people's work, but the CPU a
provider process spends per request hardly does. This starts one provider process per form (the
native plugin ``pulumi-resource-skyflow``; the dynamic-provider host ``python -m pulumi.dynamic``
serving our pickled providers, the floor's or the floor + 1 call's), sends it what the engine
sends for N service accounts + N role assignments (Check + Create, Check + Diff as in a no-op
up, Read as in a refresh, Delete), ``--concurrency`` requests in flight (the engine's default
``--parallel`` here is 8), and reads the process's CPU time (``/proc/<pid>/stat``: utime + stime
of every thread) and the emulator's before and after each phase. Calls come from the emulator's
request log. No engine, language host or program runs, so the figures are the provider
process's own: gRPC serving, property conversion, our code and the HTTP client. A warm-up of
``WARM_UP`` pairs runs first (imports, the token exchange, the name snapshots), unmeasured.

``--callgrind`` counts instructions instead (valgrind's callgrind, switched on per phase with
``callgrind_control``): deterministic whatever else runs on the machine, at ~50x the run time,
so use a small ``--n``. Under valgrind the threads take turns, so this counts the work per
request and not what threads contending for the GIL add; the CPU figures hold both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from google.protobuf import struct_pb2

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.plugin_proc import PLUGIN, PluginProcess, cpu_seconds
from tests.helpers.plugin_proc import struct as _struct

from .common import RequestLog, count_operations, wait_for_stock
from .stacks import provider_env

FORMS = ("floor", "wire", "dynamic", "native")
PHASES = ("create", "noop", "read", "delete")
#: requests per resource in each phase (create: Check + Create; noop: Check + Diff)
REQUESTS_PER_RESOURCE = {"create": 2, "noop": 2, "read": 1, "delete": 1}
WARM_UP = 5


class Plugin(PluginProcess):
    """One provider process: the native plugin, or the dynamic-provider host; under callgrind
    with ``callgrind`` (a directory for its output)."""

    def __init__(self, form: str, env: dict[str, str], cmd: list[str] | None = None,
                 callgrind: Path | None = None) -> None:
        self.form = form
        if cmd is None and not form.startswith("native"):
            cmd = [sys.executable, "-u", "-m", "pulumi.dynamic"]
        elif cmd is None:
            cmd = [str(PLUGIN)]
        self.callgrind = callgrind
        if callgrind is not None:
            callgrind.mkdir(parents=True, exist_ok=True)
            cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={callgrind / 'cg.out'}", *cmd]
        super().__init__(cmd, env=env)
        self.start_cpu_s = self.cpu_seconds()
        self.proto = self.pb

    def cpu_s(self) -> float:
        return self.cpu_seconds()

    def count(self, on: bool) -> None:
        """Switch callgrind's counting on (zeroed) or off."""
        pid = str(self.proc.pid)
        if on:
            subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)
        subprocess.run(["callgrind_control", "-i", "on" if on else "off", pid],
                       capture_output=True, check=True)

    def instructions(self, label: str) -> int:
        """Dump callgrind's counters; the instructions counted since the last zero."""
        assert self.callgrind is not None
        before = set(self.callgrind.glob("cg.out.*"))
        subprocess.run(["callgrind_control", "-d", label, str(self.proc.pid)],
                       capture_output=True, check=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for path in set(self.callgrind.glob("cg.out.*")) - before:
                for line in path.read_text().splitlines():
                    if line.startswith("totals:"):
                        return int(line.split()[1])
            time.sleep(0.2)
        raise RuntimeError(f"callgrind wrote no dump for {label}")


class Driver:
    """What the engine sends for one form: requests built per resource, state kept between
    phases (the outputs of Create are the state Read, Diff and Delete get)."""

    def __init__(self, plugin: Plugin, vault_id: str, prefix: str) -> None:
        self.p = plugin
        self.vault_id = vault_id
        self.prefix = prefix
        self.native = plugin.form.startswith("native")
        self.state: dict[str, tuple[str, struct_pb2.Struct, struct_pb2.Struct]] = {}
        if not self.native:
            from pulumi.dynamic.dynamic import serialize_provider

            if plugin.form == "dynamic":
                from skyflow_provider.resources.role_assignment import RoleAssignmentProvider
                from skyflow_provider.resources.service_account import ServiceAccountProvider

                providers: tuple[Any, Any] = (ServiceAccountProvider(), RoleAssignmentProvider())
            else:
                from . import floor_provider as fp

                providers = ((fp.WireAccountProvider(), fp.WireAssignmentProvider())
                             if plugin.form == "wire" else
                             (fp.FloorAccountProvider(), fp.FloorAssignmentProvider()))
            self.pickles = tuple(serialize_provider(x) for x in providers)

    def configure(self) -> None:
        self.p.stub.Configure(self.p.proto.ConfigureRequest(
            variables={}, args=_struct({}), acceptSecrets=True, acceptResources=True))

    # ----- request shapes ----------------------------------------------------------------------
    def _urn(self, kind: str, name: str) -> str:
        typ = f"skyflow:index:{kind}" if self.native else f"pulumi-python:dynamic:{kind}"
        return f"urn:pulumi:bench::bench::{typ}::{name}"

    def _inputs(self, kind: str, i: int) -> dict[str, Any]:
        name = f"{self.prefix}-sa-{i:04d}"
        if kind == "ServiceAccount":
            values = {"name": name, "display_name": f"{name} rev a",
                      "description": "make bench"}
        else:
            sa_id, _, _ = self.state[self._urn("ServiceAccount", f"sa-{i}")]
            values = {"service_account_id": sa_id, "vault_id": self.vault_id,
                      "role_name": "VAULT_VIEWER"}
        if self.native:
            from skyflow_provider.resources.fields import camel

            return {camel(k): v for k, v in values.items()}
        values["__provider"] = self.pickles[0 if kind == "ServiceAccount" else 1]
        return values

    # ----- phases ------------------------------------------------------------------------------
    def create(self, kind: str, i: int) -> None:
        urn = self._urn(kind, f"{'sa' if kind == 'ServiceAccount' else 'ra'}-{i}")
        checked = self.p.stub.Check(self.p.proto.CheckRequest(
            urn=urn, olds=_struct({}), news=_struct(self._inputs(kind, i))))
        resp = self.p.stub.Create(self.p.proto.CreateRequest(
            urn=urn, properties=checked.inputs, timeout=300))
        self.state[urn] = (resp.id, resp.properties, checked.inputs)

    def noop(self, urn: str) -> None:
        rid, outs, ins = self.state[urn]
        checked = self.p.stub.Check(self.p.proto.CheckRequest(urn=urn, olds=ins, news=ins))
        resp = self.p.stub.Diff(self.p.proto.DiffRequest(
            urn=urn, id=rid, olds=outs, news=checked.inputs))
        if resp.changes == self.p.proto.DiffResponse.DIFF_SOME:
            raise RuntimeError(f"{self.p.form}: a no-op Diff found changes on {urn}")

    def read(self, urn: str) -> None:
        rid, outs, ins = self.state[urn]
        resp = self.p.stub.Read(self.p.proto.ReadRequest(
            urn=urn, id=rid, properties=outs, inputs=ins))
        if not resp.id:
            raise RuntimeError(f"{self.p.form}: Read found nothing for {urn}")

    def delete(self, urn: str) -> None:
        rid, outs, _ = self.state[urn]
        self.p.stub.Delete(self.p.proto.DeleteRequest(urn=urn, id=rid, properties=outs,
                                                      timeout=300))


def _fan_out(fn: Callable[..., None], items: Iterable[Any], concurrency: int) -> None:
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(fn, *item) for item in items]:
            future.result()


def measure(emu: EmulatorProcess, form: str, n: int, run: int, concurrency: int,
            env: dict[str, str], cmd: list[str] | None = None,
            callgrind: Path | None = None) -> dict[str, Any]:
    """One provider process through the four phases; CPU (or instructions) and calls per
    phase, after an unmeasured warm-up."""
    log = RequestLog(emu.data_dir / "requests.jsonl")
    plugin = Plugin(form, env, cmd, callgrind)
    out: dict[str, Any] = {"start_cpu_s": plugin.start_cpu_s, "phases": {}}
    try:
        drv = Driver(plugin, emu.vault_id, f"pc{run}{form}")
        drv.configure()
        out["configure_cpu_s"] = plugin.cpu_s() - plugin.start_cpu_s
        warm = range(n, n + WARM_UP)
        sas = [drv._urn("ServiceAccount", f"sa-{i}") for i in range(n)]
        ras = [drv._urn("RoleAssignment", f"ra-{i}") for i in range(n)]

        def create(ids: Iterable[int]) -> None:  # accounts first: an assignment names one
            _fan_out(drv.create, [("ServiceAccount", i) for i in ids], concurrency)
            _fan_out(drv.create, [("RoleAssignment", i) for i in ids], concurrency)

        def delete(ids: Iterable[int]) -> None:
            _fan_out(drv.delete, [(drv._urn("RoleAssignment", f"ra-{i}"),) for i in ids],
                     concurrency)
            _fan_out(drv.delete, [(drv._urn("ServiceAccount", f"sa-{i}"),) for i in ids],
                     concurrency)

        wait_for_stock(emu)
        create(warm)
        _fan_out(drv.read, [(drv._urn("ServiceAccount", f"sa-{i}"),) for i in warm],
                 concurrency)

        def phase(name: str, steps: Callable[[], None]) -> None:
            if name == "create":
                wait_for_stock(emu)
            assert emu.proc is not None
            log.mark()
            before, emu_before = plugin.cpu_s(), cpu_seconds(emu.proc.pid)
            if callgrind is not None:
                plugin.count(True)
            started = time.perf_counter()
            steps()
            wall = time.perf_counter() - started
            if callgrind is not None:
                plugin.count(False)
            cpu, emu_cpu = plugin.cpu_s() - before, cpu_seconds(emu.proc.pid) - emu_before
            calls = count_operations(log.since_mark())
            requests = REQUESTS_PER_RESOURCE[name] * 2 * n
            out["phases"][name] = {
                "wall_s": wall, "cpu_s": cpu, "emulator_cpu_s": emu_cpu,
                "requests": requests, "resources": 2 * n,
                "cpu_ms_per_resource": 1000 * cpu / (2 * n),
                "emulator_cpu_ms_per_resource": 1000 * emu_cpu / (2 * n),
                "calls": dict(calls)}
            if callgrind is not None:
                out["phases"][name]["minstr_per_resource"] = \
                    plugin.instructions(name) / (2 * n) / 1e6

        phase("create", lambda: create(range(n)))
        phase("noop", lambda: _fan_out(drv.noop, [(u,) for u in sas + ras], concurrency))
        phase("read", lambda: _fan_out(drv.read, [(u,) for u in sas + ras], concurrency))
        phase("delete", lambda: delete(range(n)))
        delete(warm)
    finally:
        plugin.close()
    return out


def summarize(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per form and phase."""
    out: dict[str, Any] = {}
    for form, runs in samples.items():
        row: dict[str, Any] = {
            "start_cpu_s": statistics.median(r["start_cpu_s"] for r in runs),
            "configure_cpu_s": statistics.median(r["configure_cpu_s"] for r in runs)}
        for ph in PHASES:
            keys = ["cpu_ms_per_resource", "emulator_cpu_ms_per_resource", "wall_s"]
            if all("minstr_per_resource" in r["phases"][ph] for r in runs):
                keys.append("minstr_per_resource")
            row[ph] = {k: statistics.median(r["phases"][ph][k] for r in runs) for k in keys}
            calls = runs[-1]["phases"][ph]["calls"]
            row[ph]["calls_per_resource"] = sum(
                v for k, v in calls.items() if not k.startswith("Authentication")) \
                / runs[-1]["phases"][ph]["resources"]
        out[form] = row
    return out


def markdown(data: dict[str, Any]) -> str:
    s = data["summary"]
    if data.get("callgrind"):
        lines = [f"Provider process instructions per Pulumi resource (millions, callgrind), "
                 f"N={data['n']} accounts + {data['n']} assignments after a warm-up of "
                 f"{WARM_UP}, {data['concurrency']} requests in flight, median of "
                 f"{data['runs']} run(s).", "",
                 "| Form | " + " | ".join(PHASES) + " | calls per resource |",
                 "|---|" + "---|" * len(PHASES) + "---|"]
        for form, row in s.items():
            calls = " / ".join(f"{row[ph]['calls_per_resource']:.2f}" for ph in PHASES)
            lines.append(f"| {form} | " + " | ".join(
                f"{row[ph]['minstr_per_resource']:.2f}" for ph in PHASES) + f" | {calls} |")
        return "\n".join(lines) + "\n"
    lines = [f"Provider process CPU per Pulumi resource (ms), N={data['n']} accounts + "
             f"{data['n']} assignments, {data['concurrency']} requests in flight, median of "
             f"{data['runs']} run(s); emulator CPU per resource in brackets. Start: CPU until "
             "the process printed its port; configure: its first Configure request (the native "
             "plugin imports the SDK and the provider classes there, the dynamic host at its "
             "first resource request).", "",
             "| Form | start + configure CPU s | " + " | ".join(PHASES)
             + " | calls per resource |",
             "|---|---|" + "---|" * len(PHASES) + "---|"]
    for form, row in s.items():
        cells = [f"{row[ph]['cpu_ms_per_resource']:.2f} "
                 f"({row[ph]['emulator_cpu_ms_per_resource']:.2f})" for ph in PHASES]
        calls = " / ".join(f"{row[ph]['calls_per_resource']:.2f}" for ph in PHASES)
        lines.append(f"| {form} | {row['start_cpu_s']:.2f} + {row['configure_cpu_s']:.2f} | "
                     + " | ".join(cells)
                     + f" | {calls} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.plugin_cpu", description=__doc__)
    ap.add_argument("--n", type=int, default=200, help="service accounts (and assignments)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--forms", default=",".join(FORMS))
    ap.add_argument("--key-drift-report", default="false",
                    help="skyflow:keyDriftReport for the read phase (default false: one GET "
                    "per resource, the refresh the N=1000 target holds)")
    ap.add_argument("--plugin", action="append", default=[], metavar="NAME=COMMAND",
                    help="also measure another build of the native plugin under NAME (which "
                    "must start with 'native'), e.g. native-main=/work/main/venv/bin/"
                    "pulumi-resource-skyflow: before/after figures in one run")
    ap.add_argument("--callgrind", action="store_true",
                    help="count instructions under valgrind (deterministic; ~50x slower: use "
                    "--n 50 --runs 1)")
    ap.add_argument("--json", type=Path, default=None, help="write every sample here")
    args = ap.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.plugin)
    if any(not name.startswith("native") for name in extra):
        ap.error("--plugin NAME must start with 'native'")
    forms = [f for f in args.forms.split(",") if f] + list(extra)
    samples: dict[str, list[dict[str, Any]]] = {f: [] for f in forms}
    with tempfile.TemporaryDirectory(prefix="skyflow-plugin-cpu-") as tmp, \
            EmulatorProcess(Path(tmp) / "emulator",
                            extra_args=["--key-stock", str(args.n + WARM_UP)]) as emu:
        env = {**provider_env(emu), "SKYFLOW_KEY_DRIFT_REPORT": args.key_drift_report,
               "PULUMI_PROJECT": "bench"}
        for run in range(args.runs):
            for form in forms:  # interleaved, so a burst of load hits every form alike
                res = measure(emu, form, args.n, run, args.concurrency, env,
                              extra[form].split() if form in extra else None,
                              Path(tmp) / f"callgrind-{form}-{run}" if args.callgrind else None)
                samples[form].append(res)
                unit, key = ("M instructions", "minstr_per_resource") if args.callgrind else \
                    ("ms CPU", "cpu_ms_per_resource")
                print(f"  run {run} {form:8s} " + ", ".join(
                    f"{ph} {res['phases'][ph][key]:.2f}" for ph in PHASES)
                    + f" {unit} per resource (start {res['start_cpu_s']:.2f} s CPU)",
                    file=sys.stderr, flush=True)
    data = {"n": args.n, "runs": args.runs, "concurrency": args.concurrency,
            "callgrind": args.callgrind,
            "loadavg": list(os.getloadavg()), "samples": samples,
            "summary": summarize(samples)}
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
