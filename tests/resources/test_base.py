"""Shared provider behaviour over all resources (resources/base.py): diff rules as a table over
every provider, clean failures, the Pulumi Resource classes' tokens, attributes and forced
secret outputs (with pulumi's mocks).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.runtime.rpc import UNKNOWN

import skyflow_provider as sp
from skyflow_provider.http.errors import ServerError
from skyflow_provider.resources.api_key import ApiKeyProvider
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.policy import PolicyProvider
from skyflow_provider.resources.policy_assignment import PolicyAssignmentProvider
from skyflow_provider.resources.role import RoleProvider, SystemRoleProvider
from skyflow_provider.resources.role_assignment import RoleAssignmentProvider
from skyflow_provider.resources.service_account import ServiceAccountProvider
from skyflow_provider.resources.service_account_key import ServiceAccountKeyProvider


def checked(p, props):
    result = p.check({}, props)
    assert result.failures == []
    return result.inputs


def test_failed_follow_up_deletes_the_new_object(make, fake) -> None:
    sa = make(ServiceAccountProvider)
    real = fake.create_service_account

    def no_key(body):
        resp = real(body)
        resp.pop("privateKey")
        return resp

    fake.create_service_account = no_key
    with pytest.raises(SkyflowProviderError, match="deleted again"):
        sa.create(checked(sa, {"name": "a"}))
    assert fake.sas == {}

    p = make(PolicyProvider)

    def status_fails(_id, _status):
        raise ServerError("set status: boom", status=500, operation="set status")

    fake.set_policy_status = status_fails
    real_create = fake.create_policy

    def lost_and_inactive(body):  # committed inactive, response lost: adopted, then activated
        from skyflow_provider.http.errors import TransportError
        real_create({**body, "activated": False})
        raise TransportError("create policy: connection reset", operation="create policy")

    fake.create_policy = lost_and_inactive
    with pytest.raises(SkyflowProviderError, match="500"):
        p.create(checked(p, {"vault_id": "v1", "name": "P", "rules": [
            {"name": "a", "actions": ["READ"], "table": "t"}]}))
    assert fake.policies == {}


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


@pulumi.runtime.test
def test_type_tokens_and_attributes(mocks) -> None:
    sa = sp.ServiceAccount("sa", sp.ServiceAccountArgs(name="a"))
    ak = sp.ApiKey("ak", service_account=sa)
    key = sp.ServiceAccountKey("k", service_account_id=sa.id)
    role = sp.Role("r", vault_id="v1", name="R")
    sysrole = sp.SystemRole("s", vault_id="v1", name="VAULT_EDITOR")
    pol = sp.Policy("p", sp.PolicyArgs(vault_id="v1", name="P", rules=[
        sp.PolicyRuleArgs(name="a", actions=["READ"], table="t")]))
    pa = sp.PolicyAssignment("pa", policy_id=pol.id, role_ids=[role.id, sysrole.id])
    ra = sp.RoleAssignment("ra", role_id=role.id, service_account_id=sa.id)
    # Every declared attribute exists (an Output), including inputs the caller left out.
    for res in (sa, ak, key, role, sysrole, pol, pa, ra):
        for attr in type(res).__annotations__:
            assert isinstance(getattr(res, attr), pulumi.Output), (type(res).__name__, attr)

    def check(_: Any) -> None:
        tokens = {a.typ for a in mocks.registered}
        assert {f"pulumi-python:dynamic/skyflow:{n}" for n in (
            "ServiceAccount", "ApiKey", "ServiceAccountKey", "Role", "SystemRole", "Policy",
            "PolicyAssignment", "RoleAssignment")} <= tokens
        by_name = {a.name: a for a in mocks.registered}
        rules = by_name["p"].inputs["rules"]
        assert rules == [{"name": "a", "actions": ["READ"], "table": "t"}]  # dataclass -> dict
        assert "service_account" not in by_name["ak"].inputs

    # Wait on every resource: a registration is only certain once its output has resolved.
    everything = (sa, ak, key, role, sysrole, pol, pa, ra)
    return pulumi.Output.all(*(r.id for r in everything)).apply(check)


def test_secret_outputs_are_forced_even_if_caller_passes_options() -> None:
    from skyflow_provider.resources.base import with_secret_outputs

    opts = with_secret_outputs(pulumi.ResourceOptions(additional_secret_outputs=["mine"],
                                                      protect=True), ("private_key", "api_key"))
    assert set(opts.additional_secret_outputs or []) == {"mine", "private_key", "api_key"}
    assert opts.protect is True


@pytest.mark.parametrize(("cls", "kwargs", "secrets"), [
    (sp.ServiceAccount, {"name": "a"}, {"private_key", "credentials", "api_key",
                                        "previous_private_key", "previous_credentials",
                                        "previous_api_key"}),
    (sp.ApiKey, {"service_account_id": "sa1"}, {"api_key", "previous_api_key"}),
    (sp.ServiceAccountKey, {"service_account_id": "sa1"}, {"private_key", "credentials",
                                                          "previous_private_key",
                                                          "previous_credentials"}),
])
def test_resources_force_their_secret_outputs(monkeypatch, cls, kwargs, secrets) -> None:
    seen: dict[str, Any] = {}

    def fake_init(self, provider, name, props, opts=None):
        seen.update(provider=provider, props=props, opts=opts)

    monkeypatch.setattr(pulumi.dynamic.Resource, "__init__", fake_init)
    cls("x", opts=pulumi.ResourceOptions(additional_secret_outputs=["other"]), **kwargs)
    assert set(seen["opts"].additional_secret_outputs) == secrets | {"other"}
    assert secrets <= set(seen["props"])  # secret outputs are declared props (None until set)


def test_unknown_keyword_is_a_type_error(mocks) -> None:
    with pytest.raises(TypeError, match="displayName"):
        sp.ServiceAccount("x", name="a", displayName="b")

