"""Token vending for browser and mobile apps: Skyflow bearer tokens per end user and role.

Skyflow's client SDKs (skyflow-js, React, mobile) cannot mint bearer tokens; a backend holds
the service account's credentials and hands each signed-in user a token through the page's
``getBearerToken`` callback. This package is that backend, without Pulumi:

* ``TokenVendor``: tokens cached per (role set, context identifier), re-minted when fewer than
  5 minutes are left, one exchange per key however many callers wait (single-flight); or,
  keyless (``StsExchange``), each user's session token exchanged at Skyflow's STS, with no
  credentials at all;
* ``VendingApp``: the WSGI app (``POST /v1/token``, ``GET /healthz``) that authenticates the
  caller's session (``JwtSessionVerifier``), applies the role allow-list, CORS and rate limits;
* ``VendingServer``: the app on waitress (``skyflow-token serve``), imported on first use, so
  mounting the app in Flask or Django does not need the ``[serve]`` extra.
"""

from __future__ import annotations

from typing import Any

from .app import DEFAULT_MAX_BODY, HEALTH_PATH, TOKEN_PATH, VendingApp, VendingConfig
from .cors import CorsPolicy, normalize_origin
from .ratelimit import Rate, RateLimiter
from .roles import RoleCatalog, RoleRequestError
from .sessions import (
    Authenticator,
    Caller,
    FixedDevCaller,
    JwksUnavailable,
    JwtSessionVerifier,
    SessionError,
    bearer_token,
)
from .singleflight import SingleFlight
from .vendor import (
    StsExchange,
    TokenVendor,
    TokenVendorError,
    VendedToken,
    VendorStats,
    cache_key,
)
from .wsgi import call_wsgi


def __getattr__(name: str) -> Any:
    """``VendingServer`` on first use: it needs waitress (the ``[serve]`` extra)."""
    if name == "VendingServer":
        from .server import VendingServer

        return VendingServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MAX_BODY",
    "HEALTH_PATH",
    "TOKEN_PATH",
    "Authenticator",
    "Caller",
    "CorsPolicy",
    "FixedDevCaller",
    "JwksUnavailable",
    "JwtSessionVerifier",
    "Rate",
    "RateLimiter",
    "RoleCatalog",
    "RoleRequestError",
    "SessionError",
    "SingleFlight",
    "StsExchange",
    "TokenVendor",
    "TokenVendorError",
    "VendedToken",
    "VendingApp",
    "VendingConfig",
    "VendingServer",
    "VendorStats",
    "bearer_token",
    "cache_key",
    "call_wsgi",
    "normalize_origin",
]
