"""Service accounts, their JWT key pairs and their API keys."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

from . import models
from .auth import api_key_hash, new_api_key, public_key_der_b64
from .bootstrap import new_jwt_key
from .context import Ctx, load
from .errors import bad_request, failed_precondition, not_found
from .util import audit, check_id, new_id, now, opt_obj, opt_str, paginate, rfc3339, touch

RESOURCE_TYPES = {"NONE", "ORGANIZATION", "VAULT", "ACCOUNT", "SERVICE_ACCOUNT",
                  "VAULT_TEMPLATE", "WORKSPACE", "FIELD_TEMPLATE", "RECORD", "TOKEN",
                  "CONNECTION", "ENCRYPTION_KEY", "NETWORK_TOKEN", "SUBSCRIPTION",
                  "PAYMENT_CONFIG"}
ALLOWLIST_STATUS = {"INACTIVE", "ACTIVE_ALL", "ACTIVE_AUTH_ONLY"}
SA_STATUS = {"NONE", "CREATED", "PENDING", "ACTIVE", "INACTIVE", "ARCHIVED", "DELETED"}


def _ip_allowlist(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{field}: must be an object")
    extra = set(value) - {"status", "cidrBlocks"}
    if extra:
        raise bad_request(f"{field}.{sorted(extra)[0]}: unknown field")
    status = value.get("status", "INACTIVE")
    if status not in ALLOWLIST_STATUS:
        raise bad_request(f"{field}.status: must be one of {sorted(ALLOWLIST_STATUS)}")
    blocks = value.get("cidrBlocks", [])
    if not isinstance(blocks, list) or len(blocks) > 10:
        raise bad_request(f"{field}.cidrBlocks: must be a list of at most 10 CIDR blocks")
    for i, block in enumerate(blocks):
        try:
            ipaddress.ip_network(block, strict=False)
        except (ValueError, TypeError):
            raise bad_request(f"{field}.cidrBlocks[{i}]: not a CIDR block") from None
    return {"status": status, "cidrBlocks": list(blocks)}


def _client_config(value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("clientConfiguration: must be an object")
    out = dict(base or {"enforceContextID": False, "enforceSignedDataTokens": False})
    for key, v in value.items():
        if key not in ("enforceContextID", "enforceSignedDataTokens"):
            raise bad_request(f"clientConfiguration.{key}: unknown field")
        if not isinstance(v, bool):
            raise bad_request(f"clientConfiguration.{key}: must be a boolean")
        out[key] = v
    return out


def _validate_resource(ctx: Ctx, value: Any) -> None:
    """The deprecated ``resource`` wrapper: accepted, checked, otherwise ignored."""
    if not isinstance(value, dict):
        raise bad_request("resource: must be an object")
    rtype = value.get("type", "ACCOUNT")
    if rtype not in RESOURCE_TYPES:
        raise bad_request("resource.type: invalid value")
    rid = value.get("ID")
    if rid in (None, ""):
        return
    check_id(rid, "resource.ID")
    with ctx.store.read() as tx:
        if rtype == "VAULT":
            load(tx, "vault", rid, "vault", ctx.account_id)
        elif rtype == "ACCOUNT" and rid != ctx.account_id:
            raise not_found(f"account {rid} not found")


def create(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    account = body.get("accountID")
    if account not in (None, "") and account != ctx.account_id:
        raise bad_request("accountID: does not match X-Skyflow-Account-ID")
    spec = opt_obj(body, "serviceAccount", "serviceAccount")
    if spec is None:
        raise bad_request("serviceAccount: required")
    name = opt_str(spec, "name", "serviceAccount.name", 256)
    if not name or not name.strip():
        raise bad_request("serviceAccount.name: required")
    display = opt_str(spec, "displayName", "serviceAccount.displayName", 256)
    description = opt_str(spec, "description", "serviceAccount.description", 1024)
    allowlist = {"status": "INACTIVE", "cidrBlocks": []}
    if spec.get("ipAllowlist") is not None:
        allowlist = _ip_allowlist(spec["ipAllowlist"], "serviceAccount.ipAllowlist")
    client_config = _client_config(body.get("clientConfiguration") or {})
    api_key_enabled = body.get("apiKeyEnabled", False)
    if not isinstance(api_key_enabled, bool):
        raise bad_request("apiKeyEnabled: must be a boolean")
    if body.get("resource") is not None:
        _validate_resource(ctx, body["resource"])
    sa_id = new_id()
    sa = {
        "ID": sa_id, "accountID": ctx.account_id, "name": name,
        "displayName": display if display is not None else name,
        "description": description or "", "ipAllowlist": allowlist,
        "namespace": models.sa_namespace(ctx.account_id, sa_id), "status": "ACTIVE",
        "BasicAudit": audit(ctx.subject), "clientConfiguration": client_config,
        "apiKeyEnabled": api_key_enabled,
    }
    if api_key_enabled:
        key, secret = _new_api_key_doc(sa_id)
        with ctx.store.write() as tx:
            tx.put("sa", sa_id, sa, account_id=ctx.account_id, name=name)
            tx.put("apikey", key["keyID"], key, account_id=ctx.account_id, parent=sa_id,
                   lookup=key.pop("_hash"))
        return models.api_key_credentials(sa, key, secret, ctx.state.token_uri)
    # RSA generation is slow: do it before taking the write lock.
    jwt_key, private_pem = new_jwt_key(sa_id)
    with ctx.store.write() as tx:
        tx.put("sa", sa_id, sa, account_id=ctx.account_id, name=name)
        tx.put("sakey", jwt_key["keyID"], jwt_key, account_id=ctx.account_id, parent=sa_id)
    return models.jwt_credentials(sa, jwt_key, private_pem, ctx.state.token_uri)


def get(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
    return models.sa_view(sa)


def list_(ctx: Ctx) -> dict[str, Any]:
    account = ctx.arg("accountID")
    if account and account != ctx.account_id:
        raise bad_request("accountID: does not match X-Skyflow-Account-ID")
    status = ctx.arg("status")
    if status and status not in SA_STATUS:
        raise bad_request("status: invalid value")
    with ctx.store.read() as tx:
        items = tx.find("sa", account_id=ctx.account_id, name=ctx.arg("name") or None)
    if status:
        items = [s for s in items if s.get("status") == status]
    return {"serviceAccounts": [models.sa_view(s) for s in paginate(items, ctx.request.args)]}


def update(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    spec = opt_obj(body, "serviceAccount", "serviceAccount") or {}
    with ctx.store.write() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        name = opt_str(spec, "name", "serviceAccount.name", 256)
        if name is not None and name != sa["name"]:
            raise bad_request("serviceAccount.name: cannot be changed")
        for key, limit in (("displayName", 256), ("description", 1024)):
            value = opt_str(spec, key, f"serviceAccount.{key}", limit)
            if value is not None:
                sa[key] = value
        if spec.get("ipAllowlist") is not None:
            sa["ipAllowlist"] = _ip_allowlist(spec["ipAllowlist"], "serviceAccount.ipAllowlist")
        if body.get("clientConfiguration") is not None:
            sa["clientConfiguration"] = _client_config(body["clientConfiguration"],
                                                       sa.get("clientConfiguration"))
        sa["BasicAudit"] = touch(sa["BasicAudit"], ctx.subject)
        tx.put("sa", sa["ID"], sa, account_id=ctx.account_id, name=sa["name"])
    return models.sa_update_view(sa)


def delete(ctx: Ctx) -> dict[str, Any]:
    """Deleting an account revokes its keys, API keys, role memberships and tokens."""
    with ctx.store.write() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        if sa["ID"] == ctx.state.admin_sa_id:
            raise failed_precondition("The emulator's bootstrap admin service account cannot "
                                      "be deleted")
        for kind in ("sakey", "apikey"):
            for doc in tx.find(kind, parent=sa["ID"]):
                tx.delete(kind, doc["keyID"])
        tx.drop_member_everywhere(sa["ID"], "SERVICE_ACCOUNT")
        tx.delete("sa", sa["ID"])
    return {"ID": sa["ID"]}


# ---- JWT key pairs ------------------------------------------------------------------------

def _jwt_sa(tx: Any, ctx: Ctx) -> dict[str, Any]:
    sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
    if sa.get("apiKeyEnabled"):
        raise failed_precondition("Service account is configured for API keys; it cannot have "
                                  "JWT key pairs")
    return sa


def _load_key(tx: Any, ctx: Ctx, sa: dict[str, Any], kind: str, param: str) -> dict[str, Any]:
    key_id = check_id(ctx.params[param], "keyID")
    key = tx.get(kind, key_id)
    if key is None or key.get("saID") != sa["ID"]:
        raise not_found(f"key {key_id} not found")
    return key


def create_key(ctx: Ctx) -> dict[str, Any]:
    key, private_pem = new_jwt_key(ctx.params["ID"])  # before the write lock: RSA is slow
    with ctx.store.write() as tx:
        sa = _jwt_sa(tx, ctx)
        tx.put("sakey", key["keyID"], key, account_id=ctx.account_id, parent=sa["ID"])
    return models.jwt_credentials(sa, key, private_pem, ctx.state.token_uri)


def list_keys(ctx: Ctx) -> dict[str, Any]:
    for kt in ctx.request.args.getlist("keyTypes"):
        if kt not in ("USER_MANAGED", "SYSTEM_MANAGED", "KEY_TYPE_UNSPECIFIED"):
            raise bad_request("keyTypes: invalid value")
    with ctx.store.read() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        keys = tx.find("sakey", parent=sa["ID"])
    return {"keys": [models.key_view(k) for k in keys]}


def get_key(ctx: Ctx) -> dict[str, Any]:
    kind = ctx.arg("publicKeyType") or "TYPE_X509_PEM_FILE"
    if kind not in ("TYPE_X509_PEM_FILE", "TYPE_RAW_PUBLIC_KEY", "TYPE_NONE"):
        raise bad_request("publicKeyType: invalid value")
    with ctx.store.read() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        key = _load_key(tx, ctx, sa, "sakey", "keyID")
    out = models.key_view(key)
    if kind == "TYPE_X509_PEM_FILE":
        out["publicKeyData"] = base64.b64encode(key["publicKey"].encode()).decode()
    elif kind == "TYPE_RAW_PUBLIC_KEY":
        out["publicKeyData"] = public_key_der_b64(key["publicKey"])
    return out


def rotate_key(ctx: Ctx) -> dict[str, Any]:
    """Replaces the key by a new one (new keyID); the old key's assertions stop working."""
    key, private_pem = new_jwt_key(ctx.params["ID"])  # before the write lock: RSA is slow
    with ctx.store.write() as tx:
        sa = _jwt_sa(tx, ctx)
        old = _load_key(tx, ctx, sa, "sakey", "KeyID")
        tx.delete("sakey", old["keyID"])
        tx.put("sakey", key["keyID"], key, account_id=ctx.account_id, parent=sa["ID"])
    return models.jwt_credentials(sa, key, private_pem, ctx.state.token_uri)


def delete_key(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.write() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        key = _load_key(tx, ctx, sa, "sakey", "keyID")
        tx.delete("sakey", key["keyID"])
    return {"ID": sa["ID"], "keyID": key["keyID"]}


# ---- API keys -----------------------------------------------------------------------------

def _new_api_key_doc(sa_id: str, key_id: str | None = None) -> tuple[dict[str, Any], str]:
    secret = new_api_key()
    doc = {"keyID": key_id or new_id(), "saID": sa_id, "identifier": secret[:9],
           "status": "ACTIVE", "keyValidAfterTime": rfc3339(now()),
           "_hash": api_key_hash(secret)}
    return doc, secret


def _api_sa(tx: Any, ctx: Ctx) -> dict[str, Any]:
    sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
    if not sa.get("apiKeyEnabled"):
        raise failed_precondition("Service account is configured for bearer tokens; it cannot "
                                  "have API keys (create it with apiKeyEnabled: true)")
    return sa


def create_api_key(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.write() as tx:
        sa = _api_sa(tx, ctx)
        key, secret = _new_api_key_doc(sa["ID"])
        tx.put("apikey", key["keyID"], key, account_id=ctx.account_id, parent=sa["ID"],
               lookup=key.pop("_hash"))
    return models.api_key_credentials(sa, key, secret, ctx.state.token_uri)


def list_api_keys(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        keys = tx.find("apikey", parent=sa["ID"])
    return {"apiKeys": [models.api_key_view(k) for k in keys]}


def get_api_key(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        key = _load_key(tx, ctx, sa, "apikey", "keyID")
    return models.api_key_view(key)


def rotate_api_key(ctx: Ctx) -> dict[str, Any]:
    """Same keyID, new secret; the old secret is refused from now on."""
    with ctx.store.write() as tx:
        sa = _api_sa(tx, ctx)
        old = _load_key(tx, ctx, sa, "apikey", "keyID")
        key, secret = _new_api_key_doc(sa["ID"], old["keyID"])
        key["status"] = old["status"]
        tx.put("apikey", key["keyID"], key, account_id=ctx.account_id, parent=sa["ID"],
               lookup=key.pop("_hash"))
    return models.api_key_credentials(sa, key, secret, ctx.state.token_uri)


def delete_api_key(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.write() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        key = _load_key(tx, ctx, sa, "apikey", "keyID")
        tx.delete("apikey", key["keyID"])
    return {"ID": sa["ID"], "keyID": key["keyID"]}


def set_api_key_status(ctx: Ctx) -> dict[str, Any]:
    """EMULATOR EXTENSION (not in the spec): enable or disable an API key."""
    status = ctx.body().get("status")
    if status not in ("ACTIVE", "INACTIVE"):
        raise bad_request("status: must be ACTIVE or INACTIVE")
    with ctx.store.write() as tx:
        sa = load(tx, "sa", ctx.params["ID"], "service account", ctx.account_id)
        key = _load_key(tx, ctx, sa, "apikey", "keyID")
        lookup = tx.lookup_of("apikey", key["keyID"])
        key["status"] = status
        tx.put("apikey", key["keyID"], key, account_id=ctx.account_id, parent=sa["ID"],
               lookup=lookup)
    return models.api_key_view(key)
