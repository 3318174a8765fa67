"""``Policy``: a vault data-access policy with typed rules, activated by default.

Why typed rules: Skyflow's ``ruleParams`` have three mutually exclusive shapes (column, table,
column group); a flat ``PolicyRuleArgs`` with exactly one target (or a ``rule_expression``) is
validated at preview and mapped to the right shape here. ``active`` is toggled in place through
the status endpoint; everything but ``vault_id`` updates in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CreateResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from ..api import idempotency
from ..api.idempotency import Named
from . import checks as v
from .args import PolicyArgs, PolicyRuleArgs
from .base import SkyflowProvider, SkyflowProviderError, carry, declare, is_unknown
from .declarations import POLICY, POLICY_RULE
from .field_groups import POLICY_ACTION, POLICY_EFFECT, REDACTION
from .outputs import PolicyOutputs
from .recovered import NamedRecovery

ACTIONS = POLICY_ACTION.values
EFFECTS = POLICY_EFFECT.values
REDACTIONS = REDACTION.values
RULE_KEYS = POLICY_RULE.keys
TARGET_KEYS = ("columns", "table", "column_groups")
MAX_RULES = 100


COLUMN_RE = re.compile(r"^[A-Za-z0-9_]+\.([A-Za-z0-9_]+|\*)$")
TABLE_RE = re.compile(r"^([A-Za-z0-9_]+|\*)$")
GROUP_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
EXPR_RE = re.compile(
    r"^\s*(?P<effect>ALLOW|DENY)\s+(?P<actions>[A-Z_]+(\s*,\s*[A-Z_]+)*)\s+ON\s+"
    r"(?P<target>[A-Za-z0-9_*]+\.[A-Za-z0-9_*]+(\s*,\s*[A-Za-z0-9_*]+\.[A-Za-z0-9_*]+)*)"
    r"(\s+WITH\s+REDACTION\s*=\s*(?P<redaction>[A-Z_]+))?\s*$"
)


# ----- validation --------------------------------------------------------------------------------
def _check_rule(i: int, rule: Any) -> list[CheckFailure]:
    p = f"rules[{i}]"
    if is_unknown(rule):
        return []
    if not isinstance(rule, Mapping):
        return [CheckFailure(p, f"{p} must be an object (PolicyRuleArgs)")]
    f = v.check_mapping(p, rule, RULE_KEYS)
    f += v.check_policy_name(f"{p}.name", rule.get("name"))
    expr = rule.get("rule_expression")
    targets = [k for k in TARGET_KEYS if rule.get(k) not in (None, [], "")]
    if expr is not None:
        f += v.check_rule_expression(f"{p}.rule_expression", expr, ACTIONS, REDACTIONS)
        if targets:
            f.append(CheckFailure(f"{p}.rule_expression", f"{p}: give either rule_expression or "
                                  f"{'/'.join(TARGET_KEYS)}, not both"))
        return f
    if len(targets) != 1:
        f.append(CheckFailure(
            f"{p}.columns",
            f"{p} needs exactly one target: columns (['table.column']), table ('name') or "
            f"column_groups (['group']), or a rule_expression; got "
            f"{', '.join(targets) if targets else 'none'}",
        ))
    f += v.check_enum(f"{p}.effect", rule.get("effect"), EFFECTS)
    f += v.check_string_list(f"{p}.actions", rule.get("actions"), required=True, min_items=1,
                             item_pattern=re.compile("^(" + "|".join(ACTIONS) + ")$"),
                             item_hint=f"use one of {', '.join(ACTIONS)}")
    f += v.check_string_list(f"{p}.columns", rule.get("columns"), item_pattern=COLUMN_RE,
                             item_hint="write columns as 'table.column' or 'table.*'")
    if rule.get("table") is not None:
        f += v.check_name(f"{p}.table", rule.get("table"), pattern=TABLE_RE,
                          pattern_hint="a table name: letters, digits, '_' (or '*')")
    f += v.check_string_list(f"{p}.column_groups", rule.get("column_groups"),
                             item_pattern=GROUP_RE, item_hint="a column-group name")
    f += v.check_enum(f"{p}.redaction", rule.get("redaction"), REDACTIONS)
    if rule.get("redaction") is not None and rule.get("table") is not None:
        f.append(CheckFailure(f"{p}.redaction", f"{p}.redaction applies to columns and "
                              "column_groups only; table rules cannot redact"))
    f += v.check_string(f"{p}.row_filter", rule.get("row_filter"), max_len=2048)
    return f


def check_rules(rules: Any) -> list[CheckFailure]:
    """Every rule valid, at least one, names unique."""
    f = v.check_list("rules", rules, required=True, min_items=1, max_items=MAX_RULES)
    if f or not isinstance(rules, (list, tuple)):
        return f
    names: list[str] = []
    for i, rule in enumerate(rules):
        f += _check_rule(i, rule)
        name = rule.get("name") if isinstance(rule, Mapping) else None
        if isinstance(name, str) and not is_unknown(name):
            if name in names:
                f.append(CheckFailure(f"rules[{i}].name", f"rules[{i}].name {name!r} is used by "
                                      "another rule; rule names must be unique in a policy"))
            names.append(name)
    return f


# ----- mapping to Skyflow's ruleParams ---------------------------------------------------------
def _expression_params(expr: str, vault_id: str) -> dict[str, Any]:
    """Structured params derived from a simple rule expression (empty if not parseable)."""
    m = EXPR_RE.match(expr)
    if not m:
        return {}
    actions = [a.strip() for a in m.group("actions").split(",")]
    targets = [t.strip() for t in m.group("target").split(",")]
    base: dict[str, Any] = {"vaultID": vault_id, "effect": m.group("effect"),
                            "actions": actions, "action": actions[0]}
    if len(targets) == 1 and targets[0].endswith(".*"):
        return {"tableRuleParams": {**base, "tableName": targets[0][:-2]}}
    params = {**base, "columns": targets}
    if m.group("redaction"):
        params["redaction"] = m.group("redaction")
    return {"columnRuleParams": params}


def rule_params(rule: Mapping[str, Any], vault_id: str, rule_id: str | None = None
                ) -> dict[str, Any]:
    """One ``v1RuleParams`` body."""
    out: dict[str, Any] = {"name": rule["name"]}
    if rule_id:
        out["ID"] = rule_id
    expr = rule.get("rule_expression")
    if expr:
        out["ruleExpression"] = expr
        out.update(_expression_params(expr, vault_id))
        return out
    actions = list(rule.get("actions") or [])
    base: dict[str, Any] = {"vaultID": vault_id, "effect": rule.get("effect") or "ALLOW",
                            "actions": actions}
    if actions:
        base["action"] = actions[0]
    if rule.get("row_filter"):
        base["rowFilter"] = rule["row_filter"]
    if rule.get("columns"):
        params = {**base, "columns": list(rule["columns"])}
        if rule.get("redaction"):
            params["redaction"] = rule["redaction"]
        out["columnRuleParams"] = params
    elif rule.get("table"):
        out["tableRuleParams"] = {**base, "tableName": rule["table"]}
    else:
        params = {**base, "columnGroups": list(rule.get("column_groups") or [])}
        if rule.get("redaction"):
            params["redaction"] = rule["redaction"]
        out["columnGroupRuleParams"] = params
    return out


def _normalise_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """Rule with defaults filled, None fields dropped (deterministic state).

    Unknown keys are kept so that check reports them instead of silently dropping a typo.
    """
    out = {k: val for k, val in rule.items() if val is not None}
    if "rule_expression" not in out:
        out.setdefault("effect", "ALLOW")
    return out


def _action_name(raw: Any) -> str:
    """'READ', 'vaults.records.read' or 'read' -> 'READ'."""
    return str(raw).rsplit(".", 1)[-1].upper()


def _remote_matches(desired: Mapping[str, Any], remote: Mapping[str, Any]) -> bool:
    """Does a rule read back from Skyflow still say what we declared? (fields Skyflow returns)"""
    if desired.get("rule_expression"):
        expr = remote.get("ruleExpression")
        return not expr or expr == desired["rule_expression"]
    effect = remote.get("effect")
    if effect and effect != (desired.get("effect") or "ALLOW"):
        return False
    actions = remote.get("actions")
    if actions and sorted(_action_name(a) for a in actions) != sorted(desired.get("actions") or []):
        return False
    redaction = remote.get("redaction")
    return not (redaction and desired.get("redaction") and redaction != desired["redaction"])


def _rule_from_remote(remote: Mapping[str, Any]) -> dict[str, Any]:
    """Best-effort typed rule from Skyflow's read form (used only when it drifted)."""
    out: dict[str, Any] = {"name": remote.get("name") or ""}
    if remote.get("ruleExpression"):
        out["rule_expression"] = remote["ruleExpression"]
        return out
    out["effect"] = remote.get("effect") or "ALLOW"
    out["actions"] = [_action_name(a) for a in remote.get("actions") or []]
    if remote.get("redaction"):
        out["redaction"] = remote["redaction"]
    if remote.get("rowFilter"):
        out["row_filter"] = remote["rowFilter"]
    resources = [str(r) for r in remote.get("resources") or []]
    kind = remote.get("resourceType")
    if kind == "TABLE" and resources:
        out["table"] = resources[0].rsplit("table:", 1)[-1]
    elif kind == "COLUMN_GROUP":
        out["column_groups"] = [r.rsplit("columngroup:", 1)[-1] for r in resources]
    elif resources:
        cols = []
        for r in resources:
            m = re.search(r"table:([^/]+)/column:([^/]+)$", r)
            cols.append(f"{m.group(1)}.{m.group(2)}" if m else r)
        out["columns"] = cols
    return out


class PolicyProvider(NamedRecovery, SkyflowProvider):
    """CRUD for /v1/policies; status via /v1/policies/{ID}/status."""

    spec = POLICY
    recovery_kind, recovery_what = "Policy", "policy"

    def recovery_scope(self, props: Mapping[str, Any]) -> str:
        return str(props.get("vault_id") or "")

    def recovery_listing(self, client: Any, props: Mapping[str, Any]) -> Named:
        return idempotency.policy_listing(client, self.recovery_scope(props), str(props["name"]))

    def apply_defaults(self, news: dict[str, Any]) -> dict[str, Any]:
        """Declared defaults, and every rule in its normal form (deterministic state)."""
        out = super().apply_defaults(news)
        rules = out.get("rules")
        if isinstance(rules, (list, tuple)):
            out["rules"] = [_normalise_rule(r) if isinstance(r, Mapping) else r for r in rules]
        return out

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += v.check_id("vault_id", news.get("vault_id"))
        f += v.check_id("adopt_id", news.get("adopt_id"), required=False)
        f += v.check_policy_name("name", news.get("name"))
        f += v.check_string("display_name", news.get("display_name"))
        f += v.check_string("description", news.get("description"), max_len=v.MAX_DESCRIPTION,
                            single_line=False)
        f += v.check_bool("active", news.get("active"))
        f += check_rules(news.get("rules"))
        return f

    def _rule_params(self, props: Mapping[str, Any], rule_ids: Mapping[str, str] | None = None
                     ) -> list[dict[str, Any]]:
        ids = rule_ids or {}
        return [rule_params(r, props["vault_id"], ids.get(r["name"])) for r in props["rules"]]

    def _remote(self, policy_id: str) -> dict[str, Any] | None:
        got = self.call(f"read policy {policy_id}", self.client.get_policy, policy_id,
                        missing_ok=True)
        policy = (got or {}).get("policy")
        return dict(policy) if policy else None

    @staticmethod
    def _rule_ids(policy: Mapping[str, Any] | None) -> dict[str, str]:
        return {str(r.get("name")): str(r.get("ID")) for r in (policy or {}).get("rules") or []
                if r.get("name") and r.get("ID")}

    def _adopt(self, props: dict[str, Any], policy_id: str | None = None) -> CreateResult:
        """Take over an existing policy: declared name, rules and status are applied."""
        policy_id = str(policy_id or props["adopt_id"])
        remote = self._remote(policy_id)
        if remote is None or remote.get("status") == "DELETED":
            raise SkyflowProviderError(f"adopt_id {policy_id}: Skyflow has no such policy; check "
                                       "the id or remove adopt_id to create a new policy")
        vault = (remote.get("resource") or {}).get("ID")
        if vault and vault != props["vault_id"]:
            raise SkyflowProviderError(f"adopt_id {policy_id}: the policy belongs to vault "
                                       f"{vault}, not vault_id {props['vault_id']}")
        status = remote.get("status") or ""
        olds = {"rule_ids": self._rule_ids(remote), "status": status,
                "active": status == "ACTIVE", "namespace": remote.get("namespace") or ""}
        outs = self.update(policy_id, olds, props).outs or {}
        return CreateResult(policy_id, outs)

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        if props.get("adopt_id"):
            return self._adopt(props)
        what = f"create policy {props['name']!r}"
        orphan = self.leftover(props, what)
        if orphan is not None:  # left by a killed run: take it over
            return self._adopt(props, str(orphan["ID"]))
        body = {
            "name": props["name"],
            "displayName": props["display_name"],
            "description": props["description"],
            "resource": {"ID": props["vault_id"], "type": "VAULT"},
            "ruleParams": self._rule_params(props),
            "activated": bool(props["active"]),
        }
        resp = self.call(f"create policy {props['name']!r}", idempotency.create_policy,
                         self.client, body)
        policy_id = resp.get("ID") or ""
        if not policy_id:
            raise SkyflowProviderError("Skyflow: create policy returned no ID")
        # No GET after the create: ``activated`` sets the status, rule ids are read on the
        # next refresh or by the first update that needs them, and the namespace is derived
        # from a listed policy's or read on the next refresh (docs/performance.md).
        # An adopted policy (lost response) is read, since its status is not known.
        remote: dict[str, Any] = {}
        status = "ACTIVE" if props["active"] else "INACTIVE"
        if resp.get("adopted"):
            with self.undo_on_failure(lambda: self.client.delete_policy(policy_id)):
                remote = self._remote(policy_id) or {}
                status = remote.get("status") or status
                if props["active"] and status != "ACTIVE":
                    self.call(f"activate policy {policy_id}", self.client.set_policy_status,
                              policy_id, "ACTIVE")
                    status = "ACTIVE"
        outs = {k: props.get(k) for k in self.input_keys}
        outs.update(status=status,
                    namespace=remote.get("namespace") or str(resp.get("namespace") or ""),
                    rule_ids=self._rule_ids(remote))
        return CreateResult(policy_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        remote = self._remote(id_)
        if remote is None or remote.get("status") == "DELETED":
            return ReadResult(None, {})
        outs = {k: props.get(k) for k in POLICY.state_keys}
        status = remote.get("status") or props.get("status") or ""
        outs.update(
            name=remote.get("name", props.get("name")),
            display_name=remote.get("displayName", props.get("display_name")),
            description=remote.get("description", props.get("description")) or "",
            status=status,
            active=status == "ACTIVE" if status else props.get("active"),
            namespace=remote.get("namespace") or props.get("namespace") or "",
            rule_ids=self._rule_ids(remote) or props.get("rule_ids") or {},
        )
        vault = (remote.get("resource") or {}).get("ID")
        if vault:
            outs["vault_id"] = vault
        outs["rules"] = self._reconcile_rules(props.get("rules") or [], remote.get("rules"))
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    @staticmethod
    def _reconcile_rules(desired: list[Any], remote_rules: Any) -> list[Any]:
        """Keep the declared rules unless Skyflow's copy differs (then show Skyflow's)."""
        if remote_rules is None:
            return desired
        remote_by_name = {r.get("name"): r for r in remote_rules}
        desired_names = [r.get("name") for r in desired if isinstance(r, Mapping)]
        if sorted(map(str, remote_by_name)) == sorted(map(str, desired_names)) and all(
            _remote_matches(r, remote_by_name[r.get("name")]) for r in desired
        ):
            return desired
        return [_rule_from_remote(r) for r in remote_rules]

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        outs = carry(olds, self.output_keys)
        body_keys = ("name", "display_name", "description", "rules")
        if any(olds.get(k) != news.get(k) for k in body_keys):
            rule_ids = dict(olds.get("rule_ids") or {})
            if not rule_ids and olds.get("rules"):
                # created without a read (no rule ids yet): read them, or every rule would be
                # sent as new and the old ones kept beside them
                rule_ids = self._rule_ids(self._remote(id_))
            body = {
                "policy": {"ID": id_, "name": news["name"], "displayName": news["display_name"],
                           "description": news["description"]},
                "ruleParams": self._rule_params(news, rule_ids),
            }
            self.call(f"update policy {id_}", self.client.update_policy, id_, body)
            remote = self._remote(id_) or {}
            wanted = {r["name"] for r in news["rules"]}
            for rule in remote.get("rules") or []:
                if rule.get("name") not in wanted and rule.get("ID"):
                    self.call(f"delete rule {rule['ID']} of policy {id_}", self.client.request,
                              "DELETE", f"/v1/policies/rules/{rule['ID']}",
                              params={"policyID": id_}, operation="DeleteRule",
                              target=f"rule {rule['ID']}", missing_ok=True)
            outs["rule_ids"] = {k: val for k, val in self._rule_ids(remote).items() if k in wanted}
        if bool(olds.get("active", True)) != bool(news["active"]) or (
            news["active"] and olds.get("status") not in (None, "ACTIVE")
        ):
            status = "ACTIVE" if news["active"] else "INACTIVE"
            self.call(f"set status of policy {id_}", self.client.set_policy_status, id_, status)
            outs["status"] = status
        outs.update({k: news.get(k) for k in self.input_keys})
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        if idempotency.adopted_this_run(self.client, id_):  # held by whoever took it over
            return
        self.call(f"delete policy {id_}", self.client.delete_policy, id_, missing_ok=True)


class Policy(PolicyOutputs, Resource, module="skyflow", name="Policy"):
    """A vault policy (rules + active flag). Attach it to roles with ``PolicyAssignment``."""

    def __init__(
        self,
        resource_name: str,
        args: PolicyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(POLICY, args, kwargs, PolicyArgs, opts)
        super().__init__(PolicyProvider(), resource_name, props, opts)


__all__ = ["Policy", "PolicyArgs", "PolicyProvider", "PolicyRuleArgs"]
