"""Issue 27: vaults (schema, versions, system roles, data rules), templates, workspaces, users.

Every response is validated against the contract derived from Skyflow's spec (conftest.Api).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .conftest import Api

VAULTS = "/v1/vaults"
VAULT = "/v1/vaults/{ID}"
VERSIONS = "/v1/vaults/{vaultID}/versions"
VERSION = "/v1/vaults/{vaultID}/versions/{versionTag}"
TEMPLATES = "/v1/vault-templates"
TEMPLATE = "/v1/vault-templates/{ID}"
WORKSPACES = "/v1/workspaces"
WORKSPACE = "/v1/workspaces/{ID}"
USERS = "/v1/users"
USER = "/v1/users/{ID}"
INSERT = "/v1/vaults/{vaultID}/{table}"
SYSTEM = {"VAULT_OWNER", "VAULT_EDITOR", "VAULT_VIEWER", "PIPELINE_MANAGER",
          "CONNECTION_MANAGER"}


def col(name: str, datatype: str = "DT_STRING", **extra: Any) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, **extra}


def two_tables() -> dict[str, Any]:
    return {"schemas": [
        {"name": "persons", "fields": [col("name"), col("email", tags=[
            {"name": "skyflow.options.default_dlp_policy", "values": ["MASK"]}])]},
        {"name": "cards", "fields": [col("number"), col("expiry_year", "DT_INT32")]},
    ], "tags": []}


def workspace_id(api: Api) -> str:
    found = api.call("GET", WORKSPACES, expect=200).json()["workspaces"]
    return str(found[0]["ID"])


def create_vault(api: Api, name: str, schema: dict[str, Any] | None = None,
                 **extra: Any) -> str:
    body = {"name": name, "workspaceID": workspace_id(api), **extra}
    if schema is not None:
        body["vaultSchema"] = schema
    return str(api.call("POST", VAULTS, json_body=body, expect=200).json()["ID"])


def vault_name(unique: str) -> str:
    return "v" + "".join(ch for ch in unique if ch.isalnum())[-20:]


def get_vault(api: Api, vault_id: str) -> dict[str, Any]:
    return dict(api.call("GET", VAULT, path={"ID": vault_id}, expect=200).json())


def tables(vault: dict[str, Any]) -> dict[str, list[str]]:
    return {t["name"]: [f["name"] for f in t["fields"]] for t in vault["vault"]["schemas"]}


def test_seeded_account_has_one_workspace_with_the_data_api_url(api: Api) -> None:
    found = api.call("GET", WORKSPACES, expect=200).json()["workspaces"]
    assert len(found) >= 1
    ws = api.call("GET", WORKSPACE, path={"ID": found[0]["ID"]}, expect=200).json()["workspace"]
    assert ws["url"] == api.emu.url and ws["status"] == "ACTIVE"
    assert api.emu.account["workspaces"][0]["ID"] == ws["ID"]
    # The seeded vault lives in it.
    seeded = get_vault(api, api.emu.vault_id)
    assert seeded["workspaceID"] == ws["ID"] and seeded["vault"]["name"] == "Vault001"


def test_vault_from_schema_gets_system_roles_versions_and_an_owner(api: Api, unique: str
                                                                    ) -> None:
    vid = create_vault(api, vault_name(unique), two_tables(), description="two tables")
    got = get_vault(api, vid)
    assert got["workspaceID"] == workspace_id(api)
    assert got["vault"]["description"] == "two tables"
    # skyflow_id is added to every table as its first column.
    assert tables(got) == {"persons": ["skyflow_id", "name", "email"],
                           "cards": ["skyflow_id", "number", "expiry_year"]}
    email = got["vault"]["schemas"][0]["fields"][2]
    assert email["tags"] == [{"name": "skyflow.options.default_dlp_policy", "values": ["MASK"]}]
    meta = api.call("GET", VAULT, path={"ID": vid}, params={"fetchMetadataOnly": "true"},
                    expect=200).json()["vault"]
    assert "schemas" not in meta and meta["namespace"].endswith(f"/vault:{vid}")

    roles = api.call("GET", "/v1/roles", params={"resource.ID": vid, "resource.type": "VAULT"},
                     expect=200).json()["roles"]
    assert {r["definition"]["name"] for r in roles} == SYSTEM
    owner = next(r["ID"] for r in roles if r["definition"]["name"] == "VAULT_OWNER")
    members = api.call("GET", "/v1/roles/{ID}/members", path={"ID": owner},
                       expect=200).json()["members"]
    assert [m["ID"] for m in members] == [api.emu.admin_credentials["clientID"]]

    versions = api.call("GET", VERSIONS, path={"vaultID": vid}, expect=200).json()
    assert [v["versionTag"] for v in versions["schemaVersions"]] == ["v1"]
    v1 = api.call("GET", VERSION, path={"vaultID": vid, "versionTag": "v1"}, expect=200).json()
    assert v1["schemaOperation"] == "CREATE" and len(v1["schemas"]) == 2

    listed = api.call("GET", VAULTS, params={"workspaceID": workspace_id(api),
                                             "filterOps.name": vault_name(unique)},
                      expect=200).json()["vaults"]
    assert [v["ID"] for v in listed] == [vid]


@pytest.mark.parametrize(("schema", "needle"), [
    ({"schemas": [], "tags": []}, "at least one table"),
    ({"schemas": [{"name": "t", "fields": [col("a", "DT_WHATEVER")]}]}, "datatype"),
    ({"schemas": [{"name": "t", "fields": [col("a"), col("a")]}]}, "defined twice"),
    ({"schemas": [{"name": "t", "fields": [col("skyflow_id", "DT_INT32"), col("a")]}]},
     "skyflow_id"),
    ({"schemas": [{"name": "t", "fields": []}]}, "at least one column"),
    ({"schemas": [{"name": "Persons", "fields": [col("a")]}]}, "lowercase"),
])
def test_bad_schemas_are_refused_naming_the_field(api: Api, unique: str,
                                                  schema: dict[str, Any], needle: str) -> None:
    r = api.call("POST", VAULTS, json_body={"name": vault_name(unique),
                                            "workspaceID": workspace_id(api),
                                            "vaultSchema": schema})
    assert r.status_code == 400 and needle in r.json()["error"]["message"], r.text


def test_names_unique_per_workspace_and_template_or_schema(api: Api, unique: str) -> None:
    name = vault_name(unique)
    create_vault(api, name, two_tables())
    r = api.call("POST", VAULTS, json_body={"name": name, "workspaceID": workspace_id(api),
                                            "vaultSchema": two_tables()})
    assert r.status_code == 409
    r = api.call("POST", VAULTS, json_body={"name": "has_underscore",
                                            "workspaceID": workspace_id(api)})
    assert r.status_code == 400 and "underscores" in r.json()["error"]["message"]
    templates = api.call("GET", TEMPLATES, params={"accountID": api.emu.account_id},
                         expect=200).json()["vaultTemplates"]
    quickstart = next(t for t in templates if t["name"] == "quickstart")
    r = api.call("POST", VAULTS, json_body={"name": name + "x", "workspaceID": workspace_id(api),
                                            "templateID": quickstart["ID"],
                                            "vaultSchema": two_tables()})
    assert r.status_code == 400 and "not both" in r.json()["error"]["message"]
    vid = create_vault(api, name + "t", templateID=quickstart["ID"])
    assert set(tables(get_vault(api, vid))) == {"credit_cards", "persons"}
    one = api.call("GET", TEMPLATE, path={"ID": quickstart["ID"]}, expect=200).json()["template"]
    assert one["name"] == "quickstart"
    api.call("GET", TEMPLATE, path={"ID": "0" * 32}, expect=404)


def test_schema_changes_add_in_place_and_refuse_dropping_data(api: Api, unique: str) -> None:
    vid = create_vault(api, vault_name(unique), two_tables())
    token = api.admin_token
    # Data API: the schema decides what can be inserted.
    api.call("POST", INSERT, account=None, path={"vaultID": vid, "table": "persons"},
             json_body={"records": [{"fields": {"name": "Ada", "email": "a@x.io"}}]},
             bearer=token, expect=200)
    r = api.call("POST", INSERT, account=None, path={"vaultID": vid, "table": "nope"},
                 json_body={"records": [{"fields": {"name": "x"}}]}, bearer=token)
    assert r.status_code == 404 and "persons" in r.json()["error"]["message"]
    r = api.call("POST", INSERT, account=None, path={"vaultID": vid, "table": "persons"},
                 json_body={"records": [{"fields": {"phone": "1"}}]}, bearer=token)
    assert r.status_code == 400 and "no column phone" in r.json()["error"]["message"]
    r = api.call("POST", INSERT, account=None, path={"vaultID": vid, "table": "cards"},
                 json_body={"records": [{"fields": {"expiry_year": "soon"}}]}, bearer=token)
    assert r.status_code == 400 and "DT_INT32" in r.json()["error"]["message"]
    # An empty table of the schema reads as empty, not missing.
    empty = api.call("GET", INSERT, account=None, path={"vaultID": vid, "table": "cards"},
                     bearer=token, expect=200).json()
    assert empty == {"records": []}

    grown = two_tables()
    grown["schemas"][0]["fields"].append(col("phone"))
    grown["schemas"].append({"name": "notes", "fields": [col("text")]})
    api.call("PATCH", VAULT, path={"ID": vid}, json_body={"vaultSchema": grown,
                                                          "description": "grown"}, expect=200)
    assert tables(get_vault(api, vid))["persons"][-1] == "phone"
    api.call("POST", INSERT, account=None, path={"vaultID": vid, "table": "persons"},
             json_body={"records": [{"fields": {"phone": "1"}}]}, bearer=token, expect=200)
    versions = api.call("GET", VERSIONS, path={"vaultID": vid}, expect=200).json()
    tags = [(v["versionTag"], v["schemaOperation"], bool(v["endTime"]))
            for v in versions["schemaVersions"]]
    assert tags == [("v1", "CREATE", True), ("v2", "UPDATE", False)]

    # Tables and fields keep their ids by name; an id given for another one is refused.
    now = get_vault(api, vid)["vault"]["schemas"]
    assert now[0]["ID"] and all(f["ID"] for f in now[0]["fields"])
    assert [t["ID"] for t in now] == [t["ID"] for t in get_vault(api, vid)["vault"]["schemas"]]
    wrong = copy.deepcopy(grown)
    wrong["schemas"][0]["ID"] = now[1]["ID"]
    r = api.call("PATCH", VAULT, path={"ID": vid}, json_body={"vaultSchema": wrong})
    assert r.status_code == 400 and "not the id of table persons" in r.json()["error"]["message"]

    # Dropping or retyping what holds data is refused; dropping an empty column is not.
    dropped = two_tables()
    dropped["schemas"][0]["fields"] = [col("name")]
    r = api.call("PATCH", VAULT, path={"ID": vid}, json_body={"vaultSchema": dropped})
    assert r.status_code == 400 and "persons.email holds data" in r.json()["error"]["message"]
    retyped = two_tables()
    retyped["schemas"][0]["fields"][0] = col("name", "DT_INT64")
    r = api.call("PATCH", VAULT, path={"ID": vid}, json_body={"vaultSchema": retyped})
    assert r.status_code == 400 and "data type" in r.json()["error"]["message"]
    without_cards = two_tables()
    without_cards["schemas"][0]["fields"].append(col("phone"))
    without_cards["schemas"].pop(1)
    api.call("PATCH", VAULT, path={"ID": vid}, json_body={"vaultSchema": without_cards},
             expect=200)
    assert set(tables(get_vault(api, vid))) == {"persons"}


def test_delete_vault_removes_its_roles_records_and_versions(api: Api, unique: str) -> None:
    vid = create_vault(api, vault_name(unique), two_tables())
    api.call("POST", INSERT, account=None, path={"vaultID": vid, "table": "persons"},
             json_body={"records": [{"fields": {"name": "Ada"}}]}, bearer=api.admin_token,
             expect=200)
    roles = api.call("GET", "/v1/roles", params={"resource.ID": vid, "resource.type": "VAULT"},
                     expect=200).json()["roles"]
    api.call("DELETE", VAULT, path={"ID": vid}, expect=200)
    api.call("GET", VAULT, path={"ID": vid}, expect=404)
    api.call("GET", VERSIONS, path={"vaultID": vid}, expect=404)
    api.call("GET", "/v1/roles/{ID}", path={"ID": roles[0]["ID"]}, expect=404)
    admin = api.emu.admin_credentials["clientID"]
    held = api.call("GET", "/v1/members/{member.ID}/roles", path={"member.ID": admin},
                    params={"member.type": "SERVICE_ACCOUNT"}, expect=200).json()
    assert vid not in {r["resource"]["ID"] for r in held["roleToResource"]}


def test_vault_permissions_follow_vault_roles(api: Api, unique: str) -> None:
    vid = create_vault(api, vault_name(unique), two_tables())
    creds = api.create_sa(f"{unique}-viewer")
    roles = api.call("GET", "/v1/roles", params={"resource.ID": vid, "resource.type": "VAULT"},
                     expect=200).json()["roles"]
    viewer = next(r["ID"] for r in roles if r["definition"]["name"] == "VAULT_VIEWER")
    token = api.token_for(creds)
    api.call("GET", VAULT, path={"ID": vid}, bearer=token, expect=403)
    listed = api.call("GET", VAULTS, params={"workspaceID": workspace_id(api)}, bearer=token)
    assert listed.status_code == 403  # no vault.read anywhere yet
    api.assign(viewer, creds["clientID"])
    api.call("GET", VAULT, path={"ID": vid}, bearer=token, expect=200)
    listed = api.call("GET", VAULTS, params={"workspaceID": workspace_id(api)}, bearer=token,
                      expect=200).json()["vaults"]
    assert [v["ID"] for v in listed] == [vid]  # only what it may read
    r = api.call("PATCH", VAULT, path={"ID": vid}, json_body={"description": "x"}, bearer=token)
    assert r.status_code == 403 and "vault.update" in r.json()["error"]["message"]
    r = api.call("POST", VAULTS, bearer=token, json_body={"name": "nope",
                                                          "workspaceID": workspace_id(api)})
    assert r.status_code == 403 and "vault.create" in r.json()["error"]["message"]


def test_workspace_crud_and_members(api: Api, unique: str) -> None:
    name = "ws" + "".join(ch for ch in unique if ch.isalnum())[-16:]
    r = api.call("POST", WORKSPACES, json_body={"workspace": {"name": name}})
    assert r.status_code == 400 and "regionID" in r.json()["error"]["message"]
    wid = api.call("POST", WORKSPACES, json_body={"workspace": {"name": name},
                                                  "regionID": "emulator"},
                   expect=200).json()["ID"]
    api.call("PATCH", WORKSPACE, path={"ID": wid},
             json_body={"workspace": {"displayName": "Renamed"}}, expect=200)
    got = api.call("GET", WORKSPACE, path={"ID": wid}, expect=200).json()["workspace"]
    assert got["displayName"] == "Renamed"
    members = api.call("GET", WORKSPACE + "/members", path={"ID": wid},
                       params={"filterOps.type": "SERVICE_ACCOUNT"}, expect=200).json()
    assert api.emu.admin_credentials["clientID"] in {m["ID"] for m in members["members"]}
    api.call("DELETE", WORKSPACE, path={"ID": wid}, expect=200)
    api.call("GET", WORKSPACE, path={"ID": wid}, expect=404)


def test_users_crud_roles_and_unique_email(api: Api, unique: str) -> None:
    email = f"{unique.lower()}@example.com"
    uid = api.call("POST", USERS, json_body={"user": {"name": "Ada Lovelace",
                                                      "userIdentity": {"email": email}}},
                   expect=200).json()["ID"]
    r = api.call("POST", USERS, json_body={"user": {"userIdentity": {"email": email.upper()}}})
    assert r.status_code == 409
    got = api.call("GET", USER, path={"ID": uid}, expect=200).json()["user"]
    assert got["status"] == "ACTIVE" and got["userIdentity"]["email"] == email
    found = api.call("GET", USERS, params={"filterOps.email": email}, expect=200).json()["users"]
    assert [u["ID"] for u in found] == [uid]
    api.call("PATCH", USER, path={"ID": uid},
             json_body={"user": {"name": "A. Lovelace", "status": "INACTIVE"}}, expect=200)
    got = api.call("GET", USER, path={"ID": uid}, expect=200).json()["user"]
    assert (got["name"], got["status"]) == ("A. Lovelace", "INACTIVE")
    r = api.call("PATCH", USER, path={"ID": uid},
                 json_body={"user": {"userIdentity": {"email": "other@example.com"}}})
    assert r.status_code == 400

    viewer = api.system_role("VAULT_VIEWER")
    member = [{"ID": uid, "type": "USER"}]
    api.call("POST", "/v1/roles/assign", json_body={"ID": viewer, "members": member},
             expect=200)
    listed = api.call("GET", "/v1/roles/{ID}/members", path={"ID": viewer}, expect=200).json()
    entry = next(m for m in listed["members"] if m["ID"] == uid)
    assert entry["type"] == "USER" and entry["email"] == email
    held = api.call("GET", "/v1/members/{member.ID}/roles", path={"member.ID": uid},
                    params={"member.type": "USER"}, expect=200).json()["roleToResource"]
    assert [r["role"]["ID"] for r in held] == [viewer]
    api.call("DELETE", USER, path={"ID": uid}, expect=200)
    listed = api.call("GET", "/v1/roles/{ID}/members", path={"ID": viewer}, expect=200).json()
    assert uid not in {m["ID"] for m in listed["members"]}
    r = api.call("POST", "/v1/roles/assign", json_body={"ID": viewer, "members": member})
    assert r.status_code == 404 and "user" in r.json()["error"]["message"]
