"""Issue 2 end to end: the real CLI creates a real service account in the real emulator.

One scenario walks the whole lifecycle, so every step is checked against the emulator's own
state (not only Pulumi's summary) and every captured byte is scanned for the generated secrets.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import api_requests, list_service_accounts, program_for, type_token
from tests.helpers.secrets_scan import assert_no_secret_hits
from tests.helpers.tracebacks import assert_no_traceback

pytestmark = pytest.mark.e2e


def _names(emu) -> set[str]:
    return {sa["name"] for sa in list_service_accounts(emu)}


def test_service_account_lifecycle_with_secret_credentials(emulator, project_factory, form):
    admin = emulator.admin_credentials
    # Admin credentials reach the provider as *secret stack config* here (not the env file).
    proj = project_factory(program_for("one_account", form), env={"SKYFLOW_CREDENTIALS_FILE": ""})
    proj.config_set("skyflow:credentials", json.dumps(admin), secret=True)
    proj.config_set("name", "payments-api")
    proj.config_set("displayName", "Payments API")

    # up creates the account, and the emulator lists it.
    proj.up()
    assert "payments-api" in _names(emulator)

    # The exported credentials are a secret: masked in plain output...
    masked = proj.outputs()
    assert masked["credentials"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["credentials"])
    assert set(creds) == {"clientID", "clientName", "tokenURI", "keyID", "privateKey",
                          "keyValidAfterTime", "keyValidBeforeTime", "keyAlgorithm"}
    assert creds["clientID"] == outs["client_id"] and creds["keyID"] == outs["key_id"]
    # ...and they are real: the emulator exchanges them for a bearer token.
    token = emulator.token(creds)
    r = emulator.session().get(f"{emulator.url}/v1/serviceAccounts/{creds['clientID']}",
                               headers=emulator.headers(token), timeout=30)
    assert r.status_code in (200, 403), r.text  # authenticated (403 = no role yet, not 401)

    # A second up has nothing to do.
    proj.up(expect_no_changes=True)

    # display_name changes in place: same id, same key, new display name at Skyflow.
    proj.config_set("displayName", "Payments API v2")
    result = proj.up()
    assert "1 updated" in result.stdout, result.stdout
    after = proj.outputs(show_secrets=True)
    assert after["client_id"] == outs["client_id"]
    assert json.loads(after["credentials"])["keyID"] == creds["keyID"]
    sa = {s["name"]: s for s in list_service_accounts(emulator)}["payments-api"]
    assert sa["displayName"] == "Payments API v2"

    # Deleted out of band: refresh notices, the next up recreates it.
    r = emulator.session().delete(f"{emulator.url}/v1/serviceAccounts/{outs['client_id']}",
                                  headers=emulator.headers(), timeout=30)
    assert r.status_code == 200, r.text
    refreshed = proj.refresh()
    assert "1 deleted" in refreshed.stdout, refreshed.stdout
    assert not [r for r in proj.resources()
                if r["type"] == type_token("ServiceAccount", form)]
    proj.up()
    recreated = proj.outputs(show_secrets=True)
    assert recreated["client_id"] != outs["client_id"]
    assert "payments-api" in _names(emulator)

    # destroy leaves the emulator with only its admin account.
    proj.destroy()
    assert {sa["ID"] for sa in list_service_accounts(emulator)} == {admin["clientID"]}

    # Secrets at rest and in every captured output: zero hits.
    secrets = {
        "first private key": creds["privateKey"],
        "recreated private key": json.loads(recreated["credentials"])["privateKey"],
        "admin private key": admin["privateKey"],
    }
    assert_no_secret_hits(
        secrets, min_secrets=3,
        roots=[proj.backend_dir, proj.dir / "Pulumi.test.yaml",
               emulator.data_dir / "requests.jsonl"],
        texts=proj.captured_texts(),
    )
    # The scan covered real files, including history and backups.
    assert any("history" in str(p) for p in proj.backend_files())


def test_invalid_name_rejected_at_preview_without_api_calls(emulator, project_factory, form):
    proj = project_factory(program_for("one_account", form))
    for bad, needle in [("", "name"), ("x" * 300, "name")]:
        proj.config_set("name", bad)
        before = len(api_requests(emulator))
        result = proj.preview(check=False)
        assert result.returncode != 0
        out = result.output
        assert needle in out, out
        assert_no_traceback(result)
        calls = [r for r in api_requests(emulator, before)
                 if r.get("template") != "/v1/auth/sa/oauth/token"]
        assert calls == [], f"preview made API calls: {calls}"
