"""Provider CRUD logic against an in-memory fake client: outputs complete, secrets carried,
gone objects disappear on refresh, out-of-band changes show up as input drift."""

from __future__ import annotations

import json

import pytest

from skyflow_provider.api_key import ApiKeyProvider
from skyflow_provider.errors import ServerError
from skyflow_provider.policy import PolicyProvider
from skyflow_provider.policy_assignment import PolicyAssignmentProvider
from skyflow_provider.provider_base import SkyflowProviderError
from skyflow_provider.role import RoleProvider, SystemRoleProvider
from skyflow_provider.role_assignment import RoleAssignmentProvider
from skyflow_provider.resources.declarations import SERVICE_ACCOUNT
from skyflow_provider.resources.keys import CREDENTIAL_KEYS
from skyflow_provider.resources.service_account import ServiceAccountProvider

OUTPUT_KEYS = SERVICE_ACCOUNT.output_keys
from skyflow_provider.service_account_key import ServiceAccountKeyProvider


def checked(p, props):
    result = p.check({}, props)
    assert result.failures == []
    return result.inputs


def test_jwt_service_account_lifecycle(make, fake) -> None:
    p = make(ServiceAccountProvider)
    inputs = checked(p, {"name": "payments-api"})
    created = p.create(inputs)
    outs = created.outs
    assert created.id == outs["client_id"]
    assert set(OUTPUT_KEYS) <= set(outs)
    assert outs["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    creds = json.loads(outs["credentials"])
    assert list(creds) == list(CREDENTIAL_KEYS)
    assert creds["privateKey"] == outs["private_key"] and creds["clientID"] == created.id
    assert outs["api_key"] is None and outs["namespace"] == f"ns/{created.id}"

    # update in place: PATCH with the complete desired state, every output carried over
    new_inputs = checked(p, {"name": "payments-api", "description": "Payments",
                             "ip_allowlist": {"status": "ACTIVE_ALL",
                                              "cidr_blocks": ["10.0.0.0/8"]}})
    updated = p.update(created.id, {**outs, "__provider": "x"}, new_inputs).outs
    assert updated["private_key"] == outs["private_key"]
    assert updated["credentials"] == outs["credentials"]
    assert updated["description"] == "Payments"
    remote = fake.sas[created.id]
    assert remote["serviceAccount"]["ipAllowlist"] == {"status": "ACTIVE_ALL",
                                                       "cidrBlocks": ["10.0.0.0/8"]}
    assert remote["clientConfiguration"] == {"enforceContextID": False,
                                             "enforceSignedDataTokens": False}

    # refresh with no drift: same outputs, secrets kept
    read = p.read(created.id, {**updated, "__provider": "x"})
    assert read.id == created.id and read.outs["private_key"] == outs["private_key"]
    assert read.inputs == {k: updated[k] for k in read.inputs}

    # out-of-band change shows up as a changed input (so the next up diffs)
    remote["serviceAccount"]["displayName"] = "changed in Studio"
    read = p.read(created.id, updated)
    assert read.inputs["display_name"] == "changed in Studio"
    assert p.diff(created.id, read.outs, new_inputs).changes is True

    # out-of-band deletion: gone
    p.delete(created.id, updated)
    assert created.id not in fake.sas
    gone = p.read(created.id, updated)
    assert gone.id is None and gone.outs == {}
    p.delete(created.id, updated)  # already gone: fine


def test_api_key_service_account(make, fake) -> None:
    p = make(ServiceAccountProvider)
    outs = p.create(checked(p, {"name": "legacy-batch", "auth_type": "api_key"})).outs
    assert outs["api_key"].startswith("sky-") and outs["api_key_id"]
    assert outs["private_key"] is None and outs["credentials"] is None
    assert fake.sas[outs["client_id"]]["api"] is True


def test_errors_are_clean_and_secret_free(make, fake) -> None:
    p = make(ServiceAccountProvider)

    def boom(_id, _body):
        raise ServerError("update service account sa1: server error", status=503,
                          operation="update service account", target="sa1")

    fake.update_service_account = boom
    olds = {"name": "a", "private_key": "TOPSECRETPEM"}
    with pytest.raises(SkyflowProviderError) as info:
        p.update("sa1", olds, checked(p, {"name": "a", "description": "x"}))
    assert "503" in str(info.value) and "TOPSECRETPEM" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


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
    fake.create_policy = lambda body: real_create({**body, "activated": False})
    with pytest.raises(SkyflowProviderError, match="500"):
        p.create(checked(p, {"vault_id": "v1", "name": "P", "rules": [
            {"name": "a", "actions": ["READ"], "table": "t"}]}))
    assert fake.policies == {}


def test_name_conflict_explains_the_fix(make, fake) -> None:
    from skyflow_provider.errors import ConflictError

    def conflict(_body):
        raise ConflictError("create role: conflict", status=409, operation="create role")

    fake.create_role = conflict
    r = make(RoleProvider)
    with pytest.raises(SkyflowProviderError, match="namePrefix"):
        r.create(checked(r, {"vault_id": "v1", "name": "R"}))


def test_api_key_and_key_resources(make, fake) -> None:
    sa = make(ServiceAccountProvider)
    api_sa = sa.create(checked(sa, {"name": "b", "auth_type": "api_key"})).id
    jwt_sa = sa.create(checked(sa, {"name": "j"})).id

    ak = make(ApiKeyProvider)
    res = ak.create(checked(ak, {"service_account_id": api_sa}))
    assert res.outs["api_key"] and res.outs["created_at"] == "2026-01-02T00:00:00Z"
    assert ak.read(res.id, res.outs).id == res.id
    ak.delete(res.id, res.outs)
    assert ak.read(res.id, res.outs).id is None

    with pytest.raises(SkyflowProviderError, match="cannot have API keys"):
        ak.create(checked(ak, {"service_account_id": jwt_sa}))

    key = make(ServiceAccountKeyProvider)
    res = key.create(checked(key, {"service_account_id": jwt_sa}))
    assert json.loads(res.outs["credentials"])["keyID"] == res.id
    upd = key.update(res.id, res.outs, checked(key, {"service_account_id": jwt_sa})).outs
    assert upd["private_key"] == res.outs["private_key"]
    key.delete(res.id, res.outs)
    assert key.read(res.id, res.outs).id is None


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


def test_policy_lifecycle(make, fake) -> None:
    p = make(PolicyProvider)
    inputs = checked(p, {"vault_id": "v1", "name": "PiiMasked", "rules": [
        {"name": "a", "rule_expression": "ALLOW READ ON persons.* WITH REDACTION = MASKED"},
        {"name": "b", "actions": ["READ"], "columns": ["persons.ssn"], "redaction": "REDACTED"},
    ]})
    res = p.create(inputs)
    body_rules = fake.policies[res.id]["ruleParams"]
    assert body_rules[0]["ruleExpression"].startswith("ALLOW READ")
    assert body_rules[0]["tableRuleParams"]["tableName"] == "persons"
    assert body_rules[1]["columnRuleParams"] == {
        "vaultID": "v1", "effect": "ALLOW", "actions": ["READ"], "action": "READ",
        "columns": ["persons.ssn"], "redaction": "REDACTED"}
    assert res.outs["status"] == "ACTIVE" and res.outs["active"] is True
    assert set(res.outs["rule_ids"]) == {"a", "b"}

    # deactivate in place through the status endpoint, no PATCH of the body
    fake.calls.clear()
    off = p.update(res.id, res.outs, {**inputs, "active": False}).outs
    assert fake.calls == ["set_policy_status:INACTIVE"] and off["status"] == "INACTIVE"

    # rule removed: PATCH with known rule ids, dropped rule deleted
    fake.calls.clear()
    fewer = {**inputs, "active": False, "rules": inputs["rules"][:1]}
    p.update(res.id, off, fewer)
    assert fake.calls[0] == "update_policy"
    assert fake.policies[res.id]["ruleParams"][0]["ID"] == res.outs["rule_ids"]["a"]

    # out-of-band status change shows up on refresh
    fake.policies[res.id]["status"] = "ACTIVE"
    assert p.read(res.id, off).inputs["active"] is True
    p.delete(res.id, off)
    assert p.read(res.id, off).id is None


def test_policy_assignment_updates_role_set_in_place(make, fake) -> None:
    pa = make(PolicyAssignmentProvider)
    res = pa.create(checked(pa, {"policy_id": "p1", "role_ids": ["r1", "r2"]}))
    assert res.id == "p1"
    fake.calls.clear()
    out = pa.update("p1", res.outs, checked(pa, {"policy_id": "p1", "role_ids": ["r2", "r3"]}))
    assert fake.calls == ["assign_policy:r3", "unassign_policy:r1"]
    assert out.outs["role_ids"] == ["r2", "r3"]
    fake.role_policies["r2"].discard("p1")  # detached out of band
    assert pa.read("p1", out.outs).inputs["role_ids"] == ["r3"]
    pa.delete("p1", out.outs)
    assert pa.read("p1", out.outs).id is None
