"""`pulumi import` through the native provider: objects made outside Pulumi come under
management unchanged, the next up replaces nothing, and a wrong id fails naming the id.

Credentials: Skyflow never returns an existing private key or API key, so an imported account has
no key in state. The first up after the import mints a fresh key and outputs it (like a rotation:
the keys the account already had keep working and are listed in ``unmanagedKeyIds`` until they
are deleted, or ``exclusiveKeys: true`` deletes them).
"""

from __future__ import annotations

import json

import pytest

from skyflow_provider.resources.policy import PolicyProvider
from skyflow_provider.resources.policy_assignment import PolicyAssignmentProvider
from skyflow_provider.resources.role import RoleProvider
from skyflow_provider.resources.role_assignment import RoleAssignmentProvider
from skyflow_provider.resources.service_account import ServiceAccountProvider
from tests.e2e.conftest import provider_env
from tests.helpers.secrets_scan import assert_no_secret_hits

pytestmark = pytest.mark.e2e


def _by_hand(emulator, monkeypatch) -> dict[str, str]:
    """Make the objects the way a person would, outside any stack (the provider classes are
    just a convenient client here); returns their ids and the hand-made key's secret."""
    for key, value in provider_env(emulator).items():
        monkeypatch.setenv(key, value)
    vault = emulator.vault_id
    sa = ServiceAccountProvider().create({"name": "imported-payments",
                                          "description": "Made by hand"})
    role = RoleProvider().create({"vault_id": vault, "name": "imported-reader",
                                  "permissions": ["vault.read", "record.read"]})
    policy = PolicyProvider().create({
        "vault_id": vault, "name": "ImportedReadMasked",
        "rules": [{"name": "ReadPersonsMasked",
                   "rule_expression": "ALLOW READ ON persons.* WITH REDACTION = MASKED"}]})
    PolicyAssignmentProvider().create({"policy_id": policy.id, "role_ids": [role.id]})
    ra = RoleAssignmentProvider().create({"role_id": role.id, "service_account_id": sa.id,
                                          "member_type": "SERVICE_ACCOUNT"})
    outs = sa.outs or {}
    return {"sa": sa.id, "key_id": outs["key_id"], "private_key": outs["private_key"],
            "role": role.id, "policy": policy.id, "role_assignment": ra.id}


def test_import_each_type_then_up_replaces_nothing_and_mints_a_key(
        emulator, project_factory, monkeypatch):
    made = _by_hand(emulator, monkeypatch)
    proj = project_factory("native_import", name="imp", stack="dev")
    proj.config_set("vaultId", emulator.vault_id)

    for type_, name, id_ in [
        ("ServiceAccount", "payments", made["sa"]),
        ("Role", "reader", made["role"]),
        ("Policy", "readMasked", made["policy"]),
        ("PolicyAssignment", "readMaskedRoles", made["policy"]),
        ("RoleAssignment", "paymentsReader", made["role_assignment"]),
    ]:
        proj.run("import", f"skyflow:index:{type_}", name, id_, "--yes",
                 "--generate-code=false")
    state = {r.get("urn", "").rsplit("::", 1)[-1]: r for r in proj.resources()}
    assert state["payments"]["id"] == made["sa"]
    assert state["readMaskedRoles"]["outputs"]["roleIds"] == [made["role"]]
    assert state["paymentsReader"]["outputs"]["resolvedMemberId"] == made["sa"]

    # The import changed nothing at Skyflow; the first up replaces nothing. Only the account is
    # updated: it gets a fresh key (the hand-made one stays valid and is reported).
    preview = proj.preview(diff=True)
    assert "replace" not in preview.stdout.lower(), preview.stdout
    up = proj.up()
    assert "replaced" not in up.stdout and "created" not in up.stdout, up.stdout
    assert "1 updated" in up.stdout, up.stdout
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["paymentsCredentials"])
    assert creds["clientID"] == made["sa"]
    assert outs["paymentsKeyId"] != made["key_id"]
    assert outs["unmanagedKeyIds"] == [made["key_id"]]
    assert emulator.token(creds)
    proj.up(expect_no_changes=True)

    # Destroy removes what was imported (it is managed now).
    proj.destroy()
    r = emulator.session().get(f"{emulator.url}/v1/serviceAccounts/{made['sa']}",
                               headers=emulator.headers(), timeout=30)
    assert r.status_code == 404 or r.json().get("serviceAccount", {}).get("status") == "DELETED"

    assert_no_secret_hits({"minted key": creds["privateKey"], "hand-made key": made["private_key"]},
                          min_secrets=2, roots=[proj.backend_dir], texts=proj.captured_texts())


@pytest.mark.parametrize("type_", ["ServiceAccount", "Role", "Policy", "PolicyAssignment",
                                   "RoleAssignment", "Vault", "User"])
def test_import_of_a_wrong_id_fails_naming_the_id(emulator, project_factory, type_):
    proj = project_factory("native_import", name=f"bad-{type_}", stack="dev")
    proj.config_set("vaultId", emulator.vault_id)
    ghost = "0123456789abcdef0123456789abcdef"
    if type_ == "RoleAssignment":
        ghost = f"{ghost}:fedcba9876543210fedcba9876543210"
    result = proj.run("import", f"skyflow:index:{type_}", "ghost", ghost, "--yes",
                      "--generate-code=false", check=False)
    assert result.returncode != 0
    errors = [line for line in result.output.splitlines() if "error" in line.lower()]
    assert any(ghost in line for line in errors), result.output
    assert "Traceback" not in result.output
    assert proj.resources() == [] or all(r["type"].startswith("pulumi:")
                                         for r in proj.resources())
