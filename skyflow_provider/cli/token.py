"""``skyflow-token``: a bearer token from a credentials.json, replacing getBearerToken.py.

Exit codes: 0 success, 1 the server refused (or could not be reached), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any

from skyflow_provider.auth.credentials import (
    Credentials,
    credentials_from_cli,
)
from skyflow_provider.auth.tokens import get_bearer_token, token_expiry
from skyflow_provider.http.errors import ConfigError, CredentialsError, OptionsError, SkyflowError
from skyflow_provider.http.redaction import redact_text

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2

EPILOG = """\
examples:
  # print a bearer token (valid 60 minutes)
  skyflow-token --credentials credentials.json

  # use it with curl
  curl -H "Authorization: Bearer $(skyflow-token --credentials credentials.json)" ...

  # a token restricted to two roles, with a context for conditional policies
  skyflow-token --credentials credentials.json --role ROLE_ID_1 --role ROLE_ID_2 \\
      --ctx '{"user_id": "u123", "region": "eu"}'

  # credentials from the environment or stdin, JSON output with the expiry
  SKYFLOW_CREDENTIALS="$(cat credentials.json)" skyflow-token --json
  skyflow-token --credentials - --json < credentials.json

  # the local emulator's private CA (skyflow-emulator --data-dir DIR)
  skyflow-token --credentials DIR/admin-credentials.json --ca-bundle DIR/ca.pem

  # keyless: a GitHub Actions job's OIDC token exchanged at Skyflow's STS (no credentials)
  skyflow-token --oidc-token-source github-actions --service-account-id $SA_ID \
      --management-url https://manage.skyflowapis.com --oidc-audience skyflow
  # keyless from a Kubernetes projected token (re-read on every run)
  skyflow-token --oidc-token-source file:/var/run/secrets/skyflow/token --service-account-id $SA_ID

  # is a token still valid? (prints its expiry, or "expired" with exit code 1)
  skyflow-token --check "$TOKEN"

credentials are read from --credentials FILE ("-" = stdin), else from SKYFLOW_CREDENTIALS
(credentials.json text), else from SKYFLOW_CREDENTIALS_FILE. A private CA is trusted with
--ca-bundle, SKYFLOW_CA_BUNDLE or REQUESTS_CA_BUNDLE. The private key is never printed.

exit codes: 0 ok, 1 refused by the server (or unreachable; --check: expired), 2 bad input.

token-vending backend for browser and mobile apps (getBearerToken):
  skyflow-token serve --help
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exit code for usage errors is 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="skyflow-token",
        description="Generate a Skyflow bearer token from service-account credentials "
        "(credentials.json), or check a token's expiry.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--credentials", "-c", metavar="FILE",
                   help='path to credentials.json, or "-" to read it from stdin')
    p.add_argument("--ctx", metavar="STRING_OR_JSON",
                   help="context for context-aware tokens: a string, or a JSON object whose "
                   "keys match ^[a-zA-Z0-9_]+$")
    p.add_argument("--role", "-r", metavar="ID", action="append", dest="roles",
                   help="scope the token to this role id (repeatable)")
    p.add_argument("--json", action="store_true",
                   help='print {"token", "type", "expiry", "exp"} as JSON')
    p.add_argument("--check", metavar="TOKEN",
                   help='print TOKEN\'s expiry (ISO 8601 UTC), or "expired"; "-" reads stdin')
    p.add_argument("--ca-bundle", metavar="FILE",
                   help="extra CA bundle to trust (default: SKYFLOW_CA_BUNDLE)")
    p.add_argument("--token-uri", metavar="URL", help="override the credentials' tokenURI")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="connect/read timeout (default 30)")
    k = p.add_argument_group("keyless (Skyflow's STS; https://github.com/skyflow-pulumi/"
                             "skyflow-pulumi/blob/main/docs/keyless.md)")
    k.add_argument("--oidc-token-source", metavar="SOURCE",
                   help="exchange an OIDC token instead of credentials: github-actions, "
                   "file:PATH, env:VARIABLE or command:COMMAND (default: "
                   "SKYFLOW_OIDC_TOKEN_SOURCE)")
    k.add_argument("--service-account-id", metavar="ID",
                   help="the keyless service account (default: "
                   "SKYFLOW_OIDC_SERVICE_ACCOUNT_ID)")
    k.add_argument("--oidc-audience", metavar="AUD",
                   help="github-actions: the ID token's audience (default: "
                   "SKYFLOW_OIDC_AUDIENCE, else GitHub's)")
    k.add_argument("--management-url", metavar="URL",
                   help="where the STS is (default: SKYFLOW_MANAGEMENT_URL, else "
                   "https://manage.skyflowapis.com)")
    return p


def _keyless(args: argparse.Namespace, ca_bundle: str | None) -> tuple[str, str] | None:
    """The keyless exchange when --oidc-token-source (or its env) is given, else None."""
    from skyflow_provider.auth.oidc import generate_bearer_token_from_oidc

    source = args.oidc_token_source or os.environ.get("SKYFLOW_OIDC_TOKEN_SOURCE")
    if not source or args.credentials:
        return None
    if args.roles or args.ctx:
        raise OptionsError("--role and --ctx do not apply to keyless tokens: STS tokens carry "
                           "the account's roles and the ctx of the STS config's contextClaims",
                           field="oidc")
    sa_id = args.service_account_id or os.environ.get("SKYFLOW_OIDC_SERVICE_ACCOUNT_ID") or ""
    url = (args.management_url or os.environ.get("SKYFLOW_MANAGEMENT_URL")
           or "https://manage.skyflowapis.com")
    return generate_bearer_token_from_oidc(
        source, sa_id, url.rstrip("/").removesuffix("/v1"),
        audience=args.oidc_audience or os.environ.get("SKYFLOW_OIDC_AUDIENCE") or None,
        ca_bundle=ca_bundle, timeout=(min(args.timeout, 10.0), args.timeout))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fail(code: int, message: str) -> int:
    print(f"skyflow-token: {redact_text(message)}", file=sys.stderr)
    return code


def _parse_ctx(raw: str | None) -> Any:
    if raw is None:
        return None
    stripped = raw.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except ValueError:
            raise OptionsError("--ctx starts with '{' but is not valid JSON",
                               field="ctx") from None
        return value
    return raw


def _load(args: argparse.Namespace) -> Credentials:
    return credentials_from_cli(args.credentials)


def _check(token: str, as_json: bool) -> int:
    if token == "-":
        token = sys.stdin.read()
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    exp = token_expiry(token)
    if exp is None:
        return _fail(EXIT_BAD_INPUT, "--check: the value is not a JWT with an 'exp' claim")
    expired = time.time() >= exp
    if as_json:
        print(json.dumps({"expired": expired, "expiry": _iso(exp), "exp": int(exp)}))
    else:
        print("expired" if expired else _iso(exp))
    return EXIT_REFUSED if expired else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``skyflow-token`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # the token-vending backend (skyflow_provider.cli.serve)
        try:
            from skyflow_provider.cli.serve import main as serve_main
        except ModuleNotFoundError as exc:
            if exc.name != "waitress":
                raise
            return _fail(EXIT_BAD_INPUT, "`skyflow-token serve` needs the [serve] extra: "
                         "pip install 'skyflow-pulumi[serve]'")
        return serve_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.check is not None:
        return _check(args.check, args.json)
    ca_bundle = args.ca_bundle or os.environ.get("SKYFLOW_CA_BUNDLE") or None
    if ca_bundle and not os.path.isfile(ca_bundle):
        return _fail(EXIT_BAD_INPUT, f"CA bundle {ca_bundle!r} is not a readable file")
    if args.timeout <= 0:
        return _fail(EXIT_BAD_INPUT, "--timeout must be positive")
    try:
        keyless = _keyless(args, ca_bundle)
        if keyless is not None:
            return _print(keyless, args.json)
        creds = _load(args)
        options: dict[str, Any] = {}
        ctx = _parse_ctx(args.ctx)
        if ctx is not None:
            options["ctx"] = ctx
        if args.roles:
            options["role_ids"] = args.roles
        if args.token_uri:
            options["token_uri"] = args.token_uri
        token, token_type = get_bearer_token(creds, options, ca_bundle=ca_bundle,
                                             timeout=(min(args.timeout, 10.0), args.timeout))
    except (CredentialsError, OptionsError, ConfigError) as exc:
        return _fail(EXIT_BAD_INPUT, str(exc))
    except SkyflowError as exc:
        return _fail(EXIT_REFUSED, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    return _print((token, token_type), args.json)


def _print(result: tuple[str, str], as_json: bool) -> int:
    token, token_type = result
    if as_json:
        exp = token_expiry(token)
        print(json.dumps({
            "token": token,
            "type": token_type,
            "expiry": _iso(exp) if exp is not None else None,
            "exp": int(exp) if exp is not None else None,
        }))
    else:
        print(token)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
