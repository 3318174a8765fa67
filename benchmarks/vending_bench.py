"""Scenario 7: the token-vending backend vs the two patterns people build instead.

Three WSGI apps on the same waitress server (loopback, same threads), one run:

* ``ours``: ``skyflow_provider.vending`` - session JWT verified, role allow-list, CORS, rate
  limits, tokens cached per (user, role), single-flight;
* ``shared``: the official skyflow-js sample's pattern - no caller authentication, one token
  for everyone, re-minted when expired (``TokenProvider`` with no margin);
* ``per_request``: session verified, then a fresh token exchange on every request (what a
  vault-plugin-style backend without a cache does).

Load: a child process (so clients and server do not share a GIL) runs 50 concurrent
keep-alive clients, one user each, with bounded loops (a request count and a deadline).
Figures: requests per second, p50/p99 latency, and token exchanges counted in the emulator's
request log. Exchanges per user per hour come from a simulated hour on an injected clock (each
of 50 users asks once a minute) through the same vendor code, with the minter counting.
No token, session or key is ever written: only timings and counts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .common import TOKEN_OPERATION, RequestLog, count_operations

CLIENTS = 50
ISSUER, AUDIENCE = "https://bench.example.test/", "skyflow-token-bench"
RESULTS = Path(__file__).parent / "results"


# --------------------------------------------------------------------------- the three apps


def _json_reply(start_response: Callable[..., Any], status: str, body: dict[str, Any]
                ) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data))), ("Cache-Control", "no-store")])
    return [data]


def shared_token_app(provider: Any) -> Callable[..., Iterable[bytes]]:
    """The official sample: any caller gets the one global token (no auth, no ctx)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return _json_reply(start_response, "200 OK", {"accessToken": provider.get_token()})

    return app


def per_request_app(verifier: Any, creds: Any, role_id: str, ca_bundle: str | None
                    ) -> Callable[..., Iterable[bytes]]:
    """Verify the session, then mint a new token for every request (no cache)."""
    from skyflow_provider.auth.tokens import get_bearer_token
    from skyflow_provider.vending import SessionError

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            caller = verifier(environ)
        except SessionError:
            return _json_reply(start_response, "401 Unauthorized", {"error": {}})
        token, _ = get_bearer_token(creds, {"ctx": caller.ctx, "role_ids": [role_id]},
                                    ca_bundle=ca_bundle)
        return _json_reply(start_response, "200 OK", {"accessToken": token})

    return app


# --------------------------------------------------------------------------- load (child)


def load(url: str, sessions: list[str], requests_per_client: int, deadline_s: float,
         body: bytes) -> dict[str, Any]:
    """Run the clients (this is the child process); return latencies and counts."""
    host_port = url.split("://", 1)[1]
    host, port = host_port.rsplit(":", 1)
    latencies: list[list[float]] = [[] for _ in sessions]
    errors = [0] * len(sessions)
    barrier = threading.Barrier(len(sessions) + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {"Authorization": f"Bearer {sessions[i]}",
                   "Content-Type": "application/json"}
        barrier.wait()
        for _ in range(requests_per_client):
            if time.perf_counter() > stop_at[0]:
                break
            t0 = time.perf_counter()
            conn.request("POST", "/v1/token", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            latencies[i].append(time.perf_counter() - t0)
            if resp.status != 200:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + deadline_s
    started = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    flat = sorted(x for lat in latencies for x in lat)
    n = len(flat)
    return {"requests": n, "errors": sum(errors), "wall_s": wall,
            "rps": n / wall if wall else 0.0,
            "p50_ms": statistics.median(flat) * 1000 if flat else None,
            "p99_ms": flat[min(n - 1, int(n * 0.99))] * 1000 if flat else None}


def _run_load(url: str, sessions: list[str], requests_per_client: int, deadline_s: float,
              body: dict[str, Any] | None, tmp: Path) -> dict[str, Any]:
    spec = tmp / f"load-{uuid.uuid4().hex[:8]}.json"
    spec.write_text(json.dumps({"url": url, "sessions": sessions,
                                "requests_per_client": requests_per_client,
                                "deadline_s": deadline_s, "body": body}))
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.vending_bench", "--load",
                               str(spec)], capture_output=True, text=True, check=True,
                              cwd=str(Path(__file__).resolve().parents[1]),
                              timeout=deadline_s + 120)
    finally:
        spec.unlink(missing_ok=True)  # it holds session tokens: never left behind
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- simulated hour


def simulated_hour(users: int = CLIENTS, every_s: float = 60.0) -> dict[str, float]:
    """Token exchanges per user per hour when each user asks once a minute for an hour.

    The same code paths (``TokenVendor``, ``TokenProvider``) on an injected clock; only the
    exchange is a counter that returns tokens living 3600 s, like Skyflow's.
    """
    from skyflow_provider.vending import TokenVendor

    now = [1_000_000.0]
    key = "k" * 32
    counts = {"ours": 0, "shared": 0, "per_request": 0}

    def mint(kind: str) -> str:
        counts[kind] += 1
        return jwt.encode({"exp": int(now[0] + 3600), "n": counts[kind]}, key, algorithm="HS256")

    ours = TokenVendor(minter=lambda roles, ctx: (mint("ours"), "Bearer"), clock=lambda: now[0])
    shared: dict[str, Any] = {"token": None, "exp": 0.0}
    steps = int(3600 / every_s)
    for _ in range(steps):
        for u in range(users):
            ours.get(["role1"], f"user{u}")
            if shared["token"] is None or now[0] >= shared["exp"]:  # sample's isExpired
                shared["token"] = mint("shared")
                shared["exp"] = now[0] + 3600
            mint("per_request")
        now[0] += every_s
    return {k: v / users for k, v in counts.items()}


# --------------------------------------------------------------------------- the scenario


def _issuer(tmp: Path) -> tuple[Any, str, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = uuid.uuid4().hex[:12]
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, alg="RS256", use="sig")
    path = tmp / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return key, kid, path


def run_vending(emu: Any, *, quick: bool = False, clients: int = CLIENTS) -> dict[str, Any]:
    """All three patterns against ``emu`` (an ``EmulatorProcess``); about 30-50 s."""
    from skyflow_provider.api.client import ManagementClient
    from skyflow_provider.api.settings import settings_from_config
    from skyflow_provider.auth.credentials import load_credentials
    from skyflow_provider.auth.tokens import TokenProvider
    from skyflow_provider.vending import (
        CorsPolicy,
        JwtSessionVerifier,
        Rate,
        RateLimiter,
        RoleCatalog,
        TokenVendor,
        VendingApp,
        VendingConfig,
        VendingServer,
    )

    logging.getLogger("skyflow_provider.vending").setLevel(logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # 50 clients > 8 threads
    ca = emu.ca_bundle
    creds = load_credentials(emu.admin_credentials)
    settings = settings_from_config(lambda _k: None, {
        "SKYFLOW_ACCOUNT_ID": emu.account_id,
        "SKYFLOW_CREDENTIALS_FILE": str(emu.admin_credentials_path),
        "SKYFLOW_CA_BUNDLE": str(ca)})
    role_id = ManagementClient(settings).list_member_roles(creds.client_id)[0]["role"]["ID"]
    log = RequestLog(emu.data_dir / "requests.jsonl")
    cached_requests = 60 if quick else 200
    mint_requests = 3 if quick else 6
    out: dict[str, Any] = {"clients": clients, "loopback": True, "patterns": {}}
    with tempfile.TemporaryDirectory(prefix="skyflow-vending-bench-") as tmp_name:
        tmp = Path(tmp_name)
        key, kid, jwks = _issuer(tmp)
        now = int(time.time())
        sessions = [jwt.encode({"sub": f"user{i}", "iss": ISSUER, "aud": AUDIENCE,
                                "iat": now, "exp": now + 3600}, key, algorithm="RS256",
                               headers={"kid": kid}) for i in range(clients)]
        verifier = JwtSessionVerifier(str(jwks), issuer=ISSUER, audience=AUDIENCE)
        high = Rate.parse("1000000/min")
        ours = VendingApp(
            TokenVendor(creds, ca_bundle=ca), verifier,
            VendingConfig(roles=RoleCatalog({"bench": role_id}), cors=CorsPolicy(),
                          identity_limit=RateLimiter(high), address_limit=RateLimiter(high)))
        apps: dict[str, tuple[Callable[..., Iterable[bytes]], int, float]] = {
            "shared": (shared_token_app(TokenProvider(creds, ca_bundle=ca, refresh_margin=0)),
                       cached_requests, 12.0),
            "ours": (ours, cached_requests, 12.0),
            "per_request": (per_request_app(verifier, creds, role_id, ca), mint_requests, 15.0),
        }
        for name, (app, n, deadline) in apps.items():
            server = VendingServer(app, "127.0.0.1", 0)
            server.start_in_thread()
            try:
                log.mark()
                # warm-up: every user's first token (ours), the global token (shared)
                warm = _run_load(server.url, sessions, 1, 30.0, None, tmp)
                warm_exchanges = count_operations(log.since_mark())[TOKEN_OPERATION]
                stats = _run_load(server.url, sessions, n, deadline, None, tmp)
                stats["exchanges"] = count_operations(log.since_mark())[TOKEN_OPERATION]
                stats["warmup_exchanges"] = warm_exchanges
                stats["warmup_errors"] = warm["errors"]
                out["patterns"][name] = stats
            finally:
                server.stop()
                server.wait_stopped(15)
    hour = simulated_hour(clients)
    for name, per_user in hour.items():
        out["patterns"][name]["exchanges_per_user_per_hour"] = per_user
    p = out["patterns"]
    out["ratios"] = {
        "rps_ours_vs_shared": p["ours"]["rps"] / p["shared"]["rps"],
        "rps_ours_vs_per_request": p["ours"]["rps"] / p["per_request"]["rps"],
        "p99_ours_vs_per_request": p["ours"]["p99_ms"] / p["per_request"]["p99_ms"],
        "exchanges_per_user_hour_per_request_vs_ours":
            p["per_request"]["exchanges_per_user_per_hour"]
            / p["ours"]["exchanges_per_user_per_hour"],
    }
    return out


def markdown(res: dict[str, Any]) -> str:
    """The scenario's table (also appended to the bench report)."""
    labels = {"ours": "ours (per user + role, cached, authenticated)",
              "shared": "official sample (one shared token, no auth)",
              "per_request": "mint per request (authenticated, no cache)"}
    rows = ["## Scenario 7: token vending (`skyflow-token serve`), "
            f"{res['clients']} concurrent clients on loopback", "",
            "| pattern | requests | req/s | p50 ms | p99 ms | exchanges during load "
            "| exchanges / user / hour |", "|---|---|---|---|---|---|---|"]
    for name in ("ours", "shared", "per_request"):
        s = res["patterns"][name]
        rows.append(f"| {labels[name]} | {s['requests']} | {s['rps']:.0f} | "
                    f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['exchanges']} | "
                    f"{s['exchanges_per_user_per_hour']:.2f} |")
    r = res["ratios"]
    rows += ["", f"ours vs shared token: {r['rps_ours_vs_shared']:.2f}x the requests/s; "
             f"vs mint-per-request: {r['rps_ours_vs_per_request']:.1f}x the requests/s, "
             f"p99 {r['p99_ours_vs_per_request']:.2f}x, "
             f"{r['exchanges_per_user_hour_per_request_vs_ours']:.0f}x fewer exchanges per "
             "user per hour. Exchanges during load are from the emulator's request log (after "
             "a warm-up request per client); per user per hour from a simulated hour (each "
             "user asks once a minute) on an injected clock.", ""]
    return "\n".join(rows)


def write_results(res: dict[str, Any], out_dir: Path = RESULTS) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vending.json").write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    (out_dir / "vending.md").write_text(markdown(res))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.vending_bench", description=__doc__)
    p.add_argument("--load", metavar="SPEC", help=argparse.SUPPRESS)  # the child's job
    p.add_argument("--quick", action="store_true", help="fewer requests per client")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.load:
        spec = json.loads(Path(args.load).read_text())
        body = json.dumps(spec["body"]).encode() if spec["body"] else b""
        print(json.dumps(load(spec["url"], spec["sessions"], spec["requests_per_client"],
                              spec["deadline_s"], body)))
        return 0
    from tests.helpers.emulator_proc import EmulatorProcess

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skyflow-bench-") as tmp, \
            EmulatorProcess(Path(tmp) / "emulator") as emu:
        res = run_vending(emu, quick=args.quick)
    res["wall_seconds"] = time.perf_counter() - started
    res["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    res["nproc"] = os.cpu_count()
    write_results(res, args.out)
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
