"""The JWT-bearer grant: an assertion verified like Skyflow does, exchanged for an access token."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import jwt

from ..errors import ApiError, bad_request, forbidden, unauthenticated
from ..state import State
from ..util import ID_RE
from .allowlist import ip_allowed

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600  # PYSDK uses now + 60 minutes
LEEWAY = 60
CTX_KEY_RE = re.compile(r"^[a-zA-Z0-9_]+$")
SCOPE_RE = re.compile(r"^role:([A-Za-z0-9_-]{1,64})$")


def _ctx_claim(claims: dict[str, Any]) -> Any:
    value = claims.get("ctx")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dict):
        if not value:
            return None
        for key in value:
            if not CTX_KEY_RE.match(str(key)):
                raise unauthenticated(f"ctx key {key!r} must match ^[a-zA-Z0-9_]+$")
        return value
    if isinstance(value, (str, bool, int, float)):
        return value
    raise unauthenticated("ctx claim must be a string or an object")


def _scope(raw: Any) -> list[str] | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raise bad_request("Scopes in request token in wrong format")
    roles = []
    for part in raw.split():
        m = SCOPE_RE.match(part)
        if not m:
            raise bad_request("Scopes in request token in wrong format")
        roles.append(m.group(1))
    return list(dict.fromkeys(roles))


def _parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def exchange(state: State, form: dict[str, Any], remote_addr: str | None) -> tuple[str, str]:
    """Verify the grant; returns (access token, the service account it was issued to)."""
    if form.get("grant_type") != GRANT_TYPE:
        raise bad_request(f"grant_type: must be {GRANT_TYPE}")
    assertion = form.get("assertion")
    if not isinstance(assertion, str) or not assertion:
        raise bad_request("assertion: required")
    scoped = _scope(form.get("scope"))
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise unauthenticated("Error: JWT token unparseable") from None
    if header.get("alg") != "RS256":
        raise unauthenticated("Error: assertion must be signed with RS256")
    iss, sub, key_id = unverified.get("iss"), unverified.get("sub"), unverified.get("key")
    if not isinstance(iss, str) or not ID_RE.match(iss) or sub != iss:
        raise unauthenticated("Error: iss and sub must both be the clientID")
    if not isinstance(key_id, str) or not ID_RE.match(key_id):
        raise unauthenticated("Error: key claim must be a key ID")
    with state.store.read() as tx:
        sa = tx.get("sa", iss)
        if sa is None or sa.get("accountID") != state.account_id:
            raise unauthenticated("Error: invalid clientID")
        if sa.get("apiKeyEnabled"):
            raise forbidden("Service account is configured for API keys; it cannot generate "
                            "bearer tokens")
        if sa.get("status") != "ACTIVE":
            raise unauthenticated("Error: service account is not active")
        key = tx.get("sakey", key_id)
        if key is None or key.get("saID") != iss:
            raise unauthenticated("Error: invalid key ID")
        assigned = {r for r, _ in tx.roles_of(iss, "SERVICE_ACCOUNT")}
    if not ip_allowed(sa, remote_addr, for_token=True):
        raise forbidden("Request origin not in the service account's IP allowlist")
    now = time.time()
    if _parse_time(key["validBeforeTime"]) < now:
        raise unauthenticated("Error: Key expired, consider rotating.")
    if _parse_time(key["validAfterTime"]) > now + LEEWAY:
        raise unauthenticated("Error: Key not yet valid.")
    try:
        claims = jwt.decode(
            assertion, key["publicKey"], algorithms=["RS256"],
            audience=state.accepted_audiences(), leeway=LEEWAY,
            options={"require": ["exp", "iss", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise unauthenticated("Error: assertion expired") from None
    except jwt.InvalidAudienceError:
        raise unauthenticated("Error: invalid audience; aud must be the tokenURI") from None
    except jwt.InvalidSignatureError:
        raise unauthenticated("Error: assertion signature verification failed") from None
    except jwt.InvalidTokenError as exc:
        raise unauthenticated(f"Error: invalid assertion ({type(exc).__name__})") from None
    exp = claims["exp"]
    if not isinstance(exp, (int, float)) or exp > now + MAX_ASSERTION_LIFETIME + LEEWAY:
        raise unauthenticated("Error: assertion exp is too far in the future (max 60 minutes)")
    context = _ctx_claim(claims)
    if context is None and (sa.get("clientConfiguration") or {}).get("enforceContextID"):
        raise unauthenticated("Error: ctx claim is required for this service account "
                              "(enforceContextID)")
    if scoped is not None:
        missing = [r for r in scoped if r not in assigned]
        if missing:
            raise ApiError(400, f"Invalid scope: role {missing[0]} is not assigned to the "
                                "service account")
    token, _ = state.issuer.issue(subject=iss, account_id=sa["accountID"], key_id=key_id,
                                  scoped_roles=scoped, context=context)
    return token, iss
