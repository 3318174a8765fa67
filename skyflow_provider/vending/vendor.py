"""The token vendor: Skyflow bearer tokens per (role set, context identifier), cached.

Why a cache per key: skyflow-js calls ``getBearerToken`` lazily and keeps a token right up to
its ``exp``; a backend that minted per request would make one token exchange per page load,
one that shared a single token would give every user the same identity. The vendor keeps one
token per end user and role set, re-mints it when fewer than ``refresh_margin`` seconds are
left (so a browser always gets a token with at least that much life), and collapses
concurrent mints for one key into a single exchange.

Keyless (``sts=StsExchange(...)``, docs/keyless.md): the backend holds no credentials. Each
caller's verified session token is exchanged at Skyflow's STS for a token of the role's keyless
service account (one account per role: an STS token has no scope), whose ctx the STS takes from
the session's claims, and whose lifetime ends with the session's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..auth.credentials import Credentials, load_credentials
from ..auth.oidc import exchange_subject_token
from ..auth.tokens import (
    format_scope,
    get_bearer_token,
    token_claims,
    token_expiry,
    validate_ctx,
)
from ..http.errors import SkyflowError
from .singleflight import SingleFlight

log = logging.getLogger(__name__)

Clock = Callable[[], float]
#: mint(role_ids, ctx) -> (access_token, token_type); role_ids None = unscoped token
Minter = Callable[[tuple[str, ...] | None, "str | dict[str, Any] | None"], tuple[str, str]]

DEFAULT_REFRESH_MARGIN = 300.0  # seconds: skyflow-js uses a token until exp, no skew margin
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read): a browser is waiting


def rfc3339(ts: float) -> str:
    """``2025-01-02T03:04:05Z``: the format of ``expiresAt``."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class VendedToken:
    """A Skyflow bearer token and what it was minted for. ``repr`` never shows the token."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: float
    role_ids: tuple[str, ...] | None
    ctx: str | dict[str, Any] | None
    minted_at: float
    refresh_at: float

    @property
    def expires_at_rfc3339(self) -> str:
        return rfc3339(self.expires_at)

    def __reduce__(self) -> Any:
        raise TypeError("VendedToken holds a bearer token and must not be pickled")


class TokenVendorError(SkyflowError):
    """The token exchange gave something a browser cannot use (e.g. a token without ``exp``)."""


@dataclass(frozen=True)
class StsExchange:
    """Keyless vending: a caller's verified session token, exchanged at Skyflow's STS
    (``management_url``) for a token of a keyless service account listed in an STS config that
    trusts the session's issuer. The token's ctx is that config's ``contextClaims`` taken from
    the session, its ``exp`` at most the session's."""

    management_url: str
    ca_bundle: str | None = None
    timeout: Any = DEFAULT_TIMEOUT

    def __call__(self, service_account_id: str, subject_token: str) -> tuple[str, str]:
        return exchange_subject_token(subject_token, self.management_url, service_account_id,
                                      ca_bundle=self.ca_bundle, timeout=self.timeout)


@dataclass
class VendorStats:
    """Counters since start: what the benchmark and health checks report."""

    exchanges: int = 0
    cache_hits: int = 0
    shared_waits: int = 0  # callers that waited on another caller's exchange
    failures: int = 0
    evictions: int = 0


def cache_key(role_ids: Iterable[str] | str | None,
              ctx: str | Mapping[str, Any] | None) -> tuple[tuple[str, ...] | None, Hashable]:
    """The cache key: the role set (order and duplicates do not matter) and the context.

    Role ids are validated here (``format_scope``), the context by Skyflow's rules
    (``validate_ctx``); a dict context is keyed by its canonical JSON.
    """
    if isinstance(role_ids, str):
        role_ids = [role_ids]
    roles: tuple[str, ...] | None = None
    if role_ids is not None:
        roles = tuple(sorted(set(role_ids)))
        format_scope(roles)  # raises OptionsError on a bad id
        if not roles:
            roles = None
    resolved = validate_ctx(ctx)
    ctx_key: Hashable = (json.dumps(resolved, sort_keys=True, separators=(",", ":"))
                         if isinstance(resolved, dict) else resolved)
    return roles, ctx_key


class TokenVendor:
    """Thread-safe, cached, single-flight source of Skyflow bearer tokens for end users.

    ``get(role_ids, ctx)`` returns a ``VendedToken`` with at least ``refresh_margin`` seconds
    left (or a freshly minted one). Mints go through ``skyflow_provider.auth.tokens``
    (``get_bearer_token``) unless a ``minter`` is injected (tests, benchmarks), or, keyless,
    through ``sts`` with the caller's ``subject_token`` (``role_ids`` is then the one keyless
    service account). ``clock`` drives the cache only; assertions are signed with real time,
    which Skyflow's clock judges. The cache is bounded (``max_entries``, least recently used
    first out).
    """

    def __init__(
        self,
        credentials: Credentials | Mapping[str, Any] | str | None = None,
        *,
        ca_bundle: str | None = None,
        timeout: Any = DEFAULT_TIMEOUT,
        clock: Clock = time.time,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        minter: Minter | None = None,
        sts: StsExchange | None = None,
    ) -> None:
        if sum(x is not None for x in (credentials, minter, sts)) != 1:
            raise ValueError("TokenVendor needs exactly one of credentials, minter or sts")
        if refresh_margin < 0 or max_entries < 1:
            raise ValueError("refresh_margin must be >= 0 and max_entries >= 1")
        self._credentials = load_credentials(credentials) if credentials is not None else None
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self._mint_fn = minter or self._exchange
        self._sts = sts
        self._clock = clock
        self._margin = float(refresh_margin)
        self._max = max_entries
        self._lock = threading.Lock()
        self._cache: OrderedDict[Hashable, VendedToken] = OrderedDict()
        self._flight: SingleFlight[VendedToken] = SingleFlight()
        self.stats = VendorStats()

    @property
    def client_id(self) -> str | None:
        return self._credentials.client_id if self._credentials else None

    @property
    def keyless(self) -> bool:
        """True when tokens come from Skyflow's STS for each caller's session token."""
        return self._sts is not None

    def _exchange(self, role_ids: tuple[str, ...] | None,
                  ctx: str | dict[str, Any] | None) -> tuple[str, str]:
        assert self._credentials is not None
        options: dict[str, Any] = {}
        if role_ids:
            options["role_ids"] = list(role_ids)
        if ctx is not None:
            options["ctx"] = ctx
        return get_bearer_token(self._credentials, options, ca_bundle=self._ca_bundle,
                                timeout=self._timeout)

    def _usable(self, tok: VendedToken | None, now: float) -> bool:
        return tok is not None and now < tok.refresh_at

    def peek(self, role_ids: Iterable[str] | str | None = None,
             ctx: str | Mapping[str, Any] | None = None) -> VendedToken | None:
        """The cached token for the key if it is still fresh; never mints."""
        key = cache_key(role_ids, ctx)
        with self._lock:
            tok = self._cache.get(key)
        return tok if self._usable(tok, self._clock()) else None

    def get(self, role_ids: Iterable[str] | str | None = None,
            ctx: str | Mapping[str, Any] | None = None, *,
            subject_token: str | None = None) -> VendedToken:
        """A token for the role set and context: cached, or minted once for all waiters.

        Raises the token code's ``SkyflowError`` when the exchange fails (nothing is cached
        then, so the next call tries again). Keyless: ``subject_token`` is the caller's
        verified session token, ``ctx`` the caller's identity (the cache key).
        """
        return self.fetch(role_ids, ctx, subject_token=subject_token)[0]

    def fetch(self, role_ids: Iterable[str] | str | None = None,
              ctx: str | Mapping[str, Any] | None = None, *,
              subject_token: str | None = None) -> tuple[VendedToken, str]:
        """Like ``get``, and where the token came from: ``cache``, ``minted`` or ``shared``
        (waited on another caller's exchange), for access logs.
        """
        key = cache_key(role_ids, ctx)
        roles, _ = key
        resolved_ctx = validate_ctx(ctx)
        if self._sts is not None and (not subject_token or not roles or len(roles) != 1):
            raise TokenVendorError(
                "keyless vending needs the caller's session token (JwtSessionVerifier) and "
                "exactly one keyless service account per request", operation="token exchange")
        with self._lock:
            tok = self._cache.get(key)
            if self._usable(tok, self._clock()):
                self._cache.move_to_end(key)
                self.stats.cache_hits += 1
                assert tok is not None
                return tok, "cache"

        def mint() -> VendedToken:
            # Another leader may have finished between our cache miss and taking the flight.
            with self._lock:
                cached = self._cache.get(key)
                if self._usable(cached, self._clock()):
                    self.stats.cache_hits += 1
                    assert cached is not None
                    return cached
            return self._mint(key, roles, resolved_ctx, subject_token)

        tok, shared = self._flight.do(key, mint)
        if shared:
            with self._lock:
                self.stats.shared_waits += 1
            return tok, "shared"
        return tok, "minted"

    def _mint(self, key: Hashable, roles: tuple[str, ...] | None,
              ctx: str | dict[str, Any] | None, subject_token: str | None = None
              ) -> VendedToken:
        started = self._clock()
        try:
            if self._sts is not None:
                assert roles is not None and subject_token is not None
                access_token, token_type = self._sts(roles[0], subject_token)
                ctx = token_claims(access_token).get("context_identifier")  # the STS's
            else:
                access_token, token_type = self._mint_fn(roles, ctx)
        except BaseException:
            with self._lock:
                self.stats.failures += 1
            raise
        exp = token_expiry(access_token)
        if exp is None:
            with self._lock:
                self.stats.failures += 1
            raise TokenVendorError(
                "The token endpoint returned a token without an 'exp' claim; browsers "
                "(skyflow-js) refuse such tokens", operation="token exchange")
        now = self._clock()
        # Re-mint `margin` before exp; for a token that lives less than twice the margin,
        # half-way through its life, so a short-lived token is not re-minted on every call.
        refresh_at = exp - min(self._margin, max(0.0, exp - now) / 2)
        tok = VendedToken(access_token=access_token, token_type=token_type or "Bearer",
                          expires_at=exp, role_ids=roles, ctx=ctx, minted_at=started,
                          refresh_at=refresh_at)
        with self._lock:
            self.stats.exchanges += 1
            self._cache[key] = tok
            self._cache.move_to_end(key)
            self._evict(now)
        log.debug("minted a bearer token for roles=%s; expires at %s", roles,
                  tok.expires_at_rfc3339)
        return tok

    def _evict(self, now: float) -> None:
        """Drop expired tokens, then the least recently used beyond ``max_entries`` (locked)."""
        if len(self._cache) <= self._max:
            return
        for k in [k for k, t in self._cache.items() if t.expires_at <= now]:
            del self._cache[k]
            self.stats.evictions += 1
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
            self.stats.evictions += 1

    def invalidate(self, role_ids: Iterable[str] | str | None = None,
                   ctx: str | Mapping[str, Any] | None = None) -> bool:
        """Forget the cached token for one key (e.g. the vault refused it); True if one was."""
        key = cache_key(role_ids, ctx)
        with self._lock:
            return self._cache.pop(key, None) is not None

    def clear(self) -> None:
        """Forget every cached token (e.g. after the credentials were rotated)."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def __repr__(self) -> str:
        who = "keyless" if self._sts is not None else repr(self.client_id)
        return (f"TokenVendor(client_id={who}, cached={len(self)}, "
                f"exchanges={self.stats.exchanges})")

    def __reduce__(self) -> Any:
        raise TypeError("TokenVendor holds credentials and tokens and must not be pickled")
