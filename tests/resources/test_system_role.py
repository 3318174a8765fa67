"""SystemRole (resources/system_role.py): provider CRUD next to a custom role, and
``get_system_role`` declaring one lookup per vault and name.
"""

from __future__ import annotations

import pulumi
import pytest

import skyflow_provider as sp
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.role import RoleProvider, SystemRoleProvider


def checked(p, props):
    result = p.check({}, props)
    assert result.failures == []
    return result.inputs


def test_role_and_system_role(make, fake) -> None:
    r = make(RoleProvider)
    res = r.create(checked(r, {"vault_id": "v1", "name": "READER", "permissions": ["a.b", "c.d"]}))
    assert fake.roles[res.id]["definition"]["type"] == "CUSTOM"
    # same permissions in another order is not drift
    fake.roles[res.id]["definition"]["permissions"] = ["c.d", "a.b"]
    assert r.read(res.id, res.outs).inputs["permissions"] == ["a.b", "c.d"]
    fake.roles[res.id]["definition"]["permissions"] = ["a.b"]
    assert r.read(res.id, res.outs).inputs["permissions"] == ["a.b"]
    r.update(res.id, res.outs, checked(r, {"vault_id": "v1", "name": "READER2"}))
    assert fake.roles[res.id]["definition"]["name"] == "READER2"
    r.delete(res.id, res.outs)
    assert r.read(res.id, res.outs).id is None

    s = make(SystemRoleProvider)
    assert s.create(checked(s, {"vault_id": "v1", "name": "VAULT_EDITOR"})).id == "sysedit"
    with pytest.raises(SkyflowProviderError, match="no system role"):
        s.create(checked(s, {"vault_id": "v1", "name": "NOPE"}))


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

