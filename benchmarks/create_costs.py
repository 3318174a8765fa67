"""The create costs: API calls per created object, create time against a plain floor,
refresh GETs, the emulator's share, and (``--with-1000``) N=1000 against the engine floor.

Why apart from ``stacks.py``: those sequences compare one shape (accounts + assignments) with
its look-alike floor; these compare against the floor a new user sees (do-nothing resources
with three string inputs), count calls for every object type (service accounts, roles,
policies, assignments), and scale to N=1000, where the engine's checkpoint writes dominate.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiProject

from .common import TOKEN_OPERATION, RequestLog, count_operations, key_stock, wait_for_stock
from .stacks import PROGRAM, PROJECT, change_summary, provider_env

#: case -> (mode, shape, Pulumi resources per N, Skyflow objects per N)
CASES: dict[str, tuple[str, str, int, int]] = {
    "plain floor": ("floor", "plain", 1, 0),
    "account-shaped floor": ("floor", "accounts", 1, 0),
    "service accounts": ("skyflow", "accounts", 1, 1),
    # the same against an emulator started with --key-stock 0: every RSA pair made inline
    "service accounts, no key stock": ("skyflow", "accounts", 1, 1),
    # API-key accounts: the same provider path without the emulator's RSA key generation
    "service accounts, API keys": ("skyflow", "apikeys", 1, 1),
    "pair-shaped floor": ("floor", "pairs", 2, 0),
    # the account-shaped floor whose create step POSTs the server's cheapest create (and whose
    # delete step deletes it again): the reference of the N=50 create target
    "account-shaped floor + 1 create call": ("wire_create", "accounts", 1, 0),
    # the same floor plus one Management API GET per provider call (N=1000 runs only)
    "pair-shaped floor + 1 API call": ("wire", "pairs", 2, 0),
    "accounts + role assignments": ("skyflow", "pairs", 2, 2),
    # the same stack as a Pulumi YAML program on pulumi-resource-skyflow (N=1000 runs only)
    "accounts + role assignments, native plugin": ("native", "pairs", 2, 2),
    "roles + policies + policy assignments": ("skyflow", "rbac", 3, 3),
}
KEY_LIST_OPS = ("ServiceAccountService_ListServiceAccountKeys", "ServiceAccountService_ListAPIKeys")
#: the refresh a user gets with skyflow:keyDriftReport=false: one GET per resource and nothing
#: else, the figure the N=1000 target holds; the default refresh adds a key list per account
REFRESH_READS = "refresh_reads"
OPS_1000 = ("create", "refresh", REFRESH_READS, "destroy")
RUNS_1000 = 3
#: the scale curve; the runs at the largest N are the ones the targets hold
SCALE_SIZES = (100, 300, 1000)
#: the targets: each form within 1.2x of the floor + 1 call per command at N=1000, the native form
#: within 1.05x of the dynamic one; at N=50, create within 1.5x of the plain floor and 1.15x of
#: the floor + 1 create call
LIMITS = {"calls_per_object": 1.1, "create_vs_plain": 1.5, "create_vs_wire_create": 1.15,
          "refresh_gets": 1.0, "n1000_vs_wire": 1.2, "native_vs_dynamic": 1.05}
COMPARE_N = 50
#: runs of the N=50 comparison: one run's spread (1.18x-1.40x of the same reference in three
#: runs of one morning) is larger than the margin the targets leave, so they hold medians
COMPARE_RUNS = 3
NO_STOCK_CASE = "service accounts, no key stock"
FLOOR, WIRE, OURS = "pair-shaped floor", "pair-shaped floor + 1 API call", \
    "accounts + role assignments"
NATIVE = "accounts + role assignments, native plugin"
WIRE_CREATE = "account-shaped floor + 1 create call"
#: only in the N=1000 runs (and the curve below them)
SCALE_ONLY = (WIRE, NATIVE)
#: the N=1000 runs: the engine floor, the floor that also makes one API call per step, and our
#: stack in both forms (the dynamic resources, the native plugin)
SCALE_CASES = (FLOOR, WIRE, OURS, NATIVE)
def compared_size(sizes: list[int] | tuple[int, ...]) -> int:
    """The N the create-time targets compare at: COMPARE_N, else the largest size run (a smoke
    run's)."""
    return COMPARE_N if COMPARE_N in sizes else max(sizes)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Runner:
    """One Pulumi project, one stack per (case, N, run), all against one emulator."""

    def __init__(self, emu: EmulatorProcess, work: Path, parallel: int | None = None,
                 skip_checkpoints: bool = False, extra_env: dict[str, str] | None = None,
                 stocked: list[EmulatorProcess] | None = None) -> None:
        self.emu = emu
        # emulators whose key stock must be full before each measured command, so no refill
        # of an earlier command's keys runs inside it
        self.stocked = stocked if stocked is not None else [emu]
        self.log = RequestLog(emu.data_dir / "requests.jsonl")
        env = {**provider_env(emu), **(extra_env or {})}
        if skip_checkpoints:
            # The file backend rewrites the whole checkpoint after every step (quadratic in N:
            # the pair-shaped floor alone took over 20 min for 1766 of 2002 resources); this
            # engine option writes it once at the end, for floor and ours alike.
            env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        self.env = env
        self.work = work
        self.proj = PulumiProject(PROGRAM, work / "costs", env=env, timeout=7200)
        self.native: dict[int, PulumiProject] = {}
        self.parallel = parallel
        self.passphrase = self.proj.passphrase

    def _native_project(self, n: int) -> PulumiProject:
        """The stack as a Pulumi YAML program on the plugin (YAML has no loop: one per N)."""
        from .native_bench import yaml_program

        if n not in self.native:
            src = yaml_program(n, self.work / f"native-src-n{n}")
            self.native[n] = PulumiProject(src, self.work / f"native-n{n}", env=self.env,
                                           timeout=7200)
        return self.native[n]

    def _cmd(self, op: str, proj: PulumiProject) -> dict[str, Any]:
        flags: dict[str, Any] = {"parallel": self.parallel} if self.parallel else {}
        waited = sum(wait_for_stock(e) for e in self.stocked)
        keys_before = key_stock(self.emu)
        self.log.mark()
        env = dict(proj.env)
        if op == REFRESH_READS:  # both forms read it (settings' env fallback)
            proj.env = {**env, "SKYFLOW_KEY_DRIFT_REPORT": "false"}
        tree_cpu, emu_cpu = _children_cpu_s(), _process_cpu_s(self.emu)
        started = time.perf_counter()
        try:
            result = {"create": proj.up, "refresh": proj.refresh,
                      REFRESH_READS: proj.refresh, "destroy": proj.destroy}[op](**flags)
        finally:
            proj.env = env
        seconds = time.perf_counter() - started
        tree_cpu, emu_cpu = _children_cpu_s() - tree_cpu, _process_cpu_s(self.emu) - emu_cpu
        entries = [e for e in self.log.since_mark()
                   if not str(e.get("operation") or "").startswith("Emulator_")]
        calls = count_operations(entries)
        served: dict[str, float] = {}
        for e in entries:
            op_name = str(e.get("operation") or e.get("path"))
            served[op_name] = served.get(op_name, 0.0) + float(e.get("duration_ms") or 0)
        busy = sum(served.values()) / 1000
        keys_after = key_stock(self.emu)
        return {"keys_from_stock": keys_after["fromStock"] - keys_before["fromStock"],
                "keys_inline": keys_after["inline"] - keys_before["inline"],
                "key_stock_size": keys_before["size"], "key_stock_wait_s": waited,
                "seconds": seconds, "calls": dict(calls), "summary": change_summary(result.stdout),
                "emulator_seconds": busy, "emulator_share": busy / seconds if seconds else 0.0,
                "cli_cpu_s": tree_cpu, "emulator_cpu_s": emu_cpu,
                "emulator_top": {k: round(v / 1000, 3) for k, v in sorted(
                    served.items(), key=lambda kv: -kv[1])[:3]}}

    def run(self, case: str, n: int, run: int, ops: tuple[str, ...]) -> dict[str, Any]:
        mode, shape, _per_n, _objects = CASES[case]
        stack = f"{shape}-{mode}-n{n}-r{run}"
        prefix = f"c{run}{mode[0]}{shape[0]}{n}"
        if mode == "native":
            proj, project = self._native_project(n), "skyflow-bench-native"
            pairs = {"prefix": prefix, "vaultId": self.emu.vault_id}
        else:
            proj, project = self.proj, PROJECT
            pairs = {"mode": mode, "n": str(n), "prefix": prefix, "rev": "a", "shape": shape,
                     "vaultId": self.emu.vault_id}
        proj.stack_init(stack)
        proj.run("config", "set-all", *sum(
            (["--plaintext", f"{project}:{k}={v}"] for k, v in pairs.items()), []))
        out = {op: self._cmd(op, proj) for op in ops}
        for op, res in out.items():
            print(f"  {case:38s} N={n:<5d} {op:8s} {res['seconds']:8.2f}s "
                  f"{sum(res['calls'].values()):6d} call(s), emulator "
                  f"{100 * res['emulator_share']:.0f}%, CPU s pulumi+plugins "
                  f"{res['cli_cpu_s']:.1f} / emulator {res['emulator_cpu_s']:.1f}, "
                  f"RSA pairs {res['keys_from_stock']} "
                  f"from stock / {res['keys_inline']} inline [{res['summary']}]",
                  file=sys.stderr, flush=True)
        proj.run("stack", "rm", "--yes", "--force")
        return out


def _children_cpu_s() -> float:
    """CPU seconds of this process's reaped children: each CLI command with every plugin it
    started and waited for (engine, language host, program, providers)."""
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _process_cpu_s(emu: EmulatorProcess) -> float:
    """CPU seconds the emulator (and its threads) has used so far; 0 where /proc is absent."""
    if emu.proc is None:
        return 0.0
    try:
        fields = Path(f"/proc/{emu.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def figures(case: str, n: int, out: dict[str, Any]) -> dict[str, Any]:
    """Per-object and per-resource figures of one case at one N."""
    _mode, _shape, per_n, objects = CASES[case]
    row: dict[str, Any] = {"n": n, "resources": per_n * n, "objects": objects * n}
    for op, res in out.items():
        calls = Counter(res["calls"])
        tokens = calls.pop(TOKEN_OPERATION, 0)
        entry = {"seconds": res["seconds"], "per_resource_s": res["seconds"] / (per_n * n),
                 "token_exchanges": tokens, "calls": dict(calls),
                 "emulator_seconds": res["emulator_seconds"],
                 "emulator_share": res["emulator_share"], "emulator_top": res["emulator_top"],
                 "cli_cpu_s": res.get("cli_cpu_s", 0.0),
                 "emulator_cpu_s": res.get("emulator_cpu_s", 0.0),
                 "keys_from_stock": res.get("keys_from_stock", 0),
                 "keys_inline": res.get("keys_inline", 0),
                 "key_stock_size": res.get("key_stock_size", 0)}
        if op == "create" and objects:
            entry["calls_per_object"] = sum(calls.values()) / (objects * n)
        if op in ("refresh", REFRESH_READS) and objects:
            keys = sum(calls.get(k, 0) for k in KEY_LIST_OPS)
            reads = sum(v for k, v in calls.items() if k not in KEY_LIST_OPS)
            entry["gets_per_resource"] = reads / (per_n * n)
            entry["key_list_gets"] = keys
        row[op] = entry
    return row


def run_costs(emu: EmulatorProcess, work: Path, *, sizes: tuple[int, ...] = (50, 100),
              runs: int = 1, with_1000: bool = False, only_1000: bool = False,
              parallel: int | None = None, skip_checkpoints: bool = False,
              runs_1000: int = RUNS_1000,
              scale_sizes: tuple[int, ...] = SCALE_SIZES) -> dict[str, Any]:
    """Every case at every size (create, refresh, destroy); N=1000 pairs when asked.

    The no-stock case runs against a second emulator started with ``--key-stock 0``, so the
    cost of generating each RSA pair inline stays visible beside the stocked figure."""
    runner = Runner(emu, work, parallel, skip_checkpoints)
    data: dict[str, Any] = {"sizes": list(sizes), "runs": runs, "cases": {},
                            "skip_checkpoints": skip_checkpoints,
                            "key_stock_size": key_stock(emu)["size"]}
    with ExitStack() as stack:
        runner0 = runner
        if not only_1000:
            emu0 = stack.enter_context(EmulatorProcess(work / "emulator-no-stock",
                                                       extra_args=["--key-stock", "0"]))
            runner0 = Runner(emu0, work / "no-stock", parallel, skip_checkpoints,
                             stocked=[emu, emu0])
        compared = compared_size(sizes) if sizes else 0
        for run in range(runs if not only_1000 else 0):
            # every case of one run before the next run (interleaved); the other sizes once
            for n in (s for s in sizes if run == 0 or s == compared):
                for case in (c for c in CASES if c not in SCALE_ONLY):
                    r = runner0 if case == NO_STOCK_CASE else runner
                    out = r.run(case, n, run, ("create", "refresh", "destroy"))
                    data["cases"].setdefault(case, {}).setdefault(str(n), []).append(
                        figures(case, n, out))
    if with_1000 or only_1000:
        data["curve"] = {}
        data["runs_1000"] = []
        top = data["scale_n"] = max(scale_sizes)  # 1000 but in a smoke run (--quick)
        for n in sorted(scale_sizes):  # the curve: ours and the floors at the same N
            for run in range(runs_1000 if n == top else 1):
                pair = {}
                for case in SCALE_CASES:
                    pair[case] = figures(case, n, runner.run(case, n, run, OPS_1000))
                    if run == 0:
                        data["curve"].setdefault(case, {})[str(n)] = pair[case]
                if n == top:
                    data["runs_1000"].append(pair)
    data["targets"] = targets(data)
    return data


def _median(rows: list[dict[str, Any]], op: str, key: str) -> float:
    values = sorted(r[op][key] for r in rows)
    return values[len(values) // 2]


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cases = data["cases"]

    def add(name: str, measured: str, limit: str, ok: bool, key: str = "") -> None:
        rows.append({"name": name, "measured": measured, "limit": limit, "result": _verdict(ok),
                     **({"id": key} if key else {})})

    def info(name: str, measured: str, limit: str = "diagnostic") -> None:
        rows.append({"name": name, "measured": measured, "limit": limit, "result": "INFO"})

    for case, by_n in cases.items():
        if CASES[case][3] == 0:
            continue
        for n, rs in by_n.items():
            per = _median(rs, "create", "calls_per_object")
            tok = max(r["create"]["token_exchanges"] for r in rs)
            add(f"create: Management API calls per created object, {case}, N={n}",
                f"{per:.3f} (+{tok} token)", f"<= {LIMITS['calls_per_object']} (+ <= 1 token)",
                per <= LIMITS["calls_per_object"] and tok <= 1, "calls_per_object")
            gets = _median(rs, "refresh", "gets_per_resource")
            add(f"refresh: GETs per resource (own read), {case}, N={n}", f"{gets:.2f}",
                "exactly 1", abs(gets - 1.0) < 1e-9, "refresh_gets")
    n = str(compared_size([int(k) for k in cases.get("service accounts", {"0": None})]))
    if n in cases.get("plain floor", {}):
        ours = _median(cases["service accounts"][n], "create", "seconds")
        plain = _median(cases["plain floor"][n], "create", "seconds")
        shaped = _median(cases["account-shaped floor"][n], "create", "seconds")
        stock = _median(cases["service accounts"][n], "create", "keys_from_stock")
        inline = _median(cases["service accounts"][n], "create", "keys_inline")
        share = _median(cases["service accounts"][n], "create", "emulator_share")
        add(f"create time, N={n} service accounts vs plain do-nothing floor",
            f"{ours / plain:.2f}x ({ours:.1f} s vs {plain:.1f} s; RSA pairs: {stock} from the "
            f"emulator's key stock, {inline} generated inline; emulator share "
            f"{100 * share:.0f}%)",
            f"<= {LIMITS['create_vs_plain']}x", ours / plain <= LIMITS["create_vs_plain"],
            "n50.create_vs_plain")
        if n in cases.get(WIRE_CREATE, {}):
            wire = _median(cases[WIRE_CREATE][n], "create", "seconds")
            wshare = _median(cases[WIRE_CREATE][n], "create", "emulator_share")
            add(f"create time, N={n} service accounts vs the account-shaped floor + 1 create "
                "call (the server's cheapest create per step)",
                f"{ours / wire:.2f}x ({wire:.1f} s floor + 1 call, emulator share "
                f"{100 * wshare:.0f}%)", f"<= {LIMITS['create_vs_wire_create']}x",
                ours / wire <= LIMITS["create_vs_wire_create"], "n50.create_vs_wire_create")
            if n in cases.get("service accounts, API keys", {}):
                api = _median(cases["service accounts, API keys"][n], "create", "seconds")
                info(f"create time, N={n} API-key service accounts (the same server work as "
                     "the floor's create) vs the floor + 1 create call", f"{api / wire:.2f}x")
        info(f"create time, N={n} service accounts vs account-shaped floor",
             f"{ours / shaped:.2f}x ({shaped:.1f} s floor)", "second figure")
        if n in cases.get(NO_STOCK_CASE, {}):
            bare = _median(cases[NO_STOCK_CASE][n], "create", "seconds")
            info(f"create time, N={n} service accounts, emulator without key stock (every RSA "
                 "pair generated inline) vs plain floor", f"{bare / plain:.2f}x ({bare:.1f} s)")
        if n in cases.get("service accounts, API keys", {}):
            api = _median(cases["service accounts, API keys"][n], "create", "seconds")
            info(f"create time, N={n} API-key service accounts (no RSA key generated) vs plain "
                 "floor", f"{api / plain:.2f}x ({api:.1f} s)")
    rows += scale_targets(data)
    return rows


#: what each N=1000 command is called in the targets
OP_NAMES = {"create": "create", "destroy": "destroy",
            "refresh": "refresh with the optional key list (skyflow:keyDriftReport, default on: "
            "+1 call per account)",
            REFRESH_READS: "refresh, one GET per resource (skyflow:keyDriftReport=false)"}


def scale_targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The N=1000 targets, per command: each form against the floor + 1 call, the native
    form against the dynamic one; medians of the per-run ratios (the cases of one run are
    interleaved, so a burst of load hits both sides of a ratio)."""
    rows: list[dict[str, Any]] = []
    runs = data.get("runs_1000") or []
    for op in OPS_1000:
        pairs = ((OURS, WIRE, "the dynamic resources vs the floor + 1 API call",
                  "n1000_vs_wire", "dynamic_vs_wire"),
                 (NATIVE, WIRE, "the native plugin vs the floor + 1 API call", "n1000_vs_wire",
                  "native_vs_wire"),
                 (NATIVE, OURS, "the native plugin vs the dynamic resources",
                  "native_vs_dynamic", "native_vs_dynamic"),
                 (WIRE, FLOOR, "the floor + 1 API call vs the engine floor (the price of the "
                  "call itself)", None, ""),
                 (OURS, FLOOR, "the dynamic resources vs the engine floor (the earlier "
                  "yardstick)", None, ""))
        for num, den, label, limit, key in pairs:
            ratios = scale_ratios(data, op, num, den)
            if not ratios:
                continue
            mid = statistics.median(ratios)
            a = median_1000(data, num, op, "per_resource_s") or 0.0
            b = median_1000(data, den, op, "per_resource_s") or 0.0
            share = median_1000(data, num, op, "emulator_share") or 0.0
            stock = (f"; RSA pairs {runs[0][num][op]['keys_from_stock']} from stock, "
                     f"{runs[0][num][op]['keys_inline']} inline"
                     if op == "create" and CASES[num][3] else "")
            measured = (f"{mid:.2f}x ({1000 * a:.2f} vs {1000 * b:.2f} ms per resource, "
                        f"emulator share {100 * share:.0f}%; runs "
                        f"{', '.join(f'{x:.2f}x' for x in ratios)}{stock})")
            top = data.get("scale_n", 1000)
            name = f"N={top} accounts + {top} assignments, {OP_NAMES[op]}: {label}"
            if limit is None or op == "refresh":  # the key list is optional: its own figure
                rows.append({"name": name, "measured": measured, "limit": "diagnostic",
                             "result": "INFO"})
            else:
                rows.append({"name": name, "measured": measured,
                             "limit": f"<= {LIMITS[limit]}x",
                             "result": _verdict(mid <= LIMITS[limit]),
                             "id": f"n1000.{op}.{key}"})
    return rows


def scale_ratios(data: dict[str, Any], op: str, num: str = OURS,
                 den: str = FLOOR) -> list[float]:
    """``num`` / ``den`` time per resource at N=1000, one ratio per interleaved run (ours /
    the engine floor unless told); runs without either case are left out."""
    out = []
    for pair in data.get("runs_1000") or []:
        if num in pair and den in pair and op in pair[num] and op in pair[den]:
            out.append(pair[num][op]["per_resource_s"] / pair[den][op]["per_resource_s"])
    return out


def median_1000(data: dict[str, Any], case: str, op: str, key: str) -> float | None:
    """The median of ``key`` over the N=1000 runs that measured ``case`` / ``op`` (a key an
    older run did not record counts as 0); None when none did."""
    rows = [r[case][op] for r in data.get("runs_1000") or [] if case in r and op in r[case]]
    return statistics.median(x.get(key, 0.0) for x in rows) if rows else None


def cpu_split(data: dict[str, Any], op: str) -> dict[str, dict[str, float]]:
    """Median CPU seconds at N=1000 per case: the CLI tree (engine, plugins, providers) and
    the emulator, so provider time and server time can be told apart."""
    out: dict[str, dict[str, float]] = {}
    for case in SCALE_CASES:
        medians = {k: median_1000(data, case, op, k)
                   for k in ("seconds", "cli_cpu_s", "emulator_cpu_s")}
        if all(v is not None for v in medians.values()):
            out[case] = {k: float(v or 0.0) for k, v in medians.items()}
    return out


def markdown(data: dict[str, Any]) -> str:
    meta = data.get("meta") or {}
    load = f"load average {meta['loadavg_start'][0]:.1f} at the start" + (
        f", {meta['loadavg_end'][0]:.1f} at the end" if meta.get("loadavg_end") else "") \
        if meta.get("loadavg_start") else ""
    when = (f"Run of {meta['date']}, code {meta['code']['commit']}, {meta['nproc']} CPUs, "
            f"{load}, Pulumi CLI {meta['pulumi_cli']}; "
            f"{data.get('wall_seconds', 0) / 60:.1f} min in all." if meta.get("date") else "")
    lines = ["## Create costs", "", *([when, ""] if when else []),
             *(["Engine option PULUMI_SKIP_CHECKPOINTS=true (checkpoint written once per "
                "command, for floor and ours alike).", ""] if data.get("skip_checkpoints")
               else []),
             f"One stack per case and N; create, refresh, destroy through the real CLI; at "
             f"N={compared_size(data['sizes']) if data.get('sizes') else COMPARE_N} "
             f"{data.get('runs', 1)} interleaved runs (a row each; the targets hold "
             "their medians), other sizes once. Calls "
             "exclude the token exchange (counted apart). Emulator share = the sum of the "
             "emulator's request-log durations / the command's wall time (the rest is the engine, "
             "the provider process and the CLI). RSA pairs: of the key pairs the emulator handed "
             "out during create, how many came from its key stock (pre-generated at nice 19; "
             f"stock size {data.get('key_stock_size', '-')}, full before each command) and how "
             "many it generated inline.", "",
             "| Case | N | create s | s per resource | calls per object (create) | refresh GETs "
             "per resource (+ key lists) | destroy s | emulator share create / refresh / destroy "
             "| emulator's top create ops (s) | RSA pairs stock / inline (create) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    all_rows = [(c, r) for c, by_n in data["cases"].items() for rs in by_n.values() for r in rs]
    all_rows += [(c, r) for c, by_n in (data.get("curve") or {}).items() for r in by_n.values()]
    for case, r in all_rows:
        cr, rf, ds = r["create"], r["refresh"], r["destroy"]
        cpo = f"{cr['calls_per_object']:.3f}" if "calls_per_object" in cr else "-"
        gets = (f"{rf['gets_per_resource']:.2f} (+{rf['key_list_gets']})"
                if "gets_per_resource" in rf else "-")
        share = " / ".join(f"{100 * x['emulator_share']:.0f}%" for x in (cr, rf, ds))
        top = ", ".join(f"{k.split('_', 1)[-1]} {v:.2f}" for k, v in cr["emulator_top"].items())
        lines.append(f"| {case} | {r['n']} | {cr['seconds']:.2f} | "
                     f"{1000 * cr['per_resource_s']:.0f} ms | {cpo} | {gets} | "
                     f"{ds['seconds']:.2f} | {share} | {top or '-'} | "
                     f"{cr.get('keys_from_stock', 0)} / {cr.get('keys_inline', 0)} |")
    if data.get("runs_1000"):
        lines += ["", "N=1000, CPU seconds by process (medians of the interleaved runs): the CLI "
                  "tree is the engine with every plugin it started (language host, program, "
                  "providers); the emulator stands in for Skyflow's servers and shares the same "
                  f"{os.cpu_count()} CPUs. Extra CPU per call = (the case's CLI tree + emulator - "
                  "the floor's CLI tree) / the case's API calls. The floor + 1 API call makes "
                  "one GET per provider call with the standard library's client: what the call "
                  "itself costs here. The native plugin's CLI tree holds the YAML language host "
                  "and two plugin processes (one serves the resources, one the schema to the "
                  "language host); the dynamic form's, the Python language host, the program "
                  "and the dynamic-provider host.", "",
                  "| Command | case | floor wall s | floor CPU s | case wall s | case CPU s: CLI "
                  "tree / emulator | API calls | extra CPU per call |",
                  "|---|---|---|---|---|---|---|---|"]
        for op in OPS_1000:
            split = cpu_split(data, op)
            if FLOOR not in split:
                continue
            f = split[FLOOR]
            for case in (c for c in (WIRE, OURS, NATIVE) if c in split):
                o = split[case]
                calls = sum(data["runs_1000"][0][case][op]["calls"].values())
                extra = (o["cli_cpu_s"] + o["emulator_cpu_s"] - f["cli_cpu_s"]) / max(1, calls)
                lines.append(f"| {op} | {case} | {f['seconds']:.2f} | {f['cli_cpu_s']:.2f} | "
                             f"{o['seconds']:.2f} | {o['cli_cpu_s']:.2f} / "
                             f"{o['emulator_cpu_s']:.2f} | {calls} | {1000 * extra:.2f} ms |")
    lines += ["", "| Target | Measured | Limit | Result |", "|---|---|---|---|"]
    for t in data["targets"]:
        lines.append(f"| {t['name']} | {t['measured']} | {t['limit']} | **{t['result']}** |")
    if data.get("issue26"):  # make bench-1000: every target, this run's and others
        from .issue26 import markdown as issue26_markdown

        lines[:0] = [issue26_markdown(data["issue26"])]
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> None:
    """Time per resource by N, one panel per command: ours and the floors (the engine's own
    curve; with the N=1000 runs also the floor + one API call per step)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    curve = data.get("curve") or {}
    ops = OPS_1000 if curve else ("create",)
    fig, axes = plt.subplots(1, len(ops), figsize=(4.2 * len(ops), 4), squeeze=False)
    for ax, op in zip(axes[0], ops, strict=True):
        for case in ("plain floor", FLOOR, WIRE, WIRE_CREATE, "service accounts", OURS, NATIVE):
            pts = {int(n): _median(rs, op, "per_resource_s")
                   for n, rs in data["cases"].get(case, {}).items() if op in rs[0]}
            for n, row in curve.get(case, {}).items():
                if op in row:
                    pts[int(n)] = row[op]["per_resource_s"]
            at_1000 = median_1000(data, case, op, "per_resource_s")
            if at_1000 is not None:  # the curve's N=1000 point: the median of the runs
                pts[int(data.get("scale_n", 1000))] = at_1000
            if pts:
                ns = sorted(pts)
                ax.plot(ns, [1000 * pts[k] for k in ns], marker="o", label=case)
        ax.set_xscale("log")
        ax.set_xlabel("N")
        ax.set_title(op, fontsize=9)
        ax.set_ylabel("ms per Pulumi resource")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(data: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    name = "create_costs_n1000" if data.get("runs_1000") and not data["cases"] else "create_costs"
    (out / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    (out / f"{name}.md").write_text(markdown(data))
    plot(data, out / f"{name}.png")


def run_backend_curve(emu: EmulatorProcess, work: Path, backends: dict[str, dict[str, str]],
                      sizes: tuple[int, ...] = (100, 300), parallel: int | None = None
                      ) -> dict[str, Any]:
    """Ours and the pair-shaped floor per backend, checkpoints on (the engine's own default):
    where the per-step checkpoint rewrite is the limit, the floor's curve shows it."""
    data: dict[str, Any] = {"sizes": list(sizes), "backends": {}}
    for name, env in backends.items():
        runner = Runner(emu, work / name, parallel, extra_env=env)
        for n in sizes:
            for case in ("pair-shaped floor", "accounts + role assignments"):
                out = runner.run(case, n, 0, ("create", "refresh", "destroy"))
                data["backends"].setdefault(name, {}).setdefault(case, {})[str(n)] = \
                    figures(case, n, out)
    return data


def backend_markdown(data: dict[str, Any]) -> str:
    lines = ["## Backends, checkpoints on", "",
             "| Backend | Case | N | create s | ms per resource create / refresh / destroy | "
             "ours / floor (create) |", "|---|---|---|---|---|---|"]
    for backend, cases in data["backends"].items():
        floor = cases.get("pair-shaped floor", {})
        for case, by_n in cases.items():
            for n, r in by_n.items():
                per = " / ".join(f"{1000 * r[op]['per_resource_s']:.0f}"
                                 for op in ("create", "refresh", "destroy"))
                ratio = (f"{r['create']['seconds'] / floor[n]['create']['seconds']:.2f}x"
                         if case != "pair-shaped floor" and n in floor else "-")
                lines.append(f"| {backend} | {case} | {n} | {r['create']['seconds']:.1f} | "
                             f"{per} | {ratio} |")
    return "\n".join(lines) + "\n"
