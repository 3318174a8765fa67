"""Resource classes under Pulumi mocks: type tokens, every attribute an Output, secrets forced,
Args and keyword forms equivalent."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

import skyflow_provider as sp


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


@pytest.fixture
def mocks():
    m = Mocks()
    pulumi.runtime.set_mocks(m, preview=False)
    yield m


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
    from skyflow_provider.provider_base import with_secret_outputs

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


@pulumi.runtime.test
def test_get_system_role_declares_one_lookup_per_vault_and_name(mocks) -> None:
    a = sp.get_system_role("v1", "VAULT_EDITOR")
    b = sp.get_system_role("v1", "VAULT_EDITOR")
    c = sp.get_system_role("v1", "VAULT_VIEWER")
    with pytest.raises(TypeError, match="resource_name"):
        sp.get_system_role(pulumi.Output.from_input("v1"), "VAULT_EDITOR")

    def check(ids: list[str]) -> None:
        lookups = [r.name for r in mocks.registered if r.typ.endswith(":SystemRole")]
        assert sorted(lookups) == ["system-role-v1-vault-editor", "system-role-v1-vault-viewer"]

    # Wait on every lookup: a registration is only certain once its output has resolved.
    return pulumi.Output.all(a, b, c).apply(check)
