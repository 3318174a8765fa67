"""The account-size scenario: the same small ``up`` in an empty Skyflow account and in
accounts that already hold 1,000 and 10,000 other service accounts.

Why: an ``up`` should cost what its work costs, not what the account holds. A team's stack of
5 service accounts + 5 role assignments is created in one emulator that holds only the admin,
and in emulators holding ``sizes`` other service accounts (other teams' accounts), each made
**directly through the API** (``POST /v1/serviceAccounts``, 8 at a time, API-key accounts so the
emulator generates no RSA pair; not through a store seeding route, so they are what any client
sees). The emulators run side by side and each run visits them in turn (interleaved), so a burst
of load hits every size alike. Per size: the up's Management API calls (the token exchange
apart) and its wall time, each as a ratio to the empty account's in the same run; the destroy's
calls are reported too. Target: at most 1.1x in calls and in time.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from tests.helpers.emulator_proc import EmulatorProcess

from .common import TOKEN_OPERATION

SIZES = (1000, 10000)
PAIRS = 5
RUNS = 3
LIMIT = 1.1
CASE = "accounts + role assignments"


def seed(emu: EmulatorProcess, count: int, prefix: str = "other-team",
         threads: int = 8) -> float:
    """Make ``count`` API-key service accounts through the API; seconds it took."""
    local = threading.local()
    headers = emu.headers()

    def one(i: int) -> None:
        session: requests.Session | None = getattr(local, "session", None)
        if session is None:
            session = local.session = emu.session()
        r = session.post(emu.url + "/v1/serviceAccounts", headers=headers, timeout=120, json={
            "serviceAccount": {"name": f"{prefix}-{i:05d}", "displayName": f"{prefix} {i}",
                               "description": "another team's account"},
            "apiKeyEnabled": True})
        r.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(one, i) for i in range(count)]:
            future.result()
    return time.perf_counter() - started


def _calls(entry: dict[str, Any]) -> int:
    return sum(v for k, v in entry["calls"].items() if k != TOKEN_OPERATION)


def run_account_size(work: Path, *, sizes: tuple[int, ...] = SIZES, runs: int = RUNS,
                     parallel: int | None = None) -> dict[str, Any]:
    """The scenario end to end: one emulator per size (0 and ``sizes``), seeded through the
    API, then ``runs`` interleaved up + destroy of the small stack on each."""
    from .create_costs import Runner, figures

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    labels = (0, *sizes)
    data: dict[str, Any] = {"sizes": list(sizes), "runs": runs, "pairs": PAIRS, "seed": {},
                            "samples": {str(s): [] for s in labels}}
    with ExitStack() as stack:
        runners = {}
        for size in labels:
            emu = stack.enter_context(EmulatorProcess(
                work / f"emulator-{size}", extra_args=["--key-stock", str(2 * PAIRS)]))
            if size:
                seconds = seed(emu, size)
                data["seed"][str(size)] = {"seconds": seconds, "through": "API"}
                say(f"account size: {size} other service accounts made through the API in "
                    f"{seconds:.1f} s")
            runners[size] = Runner(emu, work / f"size-{size}", parallel)
        for run in range(runs):
            for size in labels:
                out = runners[size].run(CASE, PAIRS, run, ("create", "destroy"))
                data["samples"][str(size)].append(figures(CASE, PAIRS, out))
    data["targets"] = targets(data)
    return data


def ratios(data: dict[str, Any], size: int, op: str, key: str) -> list[float]:
    """``size``'s figure / the empty account's, one per run."""
    out = []
    for big, empty in zip(data["samples"][str(size)], data["samples"]["0"], strict=True):
        a, b = (_calls(big[op]), _calls(empty[op])) if key == "calls" else \
            (big[op][key], empty[op][key])
        out.append(a / b if b else float("inf"))
    return out


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    empty = data["samples"]["0"]
    base_calls = statistics.median(_calls(r["create"]) for r in empty)
    base_s = statistics.median(r["create"]["seconds"] for r in empty)
    for size in data["sizes"]:
        rs = data["samples"][str(size)]
        calls = statistics.median(_calls(r["create"]) for r in rs)
        seconds = statistics.median(r["create"]["seconds"] for r in rs)
        destroy = statistics.median(_calls(r["destroy"]) for r in rs)
        share = statistics.median(r["create"]["emulator_share"] for r in rs)
        for key, what, measured in (
                ("calls", "Management API calls", f"{calls:.0f} vs {base_calls:.0f} calls "
                 f"(destroy {destroy:.0f})"),
                ("seconds", "time", f"{seconds:.2f} vs {base_s:.2f} s, emulator share "
                 f"{100 * share:.0f}%")):
            rr = ratios(data, size, "create", key)
            mid = statistics.median(rr)
            rows.append({
                "name": f"up of {data['pairs']} accounts + {data['pairs']} assignments in an "
                        f"account holding {size:,} other service accounts vs an empty one: "
                        f"{what}",
                "measured": f"{mid:.2f}x ({measured}; runs "
                            f"{', '.join(f'{x:.2f}x' for x in rr)})",
                "limit": f"<= {LIMIT}x", "result": "PASS" if mid <= LIMIT else "FAIL",
                "id": f"account_size.{size}.{key}"})
    return rows


def markdown(data: dict[str, Any]) -> str:
    lines = ["## Account size", "",
             f"`pulumi up` (then destroy) of {data['pairs']} service accounts + {data['pairs']} "
             "VAULT_VIEWER role assignments, in an emulator holding only the admin and in "
             "emulators holding other service accounts made directly through the API "
             f"(API-key accounts, 8 at a time); {data['runs']} interleaved run(s), medians. "
             "Calls exclude the token exchange.", "",
             "| Other service accounts | made in s | up s | up calls | destroy calls | "
             "emulator share (up) |", "|---|---|---|---|---|---|"]
    for size in (0, *data["sizes"]):
        rs = data["samples"][str(size)]
        made = data["seed"].get(str(size), {}).get("seconds")
        lines.append(
            f"| {size:,} | {f'{made:.1f}' if made is not None else '-'} | "
            f"{statistics.median(r['create']['seconds'] for r in rs):.2f} | "
            f"{statistics.median(_calls(r['create']) for r in rs):.0f} | "
            f"{statistics.median(_calls(r['destroy']) for r in rs):.0f} | "
            f"{100 * statistics.median(r['create']['emulator_share'] for r in rs):.0f}% |")
    lines += ["", "| Target | Measured | Limit | Result |", "|---|---|---|---|"]
    lines += [f"| {t['name']} | {t['measured']} | {t['limit']} | **{t['result']}** |"
              for t in data["targets"]]
    return "\n".join(lines) + "\n"
