"""Process setup: data dir, TLS, bootstrap, the threaded HTTP(S) server, the ready line."""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import logging
import os
import signal
import ssl
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from werkzeug.serving import BaseWSGIServer, make_server

from . import bootstrap
from .app import App
from .auth import ACCESS_TOKEN_TTL, TokenIssuer
from .errors import ApiError
from .faults import FaultConfig, Faults
from .jwks import JwksCache
from .keepalive import KeepAliveHandler
from .keystock import DEFAULT_KEY_STOCK, KeyStock
from .requestlog import RequestLog
from .state import State
from .store import Store
from .tls import server_context

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="skyflow-emulator", description="Local emulator of Skyflow's Management API",
        epilog="`skyflow-emulator env --data-dir DIR` prints the SKYFLOW_* variables of the "
               "running emulator's account: eval \"$(skyflow-emulator env --data-dir DIR)\"")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--data-dir", default=os.environ.get("SKYFLOW_EMULATOR_DATA_DIR",
                                                        ".skyflow-emulator"))
    p.add_argument("--insecure-http", action="store_true",
                   help="serve plain http (loopback hosts only)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow this browser origin on the Data API (repeatable; default none)")
    p.add_argument("--access-token-ttl", type=int, default=ACCESS_TOKEN_TTL, metavar="SECONDS",
                   help="lifetime of issued bearer tokens (Skyflow: 3600); short values let "
                        "tests see clients ask again after expiry")
    p.add_argument("--key-stock", type=int, default=DEFAULT_KEY_STOCK, metavar="N",
                   help="RSA key pairs kept ready by a nice-19 worker process, so a JWT create "
                        "takes a fresh pair instead of generating one (each pair is used "
                        f"once; 0 = off, every pair generated inline; default "
                        f"{DEFAULT_KEY_STOCK}). GET /_emulator/keys shows the stock")
    p.add_argument("--trust-ca", action="append", default=[], metavar="FILE",
                   help="also trust this CA (PEM) when fetching an OIDC issuer's keys for the "
                   "STS exchange (repeatable; e.g. a test issuer's private CA)")
    f = p.add_argument_group("faults (also SKYFLOW_EMULATOR_FAULTS as JSON)")
    f.add_argument("--latency-ms", type=float)
    f.add_argument("--latency-jitter-ms", type=float)
    f.add_argument("--rate-429", type=float)
    f.add_argument("--retry-after", type=int)
    f.add_argument("--rate-500", type=float)
    f.add_argument("--rate-503", type=float)
    f.add_argument("--rate-drop", type=float,
                   help="fraction of successful writes committed and then dropped")
    f.add_argument("--fault-seed", type=int)
    return p.parse_args(argv)


def fault_config(args: argparse.Namespace) -> FaultConfig:
    base = FaultConfig.from_env()
    given = {k: getattr(args, k) for k in ("latency_ms", "latency_jitter_ms", "rate_429",
                                           "retry_after", "rate_500", "rate_503", "rate_drop")
             if getattr(args, k) is not None}
    if args.fault_seed is not None:
        given["seed"] = args.fault_seed
    return FaultConfig.from_dict(given, base)


def _lock_data_dir(data_dir: Path) -> TextIO | None:
    """One emulator per data dir: an exclusive lock held for the life of the process."""
    handle = (data_dir / "emulator.lock").open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def serve(args: argparse.Namespace) -> int:
    https = not args.insecure_http
    if not https and not is_loopback(args.host):
        print("skyflow-emulator: --insecure-http is allowed on loopback hosts only",
              file=sys.stderr)
        return 2
    try:
        faults = Faults(fault_config(args))
    except (ApiError, ValueError) as exc:
        print(f"skyflow-emulator: bad fault settings: {exc}", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock_data_dir(data_dir)
    if lock is None:
        print(f"skyflow-emulator: another emulator is using {data_dir}", file=sys.stderr)
        return 2
    if args.key_stock < 0:
        print("skyflow-emulator: --key-stock must be >= 0", file=sys.stderr)
        return 2
    for path in args.trust_ca:
        if not os.path.isfile(path):
            print(f"skyflow-emulator: --trust-ca {path!r} is not a readable file",
                  file=sys.stderr)
            return 2
    store = Store(data_dir / "emulator.db")
    account_id, admin_sa_id, signing_key = bootstrap.bootstrap(store)
    ssl_ctx: ssl.SSLContext | None = server_context(data_dir) if https else None
    issuer = TokenIssuer(signing_key, args.access_token_ttl)
    state = State(data_dir=data_dir, store=store, issuer=issuer,
                  faults=faults, log=RequestLog(data_dir / "requests.jsonl"),
                  admin_token=bootstrap.new_admin_token(data_dir), account_id=account_id,
                  admin_sa_id=admin_sa_id, cors_origins=list(args.cors_origin),
                  keys=KeyStock(args.key_stock),
                  jwks=JwksCache(trust_ca=[os.path.abspath(p) for p in args.trust_ca]))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        server: BaseWSGIServer = make_server(args.host, args.port, App(state), threaded=True,
                                              request_handler=KeepAliveHandler)
    except (OSError, SystemExit) as exc:  # werkzeug exits(1) itself when the port is taken
        print(f"skyflow-emulator: cannot listen on {args.host}:{args.port} ({exc})",
              file=sys.stderr)
        return 2
    if ssl_ctx is not None:
        # Handshakes happen lazily in each connection's own thread, not in the accept loop,
        # so one slow client cannot stall the server.
        server.socket = ssl_ctx.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
        server.ssl_context = ssl_ctx
    port = server.server_address[1]
    scheme = "https" if https else "http"
    state.base_url = f"{scheme}://{_url_host(args.host)}:{port}"
    aliases = {state.base_url}
    if is_loopback(args.host):
        aliases |= {f"{scheme}://{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")}
    state.host_aliases = sorted(aliases)
    bootstrap.write_files(store, data_dir, state.base_url, https)

    def _stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    state.keys.start()
    try:
        print(f"skyflow-emulator listening on {state.base_url}", flush=True)
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        state.keys.close()
        state.log.close()
        store.close()
        lock.close()
    return 0
