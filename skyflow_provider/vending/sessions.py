"""Who is asking: the app's own session token (a JWT), verified against a JWKS.

Why: a token vendor without caller authentication hands vault access to anyone who can reach
it (the official sample's pattern). The end user's identity and the Skyflow context identifier
come from a claim of the *verified* session, never from the request body, so a user cannot ask
for a token that names someone else and ``enforce_context_id`` holds per end user.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from ..auth.credentials import check_url

#: Signature algorithms accepted for session tokens: asymmetric only, never ``none`` or HMAC
#: (a JWKS is public; an HMAC key in it would let anyone mint sessions).
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES256K", "ES384", "ES512", "EdDSA",
})
DEFAULT_LEEWAY = 30.0  # seconds of clock skew tolerated on exp/nbf/iat
MAX_CTX_LENGTH = 256
MAX_SESSION_TOKEN_LENGTH = 16_384
DEFAULT_CACHE_SECONDS = 300.0  # a verified session is re-verified at least this often
DEFAULT_CACHE_SIZE = 10_000


class SessionError(Exception):
    """The caller is not authenticated; ``reason`` is safe to show (never the token)."""

    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class JwksUnavailable(SessionError):
    """The session JWKS could not be fetched: our dependency failed, not the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, status=502)


@dataclass(frozen=True)
class Caller:
    """An authenticated end user: ``identity`` for logs and rate limits, ``ctx`` for Skyflow;
    ``subject_token``: the verified session JWT itself (keyless vending exchanges it at
    Skyflow's STS), never shown in a repr."""

    identity: str
    ctx: str
    subject_token: str | None = field(default=None, repr=False, compare=False)


class Authenticator(Protocol):
    """Anything that turns a WSGI environ into a ``Caller`` or raises ``SessionError``.

    Mount the vending app inside a Flask/Django service and pass an authenticator that reads
    that framework's own session instead of a bearer JWT.
    """

    def __call__(self, environ: Mapping[str, Any]) -> Caller: ...


def bearer_token(environ: Mapping[str, Any]) -> str:
    """The value of ``Authorization: Bearer <token>``, or ``SessionError``."""
    header = environ.get("HTTP_AUTHORIZATION") or ""
    if not header:
        raise SessionError("no session: send Authorization: Bearer <session token>")
    scheme, _, value = str(header).partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise SessionError("the Authorization header must be 'Bearer <session token>'")
    if len(value) > MAX_SESSION_TOKEN_LENGTH:
        raise SessionError("the session token is too long")
    return value


def load_jwks_file(path: str | Path) -> PyJWKSet:
    """A JWKS (``{"keys": [...]}``) or a single JWK from a file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"JWKS file {str(path)!r} cannot be read: {exc.strerror}") from None
    except ValueError:
        raise ValueError(f"JWKS file {str(path)!r} is not JSON") from None
    if isinstance(data, dict) and "keys" not in data and "kty" in data:
        data = {"keys": [data]}
    try:
        keys = PyJWKSet.from_dict(data)
    except jwt.PyJWTError as exc:
        raise ValueError(f"JWKS file {str(path)!r}: {exc}") from None
    _check_keys(keys.keys, str(path))
    return keys


def _check_keys(keys: list[PyJWK], where: str) -> None:
    for key in keys:
        if key.algorithm_name not in ASYMMETRIC_ALGORITHMS:
            raise ValueError(
                f"JWKS {where}: key {key.key_id!r} uses {key.algorithm_name}; only asymmetric "
                f"algorithms are accepted ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})")


class JwtSessionVerifier:
    """Verifies session JWTs: signature against the JWKS (file or https URL), ``exp``
    required, issuer and audience checked, algorithm taken from the JWK (never from the token
    alone, never ``none``). The caller's context identifier is the ``ctx_claim`` claim.

    Verified sessions are remembered by their SHA-256 (never the token itself) until the
    earlier of their ``exp`` and ``cache_seconds`` from verification, so a page that asks
    again does not pay for JWT parsing twice; ``cache_size=0`` turns that off.
    """

    def __init__(
        self,
        jwks: str | Path | PyJWKSet,
        *,
        issuer: str,
        audience: str | list[str],
        ctx_claim: str = "sub",
        leeway: float = DEFAULT_LEEWAY,
        jwks_timeout: float = 10.0,
        jwks_cache_seconds: int = 300,
        ssl_context: Any = None,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("session verification needs an issuer and an audience")
        if not ctx_claim:
            raise ValueError("ctx_claim must name a claim")
        self.issuer = issuer
        self.audience = audience
        self.ctx_claim = ctx_claim
        self.leeway = leeway
        self._client: PyJWKClient | None = None
        self._set: PyJWKSet | None = None
        self._lock = threading.Lock()
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._verified: OrderedDict[bytes, tuple[float, Caller]] = OrderedDict()
        if isinstance(jwks, PyJWKSet):
            _check_keys(jwks.keys, "(given)")
            self._set = jwks
        elif isinstance(jwks, str) and jwks.startswith(("https://", "http://")):
            problem = check_url(jwks, "the JWKS URL")
            if problem:
                raise ValueError(problem)
            self._client = PyJWKClient(jwks, cache_keys=True, lifespan=jwks_cache_seconds,
                                       timeout=int(max(1, jwks_timeout)),
                                       ssl_context=ssl_context)
        else:
            self._set = load_jwks_file(jwks)
        self.source = jwks if isinstance(jwks, str | Path) else "(given)"

    def _key_for(self, token: str, header: Mapping[str, Any]) -> PyJWK:
        kid = header.get("kid")
        if self._client is not None:
            try:
                key = self._client.get_signing_key_from_jwt(token)
            except jwt.PyJWKClientConnectionError:
                raise JwksUnavailable("the session JWKS could not be fetched") from None
            except jwt.PyJWKClientError:
                raise SessionError("the session token's key is not in the JWKS") from None
            _check_keys([key], "from the URL")
            return key
        assert self._set is not None
        keys = self._set.keys
        if kid is None:
            if len(keys) == 1:
                return keys[0]
            raise SessionError("the session token has no 'kid' and the JWKS has several keys")
        for key in keys:
            if key.key_id == kid:
                return key
        raise SessionError("the session token's key is not in the JWKS")

    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of a session token, or ``SessionError``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise SessionError("the session token is not a JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
            raise SessionError("the session token's algorithm is not accepted")
        key = self._key_for(token, header)
        if alg != key.algorithm_name:
            raise SessionError("the session token's algorithm does not match its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=[key.algorithm_name], audience=self.audience,
                issuer=self.issuer, leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise SessionError("the session has expired") from None
        except jwt.InvalidAudienceError:
            raise SessionError("the session token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise SessionError("the session token has another issuer") from None
        except jwt.InvalidSignatureError:
            raise SessionError("the session token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise SessionError(f"the session token is invalid ({type(exc).__name__})") from None
        return claims

    def caller(self, claims: Mapping[str, Any]) -> Caller:
        """The ``Caller`` for verified claims: ctx from ``ctx_claim``, identity from ``sub``."""
        value = claims.get(self.ctx_claim)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SessionError(f"the session has no usable {self.ctx_claim!r} claim")
        ctx = str(value).strip()
        if not ctx or len(ctx) > MAX_CTX_LENGTH or any(ord(c) < 32 for c in ctx):
            raise SessionError(f"the session's {self.ctx_claim!r} claim is empty or too long")
        sub = claims.get("sub")
        identity = str(sub) if isinstance(sub, str | int) and str(sub).strip() else ctx
        return Caller(identity=identity[:MAX_CTX_LENGTH], ctx=ctx)

    def __call__(self, environ: Mapping[str, Any]) -> Caller:
        token = bearer_token(environ)
        if self._cache_size <= 0:
            return replace(self.caller(self.verify(token)), subject_token=token)
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        with self._lock:
            hit = self._verified.get(digest)
            if hit is not None:
                if now < hit[0]:
                    self._verified.move_to_end(digest)
                    return replace(hit[1], subject_token=token)
                del self._verified[digest]
        claims = self.verify(token)
        caller = self.caller(claims)  # cached without the token: only its digest is kept
        until = min(float(claims["exp"]), now + self._cache_seconds)
        with self._lock:
            self._verified[digest] = (until, caller)
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return replace(caller, subject_token=token)


class FixedDevCaller:
    """Development only: every request is the same fixed caller, with no authentication.

    ``skyflow-token serve --insecure-dev-no-auth`` uses it, and only on a loopback address.
    """

    def __init__(self, ctx: str = "insecure-dev-user") -> None:
        self._caller = Caller(identity=ctx, ctx=ctx)

    def __call__(self, environ: Mapping[str, Any]) -> Caller:
        return self._caller

