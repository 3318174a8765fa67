"""Bearer tokens from service-account credentials: drop-in for Skyflow's SDK helpers.

``generate_bearer_token(path, options)`` / ``generate_bearer_token_from_creds(text, options)``
have the call shape and return value of ``skyflow.service_account`` (Python SDK) and the same
operations as the Go SDK's ``GenerateBearerToken`` / ``GenerateBearerTokenFromCreds``.
``TokenProvider`` adds what a long-running process needs: one exchange, cached and refreshed
shortly before the token's ``exp``, safe to share between threads.
"""

from __future__ import annotations

import logging
import os
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
    UnauthenticatedError,
    error_from_response,
)
from ..http.redaction import redact_body
from .credentials import Credentials, check_url, load_credentials, private_key_object

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
    url = token_endpoint(token_uri)
    body: dict[str, Any] = {"grant_type": GRANT_TYPE, "assertion": assertion}
    if scope:
        body["scope"] = scope
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
            operation="token exchange",
            hint="For a private CA (such as the emulator's) set skyflow:caBundle / "
            "SKYFLOW_CA_BUNDLE (CLI: --ca-bundle) or REQUESTS_CA_BUNDLE.",
        ) from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(
            f"Could not reach the token endpoint {url} ({http_session.transport_reason(exc)})",
            operation="token exchange",
            hint="Check the tokenURI host and network access.",
        ) from None
    attempts = http_session.attempts_of(resp)
    log.debug("POST %s -> %s in %.0f ms (%d attempt(s)) body=%s", url, resp.status_code,
              (time.monotonic() - started) * 1000, attempts, redact_body(resp.content))
    if resp.status_code != 200:
        raise error_from_response(resp, operation="token exchange",
                                  target="at " + url, attempts=attempts)
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SkyflowError("The token endpoint returned a body that is not a JSON object",
                           status=resp.status_code, operation="token exchange")
    token = data.get("accessToken") or data.get("access_token")
    token_type = data.get("tokenType") or data.get("token_type") or "Bearer"
    if not isinstance(token, str) or not token:
        raise SkyflowError("The token endpoint response has no accessToken",
                           status=resp.status_code, operation="token exchange")
    return token, str(token_type)


def _check_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise OptionsError(f"options must be a dict, got {type(options).__name__}",
                           field="options")
    unknown = set(options) - OPTION_KEYS
    if unknown:
        raise OptionsError(f"unknown option(s) {sorted(unknown)}; known: ctx, role_ids, "
                           "token_uri", field="options")
    out = dict(options)
    if out.get("token_uri") is not None:
        problem = check_url(out["token_uri"], "option 'token_uri'")
        if problem:
            raise OptionsError(problem, field="token_uri")
    return out


def _merge(options: Mapping[str, Any] | None, **kw: Any) -> Mapping[str, Any] | None:
    extra = {k: v for k, v in kw.items() if v is not None}
    if not extra:
        return options
    if options is not None and not isinstance(options, Mapping):
        return options  # let _check_options report it
    return {**(options or {}), **extra}


def get_bearer_token(
    credentials: Credentials,
    options: Mapping[str, Any] | None = None,
    *,
    ca_bundle: str | None = None,
    timeout: Any = None,
    now: float | None = None,
) -> tuple[str, str]:
    """Sign and exchange for validated ``Credentials``; returns (access_token, token_type).

    ``ca_bundle`` defaults to SKYFLOW_CA_BUNDLE (then requests' REQUESTS_CA_BUNDLE).
    """
    opts = _check_options(options)
    token_uri = opts.get("token_uri") or credentials.token_uri
    scope = format_scope(opts.get("role_ids"))
    assertion = sign_assertion(credentials, ctx=opts.get("ctx"), token_uri=token_uri, now=now)
    ca_bundle = ca_bundle or os.environ.get("SKYFLOW_CA_BUNDLE") or None
    return exchange_assertion(assertion, token_uri, scope, ca_bundle=ca_bundle, timeout=timeout)


def generate_bearer_token(
    credentials_file_path: Any,
    options: Mapping[str, Any] | None = None,
    *,
    ctx: Any = None,
    role_ids: Iterable[str] | None = None,
    token_uri: str | None = None,
    ca_bundle: str | None = None,
    timeout: Any = None,
) -> tuple[str, str]:
    """Like ``skyflow.service_account.generate_bearer_token``: (access_token, token_type).

    Go SDK: ``GenerateBearerToken(filepath)``. ``ctx``/``role_ids``/``token_uri`` keywords
    are conveniences for the same ``options`` keys.
    """
    from .credentials import credentials_from_file

    opts = _merge(options, ctx=ctx, role_ids=role_ids, token_uri=token_uri)
    return get_bearer_token(credentials_from_file(credentials_file_path), opts,
                            ca_bundle=ca_bundle, timeout=timeout)


def generate_bearer_token_from_creds(
    credentials: str,
    options: Mapping[str, Any] | None = None,
    *,
    ctx: Any = None,
    role_ids: Iterable[str] | None = None,
    token_uri: str | None = None,
    ca_bundle: str | None = None,
    timeout: Any = None,
) -> tuple[str, str]:
    """Like ``skyflow.service_account.generate_bearer_token_from_creds`` (JSON text input).

    Go SDK: ``GenerateBearerTokenFromCreds(credentials)``. A dict or ``Credentials`` is
    accepted too.
    """
    if isinstance(credentials, str):
        from .credentials import credentials_from_json

        creds = credentials_from_json(credentials)
    else:
        creds = load_credentials(credentials)
    opts = _merge(options, ctx=ctx, role_ids=role_ids, token_uri=token_uri)
    return get_bearer_token(creds, opts, ca_bundle=ca_bundle, timeout=timeout)


# --------------------------------------------------------------------------- expiry


def token_expiry(token: str | None) -> float | None:
    """The ``exp`` claim of a JWT (unverified), or None if it is not a JWT with exp."""
    if not token or not isinstance(token, str):
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False,
                                            "verify_aud": False})
    except Exception:
        return None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return float(exp)
    return None


def is_expired(token: str | None, now: float | None = None) -> bool:
    """True when the token is missing, not a JWT with ``exp``, or past ``exp`` (as the SDK)."""
    exp = token_expiry(token)
    if exp is None:
        return True
    return (time.time() if now is None else now) >= exp


# --------------------------------------------------------------------------- provider


class TokenProvider:
    """Thread-safe source of the ``Authorization`` value for Management API calls.

    Modes: service-account ``credentials`` (sign + exchange, cached until ``refresh_margin``
    seconds before the token's ``exp``), an ``api_key`` (sent as the bearer value, never
    expires) or a pre-made ``bearer_token`` (used as is; an expired JWT is refused).
    ``clock`` is injectable so tests can move time.
    """

    def __init__(
        self,
        credentials: Credentials | Mapping[str, Any] | str | None = None,
        *,
        api_key: str | None = None,
        bearer_token: str | None = None,
        role_ids: Iterable[str] | None = None,
        ctx: Any = None,
        ca_bundle: str | None = None,
        timeout: Any = None,
        clock: Clock = time.time,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
    ) -> None:
        given = [x for x in (credentials, api_key, bearer_token) if x]
        if len(given) != 1:
            raise CredentialsError(
                "TokenProvider needs exactly one of credentials, api_key or bearer_token"
            )
        self._credentials = load_credentials(credentials) if credentials else None
        self._api_key = api_key
        self._static_token = bearer_token
        self._scope = format_scope(role_ids)
        self._ctx = validate_ctx(ctx)
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self._clock = clock
        self._margin = refresh_margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_type = "Bearer"
        self._expires_at: float | None = None
        self._refresh_at: float | None = None
        self.exchanges = 0  # how many token exchanges this provider made

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> TokenProvider:
        """A provider for a ``ProviderSettings`` (whichever auth mode it holds)."""
        return cls(
            settings.credentials,
            api_key=settings.api_key,
            bearer_token=settings.bearer_token,
            ca_bundle=settings.ca_bundle,
            timeout=getattr(settings, "timeout", None),
            **kwargs,
        )

    @property
    def mode(self) -> str:
        if self._credentials is not None:
            return "credentials"
        return "api_key" if self._api_key else "bearer_token"

    @property
    def expires_at(self) -> float | None:
        return self._expires_at

    def _fresh(self) -> bool:
        if self._token is None:
            return False
        if self._refresh_at is None:
            return True  # opaque token without exp: keep until refused (invalidate())
        return self._clock() < self._refresh_at

    def get_token(self) -> str:
        """The current bearer value; exchanges a new token only when needed."""
        if self._api_key:
            return self._api_key
        if self._static_token:
            exp = token_expiry(self._static_token)
            if exp is not None and self._clock() >= exp:
                raise UnauthenticatedError(
                    "The configured bearer token has expired",
                    operation="authenticate",
                    hint="Generate a new token, or configure service-account credentials so "
                    "tokens are refreshed automatically.",
                )
            return self._static_token
        with self._lock:
            if self._fresh():
                assert self._token is not None
                return self._token
            assert self._credentials is not None
            now = self._clock()
            # The assertion's exp is judged by the server's clock: sign with real time; the
            # injectable clock only drives the cache.
            assertion = sign_assertion(self._credentials, ctx=self._ctx)
            token, token_type = exchange_assertion(
                assertion, self._credentials.token_uri, self._scope,
                ca_bundle=self._ca_bundle, timeout=self._timeout,
            )
            self.exchanges += 1
            self._token, self._token_type = token, token_type
            exp = token_expiry(token)
            self._expires_at = exp
            # Refresh `margin` seconds before exp, but at most half-way through a short
            # lifetime, so a short-lived token is not re-exchanged on every call.
            self._refresh_at = None if exp is None else exp - min(self._margin,
                                                                  max(0.0, exp - now) / 2)
            log.debug("exchanged a bearer token for client %s; expires at %s",
                      self._credentials.client_id, self._expires_at)
            return token

    def authorization_header(self) -> str:
        """``Bearer <token>`` for the Authorization header."""
        return f"Bearer {self.get_token()}"

    def invalidate(self, token: str | None = None) -> bool:
        """Drop the cached token (e.g. after a 401), so the next call exchanges again.

        With ``token``, only drops it if it is still the cached one (avoids a thundering herd
        of threads each invalidating a token another thread just refreshed). Returns True if
        a new exchange is possible (credentials mode).
        """
        with self._lock:
            if token is None or token == self._token:
                self._token = None
                self._expires_at = None
                self._refresh_at = None
        return self._credentials is not None

    def __repr__(self) -> str:
        who = self._credentials.client_id if self._credentials else "-"
        return (f"TokenProvider(mode={self.mode!r}, client_id={who!r}, "
                f"expires_at={self._expires_at})")

    def __reduce__(self) -> Any:
        raise TypeError("TokenProvider holds secrets and must not be pickled")
