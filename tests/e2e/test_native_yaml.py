"""The native provider plugin end to end from Pulumi YAML: no Python program and no Python
language host, only ``pulumi-language-yaml`` and ``pulumi-resource-skyflow``.

examples/yaml provisions two services (a JWT and an API-key account) with a system role (through
the ``getSystemRole`` function) and a custom role with a policy, and exports their credentials as
secrets. up, a no-op up, refresh (and drift), destroy; then 0 plaintext secret bytes anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, list_service_accounts
from tests.helpers.secrets_scan import assert_no_secret_hits

pytestmark = pytest.mark.e2e

YAML_EXAMPLE = REPO_ROOT / "examples" / "yaml"


def yaml_project(project_factory, emulator, name: str = "yaml", prefix: str = "yaml"):
    proj = project_factory(YAML_EXAMPLE, name=name, stack="dev")
    proj.config_set("vaultId", emulator.vault_id)
    proj.config_set("namePrefix", prefix)
    return proj


def role_members(emulator, role_id: str) -> set[str]:
    r = emulator.session().get(f"{emulator.url}/v1/roles/{role_id}/members",
                               headers=emulator.headers(), timeout=30)
    r.raise_for_status()
    return {str((m.get("member") or m).get("ID") or (m.get("member") or m).get("id"))
            for m in r.json().get("members", [])}


def test_yaml_program_up_noop_refresh_destroy_without_plaintext(emulator, project_factory):
    admin = emulator.admin_credentials
    proj = yaml_project(project_factory, emulator)
    assert not (proj.dir / "__main__.py").exists()

    up = proj.up()
    assert "8 created" in up.stdout, up.stdout
    masked = proj.outputs()
    assert masked["paymentsCredentials"] == "[secret]"
    assert masked["reportingApiKey"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["paymentsCredentials"])
    assert creds["clientID"] == outs["paymentsClientId"]
    assert outs["reportingApiKey"].startswith("sky-")
    names = {sa["name"] for sa in list_service_accounts(emulator)}
    assert {"yaml-payments-api", "yaml-reporting"} <= names
    # The credentials are real: the emulator exchanges them for a bearer token.
    assert emulator.token(creds)

    # Native state: real type tokens, no pickled provider, secrets encrypted.
    resources = proj.resources()
    types = {r["type"] for r in resources}
    assert "skyflow:index:ServiceAccount" in types and "pulumi:providers:skyflow" in types
    state_text = json.dumps(proj.export())
    assert "__provider" not in state_text
    sa = next(r for r in resources if r["type"] == "skyflow:index:ServiceAccount"
              and r["outputs"].get("authType") == "jwt")
    for key in ("privateKey", "credentials"):
        assert "ciphertext" in sa["outputs"][key], key

    # Nothing to do on a second up.
    proj.up(expect_no_changes=True)

    # A refresh with no drift changes nothing; an out-of-band change is noticed and undone.
    refreshed = proj.refresh(debug=True)
    assert "Traceback" not in refreshed.output
    proj.up(expect_no_changes=True)
    r = emulator.session().delete(
        f"{emulator.url}/v1/serviceAccounts/{outs['reportingClientId']}",
        headers=emulator.headers(), timeout=30)
    assert r.status_code == 200, r.text
    drift = proj.refresh()
    assert "deleted" in drift.stdout, drift.stdout
    again = proj.up()
    assert "created" in again.stdout, again.stdout
    recreated = proj.outputs(show_secrets=True)
    assert recreated["reportingClientId"] != outs["reportingClientId"]

    proj.destroy()
    assert {s["ID"] for s in list_service_accounts(emulator)} == {admin["clientID"]}

    secrets = {
        "payments private key": creds["privateKey"],
        "reporting API key": outs["reportingApiKey"],
        "recreated API key": recreated["reportingApiKey"],
        "admin private key": admin["privateKey"],
    }
    assert_no_secret_hits(secrets, min_secrets=4,
                          roots=[proj.backend_dir, proj.dir / "Pulumi.dev.yaml",
                                 emulator.data_dir / "requests.jsonl"],
                          texts=proj.captured_texts())
    assert any("history" in str(p) for p in proj.backend_files())
    assert any("backups" in str(p) for p in proj.backend_files())


def test_yaml_bad_input_fails_at_preview_naming_the_property(emulator, project_factory,
                                                            tmp_path: Path):
    from tests.e2e.conftest import api_requests

    program = tmp_path / "bad"
    program.mkdir()
    (program / "Pulumi.yaml").write_text(
        "name: bad\nruntime: yaml\nresources:\n  sa:\n    type: skyflow:index:ServiceAccount\n"
        "    properties:\n      name: ok-name\n      authType: certificate\n"
    )
    proj = project_factory(program, name="bad")
    before = len(api_requests(emulator))
    result = proj.preview(check=False)
    assert result.returncode != 0
    assert "authType" in result.output and "Traceback" not in result.output, result.output
    calls = [r for r in api_requests(emulator, before)
             if r.get("template") != "/v1/auth/sa/oauth/token"]
    assert calls == [], f"preview made API calls: {calls}"
