"""Scenario 6: bearer tokens - ours vs Skyflow's official Python SDK, cold and cached.

Both libraries sign an assertion with the emulator's admin credentials and exchange it at the
same emulator. Both must trust the emulator's private CA: ours through ``ca_bundle``, the SDK
(httpx) through ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``, set only for this scenario.
No token is ever printed or stored: only timings and counts.

"Cold" = no cached token (sign + exchange) in a warm process, the way a long-lived CI job or a
provider process calls it; "first call" = the first call in a fresh interpreter (imports and
the TLS handshake included), measured in child processes; "cached" = ``TokenProvider.get_token``
after its first exchange.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.helpers.emulator_proc import EmulatorProcess

from .common import TOKEN_OPERATION, RequestLog, count_operations, summarize

# Child-process probe: prints only timings (never the token).
_FIRST_CALL = r"""
import json, sys, time
t0 = time.perf_counter()
if sys.argv[1] == "ours":
    from skyflow_provider.auth.tokens import generate_bearer_token
    kwargs = {"ca_bundle": sys.argv[3]}
else:
    from skyflow.service_account import generate_bearer_token
    kwargs = {}
t1 = time.perf_counter()
token, kind = generate_bearer_token(sys.argv[2], **kwargs)
t2 = time.perf_counter()
assert token and kind
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1}))
"""


@contextmanager
def trusting(ca_bundle: str | None) -> Iterator[None]:
    """Make httpx/requests trust the emulator CA for the duration (the SDK has no CA option)."""
    keys = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    saved = {k: os.environ.get(k) for k in keys}
    if ca_bundle:
        for k in keys:
            os.environ[k] = ca_bundle
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    """Mean seconds per call over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def run_tokens(emu: EmulatorProcess, runs: int, *, calls: int = 20,
               cached_calls: int = 20000) -> dict[str, Any]:
    """Median over ``runs`` of the per-call time of each path, interleaved run by run."""
    from skyflow.service_account import generate_bearer_token as sdk_generate

    from skyflow_provider.auth.credentials import load_credentials
    from skyflow_provider.auth.tokens import TokenProvider, generate_bearer_token

    path = str(emu.admin_credentials_path)
    ca = emu.ca_bundle
    log = RequestLog(emu.data_dir / "requests.jsonl")
    samples: dict[str, list[float]] = {"ours_cold": [], "sdk_cold": [], "cached": [],
                                       "ours_first_call": [], "sdk_first_call": [],
                                       "ours_import": [], "sdk_import": []}
    exchanges: dict[str, int] = {}
    with trusting(ca):
        # Warm-up: imports, connection pools, key parsing caches - for both alike.
        generate_bearer_token(path, ca_bundle=ca)
        sdk_generate(path)
        for _ in range(runs):
            log.mark()
            samples["ours_cold"].append(
                _per_call(lambda: generate_bearer_token(path, ca_bundle=ca), calls))
            exchanges["ours_cold"] = count_operations(log.since_mark())[TOKEN_OPERATION]
            samples["sdk_cold"].append(_per_call(lambda: sdk_generate(path), calls))
            exchanges["sdk_cold"] = count_operations(log.since_mark())[TOKEN_OPERATION]
            provider = TokenProvider(load_credentials(path), ca_bundle=ca)
            provider.get_token()
            samples["cached"].append(_per_call(provider.get_token, cached_calls))
            exchanges["cached"] = provider.exchanges
            for who in ("ours", "sdk"):
                probe = subprocess.run(
                    [sys.executable, "-c", _FIRST_CALL, who, path, ca or ""],
                    capture_output=True, text=True, env=dict(os.environ), check=True,
                )
                data = json.loads(probe.stdout.strip().splitlines()[-1])
                samples[f"{who}_first_call"].append(data["first_call_s"])
                samples[f"{who}_import"].append(data["import_s"])
            log.since_mark()
    stats = {k: summarize(v) for k, v in samples.items()}
    ours, sdk, cached = (stats[k]["median"] for k in ("ours_cold", "sdk_cold", "cached"))
    return {
        "calls_per_run": calls,
        "cached_calls_per_run": cached_calls,
        "stats": stats,
        "exchanges_per_run": exchanges,
        "ratio_cold_vs_sdk": ours / sdk,
        "ratio_first_call_vs_sdk": stats["ours_first_call"]["median"]
        / stats["sdk_first_call"]["median"],
        "cache_speedup": ours / cached,
    }
