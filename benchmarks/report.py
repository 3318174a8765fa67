"""Turn the raw results into targets (PASS/FAIL), the Markdown table and the PNG plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

OP_LABELS = {
    "create": "create (N accounts + N assignments)",
    "preview": "preview, unchanged stack",
    "noop_up": "no-op up",
    "refresh": "refresh",
    "update": "update display_name on all N",
    "destroy": "destroy",
}
SHORT_OPS = {
    "AuthenticationService_GetAuthToken": "token",
    "ServiceAccountService_CreateServiceAccount": "CreateSA",
    "ServiceAccountService_GetServiceAccount": "GetSA",
    "ServiceAccountService_UpdateServiceAccount": "UpdateSA",
    "ServiceAccountService_DeleteServiceAccount": "DeleteSA",
    "ServiceAccountService_ListServiceAccounts": "ListSAs",
    "ServiceAccountService_ListServiceAccountKeys": "ListSAKeys",
    "ServiceAccountService_CreateServiceAccountKey": "CreateSAKey",
    "RoleService_ListRoles": "ListRoles",
    "RoleService_AssignRole": "AssignRole",
    "RoleService_UnassignRole": "UnassignRole",
    "RoleService_ListMembersByRole": "ListMembersByRole",
    "RoleService_ListRolesOfMember": "ListRolesOfMember",
}


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _pairs_text(entry: dict[str, Any]) -> str:
    """``; RSA pairs 100/0 stock/inline`` per run, where the emulator handed out any."""
    stock = entry.get("keys_from_stock_each_run") or []
    inline = entry.get("keys_inline_each_run") or []
    if not any(stock) and not any(inline):
        return ""
    runs = ", ".join(f"{a}/{b}" for a, b in zip(stock, inline, strict=False))
    return f"; RSA pairs stock/inline per run: {runs}"


def calls_text(per_resource: dict[str, float], exchanges: float) -> str:
    """``CreateSA 0.50, AssignRole 0.50 (+1 token)`` - calls per Pulumi resource by operation."""
    parts = [f"{SHORT_OPS.get(op, op)} {v:.2f}" for op, v in sorted(per_resource.items())
             if op != "AuthenticationService_GetAuthToken" and v > 0]
    text = ", ".join(parts) if parts else "0"
    if exchanges:
        text += f" (+{exchanges:g} token)"
    return text


def target_rows(targets: list[dict[str, Any]]) -> list[str]:
    rows = ["| Target | Measured | Limit | Result |", "|---|---|---|---|"]
    for t in targets:
        rows.append(f"| {t['name']} | {t['measured']} | {t['limit']} | **{t['result']}** |")
    return rows


def markdown(results: dict[str, Any]) -> str:
    """The human-readable report: meta, the scenario table, tokens, state, targets."""
    meta = results["meta"]
    cfg = results["config"]
    code = meta.get("code") or {}
    dirty = " + local provider/emulator changes" if code.get("provider_or_emulator_modified") \
        else ""
    lines = [
        f"# make bench - {meta['date']}",
        "",
        f"Pulumi CLI {meta['pulumi_cli']}, Pulumi Python SDK {meta['pulumi_python_sdk']}, "
        f"Python {meta['python']}, skyflow SDK {meta['skyflow_python_sdk']}; "
        f"{meta['nproc']} CPUs ({meta['cpu_model']}); load average at start "
        f"{meta['loadavg_start'][0]:.1f}, at end {meta.get('loadavg_end', [0])[0]:.1f}; "
        f"code {code.get('commit') or 'not recorded'}{dirty}.",
        f"Sizes {cfg['sizes']}, {cfg['runs']} runs each (median, min, max), engine "
        f"--parallel {cfg['parallel'] or 'default (8)'}; total wall time "
        f"{results['wall_seconds'] / 60:.1f} min.",
        ("" if (meta.get("floor_shape") or {}).get("matches", True) else
         "**Warning: the floor's key lists differ from the provider's "
         f"({', '.join(meta['floor_shape']['differs'])}).** ") +
        "Other work shares this machine, so absolute times are noisy: the floor and Skyflow "
        "sequences are interleaved run by run, and the ratios within one run are what count.",
        "",
        "Stack: N service accounts, each with one VAULT_VIEWER RoleAssignment (2N Pulumi "
        "resources). Floor: the same shape of dynamic resources calling nothing. API calls are "
        "per Pulumi resource (2N), by operation, from the emulator's request log; token "
        "exchanges are per command.",
        "",
        "| Scenario | N | median s | min s | max s | floor median s | ratio to floor "
        "| API calls per resource | Target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    stacks = results["stacks"]
    for op in ("create", "preview", "noop_up", "refresh", "update", "destroy"):
        for n in sorted(stacks["skyflow"].get(op, {}), key=int):
            s = stacks["skyflow"][op][n]
            f = stacks["floor"][op].get(n)
            ratio = s["median"] / f["median"] if f else None
            tgt = results["row_targets"].get(f"{op}:{n}", "")
            lines.append(
                f"| {OP_LABELS[op]} | {n} | {_fmt(s['median'])} | {_fmt(s['min'])} | "
                f"{_fmt(s['max'])} | {_fmt(f['median'] if f else None)} | "
                f"{_fmt(ratio)}x | {calls_text(s['calls_per_resource'], s['token_exchanges'])}"
                f"{_pairs_text(s)} | {tgt} |")
    tok = results.get("tokens")
    if tok:
        st = tok["stats"]
        lines += [
            "",
            "## Tokens (scenario 6)",
            "",
            "| Path | median ms | min ms | max ms | ratio |",
            "|---|---|---|---|---|",
            f"| ours: generate_bearer_token, cold (sign + exchange) | "
            f"{st['ours_cold']['median'] * 1e3:.2f} | {st['ours_cold']['min'] * 1e3:.2f} | "
            f"{st['ours_cold']['max'] * 1e3:.2f} | {tok['ratio_cold_vs_sdk']:.2f}x SDK |",
            f"| Skyflow SDK: skyflow.service_account.generate_bearer_token, cold | "
            f"{st['sdk_cold']['median'] * 1e3:.2f} | {st['sdk_cold']['min'] * 1e3:.2f} | "
            f"{st['sdk_cold']['max'] * 1e3:.2f} | 1.00x |",
            f"| ours: first call in a fresh process | "
            f"{st['ours_first_call']['median'] * 1e3:.1f} | "
            f"{st['ours_first_call']['min'] * 1e3:.1f} | "
            f"{st['ours_first_call']['max'] * 1e3:.1f} | "
            f"{tok['ratio_first_call_vs_sdk']:.2f}x SDK |",
            f"| SDK: first call in a fresh process | "
            f"{st['sdk_first_call']['median'] * 1e3:.1f} | "
            f"{st['sdk_first_call']['min'] * 1e3:.1f} | "
            f"{st['sdk_first_call']['max'] * 1e3:.1f} | 1.00x |",
            f"| import time: ours / SDK | {st['ours_import']['median'] * 1e3:.0f} / "
            f"{st['sdk_import']['median'] * 1e3:.0f} | | | |",
            f"| ours: TokenProvider.get_token, cached | {st['cached']['median'] * 1e3:.5f} | "
            f"{st['cached']['min'] * 1e3:.5f} | {st['cached']['max'] * 1e3:.5f} | "
            f"{tok['cache_speedup']:.0f}x faster than cold |",
        ]
    state = results.get("state") or {}
    if state:
        lines += ["", "## State size (scenario 7)", "",
                  "| Mode | N | checkpoint bytes | per resource | `__provider` bytes per resource "
                  "(plaintext) |", "|---|---|---|---|---|"]
        for mode in ("floor", "skyflow"):
            for n, s in sorted((state.get(mode) or {}).items(), key=lambda kv: int(kv[0])):
                by_type = ", ".join(
                    f"{t}: {_fmt(v['provider_bytes_per_resource'], 0)}"
                    for t, v in sorted(s["by_type"].items()))
                lines.append(f"| {mode} | {n} | {s['checkpoint_bytes']} | "
                             f"{s['checkpoint_bytes_per_resource']:.0f} | "
                             f"{_fmt(s['provider_bytes_per_resource'], 0)} ({by_type}) |")
    scaling = results.get("scaling")
    if scaling:
        lines += ["", "## Scaling (create)", "",
                  "| Mode | seconds per resource pair, by N | least-squares slope s/N "
                  "| marginal s/N: 10->100 | 100->500 |", "|---|---|---|---|---|"]
        for mode, sc in scaling.items():
            per = ", ".join(f"N={n}: {v:.3f}" for n, v in sc["per_resource"].items())
            lines.append(f"| {mode} | {per} | {sc['slope']:.3f} | "
                         f"{_fmt(sc.get('marginal_10_100'), 3)} | "
                         f"{_fmt(sc.get('marginal_100_500'), 3)} |")
    if results.get("failures"):
        lines += ["", "## Failed commands", "", "| Mode | N | run | command | after s | reason |",
                  "|---|---|---|---|---|---|"]
        for f in results["failures"]:
            lines.append(f"| {f['mode']} | {f['n']} | {f['run']} | {f['op']} | "
                         f"{f['after_seconds']:.0f} | {f['reason']} |")
    lines += ["", f"## Targets (at N={results['target_n']})", ""]
    lines += target_rows(results["targets"])
    lines += ["", "The benchmark reports; it never fails the build. Plot: `latest.png`.", ""]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Time vs N per scenario (floor and Skyflow, median with min-max bars), Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = ("create", "preview", "noop_up", "refresh", "update", "destroy")
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, op in zip(axes.flat, ops, strict=True):
        for mode, style in (("floor", "o--"), ("skyflow", "s-")):
            data = results["stacks"][mode].get(op, {})
            ns = sorted(data, key=int)
            if not ns:
                continue
            xs = [int(n) for n in ns]
            med = [data[n]["median"] for n in ns]
            lo = [data[n]["median"] - data[n]["min"] for n in ns]
            hi = [data[n]["max"] - data[n]["median"] for n in ns]
            ax.errorbar(xs, med, yerr=[lo, hi], fmt=style, capsize=3,
                         label="engine floor" if mode == "floor" else "Skyflow provider")
        ax.set_title(OP_LABELS[op], fontsize=10)
        ax.set_xscale("log")
        ax.set_xlabel("N (service accounts; 2N resources)")
        ax.set_ylabel("seconds")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    meta = results["meta"]
    fig.suptitle(f"make bench {meta['date']} - Pulumi {meta['pulumi_cli']}, Python "
                 f"{meta['python']}, {meta['nproc']} CPUs (median, min-max of "
                 f"{results['config']['runs']} runs)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
