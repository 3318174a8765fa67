"""Policies: create (active or not), update, status, delete, attach to roles."""

from __future__ import annotations

import re
from typing import Any

from ..errors import bad_request
from ..state import State
from ..store import Tx
from ..util import audit, check_id, new_id, opt_str, touch
from .common import load, resource_doc

NAME_RE = re.compile(r"^[A-Za-z0-9]+$")
ACTIONS = {"NONE_ACTION", "ALL", "CREATE", "READ", "UPDATE", "DELETE", "TOKENIZATION",
           "DETOKENIZATION"}
EFFECTS = {"NONE_EFFECT", "ALLOW", "DENY"}
EXPR_RE = re.compile(
    r"^\s*(ALLOW|DENY)\s+([A-Z_]+(?:\s*,\s*[A-Z_]+)*)\s+ON\s+(\S+)"
    r"(?:\s+WITH\s+REDACTION\s*=\s*([A-Z_]+))?\s*$")
VARIANTS = {"columnRuleParams": "COLUMN", "tableRuleParams": "TABLE",
            "columnGroupRuleParams": "COLUMN_GROUP"}


def _actions(value: dict[str, Any], field: str) -> list[str]:
    acts = list(value.get("actions") or [])
    if value.get("action"):
        acts.insert(0, value["action"])
    for a in acts:
        if a not in ACTIONS:
            raise bad_request(f"{field}.actions: invalid action {a!r}")
    return list(dict.fromkeys(acts))


def _variant(params: dict[str, Any], variant_key: str, field: str,
             vault_prefix: str) -> dict[str, Any]:
    """A structured rule (column, table or column-group params) in its read form."""
    variant = params[variant_key]
    vfield = f"{field}.{variant_key}"
    if not isinstance(variant, dict):
        raise bad_request(f"{vfield}: must be an object")
    effect = variant.get("effect", "ALLOW")
    if effect not in EFFECTS:
        raise bad_request(f"{vfield}.effect: must be ALLOW or DENY")
    actions = _actions(variant, vfield)
    if variant_key == "columnRuleParams":
        cols = variant.get("columns") or []
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise bad_request(f"{vfield}.columns: must be a list of table.column")
        resources = [f"{vault_prefix}/table:{c.partition('.')[0]}/column:"
                     f"{c.partition('.')[2]}" for c in cols]
    elif variant_key == "tableRuleParams":
        table = variant.get("tableName")
        if not isinstance(table, str) or not table:
            raise bad_request(f"{vfield}.tableName: required")
        resources = [f"{vault_prefix}/table:{table}"]
    else:
        groups = variant.get("columnGroups") or []
        if not isinstance(groups, list):
            raise bad_request(f"{vfield}.columnGroups: must be a list")
        resources = [f"{vault_prefix}/columngroup:{g}" for g in groups]
    out: dict[str, Any] = {"effect": effect, "actions": [a.lower() for a in actions],
                           "resources": resources, "resourceType": VARIANTS[variant_key]}
    for k in ("rowFilter", "redaction"):
        if isinstance(variant.get(k), str):
            out[k] = variant[k]
    return out


def _expression(expr: str, field: str, vault_prefix: str) -> dict[str, Any]:
    m = EXPR_RE.match(expr)
    if not m:
        raise bad_request(f"{field}.ruleExpression: not understood (expected e.g. "
                          "'ALLOW READ ON table.* WITH REDACTION = PLAIN_TEXT')")
    actions = [a.strip() for a in m.group(2).split(",")]
    for a in actions:
        if a not in ACTIONS:
            raise bad_request(f"{field}.ruleExpression: invalid action {a!r}")
    table, _, col = m.group(3).partition(".")
    out: dict[str, Any] = {"effect": m.group(1), "actions": [a.lower() for a in actions],
                           "resources": [f"{vault_prefix}/table:{table}/column:{col or '*'}"],
                           "resourceType": "COLUMN"}
    if m.group(4):
        out["redaction"] = m.group(4)
    return out


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
        rule.update(_variant(params, given[0], field, vault_prefix))
    elif expr:
        rule.update(_expression(expr, field, vault_prefix))
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


class Policies:
    """The policy backend of one emulator account."""

    def __init__(self, state: State) -> None:
        self.store = state.store
        self.account_id = state.account_id

    def _load(self, tx: Tx, policy_id: str) -> dict[str, Any]:
        return load(tx, "policy", policy_id, "policy", self.account_id)

    def with_roles(self, tx: Tx, policy: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        return policy, tx.roles_of_policy(policy["ID"])

    def get(self, policy_id: str) -> tuple[dict[str, Any], list[str]]:
        """The policy and the IDs of the roles it is attached to."""
        with self.store.read() as tx:
            return self.with_roles(tx, self._load(tx, policy_id))

    def list_(self, rtype: str | None, rid: str | None,
             name: str | None) -> list[tuple[dict[str, Any], list[str]]]:
        if not rid:
            raise bad_request("resource.ID: required")
        if not rtype:
            raise bad_request("resource.type: required")
        with self.store.read() as tx:
            res = resource_doc(tx, self.account_id, rtype, rid, "resource")
            items = tx.find("policy", parent=res["ID"], name=name or None)
            return [self.with_roles(tx, p) for p in items]

    def create(self, *, actor: str, body: dict[str, Any]) -> str:
        name = _name(body.get("name"), "name")
        display = opt_str(body, "displayName", "displayName", 256)
        description = opt_str(body, "description", "description", 1024)
        activated = body.get("activated", False)
        if not isinstance(activated, bool):
            raise bad_request("activated: must be a boolean")
        res_in = body.get("resource")
        if not isinstance(res_in, dict):
            raise bad_request("resource: required")
        with self.store.write() as tx:
            res = resource_doc(tx, self.account_id, res_in.get("type"), res_in.get("ID"),
                               "resource")
            rules = _rules(body.get("ruleParams"), res)
            pid = new_id()
            policy = {"ID": pid, "accountID": self.account_id, "name": name,
                      "displayName": display if display is not None else name,
                      "description": description or "",
                      "namespace": f"skyflow:emulator/account:{self.account_id}/policy:{pid}",
                      "status": "ACTIVE" if activated else "INACTIVE",
                      "BasicAudit": audit(actor), "resource": res, "rules": rules}
            tx.put("policy", pid, policy, account_id=self.account_id, parent=res["ID"],
                   name=name)
        return pid

    def _save(self, tx: Tx, policy: dict[str, Any], actor: str) -> str:
        policy["BasicAudit"] = touch(policy["BasicAudit"], actor)
        tx.put("policy", policy["ID"], policy, account_id=self.account_id,
               parent=policy["resource"]["ID"], name=policy["name"])
        return str(policy["ID"])

    def update(self, policy_id: str, *, actor: str, spec: Any, rule_params: Any) -> str:
        if not isinstance(spec, dict):
            raise bad_request("policy: must be an object")
        if spec.get("ID") not in (None, "", policy_id):
            raise bad_request("policy.ID: does not match the path")
        with self.store.write() as tx:
            policy = self._load(tx, policy_id)
            if spec.get("name") is not None:
                policy["name"] = _name(spec["name"], "policy.name")
            for key, limit in (("displayName", 256), ("description", 1024)):
                v = opt_str(spec, key, f"policy.{key}", limit)
                if v is not None:
                    policy[key] = v
            if rule_params is not None:
                policy["rules"] = _rules(rule_params, policy["resource"])
            return self._save(tx, policy, actor)

    def set_status(self, policy_id: str, *, actor: str, status: Any) -> str:
        if status not in ("ACTIVE", "INACTIVE"):
            raise bad_request("status: must be ACTIVE or INACTIVE")
        with self.store.write() as tx:
            policy = self._load(tx, policy_id)
            policy["status"] = status
            return self._save(tx, policy, actor)

    def delete(self, policy_id: str) -> str:
        with self.store.write() as tx:
            policy = self._load(tx, policy_id)
            tx.drop_policy_links(policy_id=policy["ID"])
            tx.delete("policy", policy["ID"])
        return str(policy["ID"])

    def _role_ids(self, tx: Tx, body: dict[str, Any]) -> list[str]:
        for extra in ("members", "exceptions"):
            if body.get(extra):
                raise bad_request(f"{extra}: not supported (attach policies to roles)")
        ids = body.get("roleIDs")
        if not isinstance(ids, list) or not ids:
            raise bad_request("roleIDs: a non-empty list is required")
        out = []
        for i, rid in enumerate(ids):
            load(tx, "role", check_id(rid, f"roleIDs[{i}]"), "role", self.account_id)
            out.append(rid)
        return out

    def assign(self, body: dict[str, Any]) -> str:
        with self.store.write() as tx:
            policy = self._load(tx, check_id(body.get("ID"), "ID"))
            for rid in self._role_ids(tx, body):
                tx.attach(policy["ID"], rid)
        return str(policy["ID"])

    def unassign(self, policy_id: Any, role_ids: Any) -> str:
        with self.store.write() as tx:
            policy = self._load(tx, check_id(policy_id, "ID"))
            if not isinstance(role_ids, list) or not role_ids:
                raise bad_request("roleIDs: a non-empty list is required")
            for i, rid in enumerate(role_ids):
                tx.detach(policy["ID"], check_id(rid, f"roleIDs[{i}]"))
        return str(policy["ID"])

    def roles_of_policy(self, policy_id: str) -> list[dict[str, Any]]:
        with self.store.read() as tx:
            policy = self._load(tx, policy_id)
            roles = [tx.get("role", r) for r in tx.roles_of_policy(policy["ID"])]
        return [r for r in roles if r]

    def policies_of_role(self, role_id: str,
                         name: str | None) -> list[tuple[dict[str, Any], list[str]]]:
        with self.store.read() as tx:
            role = load(tx, "role", role_id, "role", self.account_id)
            items = [tx.get("policy", p) for p in tx.policies_of_role(role["ID"])]
            policies = [p for p in items if p and (not name or p["name"] == name)]
            return [self.with_roles(tx, p) for p in policies]
