"""Policies: create (active or not), update, status, delete, attach to roles."""

from __future__ import annotations

import re
from typing import Any

from . import models
from .context import Ctx, load
from .errors import bad_request
from .permissions import Target
from .roles import resource_doc
from .store import Tx
from .util import audit, check_id, new_id, opt_str, paginate, touch

NAME_RE = re.compile(r"^[A-Za-z0-9]+$")
ACTIONS = {"NONE_ACTION", "ALL", "CREATE", "READ", "UPDATE", "DELETE", "TOKENIZATION",
           "DETOKENIZATION"}
EFFECTS = {"NONE_EFFECT", "ALLOW", "DENY"}
EXPR_RE = re.compile(
    r"^\s*(ALLOW|DENY)\s+([A-Z_]+(?:\s*,\s*[A-Z_]+)*)\s+ON\s+(\S+)"
    r"(?:\s+WITH\s+REDACTION\s*=\s*([A-Z_]+))?\s*$")
VARIANTS = {"columnRuleParams": "COLUMN", "tableRuleParams": "TABLE",
            "columnGroupRuleParams": "COLUMN_GROUP"}


def policy_target(ctx: Ctx, param: str = "ID") -> Target:
    with ctx.store.read() as tx:
        policy = load(tx, "policy", ctx.params[param], "policy", ctx.account_id)
    return Target(policy["resource"]["type"], policy["resource"]["ID"])


def body_policy_target(ctx: Ctx) -> Target:
    with ctx.store.read() as tx:
        policy = load(tx, "policy", check_id(ctx.body().get("ID"), "ID"), "policy",
                      ctx.account_id)
    return Target(policy["resource"]["type"], policy["resource"]["ID"])


def _actions(value: dict[str, Any], field: str) -> list[str]:
    acts = list(value.get("actions") or [])
    if value.get("action"):
        acts.insert(0, value["action"])
    for a in acts:
        if a not in ACTIONS:
            raise bad_request(f"{field}.actions: invalid action {a!r}")
    return list(dict.fromkeys(acts))


def _rule(params: Any, i: int, vault_prefix: str) -> dict[str, Any]:
    """Turn one v1RuleParams into the read form v1Rule."""
    field = f"ruleParams[{i}]"
    if not isinstance(params, dict):
        raise bad_request(f"{field}: must be an object")
    name = params.get("name") or f"rule{i + 1}"
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise bad_request(f"{field}.name: must match ^[A-Za-z0-9]+$")
    expr = params.get("ruleExpression")
    if expr is not None and not isinstance(expr, str):
        raise bad_request(f"{field}.ruleExpression: must be a string")
    given = [k for k in VARIANTS if params.get(k) is not None]
    if len(given) > 1:
        raise bad_request(f"{field}: give only one of {', '.join(VARIANTS)}")
    rule: dict[str, Any] = {"ID": params.get("ID") or new_id(), "name": name}
    if given:
        variant = params[given[0]]
        vfield = f"{field}.{given[0]}"
        if not isinstance(variant, dict):
            raise bad_request(f"{vfield}: must be an object")
        effect = variant.get("effect", "ALLOW")
        if effect not in EFFECTS:
            raise bad_request(f"{vfield}.effect: must be ALLOW or DENY")
        actions = _actions(variant, vfield)
        if given[0] == "columnRuleParams":
            cols = variant.get("columns") or []
            if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
                raise bad_request(f"{vfield}.columns: must be a list of table.column")
            resources = [f"{vault_prefix}/table:{c.partition('.')[0]}/column:"
                         f"{c.partition('.')[2]}" for c in cols]
        elif given[0] == "tableRuleParams":
            table = variant.get("tableName")
            if not isinstance(table, str) or not table:
                raise bad_request(f"{vfield}.tableName: required")
            resources = [f"{vault_prefix}/table:{table}"]
        else:
            groups = variant.get("columnGroups") or []
            if not isinstance(groups, list):
                raise bad_request(f"{vfield}.columnGroups: must be a list")
            resources = [f"{vault_prefix}/columngroup:{g}" for g in groups]
        rule.update({"effect": effect, "actions": [a.lower() for a in actions],
                     "resources": resources, "resourceType": VARIANTS[given[0]]})
        for k in ("rowFilter", "redaction"):
            if isinstance(variant.get(k), str):
                rule[k] = variant[k]
    elif expr:
        m = EXPR_RE.match(expr)
        if not m:
            raise bad_request(f"{field}.ruleExpression: not understood (expected e.g. "
                              "'ALLOW READ ON table.* WITH REDACTION = PLAIN_TEXT')")
        actions = [a.strip() for a in m.group(2).split(",")]
        for a in actions:
            if a not in ACTIONS:
                raise bad_request(f"{field}.ruleExpression: invalid action {a!r}")
        target = m.group(3)
        table, _, col = target.partition(".")
        rule.update({"effect": m.group(1), "actions": [a.lower() for a in actions],
                     "resources": [f"{vault_prefix}/table:{table}/column:{col or '*'}"],
                     "resourceType": "COLUMN"})
        if m.group(4):
            rule["redaction"] = m.group(4)
    else:
        raise bad_request(f"{field}: needs ruleExpression or one of {', '.join(VARIANTS)}")
    if expr:
        rule["ruleExpression"] = expr
    return rule


def _rules(value: Any, resource: dict[str, Any]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("ruleParams: must be a list")
    prefix = f"{resource['type'].lower()}:{resource['ID']}"
    rules = [_rule(p, i, prefix) for i, p in enumerate(value)]
    names = [r["name"] for r in rules]
    if len(set(names)) != len(names):
        raise bad_request("ruleParams: rule names must be unique within a policy")
    return rules


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value) or len(value) > 128:
        raise bad_request(f"{field}: required, must match ^[A-Za-z0-9]+$")
    return value


def _view(tx: Tx, policy: dict[str, Any]) -> dict[str, Any]:
    return models.policy_view(policy, tx.roles_of_policy(policy["ID"]))


def list_(ctx: Ctx) -> dict[str, Any]:
    rtype, rid = ctx.arg("resource.type"), ctx.arg("resource.ID")
    if not rid:
        raise bad_request("resource.ID: required")
    if not rtype:
        raise bad_request("resource.type: required")
    with ctx.store.read() as tx:
        res = resource_doc(tx, ctx, rtype, rid, "resource")
        items = tx.find("policy", parent=res["ID"], name=ctx.arg("filterOps.name") or None)
        return {"policies": [_view(tx, p) for p in paginate(items, ctx.request.args)]}


def create(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    name = _name(body.get("name"), "name")
    display = opt_str(body, "displayName", "displayName", 256)
    description = opt_str(body, "description", "description", 1024)
    activated = body.get("activated", False)
    if not isinstance(activated, bool):
        raise bad_request("activated: must be a boolean")
    res_in = body.get("resource")
    if not isinstance(res_in, dict):
        raise bad_request("resource: required")
    with ctx.store.write() as tx:
        res = resource_doc(tx, ctx, res_in.get("type"), res_in.get("ID"), "resource")
        rules = _rules(body.get("ruleParams"), res)
        policy_id = new_id()
        policy = {"ID": policy_id, "accountID": ctx.account_id, "name": name,
                  "displayName": display if display is not None else name,
                  "description": description or "",
                  "namespace": f"skyflow:emulator/account:{ctx.account_id}/policy:{policy_id}",
                  "status": "ACTIVE" if activated else "INACTIVE",
                  "BasicAudit": audit(ctx.subject), "resource": res, "rules": rules}
        tx.put("policy", policy_id, policy, account_id=ctx.account_id, parent=res["ID"],
               name=name)
    return {"ID": policy_id}


def get(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as tx:
        policy = load(tx, "policy", ctx.params["ID"], "policy", ctx.account_id)
        return {"policy": _view(tx, policy)}


def update(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    spec = body.get("policy") or {}
    if not isinstance(spec, dict):
        raise bad_request("policy: must be an object")
    if spec.get("ID") not in (None, "", ctx.params["ID"]):
        raise bad_request("policy.ID: does not match the path")
    with ctx.store.write() as tx:
        policy = load(tx, "policy", ctx.params["ID"], "policy", ctx.account_id)
        if spec.get("name") is not None:
            policy["name"] = _name(spec["name"], "policy.name")
        for key, limit in (("displayName", 256), ("description", 1024)):
            v = opt_str(spec, key, f"policy.{key}", limit)
            if v is not None:
                policy[key] = v
        if body.get("ruleParams") is not None:
            policy["rules"] = _rules(body["ruleParams"], policy["resource"])
        policy["BasicAudit"] = touch(policy["BasicAudit"], ctx.subject)
        tx.put("policy", policy["ID"], policy, account_id=ctx.account_id,
               parent=policy["resource"]["ID"], name=policy["name"])
    return {"ID": policy["ID"]}


def set_status(ctx: Ctx) -> dict[str, Any]:
    status = ctx.body().get("status")
    if status not in ("ACTIVE", "INACTIVE"):
        raise bad_request("status: must be ACTIVE or INACTIVE")
    with ctx.store.write() as tx:
        policy = load(tx, "policy", ctx.params["ID"], "policy", ctx.account_id)
        policy["status"] = status
        policy["BasicAudit"] = touch(policy["BasicAudit"], ctx.subject)
        tx.put("policy", policy["ID"], policy, account_id=ctx.account_id,
               parent=policy["resource"]["ID"], name=policy["name"])
    return {"ID": policy["ID"]}


def delete(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.write() as tx:
        policy = load(tx, "policy", ctx.params["ID"], "policy", ctx.account_id)
        tx.drop_policy_links(policy_id=policy["ID"])
        tx.delete("policy", policy["ID"])
    return {"ID": policy["ID"]}


def _role_ids(tx: Tx, ctx: Ctx, body: dict[str, Any]) -> list[str]:
    for extra in ("members", "exceptions"):
        if body.get(extra):
            raise bad_request(f"{extra}: not supported (attach policies to roles)")
    ids = body.get("roleIDs")
    if not isinstance(ids, list) or not ids:
        raise bad_request("roleIDs: a non-empty list is required")
    out = []
    for i, rid in enumerate(ids):
        load(tx, "role", check_id(rid, f"roleIDs[{i}]"), "role", ctx.account_id)
        out.append(rid)
    return out


def assign(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    with ctx.store.write() as tx:
        policy = load(tx, "policy", check_id(body.get("ID"), "ID"), "policy", ctx.account_id)
        for rid in _role_ids(tx, ctx, body):
            tx.attach(policy["ID"], rid)
    return {"ID": policy["ID"]}


def unassign(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    with ctx.store.write() as tx:
        policy = load(tx, "policy", check_id(body.get("ID"), "ID"), "policy", ctx.account_id)
        ids = body.get("roleIDs")
        if not isinstance(ids, list) or not ids:
            raise bad_request("roleIDs: a non-empty list is required")
        for i, rid in enumerate(ids):
            tx.detach(policy["ID"], check_id(rid, f"roleIDs[{i}]"))
    return {"ID": policy["ID"]}


def roles_of_policy(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as tx:
        policy = load(tx, "policy", ctx.params["policyID"], "policy", ctx.account_id)
        roles = [tx.get("role", r) for r in tx.roles_of_policy(policy["ID"])]
    return {"roles": [models.role_view(r) for r in paginate([r for r in roles if r],
                                                              ctx.request.args)]}


def policies_of_role(ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as tx:
        role = load(tx, "role", ctx.params["roleID"], "role", ctx.account_id)
        items = [tx.get("policy", p) for p in tx.policies_of_role(role["ID"])]
        fname = ctx.arg("filterOps.name")
        policies = [p for p in items if p and (not fname or p["name"] == fname)]
        return {"policies": [_view(tx, p) for p in paginate(policies, ctx.request.args)]}
