"""Authentication of API calls (access tokens, API keys, the admin token) and permission checks.

This is HTTP-facing (it reads headers); the rules it applies live in ``models``.
"""

from __future__ import annotations

import hmac

import jwt

from .auth import API_KEY_RE, Principal, api_key_hash
from .cel import Env
from .context import Ctx
from .errors import forbidden, unauthenticated
from .models.allowlist import ip_allowed
from .models.grants import member_grants
from .models.records import vault_permission
from .permissions import Grant, Target, allowed
from .store import Tx
from .util import now


def _bearer(ctx: Ctx) -> str:
    header = ctx.request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise unauthenticated("Authorization header with a Bearer token is required")
    return credential


def authenticate_admin(ctx: Ctx) -> None:
    """/_emulator/*: only DIR/admin-token; access tokens and API keys are refused."""
    header = ctx.request.headers.get("Authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not given or not hmac.compare_digest(given.encode(), ctx.state.admin_token.encode()):
        raise unauthenticated("Admin token required (DIR/admin-token)")


def authenticate(ctx: Ctx, *, account_header: bool = True) -> Principal:
    """Bearer access token or API key (plus X-Skyflow-Account-ID on management calls; the
    Data API, like Skyflow's, does not take it); 401 otherwise."""
    credential = _bearer(ctx)
    account = ctx.account_id
    if account_header:
        account = ctx.request.headers.get("X-Skyflow-Account-ID", "").strip()
        if not account:
            raise unauthenticated("X-Skyflow-Account-ID header is required")
        if account != ctx.account_id:
            raise unauthenticated("Invalid account ID in X-Skyflow-Account-ID")
    with ctx.store.read() as tx:
        if API_KEY_RE.match(credential):
            principal = _from_api_key(tx, credential)
        else:
            principal = _from_token(ctx, credential)
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


def _from_token(ctx: Ctx, credential: str) -> Principal:
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


def issued_principal(ctx: Ctx, token: str) -> Principal:
    """Whom a token exchange just issued ``token`` to (its own token: verified like any other),
    so the exchange is audited under that identity and context."""
    return _from_token(ctx, token)


def _grants(ctx: Ctx) -> list[Grant]:
    """The caller's grants for this request: its token's scope, conditions evaluated."""
    assert ctx.principal is not None
    env = Env(time=now(), context=ctx.principal.context, origin_ip=ctx.request.remote_addr)
    with ctx.store.read() as tx:
        return member_grants(tx, ctx.principal.subject, ctx.principal.scoped_roles, env)


def can(ctx: Ctx, permission: str, target: Target) -> bool:
    """Whether the caller's roles grant ``permission`` on ``target`` (lists show only what the
    caller may read)."""
    return allowed(_grants(ctx), permission, target, ctx.account_id)


def authorize(ctx: Ctx, permission: str, target: Target) -> None:
    """403 naming the missing permission unless the caller's roles grant it on the target."""
    if not allowed(_grants(ctx), permission, target, ctx.account_id):
        where = "the account" if target.type in ("ACCOUNT", "ANY") else \
            f"{target.type.lower()} {target.id}"
        raise forbidden(f"Permission denied: missing permission {permission} on {where}")


def authorize_data(ctx: Ctx, permission: str, target: Target) -> None:
    """Data API: only the caller's roles on that vault count (see models.records)."""
    reason = vault_permission(_grants(ctx), target.id, permission)
    if reason is not None:
        raise forbidden(reason)
