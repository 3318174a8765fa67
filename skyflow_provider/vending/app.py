"""The token-vending WSGI app: ``POST /v1/token`` and ``GET /healthz``.

A plain WSGI callable, so it runs under waitress (``skyflow-token serve``) or mounted inside a
Flask or Django service. Order of checks per request, cheapest and least trusting first:
per-address rate limit, body size, session verification, per-identity rate limit, body and
role, then the (cached, single-flight) token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..http.errors import SkyflowError
from ..http.redaction import redact_text
from .accesslog import AccessRecord, emit
from .cors import CorsPolicy
from .ratelimit import RateLimiter, retry_after_header
from .roles import RoleCatalog, RoleRequestError
from .sessions import Authenticator, SessionError
from .vendor import TokenVendor

log = logging.getLogger("skyflow_provider.vending")

TOKEN_PATH = "/v1/token"
HEALTH_PATH = "/healthz"
DEFAULT_MAX_BODY = 4096
BODY_KEYS = frozenset({"role"})

StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]

_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            413: "Content Too Large", 415: "Unsupported Media Type",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}
_COMMON = [("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]


class _Reply(Exception):
    """An error answer, raised from anywhere in the request and rendered once."""

    def __init__(self, status: int, message: str, headers: Headers | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.reason = reason


@dataclass
class VendingConfig:
    """Everything the app enforces besides the vendor and the authenticator."""

    roles: RoleCatalog
    cors: CorsPolicy
    identity_limit: RateLimiter | None = None
    address_limit: RateLimiter | None = None
    max_body: int = DEFAULT_MAX_BODY


class VendingApp:
    """WSGI app vending Skyflow bearer tokens to authenticated end users.

    ``authenticator`` decides who the caller is (``JwtSessionVerifier`` for bearer session
    JWTs, or your framework's session); the Skyflow ``ctx`` is that caller's, never the body's.
    """

    def __init__(self, vendor: TokenVendor, authenticator: Authenticator,
                 config: VendingConfig, *, timer: Callable[[], float] = time.perf_counter
                 ) -> None:
        self.vendor = vendor
        self.authenticator = authenticator
        self.config = config
        self._timer = timer

    # ------------------------------------------------------------------ WSGI entry

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        started = self._timer()
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO") or "/")
        origin = environ.get("HTTP_ORIGIN")
        rec = AccessRecord(method=method, path=path,
                           client=str(environ.get("REMOTE_ADDR") or "-"))
        preflight = False
        status: int
        headers: Headers
        body: dict[str, Any] | None
        try:
            if path == HEALTH_PATH:
                if method not in ("GET", "HEAD"):
                    raise _Reply(405, "use GET", [("Allow", "GET, HEAD")])
                status, headers, body = 200, [], {"status": "ok"}
            elif path == TOKEN_PATH:
                if method == "OPTIONS":
                    preflight = True
                    status, headers, body = 204, [], None
                elif method != "POST":
                    raise _Reply(405, "use POST", [("Allow", "POST, OPTIONS")])
                else:
                    status, headers, body = self._token(environ, rec)
            else:
                raise _Reply(404, "not found")
        except _Reply as reply:
            status, headers = reply.status, reply.headers
            body = {"error": {"message": reply.message}}
            rec.reason = rec.reason or reply.reason
        except Exception as exc:  # never a traceback (or a secret in one) to the client
            log.error("unexpected %s: %s", type(exc).__name__, redact_text(str(exc)))
            status, headers = 500, []
            body = {"error": {"message": "internal error"}}
            rec.reason = "internal"
        rec.status = status
        try:
            if preflight:
                return self._send(start_response, 204,
                                  self.config.cors.preflight_headers(origin), b"")
            payload = json.dumps(body, separators=(",", ":")).encode()
            return self._send(start_response, status,
                              [*headers, *self.config.cors.headers(origin)], payload,
                              json_body=True, head=method == "HEAD")
        finally:
            emit(rec, (self._timer() - started) * 1000)

    # ------------------------------------------------------------------ token flow

    def _token(self, environ: Mapping[str, Any], rec: AccessRecord
               ) -> tuple[int, Headers, dict[str, Any]]:
        cfg = self.config
        if cfg.address_limit is not None:
            wait = cfg.address_limit.check(rec.client)
            if wait > 0:
                raise _Reply(429, "too many requests from this address; retry later",
                             [("Retry-After", retry_after_header(wait))], "rate-limit-address")
        raw = self._read_body(environ)
        try:
            caller = self.authenticator(environ)
        except SessionError as exc:
            headers: Headers = []
            if exc.status == 401:
                challenge = 'Bearer realm="skyflow-token"'
                if environ.get("HTTP_AUTHORIZATION"):
                    challenge += ', error="invalid_token"'
                headers.append(("WWW-Authenticate", challenge))
            raise _Reply(exc.status, exc.reason, headers,
                         "session" if exc.status == 401 else "jwks") from None
        rec.identity = caller.identity
        if cfg.identity_limit is not None:
            wait = cfg.identity_limit.check(caller.identity)
            if wait > 0:
                raise _Reply(429, "too many token requests for this user; retry later",
                             [("Retry-After", retry_after_header(wait))],
                             "rate-limit-identity")
        requested = self._role_name(environ, raw)
        try:
            role_name, role_id = cfg.roles.resolve(requested)
        except RoleRequestError as exc:
            rec.role = requested if requested and len(requested) <= 64 else None
            raise _Reply(exc.status, str(exc), reason="role") from None
        rec.role = role_name
        try:
            tok, source = self.vendor.fetch([role_id], caller.ctx,
                                            subject_token=caller.subject_token)
        except SkyflowError as exc:
            log.warning("token exchange failed for role %s: %s", role_name,
                        redact_text(str(exc)))
            raise _Reply(502, "the token exchange with Skyflow failed; try again later",
                         reason="exchange") from None
        rec.source = source
        return 200, [], {"accessToken": tok.access_token,
                         "tokenType": tok.token_type,
                         "expiresAt": tok.expires_at_rfc3339}

    def _read_body(self, environ: Mapping[str, Any]) -> bytes:
        limit = self.config.max_body
        length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
        if length_text:
            try:
                length = int(length_text)
            except ValueError:
                raise _Reply(400, "bad Content-Length") from None
            if length < 0:
                raise _Reply(400, "bad Content-Length")
            if length > limit:
                raise _Reply(413, f"the request body is limited to {limit} bytes")
            stream = environ.get("wsgi.input")
            return stream.read(length) if stream is not None and length else b""
        if str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower() == "chunked":
            stream = environ.get("wsgi.input")
            data: bytes = stream.read(limit + 1) if stream is not None else b""
            if len(data) > limit:
                raise _Reply(413, f"the request body is limited to {limit} bytes")
            return data
        return b""

    @staticmethod
    def _role_name(environ: Mapping[str, Any], raw: bytes) -> str | None:
        if not raw.strip():
            return None
        ctype = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if ctype and ctype != "application/json":
            raise _Reply(415, "send the body as application/json")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _Reply(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise _Reply(400, 'the body must be a JSON object like {"role": "<name>"}')
        extra = sorted(set(data) - BODY_KEYS)
        if extra:
            # Never honour a ctx (or anything else) from the body: ctx is the session's.
            raise _Reply(400, "unknown field(s) in the body; only 'role' is accepted "
                              "(the context identifier comes from your session)")
        role = data.get("role")
        if role is None:
            return None
        if not isinstance(role, str) or not role.strip():
            raise _Reply(400, "'role' must be a non-empty string")
        return role.strip()

    # ------------------------------------------------------------------ output

    @staticmethod
    def _send(start_response: StartResponse, status: int, headers: Headers, payload: bytes,
              *, json_body: bool = False, head: bool = False) -> list[bytes]:
        out: Headers = list(_COMMON)
        if json_body:
            out.append(("Content-Type", "application/json"))
        out.append(("Content-Length", str(len(payload))))
        out.extend(headers)
        start_response(f"{status} {_REASONS.get(status, 'Status')}", out)
        return [] if head else [payload]
