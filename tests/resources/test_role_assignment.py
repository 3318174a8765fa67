"""RoleAssignmentProvider (resources/role_assignment.py): adoption and unassign, one read call
however many members, fall-backs, unknowns at preview.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN

from skyflow_provider.resources import role_lookup as role_mod
from skyflow_provider.resources.role_assignment import RoleAssignmentProvider
from skyflow_provider.resources.service_account import ServiceAccountProvider


def checked(p, props):
    result = p.check({}, props)
    assert result.failures == []
    return result.inputs


def test_role_assignment_adopts_and_unassigns(make, fake) -> None:
    sa = make(ServiceAccountProvider)
    sa_id = sa.create(checked(sa, {"name": "x"})).id
    ra = make(RoleAssignmentProvider)
    inputs = checked(ra, {"vault_id": "v1", "role_name": "VAULT_EDITOR",
                          "service_account_id": sa_id})
    res = ra.create(inputs)
    assert res.id == f"sysedit:{sa_id}" and res.outs["resolved_role_id"] == "sysedit"
    fake.conflict_on_assign = True
    assert ra.create(inputs).id == res.id  # adopted, not failed
    assert ra.read(res.id, res.outs).id == res.id
    # condition change: in place (unassign + assign)
    upd = ra.update(res.id, res.outs, checked(ra, {**inputs, "condition": "true"})).outs
    assert upd["resolved_role_id"] == "sysedit"
    assert fake.members["sysedit"][0]["condition"] == "true"
    ra.delete(res.id, upd)
    assert ra.read(res.id, upd).id is None


def state(provider: Any, inputs: dict[str, Any], **outputs: Any) -> dict[str, Any]:
    """Old outputs as the engine passes them to diff: checked inputs + outputs + __provider."""
    checked = provider.check({}, dict(inputs)).inputs
    return {**checked, **outputs, "__provider": "OLDPICKLE"}


def news(provider: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    checked = provider.check({}, dict(inputs)).inputs
    return {**checked, "__provider": "NEWPICKLE"}


def test_unknown_in_place_key_is_an_update() -> None:
    p = RoleAssignmentProvider()
    old = {"role_id": "r1", "service_account_id": "sa1"}
    result = p.diff("r1:sa1", state(p, old), news(p, {**old, "condition": UNKNOWN}))
    assert result.changes is True and result.replaces == []


@pytest.fixture(autouse=True)
def _empty_role_cache():
    role_mod._ROLE_ID_CACHE.clear()
    yield
    role_mod._ROLE_ID_CACHE.clear()


# ----- fix 3: refresh reads one assignment with one GET -------------------------------------------
def test_assignment_read_is_one_call_however_many_members_the_role_has(make, fake) -> None:
    sa, ra = make(ServiceAccountProvider), make(RoleAssignmentProvider)
    ids = [sa.create(checked(sa, {"name": f"sa{i}"})).id for i in range(60)]
    results = [ra.create(checked(ra, {"role_id": "sysedit", "service_account_id": i}))
               for i in ids]
    fake.calls.clear()
    for res in results:
        assert ra.read(res.id, res.outs).id == res.id
    assert fake.calls == ["list_member_roles"] * len(results)  # was 3 pages each at 60 members


def test_assignment_read_role_or_member_gone(make, fake) -> None:
    sa, ra = make(ServiceAccountProvider), make(RoleAssignmentProvider)
    sa_id = sa.create(checked(sa, {"name": "x"})).id
    res = ra.create(checked(ra, {"role_id": "sysedit", "service_account_id": sa_id}))
    fake.unassign_role("sysedit", [{"ID": sa_id, "type": "SERVICE_ACCOUNT"}])
    assert ra.read(res.id, res.outs).id is None  # unassigned elsewhere
    ra.create(checked(ra, {"role_id": "sysedit", "service_account_id": sa_id}))
    fake.roles.pop("sysedit")
    assert ra.read(res.id, res.outs).id is None  # role deleted
    fake.roles["sysedit"] = {"ID": "sysedit", "definition": {"name": "VAULT_EDITOR"},
                             "resource": {"ID": "v1", "type": "VAULT"}}
    fake.sas.pop(sa_id)
    assert ra.read(res.id, res.outs).id is None  # member deleted: 404


def test_assignment_read_falls_back_when_member_roles_is_refused(make, fake) -> None:
    from skyflow_provider.http.errors import InvalidArgumentError

    sa, ra = make(ServiceAccountProvider), make(RoleAssignmentProvider)
    sa_id = sa.create(checked(sa, {"name": "x"})).id
    res = ra.create(checked(ra, {"role_id": "sysedit", "service_account_id": sa_id}))

    def refuse(*_a, **_k):
        raise InvalidArgumentError("filterOps.resource.ID: required", status=400)

    fake.list_member_roles = refuse
    assert ra.read(res.id, res.outs).id == res.id
    assert fake.calls[-1] == "list_role_members"



BASE = {"role_id": "r1", "service_account_id": "sa1"}


@pytest.mark.parametrize("condition", [
    "request.context.repository == 'o/r' && request.context.ref == 'refs/heads/main'",
    "request.time < timestamp('2100-01-01T00:00:00Z')",
    "request.originIP in ['10.0.0.1'] || size(request.context) > 0",
])
def test_valid_cel_conditions_pass_check(condition: str) -> None:
    result = RoleAssignmentProvider().check({}, {**BASE, "condition": condition})
    assert result.failures == []


@pytest.mark.parametrize("condition, says", [
    ("user.id == 1", "undeclared reference to 'user.id'"),
    ("request.headers.x == 'y'", "undeclared reference to 'request.headers.x'"),
    ("request.context.role ==", "Syntax error"),
    ("request.originIP + 1 == 2", "no matching overload"),
    ("'admin'", "of type string, not bool"),
    ("request.context.allowed", "of type dyn, not bool"),
])
def test_bad_cel_conditions_are_refused_at_check(condition: str, says: str) -> None:
    """Parsed and type-checked by CEL itself, before any API call (no client is made)."""
    p = RoleAssignmentProvider()
    result = p.check({}, {**BASE, "condition": condition})
    assert [f.property for f in result.failures] == ["condition"]
    assert says in result.failures[0].reason and "condition" in result.failures[0].reason
    assert p._client is None
