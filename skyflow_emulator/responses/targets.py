"""What a route's permission is checked on, read from the request (path, query or body)."""

from __future__ import annotations

from ..context import Ctx
from ..errors import bad_request
from ..models.common import load, resource_doc
from ..permissions import Target
from ..util import check_id


def account(ctx: Ctx) -> Target:
    return Target("ACCOUNT", ctx.account_id)


def anywhere(ctx: Ctx) -> Target:
    return Target("ANY", "")


def vault(ctx: Ctx) -> Target:
    """The Data API's ``{vaultID}``: an unknown vault is 404 before any permission check."""
    with ctx.store.read() as tx:
        doc = load(tx, "vault", ctx.params["vaultID"], "vault", ctx.account_id)
    return Target("VAULT", doc["ID"])


def query_resource(ctx: Ctx) -> Target:
    rtype, rid = ctx.arg("resource.type"), ctx.arg("resource.ID")
    if not rid:
        raise bad_request("resource.ID: required")
    if not rtype:
        raise bad_request("resource.type: required")
    with ctx.store.read() as tx:
        res = resource_doc(tx, ctx.account_id, rtype, rid, "resource")
    return Target(res["type"], res["ID"])


def body_resource(ctx: Ctx) -> Target:
    res = ctx.body().get("resource")
    if not isinstance(res, dict):
        raise bad_request("resource: required")
    with ctx.store.read() as tx:
        doc = resource_doc(tx, ctx.account_id, res.get("type"), res.get("ID"), "resource")
    return Target(doc["type"], doc["ID"])


def _resource_of(ctx: Ctx, kind: str, obj_id: str) -> Target:
    with ctx.store.read() as tx:
        doc = load(tx, kind, obj_id, kind, ctx.account_id)
    return Target(doc["resource"]["type"], doc["resource"]["ID"])


def role(ctx: Ctx) -> Target:
    return _resource_of(ctx, "role", ctx.params["ID"])


def path_role(ctx: Ctx) -> Target:
    """``/v1/roles/{roleID}/policies``."""
    return _resource_of(ctx, "role", ctx.params["roleID"])


def body_role(ctx: Ctx) -> Target:
    role_id = ctx.body().get("ID")
    if role_id in (None, ""):
        raise bad_request("ID: required")
    return _resource_of(ctx, "role", check_id(role_id, "ID"))


def policy(ctx: Ctx) -> Target:
    return _resource_of(ctx, "policy", ctx.params["ID"])


def path_policy(ctx: Ctx) -> Target:
    """``/v1/policies/{policyID}/roles``."""
    return _resource_of(ctx, "policy", ctx.params["policyID"])


def body_policy(ctx: Ctx) -> Target:
    return _resource_of(ctx, "policy", check_id(ctx.body().get("ID"), "ID"))


def path_vault(ctx: Ctx) -> Target:
    """``/v1/vaults/{ID}``: an unknown vault is 404 before any permission check."""
    with ctx.store.read() as tx:
        doc = load(tx, "vault", ctx.params["ID"], "vault", ctx.account_id)
    return Target("VAULT", doc["ID"])
