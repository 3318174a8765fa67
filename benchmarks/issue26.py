"""The targets against the floor + 1 call and the account size in one table, whichever
command measured them.

Why: ``make bench`` measures the N=50 create, the calls and the account-size scenario;
``make bench-1000`` the N=1000 commands. Each prints the whole list: the targets it measured
from its own run, the others from the other command's last results file (with its date), and
``NOT RUN`` (with the command that measures it) where neither has a figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .account_size import SIZES
from .create_costs import OP_NAMES, OPS_1000

BENCH, BENCH_1000 = "make bench", "make bench-1000"

#: (target id, what is asked, the command that measures it), in the order of performance.md
SPEC: list[tuple[str, str, str]] = [
    *[(f"n1000.{op}.{key}", f"N=1000, {OP_NAMES[op].split(' (')[0]}: {what}", BENCH_1000)
      for op in OPS_1000 if op != "refresh"
      for key, what in (("dynamic_vs_wire", "dynamic form <= 1.2x the floor + 1 call"),
                        ("native_vs_wire", "native form <= 1.2x the floor + 1 call"),
                        ("native_vs_dynamic", "native form <= 1.05x the dynamic form"))],
    ("n50.create_vs_plain", "N=50 service accounts, create <= 1.5x the plain floor", BENCH),
    ("n50.create_vs_wire_create", "N=50 service accounts, create <= 1.15x the floor + 1 "
     "create call", BENCH),
    ("calls_per_object", "calls per created object <= 1.1 (every case and N)", BENCH),
    ("refresh_gets", "refresh: one GET per resource (every case and N)", BENCH),
    ("noop_up_calls", "no-op up: 0 calls (beyond <= 1 token exchange)", BENCH),
    *[(f"account_size.{size}.{key}", f"up of 5 + 5 in an account holding {size:,} other "
       f"service accounts: <= 1.1x the {what} in an empty one", BENCH)
      for size in SIZES for key, what in (("calls", "calls"), ("seconds", "time"))],
]


def _rows_of(results: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every target row of a results file, computed again from its figures with today's limits
    (so a file written before a target existed still answers it)."""
    from . import account_size, create_costs
    from .run import targets as sequence_targets

    if not results:
        return []
    rows: list[dict[str, Any]] = []
    if "cases" in results:  # make bench-1000's file: the create costs alone
        rows += create_costs.targets(results)
    if results.get("create_costs"):
        rows += create_costs.targets(results["create_costs"])
    if results.get("account_size"):
        rows += account_size.targets(results["account_size"])
    if results.get("stacks"):
        rows += sequence_targets(results)[0]
    return rows


def load(path: Path) -> dict[str, Any] | None:
    """A results file of the other command, if there is one."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _when(results: dict[str, Any] | None) -> str:
    meta = (results or {}).get("meta") or {}
    code = (meta.get("code") or {}).get("commit")
    return f"{meta.get('date', 'an earlier run')}" + (f", code {code}" if code else "")


def table(this: dict[str, Any], this_cmd: str, other: dict[str, Any] | None
          ) -> list[dict[str, Any]]:
    """Every target of :data:`SPEC`: measured here, else in ``other``, else NOT RUN."""
    sources = [(this_cmd, "this run", _rows_of(this)),
               (BENCH_1000 if this_cmd == BENCH else BENCH, _when(other), _rows_of(other))]
    out = []
    for key, what, command in SPEC:
        found: list[dict[str, Any]] = []
        origin = ""
        for cmd, label, rows in sources:
            found = [r for r in rows if r.get("id") == key] if cmd == command else []
            if found:
                origin = label
                break
        if not found:
            out.append({"target": what, "result": "NOT RUN", "measured": f"run `{command}`",
                        "from": "-"})
            continue
        failed = [r for r in found if r["result"] != "PASS"]
        worst = failed[0] if failed else found[0]
        measured = worst["measured"] if len(found) == 1 else \
            f"{len(found) - len(failed)} of {len(found)} pass; " + (
                f"failing: {worst['name']}: {worst['measured']}" if failed
                else f"e.g. {worst['name']}: {worst['measured']}")
        out.append({"target": what, "result": "FAIL" if failed else "PASS",
                    "measured": measured, "from": origin})
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["## Targets: the floor + 1 call and the account size", "",
             "Every target, from this run where it measured it, else from the other "
             "command's last results file.", "",
             "| Target | Result | Measured | From |", "|---|---|---|---|"]
    lines += [f"| {r['target']} | **{r['result']}** | {r['measured']} | {r['from']} |"
              for r in rows]
    return "\n".join(lines) + "\n"
