"""Roles (system and custom), assignments, role definitions, policies and their attachments."""

from __future__ import annotations

import pytest

from .conftest import Api

ROLES = "/v1/roles"
ROLE = "/v1/roles/{ID}"
MEMBER_ROLES = "/v1/members/{member.ID}/roles"
MEMBER_PERMS = "/v1/members/{member.ID}/permissions"
POLICIES = "/v1/policies"
POLICY = "/v1/policies/{ID}"
SYSTEM = {"VAULT_OWNER", "VAULT_EDITOR", "VAULT_VIEWER", "PIPELINE_MANAGER",
          "CONNECTION_MANAGER"}


def _vault_q(api: Api, **extra: str) -> dict[str, str]:
    return {"resource.ID": api.emu.vault_id, "resource.type": "VAULT", **extra}


def test_vault_has_the_five_system_roles(api: Api) -> None:
    roles = api.call("GET", ROLES, params=_vault_q(api, type="SYSTEM"), expect=200)
    names = {r["definition"]["name"] for r in roles.json()["roles"]}
    assert names == SYSTEM
    for r in roles.json()["roles"]:
        assert r["definition"]["type"] == "SYSTEM" and r["resource"]["ID"] == api.emu.vault_id
    admin = api.call("GET", ROLES, expect=200, params={"resource.ID": api.emu.account_id,
                                                       "resource.type": "ACCOUNT"})
    assert "ACCOUNT_ADMIN" in {r["definition"]["name"] for r in admin.json()["roles"]}


def test_list_roles_requires_resource(api: Api) -> None:
    r = api.call("GET", ROLES, params={"resource.type": "VAULT"})
    assert r.status_code == 400 and "resource.ID" in r.json()["error"]["message"]
    r = api.call("GET", ROLES, params={"resource.ID": "f" * 32, "resource.type": "VAULT"})
    assert r.status_code == 404


def test_role_definitions(api: Api) -> None:
    defs = api.call("GET", "/v1/roleDefinitions", params={"resourceType": "VAULT"},
                    expect=200).json()["roleDefinitions"]
    assert {d["name"] for d in defs} == SYSTEM
    all_defs = api.call("GET", "/v1/roleDefinitions", expect=200).json()["roleDefinitions"]
    assert "ACCOUNT_ADMIN" in {d["name"] for d in all_defs}


def test_system_roles_refuse_patch_and_delete(api: Api) -> None:
    owner = api.system_role("VAULT_OWNER")
    r = api.call("PATCH", ROLE, path={"ID": owner},
                 json_body={"roleDefinition": {"name": "VAULT_OWNER", "description": "x"}})
    assert r.status_code == 400 and "system role" in r.json()["error"]["message"]
    r = api.call("DELETE", ROLE, path={"ID": owner})
    assert r.status_code == 400
    api.call("GET", ROLE, path={"ID": owner}, expect=200)


def test_custom_role_crud_and_unique_name(api: Api, unique: str) -> None:
    name = unique.replace("-", "_")
    rid = api.create_role(name, ["serviceAccount.read", "role.*"])
    role = api.call("GET", ROLE, path={"ID": rid}, expect=200).json()["role"]
    assert role["definition"] == {"name": name, "displayName": "", "description": "",
                                  "permissions": ["serviceAccount.read", "role.*"],
                                  "levels": [], "type": "CUSTOM"}
    dup = api.call("POST", ROLES, json_body={"roleDefinition": {"name": name},
                                             "resource": {"ID": api.emu.vault_id,
                                                          "type": "VAULT"}})
    assert dup.status_code == 409 and dup.json()["error"]["grpc_code"] == 10
    api.call("PATCH", ROLE, path={"ID": rid}, expect=200,
             json_body={"roleDefinition": {"description": "new", "permissions": ["role.read"]}})
    role = api.call("GET", ROLE, path={"ID": rid}, expect=200).json()["role"]
    assert role["definition"]["description"] == "new"
    assert role["definition"]["permissions"] == ["role.read"]
    assert role["definition"]["name"] == name
    assert api.call("DELETE", ROLE, path={"ID": rid}, expect=200).json() == {"ID": rid}
    assert api.call("GET", ROLE, path={"ID": rid}).status_code == 404


@pytest.mark.parametrize("body,field", [
    ({"resource": {"ID": "V", "type": "VAULT"}}, "roleDefinition"),
    ({"roleDefinition": {}, "resource": {"ID": "V", "type": "VAULT"}}, "roleDefinition.name"),
    ({"roleDefinition": {"name": "x", "permissions": ["no spaces allowed"]},
      "resource": {"ID": "V", "type": "VAULT"}}, "roleDefinition.permissions[0]"),
    ({"roleDefinition": {"name": "x", "type": "SYSTEM"},
      "resource": {"ID": "V", "type": "VAULT"}}, "roleDefinition.type"),
    ({"roleDefinition": {"name": "x"}}, "resource"),
])
def test_malformed_role_is_400(api: Api, body: dict, field: str) -> None:
    res = body.get("resource")
    if res:
        res["ID"] = api.emu.vault_id
    r = api.call("POST", ROLES, json_body=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field)


def test_assign_is_idempotent_and_keeps_condition(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    sa_id = creds["clientID"]
    viewer = api.system_role("VAULT_VIEWER")
    cond = "request.context.role == 'admin'"
    api.assign(viewer, sa_id)
    api.assign(viewer, sa_id, condition=cond)
    members = api.call("GET", "/v1/roles/{ID}/members", path={"ID": viewer},
                       params={"limit": "1000"}, expect=200).json()["members"]
    mine = [m for m in members if m["ID"] == sa_id]
    assert len(mine) == 1 and mine[0]["type"] == "SERVICE_ACCOUNT"
    assert mine[0]["condition"] == cond and mine[0]["name"] == unique
    roles = api.call("GET", MEMBER_ROLES, path={"member.ID": sa_id},
                     params={"member.type": "SERVICE_ACCOUNT"}, expect=200).json()
    assert [p["role"]["ID"] for p in roles["roleToResource"]] == [viewer]
    assert roles["roleToResource"][0]["resource"]["ID"] == api.emu.vault_id
    perms = api.call("GET", MEMBER_PERMS, path={"member.ID": sa_id},
                     params={"member.type": "SERVICE_ACCOUNT"}, expect=200).json()
    assert "role.read" in perms["permissions"] and "role.create" not in perms["permissions"]
    body = {"ID": viewer, "members": [{"ID": sa_id, "type": "SERVICE_ACCOUNT"}]}
    assert api.call("POST", "/v1/roles/unassign", json_body=body, expect=200).json() == \
        {"ID": viewer}
    api.call("POST", "/v1/roles/unassign", json_body=body, expect=200)  # again: fine
    roles = api.call("GET", MEMBER_ROLES, path={"member.ID": sa_id},
                     params={"member.type": "SERVICE_ACCOUNT"}, expect=200).json()
    assert roles["roleToResource"] == []


def test_assign_validates_members(api: Api) -> None:
    viewer = api.system_role("VAULT_VIEWER")
    for members, status in (([], 400), ([{"ID": "a" * 32, "type": "SERVICE_ACCOUNT"}], 404),
                            ([{"ID": "a" * 32, "type": "ROBOT"}], 400),
                            ([{"ID": "../x", "type": "SERVICE_ACCOUNT"}], 400)):
        r = api.call("POST", "/v1/roles/assign", json_body={"ID": viewer, "members": members})
        assert r.status_code == status, r.text
    r = api.call("POST", "/v1/roles/assign", json_body={"ID": "b" * 32, "members": []})
    assert r.status_code == 404


def test_member_endpoints_need_member_type(api: Api) -> None:
    sa_id = api.emu.admin_credentials["clientID"]
    r = api.call("GET", MEMBER_ROLES, path={"member.ID": sa_id})
    assert r.status_code == 400 and "member.type" in r.json()["error"]["message"]


def _policy_body(api: Api, name: str, activated: bool | None = None) -> dict:
    body = {"name": name, "displayName": "Read persons", "description": "d",
            "resource": {"ID": api.emu.vault_id, "type": "VAULT"},
            "ruleParams": [
                {"name": "r1", "ruleExpression": "ALLOW READ ON persons.* WITH REDACTION = "
                                                 "PLAIN_TEXT"},
                {"name": "r2", "columnRuleParams": {"vaultID": api.emu.vault_id,
                                                    "columns": ["persons.ssn"],
                                                    "actions": ["READ"], "effect": "DENY"}},
                {"name": "r3", "tableRuleParams": {"vaultID": api.emu.vault_id,
                                                   "tableName": "cards", "action": "CREATE"}},
            ]}
    if activated is not None:
        body["activated"] = activated
    return body


def test_policy_lifecycle(api: Api, unique: str) -> None:
    name = unique.replace("-", "").replace("_", "")[:40]
    pid = api.call("POST", POLICIES, json_body=_policy_body(api, name), expect=200).json()["ID"]
    policy = api.call("GET", POLICY, path={"ID": pid}, expect=200).json()["policy"]
    assert policy["status"] == "INACTIVE"  # activated defaults to false
    assert [r["name"] for r in policy["rules"]] == ["r1", "r2", "r3"]
    assert policy["rules"][1]["effect"] == "DENY" and policy["rules"][1]["resourceType"] == \
        "COLUMN"
    assert policy["rules"][0]["redaction"] == "PLAIN_TEXT"
    api.call("PATCH", "/v1/policies/{ID}/status", path={"ID": pid},
             json_body={"status": "ACTIVE"}, expect=200)
    assert api.call("GET", POLICY, path={"ID": pid}, expect=200).json()["policy"]["status"] \
        == "ACTIVE"
    api.call("PATCH", POLICY, path={"ID": pid}, expect=200, json_body={
        "policy": {"ID": pid, "displayName": "Renamed"},
        "ruleParams": [{"name": "only", "ruleExpression": "DENY READ ON persons.ssn"}]})
    policy = api.call("GET", POLICY, path={"ID": pid}, expect=200).json()["policy"]
    assert policy["displayName"] == "Renamed" and [r["name"] for r in policy["rules"]] == \
        ["only"]
    listed = api.call("GET", POLICIES, params=_vault_q(api, **{"filterOps.name": name}),
                      expect=200).json()["policies"]
    assert [p["ID"] for p in listed] == [pid]
    # attach to roles
    rid = api.create_role(name + "Role", ["policy.read"])
    viewer = api.system_role("VAULT_VIEWER")
    for _ in range(2):  # idempotent
        api.call("POST", "/v1/policies/assign", json_body={"ID": pid, "roleIDs": [rid, viewer]},
                 expect=200)
    by_role = api.call("GET", "/v1/roles/{roleID}/policies", path={"roleID": rid},
                       expect=200).json()["policies"]
    assert [p["ID"] for p in by_role] == [pid]
    roles = api.call("GET", "/v1/policies/{policyID}/roles", path={"policyID": pid},
                     expect=200).json()["roles"]
    assert [r["ID"] for r in roles] == [rid, viewer]
    api.call("POST", "/v1/policies/unassign", json_body={"ID": pid, "roleIDs": [viewer]},
             expect=200)
    roles = api.call("GET", "/v1/policies/{policyID}/roles", path={"policyID": pid},
                     expect=200).json()["roles"]
    assert [r["ID"] for r in roles] == [rid]
    # deleting the role detaches it
    api.call("DELETE", ROLE, path={"ID": rid}, expect=200)
    assert api.call("GET", "/v1/policies/{policyID}/roles", path={"policyID": pid},
                    expect=200).json()["roles"] == []
    assert api.call("DELETE", POLICY, path={"ID": pid}, expect=200).json() == {"ID": pid}
    assert api.call("GET", POLICY, path={"ID": pid}).status_code == 404


def test_activated_policy_is_active(api: Api, unique: str) -> None:
    name = unique.replace("-", "").replace("_", "")[:40]
    pid = api.call("POST", POLICIES, json_body=_policy_body(api, name, True),
                   expect=200).json()["ID"]
    assert api.call("GET", POLICY, path={"ID": pid}, expect=200).json()["policy"]["status"] \
        == "ACTIVE"


@pytest.mark.parametrize("mutate,field", [
    (lambda b: b.update(name="has space"), "name"),
    (lambda b: b.pop("name"), "name"),
    (lambda b: b.pop("resource"), "resource"),
    (lambda b: b.update(activated="yes"), "activated"),
    (lambda b: b["ruleParams"].append({"name": "bad", "ruleExpression": "MAYBE READ"}),
     "ruleParams[3].ruleExpression"),
    (lambda b: b["ruleParams"].append({"name": "r-4", "ruleExpression": "ALLOW READ ON a.b"}),
     "ruleParams[3].name"),
    (lambda b: b["ruleParams"].append({"name": "r5"}), "ruleParams[3]"),
])
def test_malformed_policy_is_400(api: Api, mutate, field: str) -> None:
    body = _policy_body(api, "Valid")
    mutate(body)
    r = api.call("POST", POLICIES, json_body=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field)


def test_policy_status_must_be_known(api: Api, unique: str) -> None:
    pid = api.call("POST", POLICIES, json_body=_policy_body(api, "StatusCheck"),
                   expect=200).json()["ID"]
    r = api.call("PATCH", "/v1/policies/{ID}/status", path={"ID": pid},
                 json_body={"status": "MAYBE"})
    assert r.status_code == 400
