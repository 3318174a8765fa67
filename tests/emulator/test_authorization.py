"""Authorization: every operation needs a permission; roles grant them on their resource."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from skyflow_emulator.routes import ROUTES

from .conftest import Api


@dataclass
class Case:
    method: str
    template: str
    path: Callable[[dict[str, Any]], dict[str, str]] = lambda o: {}
    body: Callable[[dict[str, Any]], Any] = lambda o: None
    params: Callable[[dict[str, Any]], dict[str, str] | None] = lambda o: None


def _vault(o: dict[str, Any]) -> dict[str, str]:
    return {"resource.ID": o["vault"], "resource.type": "VAULT"}


def _member(o: dict[str, Any]) -> dict[str, str]:
    return {"member.ID": o["sa"]}


SA_T = "/v1/serviceAccounts/{ID}"
CASES = [
    Case("POST", "/v1/serviceAccounts", body=lambda o: {"serviceAccount": {"name": "m"}}),
    Case("GET", "/v1/serviceAccounts"),
    Case("GET", SA_T, path=lambda o: {"ID": o["sa"]}),
    Case("PATCH", SA_T, path=lambda o: {"ID": o["sa"]},
         body=lambda o: {"serviceAccount": {"displayName": "x"}}),
    Case("DELETE", SA_T, path=lambda o: {"ID": o["victim"]}),
    Case("POST", SA_T + "/keys", path=lambda o: {"ID": o["sa"]}),
    Case("GET", SA_T + "/keys", path=lambda o: {"ID": o["sa"]}),
    Case("GET", SA_T + "/keys/{keyID}", path=lambda o: {"ID": o["sa"], "keyID": o["key"]}),
    Case("PUT", SA_T + "/keys/{KeyID}/rotate",
         path=lambda o: {"ID": o["sa"], "KeyID": o["key2"]}),
    Case("DELETE", SA_T + "/keys/{keyID}", path=lambda o: {"ID": o["sa"], "keyID": o["key3"]}),
    Case("POST", SA_T + "/apikey", path=lambda o: {"ID": o["ksa"]}),
    Case("GET", SA_T + "/apikey", path=lambda o: {"ID": o["ksa"]}),
    Case("GET", SA_T + "/apikey/{keyID}", path=lambda o: {"ID": o["ksa"], "keyID": o["ak"]}),
    Case("PUT", SA_T + "/apikey/{keyID}/rotate",
         path=lambda o: {"ID": o["ksa"], "keyID": o["ak"]}),
    Case("PATCH", SA_T + "/apikey/{keyID}/status",
         path=lambda o: {"ID": o["ksa"], "keyID": o["ak"]}, body=lambda o: {"status": "ACTIVE"}),
    Case("DELETE", SA_T + "/apikey/{keyID}", path=lambda o: {"ID": o["ksa"], "keyID": o["ak2"]}),
    Case("GET", "/v1/roles", params=_vault),
    Case("GET", "/v1/roleDefinitions"),
    Case("POST", "/v1/roles", body=lambda o: {"roleDefinition": {"name": "MatrixNew"},
                                              "resource": {"ID": o["vault"], "type": "VAULT"}}),
    Case("GET", "/v1/roles/{ID}", path=lambda o: {"ID": o["role"]}),
    Case("PATCH", "/v1/roles/{ID}", path=lambda o: {"ID": o["role"]},
         body=lambda o: {"roleDefinition": {"description": "x"}}),
    Case("DELETE", "/v1/roles/{ID}", path=lambda o: {"ID": o["role2"]}),
    Case("POST", "/v1/roles/assign", body=lambda o: {
        "ID": o["role"], "members": [{"ID": o["sa"], "type": "SERVICE_ACCOUNT"}]}),
    Case("POST", "/v1/roles/unassign", body=lambda o: {
        "ID": o["role"], "members": [{"ID": o["sa"], "type": "SERVICE_ACCOUNT"}]}),
    Case("GET", "/v1/roles/{ID}/members", path=lambda o: {"ID": o["role"]}),
    Case("GET", "/v1/members/{member.ID}/roles", path=_member,
         params=lambda o: {"member.type": "SERVICE_ACCOUNT"}),
    Case("GET", "/v1/members/{member.ID}/permissions", path=_member,
         params=lambda o: {"member.type": "SERVICE_ACCOUNT"}),
    Case("GET", "/v1/policies/{policyID}/roles", path=lambda o: {"policyID": o["policy"]}),
    Case("GET", "/v1/policies", params=_vault),
    Case("POST", "/v1/policies", body=lambda o: {
        "name": "MatrixPolicy", "resource": {"ID": o["vault"], "type": "VAULT"},
        "ruleParams": [{"name": "a", "ruleExpression": "ALLOW READ ON t.*"}]}),
    Case("GET", "/v1/policies/{ID}", path=lambda o: {"ID": o["policy"]}),
    Case("PATCH", "/v1/policies/{ID}", path=lambda o: {"ID": o["policy"]},
         body=lambda o: {"policy": {"displayName": "x"}}),
    Case("PATCH", "/v1/policies/{ID}/status", path=lambda o: {"ID": o["policy"]},
         body=lambda o: {"status": "ACTIVE"}),
    Case("DELETE", "/v1/policies/{ID}", path=lambda o: {"ID": o["policy2"]}),
    Case("POST", "/v1/policies/assign", body=lambda o: {"ID": o["policy"],
                                                        "roleIDs": [o["role"]]}),
    Case("POST", "/v1/policies/unassign", body=lambda o: {"ID": o["policy"],
                                                          "roleIDs": [o["role"]]}),
    Case("GET", "/v1/roles/{roleID}/policies", path=lambda o: {"roleID": o["role"]}),
    Case("GET", "/v1/audit/events", params=lambda o: {"filterOps.accountID": o["account"]}),
    # vaults, templates, workspaces, users (issue 27)
    Case("GET", "/v1/vaults", params=lambda o: {"workspaceID": o["ws"]}),
    Case("POST", "/v1/vaults", body=lambda o: {"name": "MatrixVault", "workspaceID": o["ws"]}),
    Case("GET", "/v1/vaults/{ID}", path=lambda o: {"ID": o["nvault"]}),
    Case("PATCH", "/v1/vaults/{ID}", path=lambda o: {"ID": o["nvault"]},
         body=lambda o: {"description": "x"}),
    Case("DELETE", "/v1/vaults/{ID}", path=lambda o: {"ID": o["nvault2"]}),
    Case("GET", "/v1/vaults/{vaultID}/versions", path=lambda o: {"vaultID": o["nvault"]}),
    Case("GET", "/v1/vaults/{vaultID}/versions/{versionTag}",
         path=lambda o: {"vaultID": o["nvault"], "versionTag": "v1"}),
    Case("GET", "/v1/vault-templates", params=lambda o: {"accountID": o["account"]}),
    Case("GET", "/v1/vault-templates/{ID}", path=lambda o: {"ID": o["template"]}),
    Case("GET", "/v1/workspaces"),
    Case("POST", "/v1/workspaces", body=lambda o: {"workspace": {"name": "MatrixWs"},
                                                   "regionID": "emulator"}),
    Case("GET", "/v1/workspaces/{ID}", path=lambda o: {"ID": o["ws"]}),
    Case("PATCH", "/v1/workspaces/{ID}", path=lambda o: {"ID": o["ws"]},
         body=lambda o: {"workspace": {"description": "x"}}),
    Case("DELETE", "/v1/workspaces/{ID}", path=lambda o: {"ID": o["ws2"]}),
    Case("GET", "/v1/workspaces/{ID}/members", path=lambda o: {"ID": o["ws"]}),
    Case("GET", "/v1/users"),
    Case("POST", "/v1/users", body=lambda o: {"user": {"userIdentity": {
        "email": "matrix@example.com"}}}),
    Case("GET", "/v1/users/{ID}", path=lambda o: {"ID": o["user"]}),
    Case("PATCH", "/v1/users/{ID}", path=lambda o: {"ID": o["user"]},
         body=lambda o: {"user": {"name": "x"}}),
    Case("DELETE", "/v1/users/{ID}", path=lambda o: {"ID": o["user2"]}),
    # STS configurations
    Case("GET", "/v1/sts/config"),
    Case("POST", "/v1/sts/config", body=lambda o: {"issuer": "https://issuer.example"}),
    Case("GET", "/v1/sts/config/{ID}", path=lambda o: {"ID": o["sts"]}),
    Case("POST", "/v1/sts/config/{ID}", path=lambda o: {"ID": o["sts"]},
         body=lambda o: {"description": "x"}),
    Case("DELETE", "/v1/sts/config/{ID}", path=lambda o: {"ID": o["sts2"]}),
]
PERMISSION = {(r.method, r.template): r.permission for r in ROUTES}


def test_matrix_covers_every_operation() -> None:
    covered = {(c.method, c.template) for c in CASES}
    expected = {(r.method, r.template) for r in ROUTES if r.permission is not None}
    assert covered == expected


@pytest.fixture(scope="module")
def objects(fresh_module_api: Api) -> dict[str, Any]:
    api = fresh_module_api
    sa = api.create_sa("matrix-sa")
    key2 = api.call("POST", SA_T + "/keys", path={"ID": sa["clientID"]}, expect=200).json()
    key3 = api.call("POST", SA_T + "/keys", path={"ID": sa["clientID"]}, expect=200).json()
    ksa = api.create_sa("matrix-ksa", apiKeyEnabled=True)
    ak2 = api.call("POST", SA_T + "/apikey", path={"ID": ksa["clientID"]}, expect=200).json()
    pol = {"resource": {"ID": api.emu.vault_id, "type": "VAULT"},
           "ruleParams": [{"name": "a", "ruleExpression": "ALLOW READ ON t.*"}]}
    ws = api.emu.account["workspaces"][0]["ID"]

    def made(template: str, body: dict[str, Any]) -> str:
        return str(api.call("POST", template, json_body=body, expect=200).json()["ID"])

    def user(email: str) -> str:
        return made("/v1/users", {"user": {"userIdentity": {"email": email}}})

    templates = api.call("GET", "/v1/vault-templates", params={"accountID": api.emu.account_id},
                         expect=200).json()["vaultTemplates"]
    return {
        "account": api.emu.account_id, "ws": ws, "template": templates[0]["ID"],
        "nvault": made("/v1/vaults", {"name": "MatrixV1", "workspaceID": ws}),
        "nvault2": made("/v1/vaults", {"name": "MatrixV2", "workspaceID": ws}),
        "ws2": made("/v1/workspaces", {"workspace": {"name": "MatrixWs2"},
                                       "regionID": "emulator"}),
        "user": user("matrix-user@example.com"), "user2": user("matrix-user2@example.com"),
        "vault": api.emu.vault_id, "sa": sa["clientID"], "key": sa["keyID"],
        "key2": key2["keyID"], "key3": key3["keyID"],
        "victim": api.create_sa("matrix-victim")["clientID"],
        "ksa": ksa["clientID"], "ak": ksa["apiKeyID"], "ak2": ak2["apiKeyID"],
        "role": api.create_role("MatrixRole", ["role.read"]),
        "role2": api.create_role("MatrixRole2", []),
        "policy": api.call("POST", "/v1/policies", json_body={"name": "MatrixP1", **pol},
                           expect=200).json()["ID"],
        "policy2": api.call("POST", "/v1/policies", json_body={"name": "MatrixP2", **pol},
                            expect=200).json()["ID"],
        "nobody": api.token_for(api.create_sa("matrix-nobody")),
        "sts": api.call("POST", "/v1/sts/config", expect=200, json_body={
            "name": "matrix-sts", "issuer": "https://issuer.example"}).json()["ID"],
        "sts2": api.call("POST", "/v1/sts/config", expect=200, json_body={
            "name": "matrix-sts2", "issuer": "https://issuer.example"}).json()["ID"],
    }


@pytest.fixture(scope="module")
def fresh_module_api():
    from tests.helpers.emulator_proc import EmulatorProcess

    with EmulatorProcess() as emu:
        yield Api(emu)


def _run(api: Api, case: Case, objects: dict[str, Any], bearer: Any):
    return api.call(case.method, case.template, path=case.path(objects),
                    json_body=case.body(objects), params=case.params(objects), bearer=bearer)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.method} {c.template}" for c in CASES])
def test_operation_matrix(fresh_module_api: Api, objects: dict[str, Any], case: Case) -> None:
    api = fresh_module_api
    r = _run(api, case, objects, None)
    assert r.status_code == 401, r.text
    r = _run(api, case, objects, objects["nobody"])
    assert r.status_code == 403, r.text
    permission = PERMISSION[(case.method, case.template)]
    assert f"missing permission {permission}" in r.json()["error"]["message"]
    r = _run(api, case, objects, api.admin_token)
    assert r.status_code == 200, r.text


def test_vault_roles_grant_only_on_their_vault(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    api.assign(api.system_role("VAULT_OWNER"), creds["clientID"])
    token = api.token_for(creds)
    # vault-level operations on its vault: allowed
    rid = api.call("POST", "/v1/roles", bearer=token, expect=200, json_body={
        "roleDefinition": {"name": unique}, "resource": {"ID": api.emu.vault_id,
                                                         "type": "VAULT"}}).json()["ID"]
    api.call("GET", "/v1/roles/{ID}", path={"ID": rid}, bearer=token, expect=200)
    # account-level: refused
    r = api.call("POST", "/v1/roles", bearer=token, json_body={
        "roleDefinition": {"name": unique}, "resource": {"ID": api.emu.account_id,
                                                         "type": "ACCOUNT"}})
    assert r.status_code == 403
    r = api.call("GET", "/v1/serviceAccounts", bearer=token)
    assert r.status_code == 403 and "serviceAccount.read" in r.json()["error"]["message"]
    # a viewer can read roles but not create them
    viewer = api.create_sa(unique + "v")
    api.assign(api.system_role("VAULT_VIEWER"), viewer["clientID"])
    vt = api.token_for(viewer)
    api.call("GET", "/v1/roles", bearer=vt, expect=200,
             params={"resource.ID": api.emu.vault_id, "resource.type": "VAULT"})
    r = api.call("POST", "/v1/roles", bearer=vt, json_body={
        "roleDefinition": {"name": unique + "x"}, "resource": {"ID": api.emu.vault_id,
                                                               "type": "VAULT"}})
    assert r.status_code == 403 and "role.create" in r.json()["error"]["message"]


def test_custom_roles_grant_their_permissions(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    token = api.token_for(creds)
    assert api.call("GET", "/v1/serviceAccounts", bearer=token).status_code == 403
    rid = api.create_role(unique, ["serviceAccount.read"],
                          resource=("ACCOUNT", api.emu.account_id))
    api.assign(rid, creds["clientID"])
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)  # same token, new grant
    r = api.call("POST", "/v1/serviceAccounts", bearer=token,
                 json_body={"serviceAccount": {"name": "no"}})
    assert r.status_code == 403 and "serviceAccount.create" in r.json()["error"]["message"]
    # a custom role on a vault does not grant account-level operations
    vrid = api.create_role(unique, ["serviceAccount.create"])
    api.assign(vrid, creds["clientID"])
    r = api.call("POST", "/v1/serviceAccounts", bearer=token,
                 json_body={"serviceAccount": {"name": "no"}})
    assert r.status_code == 403
    # unassigning takes the permission away immediately
    api.call("POST", "/v1/roles/unassign", expect=200, json_body={
        "ID": rid, "members": [{"ID": creds["clientID"], "type": "SERVICE_ACCOUNT"}]})
    assert api.call("GET", "/v1/serviceAccounts", bearer=token).status_code == 403


def test_scoped_token_has_only_its_roles(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    admin, viewer = api.system_role("ACCOUNT_ADMIN"), api.system_role("VAULT_VIEWER")
    api.assign(admin, creds["clientID"])
    api.assign(viewer, creds["clientID"])
    full = api.token_for(creds)
    scoped = api.token_for(creds, roles=[viewer])
    api.call("GET", "/v1/serviceAccounts", bearer=full, expect=200)
    r = api.call("GET", "/v1/serviceAccounts", bearer=scoped)
    assert r.status_code == 403
    api.call("GET", "/v1/roles", bearer=scoped, expect=200,
             params={"resource.ID": api.emu.vault_id, "resource.type": "VAULT"})
    # scoped to admin: everything again
    api.call("GET", "/v1/serviceAccounts", bearer=api.token_for(creds, roles=[admin]),
             expect=200)


def test_api_key_callers_are_authorized_by_roles_too(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, apiKeyEnabled=True)
    r = api.call("GET", "/v1/serviceAccounts", bearer=creds["apiKey"])
    assert r.status_code == 403
    api.assign(api.system_role("ACCOUNT_ADMIN"), creds["clientID"])
    api.call("GET", "/v1/serviceAccounts", bearer=creds["apiKey"], expect=200)
