"""Issue 27 end to end: a vault from a typed schema, people with roles on it, and the guards that
keep a typo from losing a vault. Real CLI, real emulator; every step is checked on the emulator
itself (its API and its request log), not only on Pulumi's summary.

One stack walks the whole lifecycle (lean for CI): create (two tables, a user with VAULT_VIEWER),
no-op, add a column in place, drift from a column added out of band, bad schemas refused at
preview with 0 API calls, a replacement and a destroy refused at preview while protected, the
user removed, protection off, destroyed. The provider plugin's side (import, getWorkspace, a
User in YAML) is test_native_vault below.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.e2e.conftest import api_requests
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiProject
from tests.helpers.secrets_scan import assert_no_secret_hits
from tests.helpers.tracebacks import assert_no_traceback

pytestmark = pytest.mark.e2e

PROJECT = "vault-e2e"
SCHEMA: dict[str, Any] = {"tables": [
    {"name": "persons", "columns": [
        {"name": "name"},
        {"name": "email", "tags": {"skyflow.options.default_dlp_policy": ["MASK"]}}]},
    {"name": "cards", "columns": [{"name": "number"},
                                  {"name": "expiry_year", "datatype": "DT_INT32"}]},
]}
ADA = {"key": "ada", "email": "ada@example.com", "name": "Ada Lovelace",
       "roles": ["VAULT_VIEWER"]}


def api(emu: EmulatorProcess, method: str, path: str, **kw: Any) -> Any:
    r = emu.session().request(method, emu.url + path, headers=emu.headers(), timeout=30, **kw)
    return r


def columns(emu: EmulatorProcess, vault_id: str) -> dict[str, list[str]]:
    vault = api(emu, "GET", f"/v1/vaults/{vault_id}").json()["vault"]
    return {t["name"]: [f["name"] for f in t["fields"]] for t in vault["schemas"]}


def role_id(emu: EmulatorProcess, vault_id: str, name: str) -> str:
    roles = api(emu, "GET", "/v1/roles", params={"resource.ID": vault_id,
                                                 "resource.type": "VAULT"}).json()["roles"]
    return next(str(r["ID"]) for r in roles if r["definition"]["name"] == name)


def members(emu: EmulatorProcess, role: str) -> set[tuple[str, str]]:
    found = api(emu, "GET", f"/v1/roles/{role}/members").json()["members"]
    return {(m["ID"], m["type"]) for m in found}


def configure(proj: PulumiProject, vault: dict[str, Any], users: list[dict[str, Any]],
              workspace: str | None = None) -> None:
    proj.set_config_objects({f"{PROJECT}:vault": vault, f"{PROJECT}:users": users,
                             f"{PROJECT}:workspace": workspace or ""})


def test_vault_lifecycle_with_a_user_and_every_guard(emulator, project_factory) -> None:
    proj = project_factory("vault", stack="dev")
    vault: dict[str, Any] = {"name": "payments", "description": "cards and people",
                             "schema": copy.deepcopy(SCHEMA)}
    configure(proj, vault, [ADA], workspace="EmulatorWorkspace")

    # --- create: the vault with its two tables, in the workspace get_workspace found.
    proj.up()
    outs = proj.outputs()
    vid = outs["vault_id"]
    assert columns(emulator, vid) == {"persons": ["skyflow_id", "name", "email"],
                                      "cards": ["skyflow_id", "number", "expiry_year"]}
    assert outs["vault_url"] == emulator.url and outs["cluster_id"] == ""
    assert outs["workspace_id"] == emulator.account["workspaces"][0]["ID"]
    # The person exists and holds the new vault's VAULT_VIEWER (a role of its own).
    user = api(emulator, "GET", f"/v1/users/{outs['ada_id']}").json()["user"]
    assert user["userIdentity"]["email"] == "ada@example.com"
    viewer = role_id(emulator, vid, "VAULT_VIEWER")
    assert viewer != role_id(emulator, emulator.vault_id, "VAULT_VIEWER")
    assert (outs["ada_id"], "USER") in members(emulator, viewer)
    proj.up(expect_no_changes=True)

    # --- add a column: in place, and Skyflow keeps a schema version per change.
    vault["schema"]["tables"][0]["columns"].append({"name": "phone"})
    configure(proj, vault, [ADA])
    result = proj.up()
    assert "1 updated" in result.stdout and "replaced" not in result.stdout, result.stdout
    assert columns(emulator, vid)["persons"] == ["skyflow_id", "name", "email", "phone"]
    versions = api(emulator, "GET", f"/v1/vaults/{vid}/versions").json()["schemaVersions"]
    assert [v["versionTag"] for v in versions] == ["v1", "v2"]

    # --- drift: a column added in Studio (here: straight through the API) shows on refresh,
    # and the next preview refuses to drop it until it is declared.
    held = api(emulator, "GET", f"/v1/vaults/{vid}").json()["vault"]
    held["schemas"][0]["fields"].append({"name": "nickname", "datatype": "DT_STRING"})
    api(emulator, "PATCH", f"/v1/vaults/{vid}", json={
        "vaultSchema": {"schemas": held["schemas"], "tags": held["tags"]}}).raise_for_status()
    proj.refresh()
    state = next(r for r in proj.resources() if r["urn"].endswith("::main"))
    assert "nickname" in [c["name"] for c in state["inputs"]["schema"]["tables"][0]["columns"]]
    refused = proj.preview(check=False)
    assert refused.returncode != 0
    assert "schema.tables[0].columns" in refused.output, refused.output
    assert "persons.nickname is in the vault but not declared" in refused.output
    vault["schema"]["tables"][0]["columns"].append({"name": "nickname"})
    configure(proj, vault, [ADA])
    proj.preview(expect_no_changes=True)

    # --- bad schemas: refused at preview, each naming its path, with 0 API calls.
    bad = copy.deepcopy(vault)
    bad["schema"]["tables"][1]["columns"][1]["datatype"] = "DT_TEXT"
    bad["schema"]["tables"][0]["columns"].append({"name": "email"})
    bad["schema"]["tables"].append({"name": "audit", "columns": [{"name": "skyflow_id"}]})
    bad["schema"]["tables"].append({"name": "empty", "columns": []})
    configure(proj, bad, [ADA])
    mark = len(api_requests(emulator))
    refused = proj.preview(check=False)
    assert refused.returncode != 0
    for path, why in [("schema.tables[1].columns[1].datatype", "not a Skyflow data type"),
                      ("schema.tables[0].columns[4].name", "defined twice"),
                      ("schema.tables[2].columns[0].name", "permanent record id"),
                      ("schema.tables[3].columns", "has no columns")]:
        assert path in refused.output and why in refused.output, (path, refused.output)
    assert_no_traceback(refused)
    assert api_requests(emulator, mark) == []

    # --- a replacement (another workspace) is refused at preview while protected.
    api(emulator, "POST", "/v1/workspaces", json={"workspace": {"name": "Other"},
                                                  "regionID": "emulator"}).raise_for_status()
    configure(proj, vault, [ADA], workspace="Other")
    refused = proj.preview(check=False)
    assert refused.returncode != 0
    assert "replaces the vault" in refused.output and "deletion_protection is on" in \
        refused.output, refused.output

    # --- destroy is refused at preview while protected: nothing is deleted.
    configure(proj, vault, [ADA])
    refused = proj.destroy(check=False, skip_preview=False)
    assert refused.returncode != 0 and "protect" in refused.output, refused.output
    assert api(emulator, "GET", f"/v1/vaults/{vid}").status_code == 200
    assert api(emulator, "GET", f"/v1/users/{outs['ada_id']}").status_code == 200

    # --- offboarding: the user and its role go; protection off in the same up.
    vault["deletion_protection"] = False
    configure(proj, vault, [])
    result = proj.up()
    assert "2 deleted" in result.stdout and "1 updated" in result.stdout, result.stdout
    assert api(emulator, "GET", f"/v1/users/{outs['ada_id']}").status_code == 404
    assert outs["ada_id"] not in {m for m, _t in members(emulator, viewer)}

    # --- now the vault can go.
    proj.destroy()
    assert api(emulator, "GET", f"/v1/vaults/{vid}").status_code == 404
    assert api(emulator, "GET", f"/v1/vaults/{emulator.vault_id}").status_code == 200
    assert_no_secret_hits({"admin private key": emulator.admin_credentials["privateKey"]},
                          min_secrets=1, roots=[proj.backend_dir], texts=proj.captured_texts())


def test_native_vault_import_get_workspace_and_a_user(emulator, project_factory) -> None:
    """The provider plugin: `pulumi import` of a hand-made vault (nothing changes after it),
    getWorkspace in YAML, a User with VAULT_VIEWER; the provider refuses a protected delete."""
    workspace = emulator.account["workspaces"][0]["ID"]
    made = api(emulator, "POST", "/v1/vaults", json={
        "name": "handmade", "description": "Made by hand", "workspaceID": workspace,
        "vaultSchema": {"schemas": [
            {"name": "persons", "fields": [
                {"name": "name", "datatype": "DT_STRING"},
                {"name": "email", "datatype": "DT_STRING", "tags": [
                    {"name": "skyflow.options.default_dlp_policy", "values": ["MASK"]}]}]},
            {"name": "cards", "fields": [{"name": "expiry_year", "datatype": "DT_INT32"}]}],
            "tags": []}})
    made.raise_for_status()
    vid = made.json()["ID"]
    proj = project_factory("vault_yaml", stack="dev")
    proj.run("import", "skyflow:index:Vault", "payments", vid, "--yes", "--generate-code=false")
    state = next(r for r in proj.resources() if r["urn"].endswith("::payments"))
    assert state["id"] == vid and state["protect"] is True
    assert [t["name"] for t in state["inputs"]["schema"]["tables"]] == ["persons", "cards"]

    # The import changed nothing: only the person and the assignment are new.
    result = proj.up()
    assert "2 created" in result.stdout and "updated" not in result.stdout, result.stdout
    outs = proj.outputs()
    assert outs["workspaceId"] == workspace and outs["workspaceUrl"] == emulator.url
    assert outs["vaultUrl"] == emulator.url
    viewer = role_id(emulator, vid, "VAULT_VIEWER")
    assert (outs["graceId"], "USER") in members(emulator, viewer)
    proj.up(expect_no_changes=True)

    # Without the program's protect option the provider itself refuses the delete, naming
    # the way out; the vault and its data stay.
    proj.run("state", "unprotect", state["urn"], "--yes")
    refused = proj.destroy(check=False)
    assert refused.returncode != 0
    assert "deletionProtection on" in refused.output, refused.output
    assert_no_traceback(refused)
    assert api(emulator, "GET", f"/v1/vaults/{vid}").status_code == 200
