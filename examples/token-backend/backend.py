"""The token-vending app built from environment variables, shared by the Flask and Django
examples (``skyflow-token serve`` does the same from command-line flags).

Environment:

* ``SKYFLOW_CREDENTIALS``: the service account's credentials.json text, e.g. from
  ``pulumi stack output --show-secrets credentials`` (or ``SKYFLOW_CREDENTIALS_FILE``);
  ``SKYFLOW_CA_BUNDLE`` for a private CA such as the emulator's;
* ``VENDOR_ROLES``: ``name=roleID`` pairs separated by spaces or commas (the allow-list);
* ``AUTH_JWKS`` (file or https URL), ``AUTH_ISSUER``, ``AUTH_AUDIENCE``, ``CTX_CLAIM``
  (default ``sub``): how your app's session tokens are verified;
* ``ALLOW_ORIGINS``: browser origins granted CORS (only needed when the page is served from
  another origin than the backend); ``RATE_LIMIT`` (default ``60/min``).
"""

from __future__ import annotations

import os
import re

from skyflow_provider.auth.credentials import credentials_from_env
from skyflow_provider.vending import (
    CorsPolicy,
    JwtSessionVerifier,
    Rate,
    RateLimiter,
    RoleCatalog,
    TokenVendor,
    VendingApp,
    VendingConfig,
)


def _list(name: str) -> list[str]:
    return [p for p in re.split(r"[\s,]+", os.environ.get(name, "")) if p]


def build_vending_app(vendor: TokenVendor | None = None) -> VendingApp:
    """The WSGI app; ``vendor`` can be injected (tests), else it is built from the env."""
    if vendor is None:
        creds = credentials_from_env()
        if creds is None:
            raise RuntimeError("set SKYFLOW_CREDENTIALS (credentials.json text)")
        vendor = TokenVendor(creds, ca_bundle=os.environ.get("SKYFLOW_CA_BUNDLE") or None)
    verifier = JwtSessionVerifier(os.environ["AUTH_JWKS"], issuer=os.environ["AUTH_ISSUER"],
                                  audience=os.environ["AUTH_AUDIENCE"],
                                  ctx_claim=os.environ.get("CTX_CLAIM", "sub"))
    rate = Rate.parse(os.environ.get("RATE_LIMIT", "60/min"))
    config = VendingConfig(roles=RoleCatalog.parse(_list("VENDOR_ROLES")),
                           cors=CorsPolicy(_list("ALLOW_ORIGINS")),
                           identity_limit=RateLimiter(rate), address_limit=RateLimiter(rate))
    return VendingApp(vendor, verifier, config)
