"""CPU per Management API call of each client layer, against the real emulator over HTTPS.

``python -m benchmarks.client_cpu [--calls 1000] [--runs 5] [--out DIR]``

Why: at N=1000 a refresh or a destroy is one call per resource, so what the client spends per
call is most of what our provider adds over the floor + 1 call (docs/performance.md, "The client
on http.client"). One thread sends the same authenticated GET through each layer in turn,
interleaved, ``--runs`` times, and reads the process CPU time around each batch:

* ``http.client``: the standard library on one kept-alive connection (the floor + 1 call's
  client, the cheapest a Python client can be);
* ``urllib3 PoolManager``: what ``http/pool.py`` sent through until 2026-12-07 (the same
  retry object and SSLContext);
* ``ApiPool``: our pool (``http/pool.py`` + ``http/direct.py``), headers given;
* ``ManagementClient``: the whole call as a provider makes it (token, headers, retries, error
  mapping, JSON).

Results: ``client_cpu.json`` / ``.md`` in ``--out`` (medians, and each layer's ratio to
``http.client`` per run).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import settings_from_config
from skyflow_provider.http.pool import ApiPool, to_timeout
from skyflow_provider.http.transport import make_retry, ssl_context_for
from tests.helpers.emulator_proc import EmulatorProcess

RESULTS = Path(__file__).resolve().parent / "results"
PATH = "/v1/serviceAccounts?limit=1"
LAYERS = ("http.client", "urllib3 PoolManager", "ApiPool", "ManagementClient")
WARM_UP = 50


def _layers(emu: EmulatorProcess) -> dict[str, Callable[[], None]]:
    env = {"SKYFLOW_ACCOUNT_ID": emu.account_id, "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle),
           "SKYFLOW_MANAGEMENT_URL": emu.url,
           "SKYFLOW_CREDENTIALS": emu.admin_credentials_path.read_text()}
    client = ManagementClient(settings_from_config(lambda _k: None, env))
    headers = {"Authorization": "Bearer " + client.tokens.get_token(),
               "X-Skyflow-Account-ID": emu.account_id, "Accept": "application/json"}
    context = ssl_context_for(str(emu.ca_bundle))
    parts = urlsplit(emu.url)
    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=context)
    manager = urllib3.PoolManager(ssl_context=context, cert_reqs="CERT_REQUIRED")
    pool = ApiPool(str(emu.ca_bundle))
    retry = make_retry(idempotent=True)
    url = emu.url + PATH

    def bare() -> None:
        conn.request("GET", PATH, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status

    def urllib3_manager() -> None:
        resp = manager.urlopen("GET", url, headers=headers, retries=retry, redirect=False,
                               timeout=to_timeout(None), preload_content=True)
        assert resp.status == 200, resp.status

    def api_pool() -> None:
        assert pool.send("GET", url, headers=headers, retry=retry).status_code == 200

    def management_client() -> None:
        client.request("GET", "/v1/serviceAccounts", params={"limit": "1"})

    return dict(zip(LAYERS, (bare, urllib3_manager, api_pool, management_client), strict=True))


def _cpu_ms(fn: Callable[[], None], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        fn()
    return 1000 * (time.process_time() - started) / calls


def measure(calls: int, runs: int) -> dict[str, Any]:
    """{layer: [ms per call, one per run]}, the layers interleaved within each run."""
    samples: dict[str, list[float]] = {name: [] for name in LAYERS}
    with EmulatorProcess() as emu:
        layers = _layers(emu)
        for fn in layers.values():
            for _ in range(WARM_UP):
                fn()
        for _ in range(runs):
            for name, fn in layers.items():
                samples[name].append(_cpu_ms(fn, calls))
    return {"calls": calls, "runs": runs, "ms_per_call": samples}


def report(data: dict[str, Any]) -> str:
    samples = data["ms_per_call"]
    base = samples["http.client"]
    lines = [f"# Client CPU per call ({data['calls']} GETs per layer and run, {data['runs']} "
             "interleaved runs, one thread, the emulator over HTTPS)", "",
             "| Layer | ms of CPU per call, median (runs) | vs http.client, median of the "
             "per-run ratios |", "|---|---|---|"]
    for name in LAYERS:
        ratios = [s / b for s, b in zip(samples[name], base, strict=True)]
        runs = ", ".join(f"{s:.3f}" for s in samples[name])
        lines.append(f"| {name} | {statistics.median(samples[name]):.3f} ({runs}) | "
                     f"{statistics.median(ratios):.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.client_cpu", description=__doc__)
    ap.add_argument("--calls", type=int, default=1000, help="GETs per layer and run")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    data = measure(args.calls, args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "client_cpu.json").write_text(json.dumps(data, indent=2) + "\n")
    text = report(data)
    (args.out / "client_cpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
