"""diff: what replaces, what updates in place, and what never causes a diff."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from skyflow_provider.api_key import ApiKeyProvider
from skyflow_provider.policy import PolicyProvider
from skyflow_provider.policy_assignment import PolicyAssignmentProvider
from skyflow_provider.role import RoleProvider, SystemRoleProvider
from skyflow_provider.role_assignment import RoleAssignmentProvider
from skyflow_provider.service_account import ServiceAccountProvider
from skyflow_provider.service_account_key import ServiceAccountKeyProvider


def state(provider: Any, inputs: dict[str, Any], **outputs: Any) -> dict[str, Any]:
    """Old outputs as the engine passes them to diff: checked inputs + outputs + __provider."""
    checked = provider.check({}, dict(inputs)).inputs
    return {**checked, **outputs, "__provider": "OLDPICKLE"}


def news(provider: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    checked = provider.check({}, dict(inputs)).inputs
    return {**checked, "__provider": "NEWPICKLE"}


SA = {"name": "payments-api"}
RULE = {"name": "r1", "actions": ["READ"], "columns": ["persons.name"]}
POLICY = {"vault_id": "v1", "name": "P1", "rules": [RULE]}

# (provider, old inputs, new inputs, expected changes, expected replaces)
CASES = [
    (ServiceAccountProvider, SA, SA, False, []),
    (ServiceAccountProvider, SA, {**SA, "display_name": "Payments"}, True, []),
    (ServiceAccountProvider, SA, {**SA, "description": "d"}, True, []),
    (ServiceAccountProvider, SA, {**SA, "enforce_context_id": True}, True, []),
    (ServiceAccountProvider, SA, {**SA, "ip_allowlist": {"status": "ACTIVE_ALL",
                                                         "cidr_blocks": ["10.0.0.0/8"]}}, True, []),
    (ServiceAccountProvider, SA, {"name": "other"}, True, ["name"]),
    (ServiceAccountProvider, SA, {**SA, "auth_type": "api_key"}, True, ["auth_type"]),
    (ServiceAccountProvider, SA, {**SA, "auth_type": "jwt"}, False, []),  # default == explicit
    (ServiceAccountProvider, SA, {**SA, "display_name": "payments-api"}, False, []),
    (ApiKeyProvider, {"service_account_id": "sa1"}, {"service_account_id": "sa2"}, True,
     ["service_account_id"]),
    (ApiKeyProvider, {"service_account_id": "sa1"},
     {"service_account_id": "sa1", "keepers": {"r": "2"}}, True, ["keepers"]),
    (ApiKeyProvider, {"service_account_id": "sa1"},
     {"service_account_id": "sa1", "service_account_auth_type": "api_key"}, False, []),
    (ServiceAccountKeyProvider, {"service_account_id": "sa1", "keepers": {"r": "1"}},
     {"service_account_id": "sa1", "keepers": {"r": "2"}}, True, ["keepers"]),
    (RoleProvider, {"vault_id": "v1", "name": "R"}, {"vault_id": "v1", "name": "R2"}, True, []),
    (RoleProvider, {"vault_id": "v1", "name": "R"},
     {"vault_id": "v1", "name": "R", "permissions": ["a.b"]}, True, []),
    (RoleProvider, {"vault_id": "v1", "name": "R"}, {"vault_id": "v2", "name": "R"}, True,
     ["vault_id"]),
    (SystemRoleProvider, {"vault_id": "v1", "name": "VAULT_EDITOR"},
     {"vault_id": "v1", "name": "VAULT_VIEWER"}, True, ["name"]),
    (PolicyProvider, POLICY, POLICY, False, []),
    (PolicyProvider, POLICY, {**POLICY, "active": False}, True, []),
    (PolicyProvider, POLICY, {**POLICY, "name": "P2"}, True, []),
    (PolicyProvider, POLICY, {**POLICY, "rules": [{**RULE, "redaction": "MASKED"}]}, True, []),
    (PolicyProvider, POLICY, {**POLICY, "vault_id": "v2"}, True, ["vault_id"]),
    (PolicyProvider, POLICY, {**POLICY, "rules": [{**RULE, "effect": "ALLOW"}]}, False, []),
    (RoleAssignmentProvider, {"role_id": "r1", "service_account_id": "sa1"},
     {"role_id": "r1", "service_account_id": "sa1", "condition": "true"}, True, []),
    (RoleAssignmentProvider, {"role_id": "r1", "service_account_id": "sa1"},
     {"role_id": "r2", "service_account_id": "sa1"}, True, ["role_id"]),
    (RoleAssignmentProvider, {"role_id": "r1", "service_account_id": "sa1"},
     {"role_id": "r1", "service_account_id": "sa2"}, True, ["service_account_id"]),
    (RoleAssignmentProvider, {"vault_id": "v1", "role_name": "VAULT_EDITOR",
                              "service_account_id": "sa1"},
     {"vault_id": "v1", "role_name": "VAULT_VIEWER", "service_account_id": "sa1"}, True,
     ["role_name"]),
    (PolicyAssignmentProvider, {"policy_id": "p1", "role_ids": ["a", "b"]},
     {"policy_id": "p1", "role_ids": ["b", "a"]}, False, []),
    (PolicyAssignmentProvider, {"policy_id": "p1", "role_ids": ["a"]},
     {"policy_id": "p1", "role_ids": ["a", "b"]}, True, []),
    (PolicyAssignmentProvider, {"policy_id": "p1", "role_ids": ["a"]},
     {"policy_id": "p2", "role_ids": ["a"]}, True, ["policy_id"]),
]


@pytest.mark.parametrize(("cls", "old", "new", "changes", "replaces"), CASES)
def test_diff(cls, old, new, changes, replaces) -> None:
    p = cls()
    result = p.diff("id1", state(p, old), news(p, new))
    assert result.changes is changes
    assert sorted(result.replaces or []) == sorted(replaces)


def test_provider_blob_never_causes_a_diff() -> None:
    p = ServiceAccountProvider()
    olds = state(p, SA, client_id="sa1", private_key="PEM")
    result = p.diff("sa1", olds, {**news(p, SA), "__provider": "SOMETHING-ELSE"})
    assert result.changes is False and not result.replaces


def test_outputs_in_state_never_cause_a_diff() -> None:
    p = ServiceAccountProvider()
    olds = state(p, SA, client_id="sa1", private_key="PEM", credentials="{}", namespace="ns")
    assert p.diff("sa1", olds, news(p, SA)).changes is False


def test_unknown_replace_key_at_preview_is_a_replacement() -> None:
    p = ServiceAccountProvider()
    result = p.diff("sa1", state(p, SA), news(p, {"name": UNKNOWN}))
    assert result.changes is True and result.replaces == ["name"]


def test_unknown_in_place_key_is_an_update() -> None:
    p = RoleAssignmentProvider()
    old = {"role_id": "r1", "service_account_id": "sa1"}
    result = p.diff("r1:sa1", state(p, old), news(p, {**old, "condition": UNKNOWN}))
    assert result.changes is True and result.replaces == []


@pytest.mark.parametrize(("cls", "old", "new"), [
    (RoleAssignmentProvider, {"role_id": "r1", "service_account_id": "sa1"},
     {"role_id": "r2", "service_account_id": "sa1"}),
    (PolicyAssignmentProvider, {"policy_id": "p1", "role_ids": ["a"]},
     {"policy_id": "p2", "role_ids": ["a"]}),
    (ServiceAccountProvider, SA, {**SA, "auth_type": "api_key"}),
])
def test_replacements_with_reused_identity_delete_first(cls, old, new) -> None:
    p = cls()
    assert p.diff("x", state(p, old), news(p, new)).delete_before_replace is True


def test_service_account_rename_creates_first() -> None:
    p = ServiceAccountProvider()
    result = p.diff("x", state(p, SA), news(p, {"name": "renamed"}))
    assert result.replaces == ["name"] and not result.delete_before_replace
    both = p.diff("x", state(p, SA), news(p, {"name": "renamed", "auth_type": "api_key"}))
    assert not both.delete_before_replace


def test_in_place_update_does_not_request_delete_first() -> None:
    p = ServiceAccountProvider()
    assert not p.diff("x", state(p, SA), news(p, {**SA, "description": "d"})).delete_before_replace


@pytest.mark.parametrize("unknown", [UNKNOWN, Unknown()], ids=["sentinel-string", "Unknown"])
def test_preview_with_unknown_ids_checks_clean(unknown) -> None:
    """A PolicyAssignment whose policy and role ids are not known yet passes check (preview)."""
    p = PolicyAssignmentProvider()
    result = p.check({}, {"policy_id": unknown, "role_ids": [unknown], "__provider": "x"})
    assert result.failures == []
    result = p.check({}, {"policy_id": "p1", "role_ids": unknown})
    assert result.failures == []
    olds = state(p, {"policy_id": "p1", "role_ids": ["a"]})
    assert p.diff("p1", olds, {"policy_id": "p1", "role_ids": [unknown]}).changes is True
