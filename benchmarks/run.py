"""``python -m benchmarks.run``: every scenario in one process tree against a fresh emulator.

Writes ``benchmarks/results/latest.{json,md,png}``. Reports PASS/FAIL against the
targets (docs/performance.md) but always exits 0 unless the benchmark itself broke: it
measures, it does not gate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import require_pulumi
from tests.helpers.secrets_scan import scan

from . import account_size, create_costs, issue26, native_bench, report, s3_backend
from .common import TOKEN_OPERATION, key_stock, machine_facts, summarize, wait_for_stock
from .stacks import MODES, OPERATIONS, OpResult, SequenceError, StackBench
from .tokens_bench import run_tokens
from .vending_bench import markdown as vending_markdown
from .vending_bench import run_vending
from .vending_bench import write_results as write_vending

RESULTS = Path(__file__).parent / "results"
TARGET_N = 100
LIMITS = {"create": 1.25, "noop_up": 1.1, "provider_bytes": 200, "token_vs_sdk": 1.0,
          "cache_speedup": 100.0, "marginal_growth": 1.25}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make bench", description=__doc__)
    p.add_argument("--runs", type=int, default=3, help="runs per figure (median of them)")
    p.add_argument("--sizes", default="1,10,100", help="comma-separated N values")
    p.add_argument("--with-500", action="store_true", help="also run N=500 (--runs-500 runs)")
    p.add_argument("--runs-500", type=int, default=1, help="runs at N=500 (default 1)")
    p.add_argument("--ops-500", default=",".join(OPERATIONS),
                   help="commands run at N=500 (create and destroy are always run)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: sizes 1,5, one run, fewer token calls")
    p.add_argument("--parallel", type=int, default=None,
                   help="engine --parallel (default: the CLI's default)")
    p.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    p.add_argument("--skip-tokens", action="store_true", help="skip scenario 6")
    p.add_argument("--skip-vending", action="store_true", help="skip scenario 7")
    p.add_argument("--vending-only", action="store_true",
                   help="only scenario 7 (token vending, ~15 s, no Pulumi needed); writes "
                   "<out>/vending.{json,md}")
    p.add_argument("--skip-costs", action="store_true",
                   help="skip the create costs (calls per object, plain floor)")
    p.add_argument("--costs-sizes", default="50,100",
                   help="N values of the create costs (default 50,100; --quick: 5,10)")
    p.add_argument("--costs-runs", type=int, default=create_costs.COMPARE_RUNS,
                   help="interleaved runs of the N=50 create comparison (its targets are "
                        "medians of them; the other sizes run once)")
    p.add_argument("--with-1000", action="store_true",
                   help="also N=1000 accounts + 1000 assignments vs the engine floor")
    p.add_argument("--only-1000", action="store_true",
                   help="only the N=1000 scale run (make bench-1000); writes "
                   "<out>/create_costs_n1000.{json,md,png}")
    p.add_argument("--runs-1000", type=int, default=create_costs.RUNS_1000, metavar="N",
                   help="interleaved runs at N=1000 (default 3; targets use their median)")
    p.add_argument("--skip-native", action="store_true",
                   help="skip the native plugin vs dynamic vs floor comparison")
    p.add_argument("--native-only", action="store_true",
                   help="only the native comparison (~3 min); writes <out>/native.{json,md}")
    p.add_argument("--native-n", type=int, default=None,
                   help="N of the native comparison (default 100; --quick: 10)")
    p.add_argument("--native-runs", type=int, default=1, help="runs of the native comparison")
    p.add_argument("--skip-checkpoints", action="store_true",
                   help="create costs with PULUMI_SKIP_CHECKPOINTS=true (the file backend's "
                   "per-step checkpoint rewrite is quadratic in N)")
    p.add_argument("--backend-curve", action="store_true",
                   help="only ours vs the pair floor at N=100,300 with checkpoints on, on the "
                   "file backend and on S3 (a moto server, as the team-scale tests); writes "
                   "<out>/create_costs_backends.{json,md}")
    p.add_argument("--key-stock", type=int, default=None, metavar="N",
                   help="the emulator's stock of pre-generated RSA pairs (default: the largest "
                   "number of accounts one command creates: 1000 with --only-1000, else the "
                   "largest size); create costs wait until it is full before each command")
    p.add_argument("--skip-account-size", action="store_true",
                   help="skip the account-size scenario")
    p.add_argument("--account-size-only", action="store_true",
                   help="only the account-size scenario (~4 min); writes "
                   "<out>/account_size.{json,md}")
    p.add_argument("--account-sizes", default=None,
                   help="other service accounts in the big accounts (default 1000,10000; "
                   "--quick: 1000)")
    p.add_argument("--account-size-runs", type=int, default=None,
                   help="interleaved runs of the account-size scenario (default 3; --quick: 1)")
    p.add_argument("--report-only", action="store_true",
                   help="re-render latest.md and latest.png from <out>/latest.json; no runs")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.costs_runs = "1,5", 1, 1
        if args.costs_sizes == "50,100":
            args.costs_sizes = "5,10"
    args.scale_sizes = (5, 10) if args.quick else create_costs.SCALE_SIZES
    args.account_size_list = tuple(int(s) for s in str(
        args.account_sizes or ("1000" if args.quick else "1000,10000")).split(",") if s.strip())
    args.account_size_runs = args.account_size_runs or (1 if args.quick else
                                                        account_size.RUNS)
    args.native_n = args.native_n or (10 if args.quick else 100)
    args.costs_size_list = tuple(sorted({int(s) for s in str(args.costs_sizes).split(",")
                                         if s.strip()}))
    args.size_list = sorted({int(s) for s in str(args.sizes).split(",") if s.strip()})
    return args


def stock_args(args: argparse.Namespace) -> list[str]:
    """Size the emulator's key stock for the run, so no measured create waits on RSA."""
    size = args.key_stock
    if size is None:
        sizes = [*args.size_list, *args.costs_size_list]
        size = max(args.scale_sizes) if args.only_1000 or args.with_1000 else \
            max(sizes, default=4)
    return ["--key-stock", str(size)]


def aggregate(samples: dict[str, dict[str, dict[int, list[OpResult]]]]) -> dict[str, Any]:
    """{mode: {op: {N: timing stats + median API calls per resource + token exchanges}}}."""
    out: dict[str, Any] = {}
    for mode, ops in samples.items():
        out[mode] = {}
        for op, by_n in ops.items():
            out[mode][op] = {}
            for n, results in by_n.items():
                entry = summarize([r.seconds for r in results])
                ops_seen = sorted({k for r in results for k in r.calls})
                per_op = {k: statistics.median(r.calls.get(k, 0) for r in results)
                          for k in ops_seen}
                resources = 2 * n
                entry.update(
                    calls_per_resource={k: v / resources for k, v in per_op.items()},
                    calls_total_median=sum(v for k, v in per_op.items()),
                    token_exchanges=per_op.get(TOKEN_OPERATION, 0),
                    token_exchanges_each_run=[r.calls.get(TOKEN_OPERATION, 0)
                                              for r in results],
                    api_calls_each_run=[sum(r.calls.values()) for r in results],
                    keys_from_stock_each_run=[r.keys_from_stock for r in results],
                    keys_inline_each_run=[r.keys_inline for r in results],
                    # the resource's own reads; the optional key listing of the drift report
                    # (skyflow:keyDriftReport) is its own figure
                    gets_per_resource=statistics.median(
                        r.gets - sum(r.calls.get(k, 0) for k in create_costs.KEY_LIST_OPS)
                        for r in results) / resources,
                    key_list_gets_per_resource=statistics.median(
                        sum(r.calls.get(k, 0) for k in create_costs.KEY_LIST_OPS)
                        for r in results) / resources,
                    emulator_busy_seconds=statistics.median(r.emulator_seconds
                                                            for r in results),
                    change_summary=results[-1].summary,
                )
                out[mode][op][str(n)] = entry
    return out


def scaling(stacks: dict[str, Any]) -> dict[str, Any]:
    """Create time per resource pair and its growth with N (floor, ours, ours minus floor)."""
    series: dict[str, dict[int, float]] = {}
    for mode in MODES:
        series[mode] = {int(n): v["median"] for n, v in stacks[mode]["create"].items()}
    series["skyflow minus floor"] = {n: series["skyflow"][n] - series["floor"].get(n, 0.0)
                                     for n in series["skyflow"] if n in series["floor"]}
    out: dict[str, Any] = {}
    for name, pts in series.items():
        ns = sorted(pts)
        if len(ns) < 2:
            continue
        mean_n = statistics.fmean(ns)
        mean_t = statistics.fmean(pts[n] for n in ns)
        den = sum((n - mean_n) ** 2 for n in ns)
        slope = sum((n - mean_n) * (pts[n] - mean_t) for n in ns) / den if den else 0.0
        entry: dict[str, Any] = {"slope": slope,
                                 "per_resource": {str(n): pts[n] / n for n in ns}}
        if 10 in pts and 100 in pts:
            entry["marginal_10_100"] = (pts[100] - pts[10]) / 90
        if 100 in pts and 500 in pts:
            entry["marginal_100_500"] = (pts[500] - pts[100]) / 400
        out[name] = entry
    return out


def floor_shape() -> dict[str, Any]:
    """Does the floor still have our resources' shape? (``floor_shape.py`` is generated from the
    declarations by ``make generate``; this catches a run on a stale copy)"""
    from skyflow_provider.resources.declarations import ROLE_ASSIGNMENT as ra
    from skyflow_provider.resources.declarations import SERVICE_ACCOUNT as sa

    from . import floor_shape as fp

    pairs = {"ServiceAccount inputs": (fp.SA_INPUTS, sa.input_keys),
             "ServiceAccount outputs": (fp.SA_OUTPUTS, sa.output_keys),
             "ServiceAccount secrets": (fp.SA_SECRETS, sa.secret_outputs),
             "RoleAssignment inputs": (fp.RA_INPUTS, ra.input_keys),
             "RoleAssignment outputs": (fp.RA_OUTPUTS, ra.output_keys)}
    differ = [name for name, (ours, theirs) in pairs.items() if set(ours) != set(theirs)]
    return {"matches": not differ, "differs": differ}


def pickle_sizes() -> dict[str, int]:
    """``__provider`` plaintext per provider class, from pulumi.dynamic's own serializer.

    A cross-check of the size derived from the state's ciphertext length (stacks.state_size).
    """
    from pulumi.dynamic.dynamic import serialize_provider

    import skyflow_provider.resources.role_assignment as ra
    import skyflow_provider.resources.service_account as sa

    from . import floor_provider as fp

    return {cls.__name__: len(serialize_provider(cls())) for cls in (
        sa.ServiceAccountProvider, ra.RoleAssignmentProvider, fp.FloorAccountProvider,
        fp.FloorAssignmentProvider)}


def _verdict(ok: bool | None) -> str:
    return "SKIP" if ok is None else ("PASS" if ok else "FAIL")


def targets(results: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str], int]:
    """The targets at N=100 (or the largest N run below it, e.g. in --quick)."""
    stacks = results["stacks"]
    sizes = [int(n) for n in stacks["skyflow"]["create"]]
    at = TARGET_N if TARGET_N in sizes else max(n for n in sizes if n <= TARGET_N)
    key = str(at)
    sky, floor = stacks["skyflow"], stacks["floor"]
    rows: list[dict[str, Any]] = []
    row_targets: dict[str, str] = {}

    def add(name: str, measured: str, limit: str, ok: bool | None, row: str | None = None) -> None:
        rows.append({"name": name, "measured": measured, "limit": limit, "result": _verdict(ok)})
        if row:
            row_targets[row] = f"{_verdict(ok)} ({limit})"

    create = sky["create"][key]["median"] / floor["create"][key]["median"]
    add("create time vs floor", f"{create:.2f}x", f"<= {LIMITS['create']}x",
        create <= LIMITS["create"], f"create:{key}")
    noop = sky["noop_up"][key]
    ratio = noop["median"] / floor["noop_up"][key]["median"]
    add("no-op up time vs floor", f"{ratio:.2f}x", f"<= {LIMITS['noop_up']}x",
        ratio <= LIMITS["noop_up"], f"noop_up:{key}")
    extra = max(run - tok for run, tok in zip(noop["api_calls_each_run"],
                                              noop["token_exchanges_each_run"], strict=True))
    add("no-op up API calls (beyond the token exchange)",
        f"{extra} (+{max(noop['token_exchanges_each_run'])} token)", "0 (+ <= 1 token)",
        extra == 0 and max(noop["token_exchanges_each_run"]) <= 1)
    rows[-1]["id"] = "noop_up_calls"
    prev = sky["preview"][key]
    add("preview API calls", f"{max(prev['api_calls_each_run'])}", "0 (+ <= 1 token)",
        max(prev["api_calls_each_run"]) - max(prev["token_exchanges_each_run"]) == 0
        and max(prev["token_exchanges_each_run"]) <= 1, f"preview:{key}")
    gets = sky["refresh"][key]["gets_per_resource"]
    add("refresh GETs per resource (own read; key lists apart)", f"{gets:.2f} (+"
        f"{sky['refresh'][key].get('key_list_gets_per_resource', 0):.2f} key-list GETs, "
        "optional: skyflow:keyDriftReport)", "exactly 1", abs(gets - 1.0) < 1e-9,
        f"refresh:{key}")
    worst = max(max(e["token_exchanges_each_run"]) for op in OPERATIONS
                for e in sky[op].values())
    bad = [f"{op}@N={n}" for op in OPERATIONS for n, e in sky[op].items()
           if any(t > 1 or (t == 0 and c > 0) for t, c in zip(
               e["token_exchanges_each_run"], e["api_calls_each_run"], strict=True))]
    add("token exchanges per provider process (every command, every N)",
        f"max {worst}" + (f"; off: {', '.join(bad)}" if bad else ""),
        "exactly 1 when any call is made", not bad)
    state = (results.get("state") or {}).get("skyflow", {}).get(key)
    if state and state.get("provider_bytes_per_resource") is not None:
        size = state["provider_bytes_per_resource"]
        add("`__provider` bytes per resource", f"{size:.0f}", f"<= {LIMITS['provider_bytes']}",
            size <= LIMITS["provider_bytes"])
    tok = results.get("tokens")
    if tok:
        add("token cold path vs official SDK", f"{tok['ratio_cold_vs_sdk']:.2f}x",
            f"<= {LIMITS['token_vs_sdk']}x", tok["ratio_cold_vs_sdk"] <= LIMITS["token_vs_sdk"])
        add("cached TokenProvider vs cold", f"{tok['cache_speedup']:.0f}x faster",
            f">= {LIMITS['cache_speedup']:.0f}x", tok["cache_speedup"] >= LIMITS["cache_speedup"])
    sc = (results.get("scaling") or {}).get("skyflow minus floor", {})
    failed_500 = [f for f in results.get("failures", []) if f["n"] == 500]
    if failed_500:
        f = failed_500[0]
        add("N=500 completes", f"{f['mode']} {f['op']} failed after {f['after_seconds']:.0f} s: "
            f"{f['reason']}", "completes", False)
    elif "marginal_100_500" in sc and "marginal_10_100" in sc:
        growth = sc["marginal_100_500"] / sc["marginal_10_100"]
        add("N=500 completes; our time per resource does not grow with N "
            "(marginal s/N 100->500 vs 10->100)",
            f"{sc['marginal_100_500']:.3f} vs {sc['marginal_10_100']:.3f} s/N "
            f"({growth:.2f}x)", f"<= {LIMITS['marginal_growth']}x", growth
            <= LIMITS["marginal_growth"])
    else:
        add("N=500 completes; time per resource does not grow with N", "not run",
            "run with --with-500", None)
    return rows, row_targets, at


def write_results(out: Path, name: str, data: dict[str, Any], md: str) -> None:
    """``<out>/<name>.json`` (every figure) and ``.md`` (the tables), and the tables printed."""
    (out / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    (out / f"{name}.md").write_text(md)
    print(md)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:  # the same page, its N=1000 rows from the newest make bench-1000
        loaded = json.loads((args.out / "latest.json").read_text())
        (args.out / "latest.md").write_text(render(loaded, args.out))
        (args.out / "latest.json").write_text(json.dumps(loaded, indent=2, sort_keys=True) + "\n")
        report.plot(loaded, args.out / "latest.png")
        return 0
    started = time.perf_counter()
    if args.vending_only:
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="skyflow-bench-") as tmp, \
                EmulatorProcess(Path(tmp) / "emulator") as emu:
            vending = run_vending(emu, quick=args.quick)
        vending["wall_seconds"] = time.perf_counter() - started
        write_vending(vending, args.out)
        print(vending_markdown(vending))
        return 0
    pulumi_bin = require_pulumi()
    if args.native_only:
        native_meta = machine_facts(pulumi_bin)
        if args.skip_checkpoints:  # floor, dynamic and native alike (the CLI reads it)
            os.environ["PULUMI_SKIP_CHECKPOINTS"] = "true"
        with tempfile.TemporaryDirectory(prefix="skyflow-bench-") as tmp, \
                EmulatorProcess(Path(tmp) / "emulator", extra_args=stock_args(args)) as emu:
            wait_for_stock(emu)
            native = native_bench.run_native(
                emu, Path(tmp) / "native", n=args.native_n, runs=args.native_runs,
                parallel=args.parallel,
                # the py-spy pass samples every plugin thread: minutes of samples past N=300
                profile=args.native_n <= 300)
            native["key_stock"] = key_stock(emu)
        native["meta"] = {**native_meta, "loadavg_end": list(os.getloadavg()),
                          "skip_checkpoints": args.skip_checkpoints}
        native_bench.write(native, args.out)
        print(native_bench.markdown(native))
        return 0
    if args.backend_curve:
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="skyflow-bench-") as tmp, \
                EmulatorProcess(Path(tmp) / "emulator") as emu, \
                s3_backend.moto_backend(Path(tmp)) as s3_env:
            curve = create_costs.run_backend_curve(
                emu, Path(tmp) / "work", {"file": {}, "s3 (moto)": s3_env},
                parallel=args.parallel)
        curve["meta"] = machine_facts(pulumi_bin)
        curve["wall_seconds"] = time.perf_counter() - started
        write_results(args.out, "create_costs_backends", curve,
                      create_costs.backend_markdown(curve))
        return 0
    if args.only_1000:
        args.out.mkdir(parents=True, exist_ok=True)
        meta = machine_facts(pulumi_bin)  # the date and load average at the start
        with tempfile.TemporaryDirectory(prefix="skyflow-bench-") as tmp, \
                EmulatorProcess(Path(tmp) / "emulator", extra_args=stock_args(args)) as emu:
            costs = create_costs.run_costs(emu, Path(tmp) / "work", only_1000=True,
                                           parallel=args.parallel,
                                           skip_checkpoints=args.skip_checkpoints,
                                           runs_1000=1 if args.quick else args.runs_1000,
                                           scale_sizes=args.scale_sizes)
        costs["meta"] = meta
        meta["loadavg_end"] = list(os.getloadavg())
        costs["wall_seconds"] = time.perf_counter() - started
        costs["issue26"] = issue26.table(costs, issue26.BENCH_1000,
                                         issue26.load(args.out / "latest.json"))
        create_costs.write(costs, args.out)
        print(create_costs.markdown(costs))
        return 0
    if args.account_size_only:
        args.out.mkdir(parents=True, exist_ok=True)
        meta = machine_facts(pulumi_bin)
        with tempfile.TemporaryDirectory(prefix="skyflow-bench-") as tmp:
            sized = account_size.run_account_size(
                Path(tmp), sizes=args.account_size_list, runs=args.account_size_runs,
                parallel=args.parallel)
        sized["meta"] = {**meta, "loadavg_end": list(os.getloadavg())}
        sized["wall_seconds"] = time.perf_counter() - started
        write_results(args.out, "account_size", sized, account_size.markdown(sized))
        return 0
    meta = machine_facts(pulumi_bin)
    meta["floor_shape"] = floor_shape()
    args.out.mkdir(parents=True, exist_ok=True)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    if not meta["floor_shape"]["matches"]:
        say("make bench: WARNING the floor no longer has our resources' shape "
            f"({', '.join(meta['floor_shape']['differs'])}): update benchmarks/floor_provider.py")
    say(f"make bench: sizes {args.size_list}{' + 500' if args.with_500 else ''}, "
        f"{args.runs} run(s); Pulumi {meta['pulumi_cli']}, {meta['nproc']} CPUs")
    samples: dict[str, dict[str, dict[int, list[OpResult]]]] = {
        m: {op: {} for op in OPERATIONS} for m in MODES}
    state: dict[str, dict[str, Any]] = {m: {} for m in MODES}
    failures: list[dict[str, Any]] = []
    results: dict[str, Any] = {"meta": meta}
    with tempfile.TemporaryDirectory(prefix="skyflow-bench-") as tmp, \
            EmulatorProcess(Path(tmp) / "emulator", extra_args=stock_args(args)) as emu:
        if not args.skip_tokens:
            say("scenario 6: tokens")
            results["tokens"] = run_tokens(emu, max(3, args.runs),
                                           calls=5 if args.quick else 10,
                                           cached_calls=2000 if args.quick else 20000)
        if not args.skip_vending:
            say("scenario 7: token vending")
            results["vending"] = run_vending(emu, quick=args.quick)
        if not args.skip_costs or args.with_1000:
            say("create costs")
            results["create_costs"] = create_costs.run_costs(
                emu, Path(tmp) / "costs", sizes=args.costs_size_list, runs=args.costs_runs,
                with_1000=args.with_1000, only_1000=args.skip_costs, parallel=args.parallel,
                skip_checkpoints=args.skip_checkpoints, runs_1000=args.runs_1000,
                scale_sizes=args.scale_sizes)
        if not args.skip_account_size:
            say("account size")
            results["account_size"] = account_size.run_account_size(
                Path(tmp) / "account-size", sizes=args.account_size_list,
                runs=args.account_size_runs, parallel=args.parallel)
        if not args.skip_native:
            results["native"] = native_bench.run_native(
                emu, Path(tmp) / "native", n=args.native_n, runs=args.native_runs,
                parallel=args.parallel)
        bench = StackBench(emu, Path(tmp) / "work", parallel=args.parallel)
        secrets = {"admin privateKey": str(emu.admin_credentials["privateKey"]),
                   **{f"{m} passphrase": p.passphrase for m, p in bench.projects.items()}}
        plan: list[tuple[int, int, tuple[str, ...]]] = [
            (run, n, OPERATIONS) for run in range(args.runs) for n in args.size_list]
        if args.with_500:
            wanted = {"create", "destroy", *args.ops_500.split(",")}
            ops_500 = tuple(op for op in OPERATIONS if op in wanted)
            plan += [(run, 500, ops_500) for run in range(args.runs_500)]
        for run, n, ops in plan:
            for mode in MODES:
                try:
                    out = bench.run_sequence(mode, n, run, measure_state=run == 0,
                                             operations=ops)
                except SequenceError as err:  # record it, go on with the rest
                    say(f"  FAILED: {err}")
                    failures.append({"mode": err.mode, "n": err.n, "run": run, "op": err.op,
                                     "after_seconds": err.seconds, "reason": err.reason})
                    continue
                for op in ops:
                    samples[mode][op].setdefault(n, []).append(out[op])
                if "state" in out:
                    state[mode][str(n)] = out["state"]
    meta["loadavg_end"] = list(os.getloadavg())
    results["config"] = {"sizes": args.size_list + ([500] if args.with_500 else []),
                         "runs": args.runs, "runs_500": args.runs_500 if args.with_500 else 0,
                         "parallel": args.parallel, "quick": args.quick}
    results["failures"] = failures
    results["stacks"] = aggregate(samples)
    results["state"] = state
    results["provider_pickle_bytes"] = pickle_sizes()
    results["scaling"] = scaling(results["stacks"])
    results["wall_seconds"] = time.perf_counter() - started
    results["targets"], results["row_targets"], results["target_n"] = targets(results)
    if results.get("create_costs"):
        results["targets"] += results["create_costs"]["targets"]
    if results.get("account_size"):
        results["targets"] += results["account_size"]["targets"]
    md = render(results, args.out)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    if results.get("create_costs"):
        create_costs.plot(results["create_costs"], args.out / "create_costs.png")
    (args.out / "latest.md").write_text(md)
    report.plot(results, args.out / "latest.png")
    hits = scan(secrets, roots=[args.out / f"latest.{ext}" for ext in ("json", "md")])
    if hits:  # never leave a secret in results: remove them and say where it was
        for ext in ("json", "md", "png"):
            (args.out / f"latest.{ext}").unlink(missing_ok=True)
        say(f"make bench: a secret reached the results ({hits[0]}); results removed")
        return 2
    if results.get("native"):
        native_bench.write(results["native"], args.out)  # native.{json,md}
    if results.get("vending"):
        write_vending(results["vending"], args.out)  # vending.{json,md}: counts and timings
        md += "\n" + vending_markdown(results["vending"])
    print(md)
    say(f"make bench: wrote {args.out}/latest.json, latest.md, latest.png in "
        f"{results['wall_seconds'] / 60:.1f} min")
    return 0


def render(results: dict[str, Any], out: Path) -> str:
    """latest.md: the targets table (its N=1000 rows from ``out``'s newest make bench-1000,
    stored in ``results["issue26"]``), then every section this run measured."""
    results["issue26"] = issue26.table(results, issue26.BENCH,
                                       issue26.load(out / "create_costs_n1000.json"))
    md = issue26.markdown(results["issue26"]) + "\n" + report.markdown(results)
    if results.get("create_costs"):
        md += "\n" + create_costs.markdown(results["create_costs"])
    if results.get("account_size"):
        md += "\n" + account_size.markdown(results["account_size"])
    if results.get("native"):
        md += "\n" + native_bench.markdown(results["native"])
    return md


if __name__ == "__main__":
    raise SystemExit(main())
