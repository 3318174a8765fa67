"""The service-account IP allowlist rule, shared by the token exchange and every call."""

from __future__ import annotations

import ipaddress
from typing import Any


def ip_allowed(sa: dict[str, Any], remote: str | None, *, for_token: bool) -> bool:
    """ipAllowlist: ACTIVE_ALL checks every call, ACTIVE_AUTH_ONLY only token generation."""
    allow = sa.get("ipAllowlist") or {}
    status = allow.get("status", "INACTIVE")
    if status == "INACTIVE" or (status == "ACTIVE_AUTH_ONLY" and not for_token):
        return True
    if not remote:
        return False
    try:
        addr = ipaddress.ip_address(remote)
    except ValueError:
        return False
    for block in allow.get("cidrBlocks") or []:
        try:
            if addr in ipaddress.ip_network(block, strict=False):
                return True
        except ValueError:
            continue
    return False
