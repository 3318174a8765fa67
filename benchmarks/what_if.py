"""``python -m benchmarks.what_if``: the gain of each proposed fix, measured in isolation.

The fixes live in code other people own (docs/performance.md names file and function); this
script measures them without touching it, against a fresh emulator, on the same machine:

* TLS: per-connection CA-bundle load (requests hands urllib3 a bundle *path*, so every new
  connection builds an SSLContext and parses ~150 certificates) vs one SSLContext built once.
  The emulator closes every connection, so each API call is a new connection.
* RSA: the credentials' private key is parsed twice per cold token (validation, then signing)
  vs once, vs once without cryptography's RSA consistency check.
* Pickling: how many dynamic resources one program can declare before
  ``pulumi.dynamic.serialize_provider`` raises RecursionError (it never restores the
  ``pickle._Pickler._batch_setitems`` wrapper it installs, so each call nests one more), for
  our provider as it is and with ``__reduce__`` returning ``(type(self), ())``.
"""

from __future__ import annotations

import argparse
import json
import ssl
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from tests.helpers.emulator_proc import EmulatorProcess

RESULTS = Path(__file__).parent / "results"

# Fresh interpreter: serialize the provider until it fails (or LIMIT); print the count and size.
_PICKLE_PROBE = r"""
import sys
from pulumi.dynamic.dynamic import serialize_provider
from skyflow_provider.resources.service_account import ServiceAccountProvider as P
if sys.argv[1] == "reduce":
    P.__reduce__ = lambda self: (type(self), ())
size = len(serialize_provider(P()))
for i in range(int(sys.argv[2])):
    try:
        serialize_provider(P())
    except RecursionError:
        print(i, size)
        break
else:
    print(-1, size)
"""


def pickle_chain(limit: int = 3000) -> dict[str, Any]:
    """Serializations before RecursionError (-1: none within ``limit``), as is vs __reduce__."""
    import subprocess
    import sys

    out: dict[str, Any] = {}
    for variant in ("as_is", "reduce"):
        proc = subprocess.run([sys.executable, "-c", _PICKLE_PROBE, variant, str(limit)],
                              capture_output=True, text=True, check=True)
        fails_at, size = (int(x) for x in proc.stdout.split())
        out[variant] = {"fails_at_serialization": fails_at, "provider_b64_bytes": size}
    return out


class SharedContextAdapter(HTTPAdapter):
    """The proposed transport: one SSLContext per trust setting, reused by every connection."""

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        conn.cert_reqs = "CERT_REQUIRED"  # trust comes from the context; never load files


def _ms(fn: Callable[[], Any], calls: int, repeats: int) -> dict[str, float]:
    per: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        per.append((time.perf_counter() - started) / calls * 1000)
    return {"median_ms": statistics.median(per), "min_ms": min(per), "max_ms": max(per)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.what_if", description=__doc__)
    p.add_argument("--calls", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    from cryptography.hazmat.primitives import serialization

    from skyflow_provider.api.client import ManagementClient
    from skyflow_provider.api.settings import settings_from_config
    from skyflow_provider.auth.credentials import load_credentials
    from skyflow_provider.auth.tokens import sign_assertion
    from skyflow_provider.http import transport as http_session

    out: dict[str, Any] = {"pickle_chain": pickle_chain()}
    with tempfile.TemporaryDirectory(prefix="skyflow-whatif-") as tmp, \
            EmulatorProcess(Path(tmp) / "emulator") as emu:
        env = {"skyflow:managementUrl": emu.url, "skyflow:accountId": emu.account_id,
               "skyflow:credentialsFile": str(emu.admin_credentials_path),
               "skyflow:caBundle": emu.ca_bundle}
        settings = settings_from_config(env.get)
        client = ManagementClient(settings)
        sa_id = emu.admin_credentials["clientID"]
        client.get_service_account(sa_id)  # token exchange outside the timing
        bundle = http_session.resolve_verify(emu.ca_bundle)
        assert isinstance(bundle, str)
        context = ssl.create_default_context(cafile=bundle)
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE in the env would override the context
        session.mount("https://", SharedContextAdapter(context))
        headers = {"Authorization": f"Bearer {client.tokens.get_token()}",
                   "X-Skyflow-Account-ID": emu.account_id}
        url = f"{emu.url}/v1/serviceAccounts/{sa_id}"

        def shared_get() -> None:
            session.get(url, headers=headers, timeout=30).raise_for_status()

        # Interleaved, so load from other work hits both alike.
        cur: list[dict[str, float]] = []
        new: list[dict[str, float]] = []
        for _ in range(args.repeats):
            cur.append(_ms(lambda: client.get_service_account(sa_id), args.calls, 1))
            new.append(_ms(shared_get, args.calls, 1))
        for key, runs in (("get_sa_current", cur), ("get_sa_shared_context", new)):
            vals = [r["median_ms"] for r in runs]
            out[key] = {"median_ms": statistics.median(vals), "min_ms": min(vals),
                        "max_ms": max(vals)}
        out["ca_bundle_load"] = _ms(
            lambda: ssl.create_default_context().load_verify_locations(bundle), 10,
            args.repeats)
        pem = json.loads(emu.admin_credentials_path.read_text())["privateKey"].encode()
        creds = load_credentials(str(emu.admin_credentials_path))
        out["token_sign_current"] = _ms(
            lambda: sign_assertion(load_credentials(str(emu.admin_credentials_path))), 10,
            args.repeats)
        out["token_sign_prevalidated"] = _ms(lambda: sign_assertion(creds), 10, args.repeats)
        out["rsa_parse_checked"] = _ms(
            lambda: serialization.load_pem_private_key(pem, None), 10, args.repeats)
        out["rsa_parse_unchecked"] = _ms(
            lambda: serialization.load_pem_private_key(
                pem, None, unsafe_skip_rsa_key_validation=True), 10, args.repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "what_if.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print("pickle_chain", json.dumps(out["pickle_chain"]))
    for key, val in out.items():
        if key == "pickle_chain":
            continue
        print(f"{key:28s} median {val['median_ms']:8.2f} ms  (min {val['min_ms']:.2f}, "
              f"max {val['max_ms']:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
