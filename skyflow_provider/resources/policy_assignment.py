"""``PolicyAssignment``: attaches one policy to a set of roles.

Why one resource per policy with a role *set*: changing which roles carry a policy is then an
in-place update (assign the added roles, unassign the removed ones) instead of a replacement
that would briefly detach the policy from every role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from ..api import idempotency
from . import checks as v
from .args import PolicyAssignmentArgs
from .base import SkyflowProvider, declare, is_unknown, same_value
from .declarations import POLICY_ASSIGNMENT
from .outputs import PolicyAssignmentOutputs


class PolicyAssignmentProvider(SkyflowProvider):
    """/v1/policies/assign and /v1/policies/unassign."""

    # id = policy id: a replacement for the same policy must detach first (declared).
    spec = POLICY_ASSIGNMENT

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += v.check_id("policy_id", news.get("policy_id"))
        f += v.check_id_list("role_ids", news.get("role_ids"))
        return f

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        changed = []
        if not same_value(olds.get("policy_id"), news.get("policy_id")):
            changed.append("policy_id")
        old_roles, new_roles = olds.get("role_ids") or [], news.get("role_ids") or []
        if is_unknown(new_roles) or any(is_unknown(r) for r in new_roles) or \
                sorted(map(str, old_roles)) != sorted(map(str, new_roles)):
            changed.append("role_ids")
        return changed

    def create(self, props: dict[str, Any]) -> CreateResult:
        policy_id, roles = props["policy_id"], [str(r) for r in props["role_ids"]]
        self.call(f"assign policy {policy_id} to roles", idempotency.assign_policy,
                  self.client, policy_id, roles)
        return CreateResult(policy_id, {"policy_id": policy_id, "role_ids": roles})

    def _has_policy(self, role_id: str, policy_id: str) -> bool:
        policies = self.call(f"list policies of role {role_id}", self.client.list_role_policies,
                             role_id, missing_ok=True)
        return any(str(p.get("ID")) == policy_id for p in policies or [])

    def _roles_of_vault(self, policy_id: str) -> list[str]:
        got = self.call(f"read policy {policy_id}", self.client.get_policy, policy_id,
                        missing_ok=True)
        vault = ((got or {}).get("policy") or {}).get("resource", {}).get("ID")
        if not vault:
            return []
        roles = self.call(f"list roles of vault {vault}", self.client.list_roles, vault)
        return [str(r["ID"]) for r in roles or [] if r.get("ID")]

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        policy_id = str(props.get("policy_id") or id_)
        known = props.get("role_ids")
        if known is None:  # `pulumi import` (native provider): the vault's roles carrying it
            known = self._roles_of_vault(policy_id)
        roles = [r for r in known if self._has_policy(str(r), policy_id)]
        if not roles:
            return ReadResult(None, {})
        outs = {"policy_id": policy_id, "role_ids": roles}
        return ReadResult(id_, outs, dict(outs))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        policy_id = str(news["policy_id"])
        old_roles = {str(r) for r in olds.get("role_ids") or []}
        new_roles = [str(r) for r in news["role_ids"]]
        added = [r for r in new_roles if r not in old_roles]
        removed = sorted(old_roles - set(new_roles))
        if added:
            self.call(f"assign policy {policy_id} to roles", self.client.assign_policy,
                      policy_id, added)
        if removed:
            self.call(f"unassign policy {policy_id} from roles", self.client.unassign_policy,
                      policy_id, removed, missing_ok=True)
        return UpdateResult({"policy_id": policy_id, "role_ids": new_roles})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        roles = [str(r) for r in props.get("role_ids") or []]
        if roles:
            self.call(f"unassign policy {id_} from roles", self.client.unassign_policy,
                      str(props.get("policy_id") or id_), roles, missing_ok=True)


class PolicyAssignment(PolicyAssignmentOutputs, Resource, module="skyflow",
                       name="PolicyAssignment"):
    """Attaches a policy to roles; id = the policy id."""

    def __init__(
        self,
        resource_name: str,
        args: PolicyAssignmentArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(POLICY_ASSIGNMENT, args, kwargs, PolicyAssignmentArgs, opts)
        super().__init__(PolicyAssignmentProvider(), resource_name, props, opts)


__all__ = ["PolicyAssignment", "PolicyAssignmentArgs", "PolicyAssignmentProvider"]
