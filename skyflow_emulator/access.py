"""Authentication of management calls (access tokens, API keys) and permission checks."""

from __future__ import annotations

import ipaddress
from typing import Any

import jwt

from .auth import API_KEY_RE, Principal, api_key_hash
from .cel import Env, evaluate
from .context import Ctx
from .errors import forbidden, unauthenticated
from .permissions import Grant, Target, allowed, expand
from .store import Tx
from .util import now


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


def authenticate(ctx: Ctx) -> Principal:
    """Bearer access token or API key, plus X-Skyflow-Account-ID; 401 otherwise."""
    header = ctx.request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise unauthenticated("Authorization header with a Bearer token is required")
    account = ctx.request.headers.get("X-Skyflow-Account-ID", "").strip()
    if not account:
        raise unauthenticated("X-Skyflow-Account-ID header is required")
    if account != ctx.account_id:
        raise unauthenticated("Invalid account ID in X-Skyflow-Account-ID")
    with ctx.store.read() as tx:
        if API_KEY_RE.match(credential):
            principal = _from_api_key(tx, credential)
        else:
            principal = _from_token(ctx, tx, credential)
        sa = tx.get("sa", principal.subject)
        if sa is None or sa.get("status") != "ACTIVE":
            raise unauthenticated("Service account of this credential no longer exists")
        if not ip_allowed(sa, ctx.request.remote_addr, for_token=False):
            raise forbidden("Request origin not in the service account's IP allowlist")
    if principal.account_id != account:
        raise unauthenticated("Credential does not belong to the account in X-Skyflow-Account-ID")
    return principal


def _from_api_key(tx: Tx, credential: str) -> Principal:
    keys = tx.find("apikey", lookup=api_key_hash(credential))
    if not keys:
        raise unauthenticated("Invalid API key")
    key = keys[0]
    if key.get("status") != "ACTIVE":
        raise unauthenticated("API key is not active")
    sa = tx.get("sa", key["saID"])
    if sa is None:
        raise unauthenticated("Invalid API key")
    return Principal(subject=sa["ID"], account_id=sa["accountID"], mode="API_KEY")


def _from_token(ctx: Ctx, tx: Tx, credential: str) -> Principal:
    try:
        claims = ctx.state.issuer.verify(credential)
    except jwt.ExpiredSignatureError:
        raise unauthenticated("Token expired") from None
    except jwt.InvalidTokenError:
        raise unauthenticated("Invalid bearer token") from None
    scope = claims.get("scope")
    scoped = None
    if isinstance(scope, str):
        scoped = [s.removeprefix("role:") for s in scope.split()]
    return Principal(subject=str(claims["sub"]), account_id=str(claims.get("account_id", "")),
                     mode="SERVICE_ACCOUNT_JWT", scoped_roles=scoped,
                     context=claims.get("context_identifier"), claims=claims)


def member_grants(tx: Tx, member_id: str, only_roles: list[str] | None = None,
                  env: Env | None = None) -> list[Grant]:
    """Grants from the roles assigned to a member (restricted to a token's scope if any).

    With a request ``env``, an assignment's CEL condition must hold for its role to count;
    without one (listing a member's permissions) conditional roles are included.
    """
    grants: list[Grant] = []
    for role_id, condition in tx.roles_of(member_id, "SERVICE_ACCOUNT"):
        if only_roles is not None and role_id not in only_roles:
            continue
        if condition and env is not None and not evaluate(condition, env):
            continue
        role = tx.get("role", role_id)
        if role is None:
            continue
        res = role["resource"]
        for perm in role["definition"].get("permissions") or []:
            grants.append(Grant(perm, res["type"], res["ID"]))
    return grants


def member_permissions(tx: Tx, member_id: str) -> list[str]:
    return expand(member_grants(tx, member_id))


def authorize(ctx: Ctx, permission: str, target: Target) -> None:
    """403 naming the missing permission unless the caller's roles grant it on the target."""
    assert ctx.principal is not None
    env = Env(time=now(), context=ctx.principal.context, origin_ip=ctx.request.remote_addr)
    with ctx.store.read() as tx:
        grants = member_grants(tx, ctx.principal.subject, ctx.principal.scoped_roles, env)
    if not allowed(grants, permission, target, ctx.account_id):
        where = "the account" if target.type in ("ACCOUNT", "ANY") else \
            f"{target.type.lower()} {target.id}"
        raise forbidden(f"Permission denied: missing permission {permission} on {where}")
