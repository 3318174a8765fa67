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
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from ..http.errors import (
    CredentialsError,
    OptionsError,
    UnauthenticatedError,
)
from .credentials import Credentials, check_url, load_credentials
from .exchange import (
    ASSERTION_LIFETIME,
    CTX_KEY_RE,
    DEFAULT_REFRESH_MARGIN,
    GRANT_TYPE,
    OPTION_KEYS,
    TOKEN_PATH,
    Clock,
    build_assertion_claims,
    exchange_assertion,
    format_scope,
    sign_assertion,
    token_endpoint,
    validate_ctx,
)

log = logging.getLogger(__name__)


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


def token_claims(token: str | None) -> dict[str, Any]:
    """The claims of a JWT, unverified (``{}`` when it is not one): only ever read for
    bookkeeping (expiry, jti), never trusted."""
    if not token or not isinstance(token, str):
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False,
                                            "verify_aud": False})
    except Exception:
        return {}
    return claims if isinstance(claims, dict) else {}


def token_expiry(token: str | None) -> float | None:
    """The ``exp`` claim of a JWT (unverified), or None if it is not a JWT with exp."""
    exp = token_claims(token).get("exp")
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
    seconds before the token's ``exp``), keyless ``oidc_source`` (the subject token re-read and
    exchanged at Skyflow's STS for ``service_account_id`` at ``management_url``, cached the
    same way), an ``api_key`` (sent as the bearer value, never expires) or a pre-made
    ``bearer_token`` (used as is; an expired JWT is refused). ``clock`` is injectable so tests
    can move time.
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
        oidc_source: Any = None,
        service_account_id: str | None = None,
        management_url: str | None = None,
    ) -> None:
        given = [x for x in (credentials, api_key, bearer_token, oidc_source) if x]
        if len(given) != 1:
            raise CredentialsError(
                "TokenProvider needs exactly one of credentials, api_key, bearer_token or "
                "oidc_source"
            )
        if oidc_source is not None and (not service_account_id or not management_url):
            raise CredentialsError("oidc_source needs service_account_id (the keyless "
                                   "account) and management_url", field="service_account_id")
        if isinstance(oidc_source, str):
            from .oidc import parse_source

            oidc_source = parse_source(oidc_source, ca_bundle=ca_bundle, timeout=timeout)
        self._oidc = oidc_source
        self._sa_id = service_account_id
        self._management_url = management_url
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
        #: the ``jti`` of every token this provider handed out: Skyflow's audit log records it
        #: (``jwtID``), so what this process's requests did can be told from anyone else's
        self.jwt_ids: set[str] = set()
        if bearer_token:
            self._remember(bearer_token)

    @classmethod
    def from_settings(cls, settings: Any, *, audience: str | None = None,
                      **kwargs: Any) -> TokenProvider:
        """A provider for a ``ProviderSettings`` (whichever auth mode it holds); ``audience``
        overrides ``settings.oidc_audience`` (keyless, github-actions)."""
        source = getattr(settings, "oidc_token_source", None)
        if source:
            from .oidc import parse_source

            kwargs.update(
                oidc_source=parse_source(source, audience=audience or settings.oidc_audience,
                                         ca_bundle=settings.ca_bundle,
                                         timeout=getattr(settings, "timeout", None)),
                service_account_id=settings.oidc_service_account_id,
                management_url=settings.management_url)
        return cls(
            settings.credentials,
            api_key=settings.api_key,
            bearer_token=settings.bearer_token,
            ca_bundle=settings.ca_bundle,
            timeout=getattr(settings, "timeout", None),
            **kwargs,
        )

    @property
    def ctx(self) -> str | dict[str, Any] | None:
        """The context identifier this provider's exchanged tokens carry."""
        return self._ctx

    def _remember(self, token: str) -> None:
        jti = token_claims(token).get("jti")
        if isinstance(jti, str) and jti:
            self.jwt_ids.add(jti)

    @property
    def mode(self) -> str:
        if self._oidc is not None:
            return "oidc"
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
            now = self._clock()
            if self._oidc is not None:
                from .oidc import exchange_subject_token

                # Read the subject token again every time: platforms rotate it.
                assert self._sa_id is not None and self._management_url is not None
                token, token_type = exchange_subject_token(
                    self._oidc.token(), self._management_url, self._sa_id,
                    ca_bundle=self._ca_bundle, timeout=self._timeout)
            else:
                assert self._credentials is not None
                # The assertion's exp is judged by the server's clock: sign with real time;
                # the injectable clock only drives the cache.
                assertion = sign_assertion(self._credentials, ctx=self._ctx)
                token, token_type = exchange_assertion(
                    assertion, self._credentials.token_uri, self._scope,
                    ca_bundle=self._ca_bundle, timeout=self._timeout,
                )
            self.exchanges += 1
            self._remember(token)
            self._token, self._token_type = token, token_type
            exp = token_expiry(token)
            self._expires_at = exp
            # Refresh `margin` seconds before exp, but at most half-way through a short
            # lifetime, so a short-lived token is not re-exchanged on every call.
            self._refresh_at = None if exp is None else exp - min(self._margin,
                                                                  max(0.0, exp - now) / 2)
            log.debug("exchanged a bearer token for client %s; expires at %s",
                      self.client_id, self._expires_at)
            return token

    def authorization_header(self) -> str:
        """``Bearer <token>`` for the Authorization header."""
        return f"Bearer {self.get_token()}"

    def invalidate(self, token: str | None = None) -> bool:
        """Drop the cached token (e.g. after a 401), so the next call exchanges again.

        With ``token``, only drops it if it is still the cached one (avoids a thundering herd
        of threads each invalidating a token another thread just refreshed). Returns True if
        a new exchange is possible (credentials and oidc modes).
        """
        with self._lock:
            if token is None or token == self._token:
                self._token = None
                self._expires_at = None
                self._refresh_at = None
        return self._credentials is not None or self._oidc is not None

    @property
    def client_id(self) -> str | None:
        """The service account the tokens are for (None for an API key or a given token)."""
        return self._credentials.client_id if self._credentials else self._sa_id

    def __repr__(self) -> str:
        who = self.client_id or "-"
        return (f"TokenProvider(mode={self.mode!r}, client_id={who!r}, "
                f"expires_at={self._expires_at})")

    def __reduce__(self) -> Any:
        raise TypeError("TokenProvider holds secrets and must not be pickled")


__all__ = [
    "ASSERTION_LIFETIME", "CTX_KEY_RE", "DEFAULT_REFRESH_MARGIN", "GRANT_TYPE", "OPTION_KEYS",
    "TOKEN_PATH", "TokenProvider", "build_assertion_claims", "exchange_assertion", "format_scope",
    "generate_bearer_token", "generate_bearer_token_from_creds", "get_bearer_token", "is_expired",
    "sign_assertion", "token_claims", "token_endpoint", "token_expiry", "validate_ctx",
]
