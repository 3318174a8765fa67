"""The JWT-bearer exchange: build and sign the assertion, trade it for a bearer token.

Why apart from ``tokens.py``: this is the wire protocol (claims as Skyflow's SDKs send them, the
token endpoint's request and answer); ``tokens.py`` is the SDK-shaped API and the cache on top.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from ..http import transport as http_session
from ..http.errors import (
    CredentialsError,
    OptionsError,
    SkyflowError,
    TransportError,
    error_from_response,
)
from ..http.redaction import redact_body
from .credentials import Credentials, private_key_object

log = logging.getLogger(__name__)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/v1/auth/sa/oauth/token"
ASSERTION_LIFETIME = 3600  # seconds, as Skyflow's SDKs
CTX_KEY_RE = re.compile(r"^[a-zA-Z0-9_]+$")
DEFAULT_REFRESH_MARGIN = 300.0  # refresh this many seconds before exp
OPTION_KEYS = frozenset({"ctx", "role_ids", "token_uri"})

Clock = Callable[[], float]


# --------------------------------------------------------------------------- assertion


def validate_ctx(ctx: Any) -> str | dict[str, Any] | None:
    """The ``ctx`` claim value, or None to omit it (None, blank string, empty dict).

    A string, or an object whose keys match ``^[a-zA-Z0-9_]+$`` (Skyflow's rule).
    """
    if ctx is None:
        return None
    if isinstance(ctx, str):
        return ctx if ctx.strip() else None
    if isinstance(ctx, Mapping):
        if not ctx:
            return None
        for key in ctx:
            if not isinstance(key, str) or not CTX_KEY_RE.match(key):
                raise OptionsError(
                    f"ctx key {key!r} is invalid: keys must match ^[a-zA-Z0-9_]+$", field="ctx"
                )
        return dict(ctx)
    raise OptionsError(
        f"ctx must be a string or an object, got {type(ctx).__name__}", field="ctx"
    )


def format_scope(role_ids: Iterable[str] | str | None) -> str | None:
    """``role:<id> role:<id>`` for scoped tokens, or None for an unscoped token."""
    if role_ids is None:
        return None
    if isinstance(role_ids, str):
        role_ids = [role_ids]
    ids = list(role_ids)
    for rid in ids:
        if not isinstance(rid, str) or not rid.strip() or any(c.isspace() for c in rid):
            raise OptionsError(f"role id {rid!r} is invalid: a non-empty id without spaces",
                               field="role_ids")
    return " ".join(f"role:{rid}" for rid in ids) or None


def build_assertion_claims(
    credentials: Credentials,
    ctx: Any = None,
    token_uri: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims Skyflow's SDKs sign: iss, key, aud, sub, exp (+ ctx). No iat, no jti."""
    now = time.time() if now is None else now
    claims: dict[str, Any] = {
        "iss": credentials.client_id,
        "key": credentials.key_id,
        "aud": token_uri or credentials.token_uri,
        "sub": credentials.client_id,
        "exp": int(now + ASSERTION_LIFETIME),
    }
    resolved = validate_ctx(ctx)
    if resolved is not None:
        claims["ctx"] = resolved
    return claims


def sign_assertion(
    credentials: Credentials, ctx: Any = None, token_uri: str | None = None,
    now: float | None = None,
) -> str:
    """The RS256-signed JWT assertion for the token exchange."""
    claims = build_assertion_claims(credentials, ctx=ctx, token_uri=token_uri, now=now)
    try:
        return jwt.encode(claims, private_key_object(credentials), algorithm="RS256")
    except CredentialsError:
        raise
    except Exception:
        raise CredentialsError("could not sign the JWT assertion with 'privateKey'",
                               field="privateKey") from None


# --------------------------------------------------------------------------- exchange


def token_endpoint(token_uri: str) -> str:
    """Skyflow's SDKs keep only scheme and host of tokenURI and post to the fixed path."""
    parts = urlsplit(token_uri)
    return f"{parts.scheme}://{parts.netloc}{TOKEN_PATH}"


_local = threading.local()


def _session(ca_bundle: str | None) -> requests.Session:
    """One pooled session per thread and trust setting (token exchange is retry-safe).

    Same transport as the management client: the adapter takes its TLS trust from the
    process-wide SSLContext for ``ca_bundle`` (``http_session.ssl_context_for``).
    """
    sessions: dict[Any, requests.Session] | None = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    key = ca_bundle or None
    s = sessions.get(key)
    if s is None:
        s = sessions[key] = http_session.build_session(idempotent=True, ca_bundle=key)
    return s


def exchange_assertion(
    assertion: str,
    token_uri: str,
    scope: str | None = None,
    *,
    ca_bundle: str | None = None,
    timeout: Any = None,
    session: requests.Session | None = None,
) -> tuple[str, str]:
    """POST the assertion to the token endpoint; return (access_token, token_type).

    The exchange only mints a token, so it is retried on 429/5xx like an idempotent call.
    """
    body: dict[str, Any] = {"grant_type": GRANT_TYPE, "assertion": assertion}
    if scope:
        body["scope"] = scope
    return post_token(token_endpoint(token_uri), body, operation="token exchange",
                      hint="Check the tokenURI host and network access.",
                      ca_bundle=ca_bundle, timeout=timeout, session=session)


def post_token(
    url: str,
    body: dict[str, Any],
    *,
    operation: str,
    hint: str,
    ca_bundle: str | None = None,
    timeout: Any = None,
    session: requests.Session | None = None,
) -> tuple[str, str]:
    """POST a token request as JSON; (access_token, token_type) from ``accessToken`` or
    ``access_token``. Errors never carry the body (it holds the assertion or subject token)."""
    sess = session or _session(ca_bundle)
    log.debug("POST %s body=%s", url, redact_body(body))
    started = time.monotonic()
    try:
        resp = sess.post(url, json=body, headers={"Accept": "application/json"},
                         allow_redirects=False,
                         **http_session.request_kwargs(timeout))
    except requests.exceptions.SSLError as exc:
        raise TransportError(
            f"TLS verification failed for the token endpoint {url} "
            f"({http_session.transport_reason(exc)})",
            operation=operation,
            hint="For a private CA (such as the emulator's) set skyflow:caBundle / "
            "SKYFLOW_CA_BUNDLE (CLI: --ca-bundle) or REQUESTS_CA_BUNDLE.",
        ) from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(
            f"Could not reach the token endpoint {url} ({http_session.transport_reason(exc)})",
            operation=operation,
            hint=hint,
        ) from None
    attempts = http_session.attempts_of(resp)
    log.debug("POST %s -> %s in %.0f ms (%d attempt(s)) body=%s", url, resp.status_code,
              (time.monotonic() - started) * 1000, attempts, redact_body(resp.content))
    if resp.status_code != 200:
        raise error_from_response(resp, operation=operation,
                                  target="at " + url, attempts=attempts)
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SkyflowError("The token endpoint returned a body that is not a JSON object",
                           status=resp.status_code, operation=operation)
    token = data.get("accessToken") or data.get("access_token")
    token_type = data.get("tokenType") or data.get("token_type") or "Bearer"
    if not isinstance(token, str) or not token:
        raise SkyflowError("The token endpoint response has no accessToken",
                           status=resp.status_code, operation=operation)
    return token, str(token_type)
