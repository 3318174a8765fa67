"""Roles: system roles per vault and account, custom roles, member assignments."""

from __future__ import annotations

import re
from typing import Any

from . import models
from .access import member_permissions
from .cel import CelError, compile_condition
from .context import Ctx, load
from .errors import bad_request, conflict, failed_precondition, not_found
from .permissions import SYSTEM_ACCOUNT_ROLES, SYSTEM_VAULT_ROLES, Target
from .store import Tx
from .util import audit, check_id, new_id, opt_str, paginate, touch

PERMISSION_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.([A-Za-z0-9_]+|\*))+(:[A-Za-z0-9_]+)?$|^\*$")
MEMBER_TYPES = {"SERVICE_ACCOUNT", "USER"}
MAX_CONDITION = 4096


def resource_doc(tx: Tx, ctx: Ctx, rtype: Any, rid: Any, field: str) -> dict[str, Any]:
    """Resolve a (type, ID) pair to a resource of this account: a vault or the account."""
    if rtype == "VAULT":
        vault = load(tx, "vault", check_id(rid, f"{field}.ID"), "vault", ctx.account_id)
        return {"ID": vault["ID"], "type": "VAULT", "name": vault["name"],
                "displayName": vault["name"]}
    if rtype == "ACCOUNT":
        check_id(rid, f"{field}.ID")
        if rid != ctx.account_id:
            raise not_found(f"account {rid} not found")
        return {"ID": rid, "type": "ACCOUNT", "name": "emulator-account"}
    if rtype in (None, ""):
        raise bad_request(f"{field}.type: required")
    raise bad_request(f"{field}.type: the emulator supports VAULT and ACCOUNT resources")


def query_resource(ctx: Ctx) -> Target:
    rtype, rid = ctx.arg("resource.type"), ctx.arg("resource.ID")
    if not rid:
        raise bad_request("resource.ID: required")
    if not rtype:
        raise bad_request("resource.type: required")
    with ctx.store.read() as tx:
        res = resource_doc(tx, ctx, rtype, rid, "resource")
    return Target(res["type"], res["ID"])


def body_resource(ctx: Ctx) -> Target:
    res = ctx.body().get("resource")
    if not isinstance(res, dict):
        raise bad_request("resource: required")
    with ctx.store.read() as tx:
        doc = resource_doc(tx, ctx, res.get("type"), res.get("ID"), "resource")
    return Target(doc["type"], doc["ID"])


def role_target(ctx: Ctx, param: str = "ID") -> Target:
    with ctx.store.read() as tx:
        role = load(tx, "role", ctx.params[param], "role", ctx.account_id)
    return Target(role["resource"]["type"], role["resource"]["ID"])


def body_role_target(ctx: Ctx) -> Target:
    role_id = ctx.body().get("ID")
    if role_id in (None, ""):
        raise bad_request("ID: required")
    with ctx.store.read() as tx:
        role = load(tx, "role", check_id(role_id, "ID"), "role", ctx.account_id)
    return Target(role["resource"]["type"], role["resource"]["ID"])


def _definition(value: Any, base: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("roleDefinition: required")
    out = dict(base or {"displayName": "", "description": "", "permissions": [], "levels": []})
    name = opt_str(value, "name", "roleDefinition.name", 128)
    if name is not None:
        if not name.strip():
            raise bad_request("roleDefinition.name: must not be empty")
        out["name"] = name
    if "name" not in out:
        raise bad_request("roleDefinition.name: required")
    for key, limit in (("displayName", 256), ("description", 1024)):
        v = opt_str(value, key, f"roleDefinition.{key}", limit)
        if v is not None:
            out[key] = v
    for key in ("permissions", "levels"):
        if value.get(key) is not None:
            items = value[key]
            if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
                raise bad_request(f"roleDefinition.{key}: must be a list of strings")
            if key == "permissions":
                for i, p in enumerate(items):
                    if not PERMISSION_RE.match(p):
                        raise bad_request(f"roleDefinition.permissions[{i}]: not a permission "
                                          "of the form <object>.<verb>")
            out[key] = list(dict.fromkeys(items))
    if value.get("type") not in (None, "", "NONE", "CUSTOM"):
        raise bad_request("roleDefinition.type: only CUSTOM roles can be created or changed")
    out["type"] = "CUSTOM"
    return out


def list_(ctx: Ctx) -> dict[str, Any]:
    target = query_resource(ctx)
    rtype = ctx.arg("type")
    if rtype and rtype not in ("NONE", "SYSTEM", "CUSTOM"):
        raise bad_request("type: must be SYSTEM or CUSTOM")
    with ctx.store.read() as tx:
        roles = tx.find("role", parent=target.id, name=ctx.arg("name") or None)
    if rtype and rtype != "NONE":
        roles = [r for r in roles if r["definition"]["type"] == rtype]
    return {"roles": [models.role_view(r) for r in roles]}


def definitions(ctx: Ctx) -> dict[str, Any]:
    rtype = ctx.arg("resourceType") or ""
    if rtype not in ("", "VAULT", "ACCOUNT"):
        raise bad_request("resourceType: the emulator knows VAULT and ACCOUNT role definitions")
    out = []
    for level, table in (("VAULT", SYSTEM_VAULT_ROLES), ("ACCOUNT", SYSTEM_ACCOUNT_ROLES)):
        if rtype and rtype != level:
            continue
        for name, (display, description, perms) in table.items():
            out.append({"name": name, "displayName": display, "description": description,
                        "permissions": perms, "levels": [level], "type": "SYSTEM"})
    return {"roleDefinitions": out}


def create(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    definition = _definition(body.get("roleDefinition"), None)
    with ctx.store.write() as tx:
        res = resource_doc(tx, ctx, (body.get("resource") or {}).get("type"),
                           (body.get("resource") or {}).get("ID"), "resource")
        if tx.find("role", parent=res["ID"], name=definition["name"]):
            raise conflict(f"Conflict: a role named {definition['name']} already exists on "
                           "this resource")
        role_id = new_id()
        role = {"ID": role_id, "accountID": ctx.account_id,
                "namespace": f"skyflow:emulator/account:{ctx.account_id}/role:{role_id}",
                "definition": definition, "resource": res, "BasicAudit": audit(ctx.subject)}
        tx.put("role", role_id, role, account_id=ctx.account_id, parent=res["ID"],
               name=definition["name"])
    return {"ID": role_id}


def get(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as tx:
        role = load(tx, "role", ctx.params["ID"], "role", ctx.account_id)
    return {"role": models.role_view(role)}


def _custom(tx: Tx, ctx: Ctx) -> dict[str, Any]:
    role = load(tx, "role", ctx.params["ID"], "role", ctx.account_id)
    if role["definition"]["type"] == "SYSTEM":
        raise failed_precondition(f"Role {role['ID']} is a system role; system roles cannot be "
                                  "updated or deleted")
    return role


def update(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    if body.get("ID") not in (None, "", ctx.params["ID"]):
        raise bad_request("ID: does not match the path")
    with ctx.store.write() as tx:
        role = _custom(tx, ctx)
        definition = _definition(body.get("roleDefinition"), role["definition"])
        if definition["name"] != role["definition"]["name"]:
            others = tx.find("role", parent=role["resource"]["ID"], name=definition["name"])
            if others:
                raise conflict(f"Conflict: a role named {definition['name']} already exists "
                               "on this resource")
        role["definition"] = definition
        role["BasicAudit"] = touch(role["BasicAudit"], ctx.subject)
        tx.put("role", role["ID"], role, account_id=ctx.account_id,
               parent=role["resource"]["ID"], name=definition["name"])
    return {"ID": role["ID"]}


def delete(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.write() as tx:
        role = _custom(tx, ctx)
        tx.drop_role_members(role["ID"])
        tx.drop_policy_links(role_id=role["ID"])
        tx.delete("role", role["ID"])
    return {"ID": role["ID"]}


def _members(tx: Tx, ctx: Ctx, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise bad_request("members: a non-empty list is required")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise bad_request(f"members[{i}]: must be an object")
        mtype = m.get("type")
        if mtype not in MEMBER_TYPES:
            raise bad_request(f"members[{i}].type: must be SERVICE_ACCOUNT or USER")
        mid = check_id(m.get("ID"), f"members[{i}].ID")
        if mtype == "USER":
            raise not_found(f"user {mid} not found (the emulator has no users)")
        load(tx, "sa", mid, "service account", ctx.account_id)
        out.append({"ID": mid, "type": mtype})
    return out


def assign(ctx: Ctx) -> dict[str, Any]:
    """Idempotent: assigning again only replaces the condition."""
    body = ctx.body()
    condition = body.get("condition")
    if condition is not None and (not isinstance(condition, str)
                                  or len(condition) > MAX_CONDITION):
        raise bad_request("condition: must be a CEL expression string")
    if condition:
        try:
            compile_condition(condition)
        except CelError as exc:
            raise bad_request(f"condition: unsupported CEL expression ({exc}); the emulator "
                              "supports request.time, request.context, request.originIP with "
                              "== != < <= > >= in && || ! and timestamp()") from None
    with ctx.store.write() as tx:
        role = load(tx, "role", check_id(body.get("ID"), "ID"), "role", ctx.account_id)
        for m in _members(tx, ctx, body.get("members")):
            tx.add_member(role["ID"], m["ID"], m["type"], condition or None)
    return {"ID": role["ID"]}


def unassign(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    with ctx.store.write() as tx:
        role = load(tx, "role", check_id(body.get("ID"), "ID"), "role", ctx.account_id)
        members = body.get("members")
        if not isinstance(members, list) or not members:
            raise bad_request("members: a non-empty list is required")
        for i, m in enumerate(members):
            if not isinstance(m, dict) or m.get("type") not in MEMBER_TYPES:
                raise bad_request(f"members[{i}].type: must be SERVICE_ACCOUNT or USER")
            tx.remove_member(role["ID"], check_id(m.get("ID"), f"members[{i}].ID"), m["type"])
    return {"ID": role["ID"]}


def members(ctx: Ctx) -> dict[str, Any]:
    ftype = ctx.arg("filterOps.type")
    fname = ctx.arg("filterOps.name")
    out = []
    with ctx.store.read() as tx:
        role = load(tx, "role", ctx.params["ID"], "role", ctx.account_id)
        for mid, mtype, condition in tx.members_of(role["ID"]):
            if ftype and ftype != mtype:
                continue
            sa = tx.get("sa", mid) if mtype == "SERVICE_ACCOUNT" else None
            if sa is None:
                continue
            if fname and fname != sa["name"]:
                continue
            out.append(models.member_view({"ID": mid, "type": mtype, "name": sa["name"],
                                           "status": sa["status"]}, condition))
    return {"members": paginate(out, ctx.request.args)}


def _member(ctx: Ctx, tx: Tx) -> dict[str, Any]:
    mtype = ctx.arg("member.type")
    if not mtype:
        raise bad_request("member.type: required")
    if mtype not in MEMBER_TYPES:
        raise bad_request("member.type: must be SERVICE_ACCOUNT or USER")
    mid = ctx.params["member_ID"]
    if mtype == "USER":
        check_id(mid, "member.ID")
        raise not_found(f"user {mid} not found (the emulator has no users)")
    return load(tx, "sa", mid, "service account", ctx.account_id)


def roles_of_member(ctx: Ctx) -> dict[str, Any]:
    rid, rtype = ctx.arg("filterOps.resource.ID"), ctx.arg("filterOps.resource.type")
    role_type = ctx.arg("filterOps.roleType")
    fname = ctx.arg("filterOps.name")
    out = []
    with ctx.store.read() as tx:
        sa = _member(ctx, tx)
        for role_id, _condition in tx.roles_of(sa["ID"], "SERVICE_ACCOUNT"):
            role = tx.get("role", role_id)
            if role is None:
                continue
            res = role["resource"]
            if (rid and rid != res["ID"]) or (rtype and rtype != res["type"]):
                continue
            if role_type and role_type not in ("NONE", role["definition"]["type"]):
                continue
            if fname and fname != role["definition"]["name"]:
                continue
            out.append({"role": models.role_view(role), "resource": models.resource_view(res)})
    return {"roleToResource": paginate(out, ctx.request.args)}


def permissions_of_member(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as tx:
        sa = _member(ctx, tx)
        perms = member_permissions(tx, sa["ID"])
    return {"permissions": perms}
