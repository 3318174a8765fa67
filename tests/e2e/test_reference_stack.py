"""Issue 5 end to end: the reference stack (__main__.py) provisions declaratively from config.

Every step is asserted on the emulator's own state and request log, not only on Pulumi's summary.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import REPO_ROOT, api_requests, list_service_accounts
from tests.helpers.pulumi_cli import PulumiProject
from tests.helpers.secrets_scan import assert_no_secret_hits
from tests.helpers.tracebacks import assert_no_traceback

pytestmark = pytest.mark.e2e

TYPE = "pulumi-python:dynamic/skyflow:"
TOKEN_PATH = "/v1/auth/sa/oauth/token"


@pytest.fixture
def reference_program(tmp_path: Path) -> Path:
    """The root program alone (Pulumi.yaml + __main__.py), without the repo's venv or state."""
    prog = tmp_path / "reference-src"
    prog.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO_ROOT / name, prog / name)
    return prog


def committed_dev_config() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]


def set_config_objects(proj: PulumiProject, values: dict[str, Any]) -> None:
    """Write structured config (lists/maps) into the stack's config file, as a user would."""
    path = proj.dir / f"Pulumi.{proj.stack}.yaml"
    doc = yaml.safe_load(path.read_text()) or {}
    doc.setdefault("config", {}).update(values)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def counts_by_type(proj: PulumiProject) -> Counter[str]:
    return Counter(r["type"].removeprefix(TYPE) for r in proj.resources()
                   if r["type"].startswith(TYPE))


def role_members(emu, role_id: str) -> set[str]:
    r = emu.session().get(f"{emu.url}/v1/roles/{role_id}/members", headers=emu.headers(),
                          timeout=30)
    r.raise_for_status()
    return {m["ID"] for m in r.json().get("members", [])}


def system_role_id(emu, name: str, vault_id: str | None = None) -> str:
    r = emu.session().get(f"{emu.url}/v1/roles", headers=emu.headers(), timeout=30,
                          params={"resource.ID": vault_id or emu.vault_id,
                                  "resource.type": "VAULT"})
    r.raise_for_status()
    for role in r.json()["roles"]:
        if role["definition"]["name"] == name:
            return str(role["ID"])
    raise AssertionError(f"no system role {name}")


def member_permissions(emu, member_id: str) -> set[str]:
    r = emu.session().get(f"{emu.url}/v1/members/{member_id}/permissions", timeout=30,
                          headers=emu.headers(), params={"member.type": "SERVICE_ACCOUNT"})
    r.raise_for_status()
    return set(r.json()["permissions"])


def role_permissions(emu, role_id: str) -> set[str]:
    r = emu.session().get(f"{emu.url}/v1/roles/{role_id}", headers=emu.headers(), timeout=30)
    r.raise_for_status()
    return set(r.json()["role"]["definition"].get("permissions") or [])


def test_reference_stack_declarative_lifecycle(emulator, project_factory, reference_program):
    admin_id = emulator.admin_credentials["clientID"]
    proj = project_factory(reference_program, stack="dev")
    config = committed_dev_config()
    set_config_objects(proj, config)

    # --- create: counts per type, in Pulumi and in the emulator.
    proj.up()
    assert counts_by_type(proj) == Counter(
        {"ServiceAccount": 3, "RoleAssignment": 3, "Role": 1, "Policy": 1,
         "PolicyAssignment": 1, "Vault": 1})
    live = {sa["name"]: sa for sa in list_service_accounts(emulator)}
    assert set(live) == {"dev-payments-api", "dev-analytics-etl", "dev-legacy-batch",
                         *(n for n, sa in live.items() if sa["ID"] == admin_id)}

    # --- credentials are stack outputs, secret, and named for other stacks to consume.
    masked = proj.outputs()
    for key in ("payments-api_credentials", "analytics-etl_credentials", "legacy-batch_api_key"):
        assert masked[key] == "[secret]", key
    outs = proj.outputs(show_secrets=True)
    payments = json.loads(outs["payments-api_credentials"])
    assert payments["clientID"] == outs["payments-api_client_id"]

    # --- the stack made its vault from the schema in config; the roles are the new vault's.
    vault_id = outs["vault_id"]
    assert vault_id != emulator.vault_id and outs["vault_url"] == emulator.url
    vault = emulator.session().get(f"{emulator.url}/v1/vaults/{vault_id}", timeout=30,
                                   headers=emulator.headers()).json()["vault"]
    assert vault["name"] == "dev-payments"
    assert {t["name"] for t in vault["schemas"]} == {"persons", "cards"}

    # --- authorization is real: the new account gets exactly its role's permissions.
    editor = system_role_id(emulator, "VAULT_EDITOR", vault_id)
    assert outs["payments-api_client_id"] in role_members(emulator, editor)
    assert member_permissions(emulator, payments["clientID"]) == role_permissions(emulator, editor)
    token = emulator.token(payments)  # unscoped
    scoped = emulator.token(payments, roles=[editor], ctx="payments-ci")
    assert token and scoped
    viewer = system_role_id(emulator, "VAULT_VIEWER", vault_id)
    refused = emulator.exchange(emulator.assertion(payments), scope=f"role:{viewer}")
    assert refused.status_code == 400, refused.text  # a role it does not hold

    # --- from nothing to data: payments-api's token writes the new vault's table through the
    # Data API slice at the stack's vault_url, analytics-etl's custom role reads it back, and
    # the schema refuses a table it does not define.
    data = f"{outs['vault_url']}/v1/vaults/{vault_id}"
    written = emulator.session().post(f"{data}/persons", timeout=30, json={"records": [
        {"fields": {"name": "Ada", "email": "ada@example.com"}}]},
        headers={"Authorization": f"Bearer {token}"})
    assert written.status_code == 200, written.text
    skyflow_id = written.json()["records"][0]["skyflow_id"]
    analytics = emulator.token(json.loads(outs["analytics-etl_credentials"]))
    read = emulator.session().get(f"{data}/persons", params={"skyflow_ids": skyflow_id},
                                  headers={"Authorization": f"Bearer {analytics}"}, timeout=30)
    assert read.status_code == 200, read.text
    assert read.json()["records"][0]["fields"]["name"] == "Ada"
    unknown = emulator.session().post(f"{data}/accounts", timeout=30, json={"records": [
        {"fields": {"name": "x"}}]}, headers={"Authorization": f"Bearer {token}"})
    assert unknown.status_code == 404, unknown.text

    # --- a second up: no changes and no Management API calls beyond one token exchange.
    mark = len(api_requests(emulator))
    proj.up(expect_no_changes=True)
    calls = api_requests(emulator, mark)
    assert [c for c in calls if c["template"] != TOKEN_PATH] == [], calls
    assert len(calls) <= 1

    # --- add a service: only its objects are created.
    grown = copy.deepcopy(config)
    grown["skyflow-identities:services"].append(
        {"name": "fraud-scorer", "auth_type": "jwt", "roles": ["VAULT_VIEWER"]})
    set_config_objects(proj, grown)
    result = proj.up()
    assert "2 created" in result.stdout and "updated" not in result.stdout, result.stdout
    assert "dev-fraud-scorer" in {sa["name"] for sa in list_service_accounts(emulator)}

    # --- change a role assignment in place (its CEL condition), then swap its role.
    cond = "request.context.team == 'fraud'"
    grown["skyflow-identities:services"][-1]["condition"] = cond
    set_config_objects(proj, grown)
    result = proj.up()
    assert "1 updated" in result.stdout and "replaced" not in result.stdout, result.stdout
    fraud_id = proj.outputs()["fraud-scorer_client_id"]
    assert fraud_id in role_members(emulator, viewer)
    grown["skyflow-identities:services"][-1]["roles"] = ["VAULT_EDITOR"]
    set_config_objects(proj, grown)
    proj.up()
    assert fraud_id in role_members(emulator, editor)
    assert fraud_id not in role_members(emulator, viewer)

    # --- remove a service: its objects are deleted, the others untouched.
    before = {sa["ID"] for sa in list_service_accounts(emulator)}
    set_config_objects(proj, config)
    result = proj.up()
    assert "2 deleted" in result.stdout, result.stdout
    after = {sa["ID"] for sa in list_service_accounts(emulator)}
    assert before - after == {fraud_id}

    # --- the vault is protected: destroy stops at preview, nothing is deleted; with the
    # protection turned off (one up that changes only the flag) destroy goes through.
    refused = proj.destroy(check=False, skip_preview=False)
    assert refused.returncode != 0 and "protect" in refused.output, refused.output
    assert len(list_service_accounts(emulator)) == len(after)
    config["skyflow-identities:vault"]["deletion_protection"] = False
    set_config_objects(proj, config)
    result = proj.up()
    assert "1 updated" in result.stdout and "deleted" not in result.stdout, result.stdout

    # --- destroy: the emulator is back to its bootstrap state (the vault and its roles gone).
    proj.destroy()
    assert {sa["ID"] for sa in list_service_accounts(emulator)} == {admin_id}
    gone = emulator.session().get(f"{emulator.url}/v1/roles/{editor}", timeout=30,
                                  headers=emulator.headers())
    assert gone.status_code == 404
    gone = emulator.session().get(f"{emulator.url}/v1/vaults/{vault_id}", timeout=30,
                                  headers=emulator.headers())
    assert gone.status_code == 404
    r = emulator.session().get(f"{emulator.url}/v1/roles", headers=emulator.headers(),
                               params={"resource.ID": emulator.vault_id,
                                       "resource.type": "VAULT", "type": "CUSTOM"}, timeout=30)
    assert [x for x in r.json()["roles"] if x["definition"].get("type") == "CUSTOM"] == []

    # --- zero plaintext hits for every generated credential.
    secrets = {
        "payments-api private key": payments["privateKey"],
        "analytics-etl private key": json.loads(outs["analytics-etl_credentials"])["privateKey"],
        "legacy-batch api key": outs["legacy-batch_api_key"],
        "admin private key": emulator.admin_credentials["privateKey"],
    }
    assert_no_secret_hits(secrets, min_secrets=4,
                          roots=[proj.backend_dir, proj.dir / "Pulumi.dev.yaml",
                                 emulator.data_dir / "requests.jsonl"],
                          texts=proj.captured_texts())


def test_reference_stack_rotates_a_service_key_from_config(emulator, project_factory,
                                                           reference_program):
    """rotation_trigger in a service's config rotates its key in place, with the overlap."""
    proj = project_factory(reference_program, stack="rot")
    service = {"name": "payments-api", "auth_type": "jwt", "roles": ["VAULT_VIEWER"],
               "rotation_trigger": "1"}
    set_config_objects(proj, {"skyflow-identities:services": [service],
                              "skyflow-identities:customRoles": {},
                              "skyflow-identities:policies": {}})
    proj.up()
    old = json.loads(proj.outputs(show_secrets=True)["payments-api_credentials"])

    service["rotation_trigger"] = "2"
    set_config_objects(proj, {"skyflow-identities:services": [service]})
    result = proj.up()
    assert "1 updated" in result.stdout and "replaced" not in result.stdout, result.stdout
    new = json.loads(proj.outputs(show_secrets=True)["payments-api_credentials"])
    assert new["clientID"] == old["clientID"] and new["keyID"] != old["keyID"]
    # Both keys mint tokens during the overlap window (default 24 hours).
    assert emulator.token(new) and emulator.token(old)
    proj.destroy()
    assert_no_secret_hits({"old key": old["privateKey"], "new key": new["privateKey"]},
                          min_secrets=2, roots=[proj.backend_dir], texts=proj.captured_texts())


def test_reference_stack_config_mistake_is_one_clean_line(emulator, project_factory,
                                                         reference_program):
    proj = project_factory(reference_program, stack="bad")
    set_config_objects(proj, {"skyflow-identities:services": [
        {"name": "svc", "roles": ["NO_SUCH_ROLE"]}]})
    mark = len(api_requests(emulator))
    result = proj.preview(check=False)
    assert result.returncode != 0
    assert "services[0].roles" in result.output and "NO_SUCH_ROLE" in result.output
    assert_no_traceback(result)
    assert api_requests(emulator, mark) == []
