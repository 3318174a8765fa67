"""The OIDC issuers' signing keys (JWKS) for the STS exchange: fetched, cached, refetched.

Outgoing HTTPS from the emulator: verified against the system trust store plus the files given
with ``--trust-ca`` (a test issuer's private CA), never unverified.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK

from .errors import unauthenticated

JWKS_TTL = 300.0  # seconds a fetched JWKS is used before it is fetched again
JWKS_REFETCH_MIN = 1.0  # an unknown kid refetches at most this often per URI
JWKS_TIMEOUT = 5.0
MAX_JWKS_BYTES = 256 * 1024


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.hostname) and (parts.scheme == "https" or (
        parts.scheme == "http" and is_loopback_host(parts.hostname)))


@dataclass
class _Fetched:
    keys: dict[str, PyJWK]
    at: float


@dataclass
class JwksCache:
    """The issuers' keys, fetched from ``publicKeyJWKURI`` over TLS verified against the system
    store plus ``--trust-ca`` files; cached ``JWKS_TTL`` seconds, refetched on an unknown
    ``kid`` (at most every ``JWKS_REFETCH_MIN`` seconds per URI, so a flood of made-up kids
    cannot turn the emulator into a request amplifier)."""

    trust_ca: list[str] = field(default_factory=list)
    fetches: int = 0
    _cache: dict[str, _Fetched] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ssl: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            ctx = ssl.create_default_context()
            for path in self.trust_ca:
                ctx.load_verify_locations(cafile=path)
            self._ssl = ctx
        return self._ssl

    def get(self, uri: str) -> bytes:
        """GET ``uri`` (https, or http to a loopback host) with this cache's trust."""
        if not _https_or_loopback(uri):
            raise unauthenticated(f"{uri} is not an https URL")
        request = urllib.request.Request(uri, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=JWKS_TIMEOUT,  # noqa: S310
                                        context=self._context()) as resp:
                return bytes(resp.read(MAX_JWKS_BYTES + 1))
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise unauthenticated(f"Could not fetch the issuer's keys from {uri} "
                                  f"({reason})") from None

    def _fetch(self, uri: str) -> dict[str, PyJWK]:
        raw = self.get(uri)
        if len(raw) > MAX_JWKS_BYTES:
            raise unauthenticated(f"The issuer's JWKS at {uri} is too large")
        try:
            data = json.loads(raw)
            keys: dict[str, PyJWK] = {}
            for item in data.get("keys") or []:
                if not isinstance(item, dict) or item.get("use", "sig") != "sig":
                    continue
                if item.get("kty") not in ("RSA", "EC"):
                    continue
                jwk = PyJWK.from_dict(item)
                keys[str(item.get("kid") or "")] = jwk
        except (ValueError, AttributeError, jwt.PyJWTError):
            raise unauthenticated(f"The issuer's JWKS at {uri} is not a valid JWK set") from None
        self.fetches += 1
        return keys

    def key(self, uri: str, kid: str) -> PyJWK | None:
        now = time.monotonic()
        with self._lock:
            known = self._cache.get(uri)
            fresh = known is not None and now - known.at < JWKS_TTL
            if known is not None and fresh and kid in known.keys:
                return known.keys[kid]
            if known is not None and fresh and now - known.at < JWKS_REFETCH_MIN:
                return None  # just fetched: an unknown kid stays unknown for a moment
        keys = self._fetch(uri)
        with self._lock:
            self._cache[uri] = _Fetched(keys, time.monotonic())
        return keys.get(kid)


def discover_jwks(cache: JwksCache, issuer: str) -> str:
    """OIDC discovery for a config without ``publicKeyJWKURI`` (an assumption)."""
    uri = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        found = json.loads(cache.get(uri)).get("jwks_uri")
    except (ValueError, AttributeError):
        found = None
    if not isinstance(found, str) or not _https_or_loopback(found):
        raise unauthenticated(f"The STS config for issuer {issuer} has no publicKeyJWKURI and "
                              "OIDC discovery found no jwks_uri")
    return found
