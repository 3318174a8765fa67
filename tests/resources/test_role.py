"""RoleProvider (resources/role.py): name conflicts explain the fix; adoption.
"""

from __future__ import annotations

from typing import Any

import pytest

from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.role import RoleProvider


def test_name_conflict_explains_the_fix(make, fake) -> None:
    from skyflow_provider.http.errors import ConflictError

    def conflict(_body):
        raise ConflictError("create role: conflict", status=409, operation="create role")

    fake.create_role = conflict
    r = make(RoleProvider)
    with pytest.raises(SkyflowProviderError, match="namePrefix"):
        r.create(checked(r, {"vault_id": "v1", "name": "R"}))


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def test_adopt_role(make, fake) -> None:
    from skyflow_provider.resources.role import RoleProvider

    r = make(RoleProvider)
    existing = fake.create_role({"roleDefinition": {"name": "R", "permissions": []},
                                 "resource": {"ID": "v1", "type": "VAULT"}})["ID"]
    fake.calls.clear()
    adopted = r.create(checked(r, {"vault_id": "v1", "name": "R", "adopt_id": existing,
                                   "permissions": ["vault.read"]}))
    assert adopted.id == existing
    assert fake.roles[existing]["definition"]["permissions"] == ["vault.read"]
    with pytest.raises(SkyflowProviderError, match="no such role"):
        r.create(checked(r, {"vault_id": "v1", "name": "R", "adopt_id": "missing"}))

