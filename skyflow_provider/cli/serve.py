"""``skyflow-token serve``: the token-vending backend for browser and mobile apps.

Prints exactly one line on stdout when ready, ``skyflow-token serving on http://HOST:PORT``,
then serves on waitress until SIGTERM/SIGINT. Access logs go to stderr. Exit codes: 0 clean
shutdown, 2 bad input (including "no caller authentication configured").
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from typing import Any

from skyflow_provider.auth.credentials import (
    ENV_CREDENTIALS,
    ENV_CREDENTIALS_FILE,
    Credentials,
    check_url,
    credentials_from_cli,
    is_loopback_host,
)
from skyflow_provider.http.errors import CredentialsError
from skyflow_provider.http.redaction import redact_text
from skyflow_provider.vending.accesslog import log_to_stderr
from skyflow_provider.vending.app import VendingApp, VendingConfig
from skyflow_provider.vending.cors import CorsPolicy
from skyflow_provider.vending.ratelimit import Rate, RateLimiter
from skyflow_provider.vending.roles import RoleCatalog
from skyflow_provider.vending.server import DEFAULT_THREADS, VendingServer
from skyflow_provider.vending.sessions import Authenticator, FixedDevCaller, JwtSessionVerifier
from skyflow_provider.vending.vendor import DEFAULT_REFRESH_MARGIN, StsExchange, TokenVendor

EXIT_OK, EXIT_BAD_INPUT = 0, 2
READY = "skyflow-token serving on {url}"
DEV_IDENTITY = "insecure-dev-user"

EPILOG = """\
examples:
  # production: sessions are JWTs from your identity provider, verified against its JWKS
  SKYFLOW_CREDENTIALS="$(pulumi stack output --show-secrets checkout_credentials)" \\
  skyflow-token serve --host 0.0.0.0 --port 8080 \\
      --auth-jwks https://login.example.com/.well-known/jwks.json \\
      --auth-issuer https://login.example.com/ --auth-audience skyflow-token \\
      --role checkout=$CHECKOUT_ROLE_ID --allow-origin https://shop.example.com

  # keyless: no credentials at all; each user's verified session token is exchanged at
  # Skyflow's STS for a token of the role's keyless service account (docs/keyless.md)
  skyflow-token serve --keyless --management-url https://manage.skyflowapis.com \
      --auth-jwks https://login.example.com/.well-known/jwks.json \
      --auth-issuer https://login.example.com/ --auth-audience skyflow-token \
      --role checkout=$CHECKOUT_SERVICE_ACCOUNT_ID --allow-origin https://shop.example.com

  # local development only: no caller authentication, every caller is "insecure-dev-user"
  skyflow-token serve --insecure-dev-no-auth --port 0 --role dev=$ROLE_ID \\
      --credentials credentials.json --allow-origin http://localhost:5173

HTTP interface:
  POST /v1/token   Authorization: Bearer <session token>, body {"role": "<name>"} (optional
                   with exactly one --role) -> 200 {"accessToken", "tokenType", "expiresAt"}
  GET  /healthz    -> 200 {"status": "ok"}
  errors: {"error": {"message": ...}} with 400/401/403/413/415/429 (Retry-After)/502

The Skyflow context identifier (ctx) of every token is the --ctx-claim claim of the caller's
verified session, never anything from the request body. Keyless, it is the STS config's
contextClaims taken from that session, and the token expires with the session.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="skyflow-token serve",
                description="Serve Skyflow bearer tokens to signed-in users of a browser or "
                "mobile app (getBearerToken), one token per user and role.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = a free "
                   "port, printed on the ready line)")
    p.add_argument("--credentials", "-c", metavar="FILE",
                   help=f'credentials.json ("-" = stdin); else env {ENV_CREDENTIALS} (the '
                   f"JSON text) or {ENV_CREDENTIALS_FILE}")
    p.add_argument("--ca-bundle", metavar="FILE",
                   help="extra CA bundle to trust for Skyflow and the JWKS URL (default: "
                   "SKYFLOW_CA_BUNDLE)")
    p.add_argument("--role", action="append", default=[], metavar="NAME=ROLE_ID",
                   help="a role a page may ask for by NAME (repeatable; at least one); "
                   "with --keyless NAME=SERVICE_ACCOUNT_ID, a keyless account per role")
    k = p.add_argument_group("keyless (no credentials; https://github.com/skyflow-pulumi/"
                             "skyflow-pulumi/blob/main/docs/keyless.md)")
    k.add_argument("--keyless", action="store_true",
                   help="exchange each caller's verified session token at Skyflow's STS "
                   "instead of holding credentials; an STS config must trust the session "
                   "issuer and list each --role's service account")
    k.add_argument("--management-url", metavar="URL",
                   help="--keyless: where the STS is (default: SKYFLOW_MANAGEMENT_URL, else "
                   "https://manage.skyflowapis.com)")
    auth = p.add_argument_group("caller authentication (required)")
    auth.add_argument("--auth-jwks", metavar="FILE_OR_URL",
                      help="JWKS that verifies session tokens: a file, or an https URL")
    auth.add_argument("--auth-issuer", metavar="ISS", help="required 'iss' of session tokens")
    auth.add_argument("--auth-audience", metavar="AUD",
                      help="required 'aud' of session tokens")
    auth.add_argument("--ctx-claim", default="sub", metavar="CLAIM",
                      help="session claim used as Skyflow's context identifier (default sub)")
    auth.add_argument("--insecure-dev-no-auth", action="store_true",
                      help="DEVELOPMENT ONLY, loopback hosts only: no caller authentication; "
                      f"every caller is {DEV_IDENTITY!r} (also its ctx)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="browser origin granted CORS, e.g. https://app.example.com "
                   "(repeatable; none = no browser origin)")
    p.add_argument("--rate-limit", default="60/min", metavar="N/min",
                   help="requests per authenticated identity, and per client address unless "
                   "--ip-rate-limit is given (default 60/min)")
    p.add_argument("--ip-rate-limit", metavar="N/min",
                   help="requests per client address (default: --rate-limit)")
    p.add_argument("--trusted-proxy", metavar="IP",
                   help="take the client address from X-Forwarded-For, for connections from "
                   "this proxy only")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"worker threads (default {DEFAULT_THREADS})")
    p.add_argument("--refresh-margin", type=float, default=DEFAULT_REFRESH_MARGIN,
                   metavar="SECONDS", help="re-mint a cached token when fewer seconds than "
                   "this are left (default 300)")
    p.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS",
                   help="token-exchange read timeout (default 20)")
    return p


class BadInput(ValueError):
    """A configuration problem reported with exit code 2."""


def _credentials(args: argparse.Namespace) -> Credentials:
    return credentials_from_cli(args.credentials)


def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    return ctx


def build_authenticator(args: argparse.Namespace, ca_bundle: str | None) -> Authenticator:
    """The session verifier, or the fixed dev caller when explicitly allowed; else refuse."""
    given = [o for o, v in (("--auth-jwks", args.auth_jwks), ("--auth-issuer", args.auth_issuer),
                            ("--auth-audience", args.auth_audience)) if v]
    if args.insecure_dev_no_auth:
        if given:
            raise BadInput(f"--insecure-dev-no-auth cannot be combined with {', '.join(given)}")
        if not is_loopback_host(args.host):
            raise BadInput(f"--insecure-dev-no-auth is refused on {args.host!r}: it only "
                           "listens on a loopback address (127.0.0.1, ::1, localhost)")
        return FixedDevCaller(DEV_IDENTITY)
    if len(given) != 3:
        missing = [o for o in ("--auth-jwks", "--auth-issuer", "--auth-audience")
                   if o not in given]
        raise BadInput("refusing to start without caller authentication: missing "
                       f"{', '.join(missing)} (for local development only: "
                       "--insecure-dev-no-auth on a loopback host)")
    try:
        return JwtSessionVerifier(args.auth_jwks, issuer=args.auth_issuer,
                                  audience=args.auth_audience, ctx_claim=args.ctx_claim,
                                  ssl_context=_ssl_context(ca_bundle))
    except (ValueError, OSError) as exc:
        raise BadInput(str(exc)) from None


def _sts(args: argparse.Namespace, ca_bundle: str | None, timeout: Any) -> StsExchange:
    """--keyless: the STS to exchange sessions at; refuses what would hold a credential."""
    if args.insecure_dev_no_auth:
        raise BadInput("--keyless exchanges the caller's session token: it needs --auth-jwks, "
                       "--auth-issuer and --auth-audience, not --insecure-dev-no-auth")
    held = [name for name, value in (("--credentials", args.credentials),
                                     (ENV_CREDENTIALS, os.environ.get(ENV_CREDENTIALS)),
                                     (ENV_CREDENTIALS_FILE, os.environ.get(ENV_CREDENTIALS_FILE)))
            if value]
    if held:
        raise BadInput(f"--keyless holds no credentials: drop {', '.join(held)}")
    url = (args.management_url or os.environ.get("SKYFLOW_MANAGEMENT_URL")
           or "https://manage.skyflowapis.com").rstrip("/").removesuffix("/v1")
    problem = check_url(url, "--management-url")
    if problem:
        raise BadInput(problem)
    return StsExchange(url, ca_bundle=ca_bundle, timeout=timeout)


def build_app(args: argparse.Namespace) -> tuple[VendingApp, dict[str, Any]]:
    """The app and a description of its settings (no secrets) for the startup log."""
    ca_bundle = args.ca_bundle or os.environ.get("SKYFLOW_CA_BUNDLE") or None
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise BadInput(f"CA bundle {ca_bundle!r} is not a readable file")
    if not 0 <= args.port <= 65535:
        raise BadInput("--port must be 0..65535")
    if args.threads < 1 or args.timeout <= 0 or args.refresh_margin < 0:
        raise BadInput("--threads, --timeout must be positive; --refresh-margin >= 0")
    try:
        roles = RoleCatalog.parse(args.role)
        cors = CorsPolicy(args.allow_origin)
        rate = Rate.parse(args.rate_limit)
        ip_rate = Rate.parse(args.ip_rate_limit) if args.ip_rate_limit else rate
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    authenticator = build_authenticator(args, ca_bundle)
    timeout = (min(args.timeout, 10.0), args.timeout)
    if args.keyless:
        vendor = TokenVendor(sts=_sts(args, ca_bundle, timeout),
                             refresh_margin=args.refresh_margin)
        client_id = "none (keyless: each session exchanged at Skyflow's STS)"
    else:
        if args.management_url:
            raise BadInput("--management-url applies to --keyless only (credentials carry "
                           "their tokenURI)")
        creds = _credentials(args)
        vendor = TokenVendor(creds, ca_bundle=ca_bundle, timeout=timeout,
                             refresh_margin=args.refresh_margin)
        client_id = creds.client_id
    config = VendingConfig(roles=roles, cors=cors, identity_limit=RateLimiter(rate),
                           address_limit=RateLimiter(ip_rate))
    facts = {"client_id": client_id, "roles": roles.names,
             "origins": sorted(cors.origins) or ["(none)"], "rate": str(rate),
             "ip_rate": str(ip_rate),
             "auth": ("INSECURE dev (no authentication)" if args.insecure_dev_no_auth
                      else f"JWT iss={args.auth_issuer} aud={args.auth_audience} "
                      f"ctx={args.ctx_claim}")}
    return VendingApp(vendor, authenticator, config), facts


def _fail(message: str) -> int:
    print(f"skyflow-token serve: {redact_text(message)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``skyflow-token serve``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        app, facts = build_app(args)
    except (BadInput, CredentialsError) as exc:
        return _fail(str(exc))
    try:
        server = VendingServer(app, args.host, args.port, threads=args.threads,
                               trusted_proxy=args.trusted_proxy)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    except ValueError as exc:
        return _fail(str(exc))
    log_to_stderr()
    server.install_signal_handlers()
    print(f"skyflow-token serve: client {facts['client_id']}, roles {', '.join(facts['roles'])}, "
          f"origins {', '.join(facts['origins'])}, limits {facts['rate']} per identity / "
          f"{facts['ip_rate']} per address, auth {facts['auth']}", file=sys.stderr)
    if args.insecure_dev_no_auth:
        print("skyflow-token serve: WARNING --insecure-dev-no-auth: anyone who can reach this "
              "port gets tokens; never use it outside local development", file=sys.stderr)
    print(READY.format(url=server.url), flush=True)
    server.serve_forever()
    print("skyflow-token serve: stopped", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
