"""Two Skyflow accounts in one program: two explicit ``pulumi:providers:skyflow`` resources, one
per emulator, with resources placed on each (examples/yaml-two-accounts).

Also the DiffConfig trap: a changed provider configuration must not replace the resources on it
(the SDK's DiffConfig answer is not overridden; the engine compares the config itself).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, list_service_accounts
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.secrets_scan import assert_no_secret_hits

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "examples" / "yaml-two-accounts"
#: no fallback to the first emulator's settings from the environment
NO_ENV = {k: "" for k in ("SKYFLOW_MANAGEMENT_URL", "SKYFLOW_ACCOUNT_ID", "SKYFLOW_VAULT_ID",
                          "SKYFLOW_CA_BUNDLE", "SKYFLOW_CREDENTIALS_FILE")}


def _configure(proj, prefix: str, emu: EmulatorProcess, ca_bundle: str | None = None) -> None:
    proj.config_set(f"{prefix}AccountId", emu.account_id)
    proj.config_set(f"{prefix}ManagementUrl", emu.url)
    proj.config_set(f"{prefix}CaBundle", ca_bundle or emu.ca_bundle or "")
    proj.config_set(f"{prefix}VaultId", emu.vault_id)
    proj.config_set(f"{prefix}Credentials", json.dumps(emu.admin_credentials), secret=True)


def _names(emu: EmulatorProcess) -> list[str]:
    return [sa["name"] for sa in list_service_accounts(emu)]


def test_two_providers_two_accounts_one_program(emulator, project_factory, tmp_path: Path):
    with EmulatorProcess(tmp_path / "production-emulator") as production:
        proj = project_factory(EXAMPLE, name="two", stack="dev", env=NO_ENV)
        _configure(proj, "sandbox", emulator)
        _configure(proj, "production", production)

        up = proj.up()
        assert "7 created" in up.stdout, up.stdout  # stack, 2 providers, 4 resources
        assert _names(emulator).count("payments-api") == 1
        assert _names(production).count("payments-api") == 1
        outs = proj.outputs(show_secrets=True)
        sandbox_creds = json.loads(outs["sandboxCredentials"])
        production_creds = json.loads(outs["productionCredentials"])
        ids = {sa["name"]: sa["ID"] for sa in list_service_accounts(production)}
        assert production_creds["clientID"] == ids["payments-api"] == outs["productionClientId"]
        # Each account's credentials work against its own account only.
        assert emulator.token(sandbox_creds) and production.token(production_creds)
        assert sandbox_creds["clientID"] not in {sa["ID"] for sa in
                                                 list_service_accounts(production)}
        types = [r["type"] for r in proj.resources()]
        assert types.count("pulumi:providers:skyflow") == 2
        proj.up(expect_no_changes=True)

        # A changed provider config (same account, CA bundle at another path) updates the
        # provider and replaces nothing on it.
        copied = tmp_path / "production-ca.pem"
        shutil.copy(production.ca_bundle, copied)
        proj.config_set("productionCaBundle", str(copied))
        changed = proj.up()
        assert "pulumi:providers:skyflow production updated" in changed.stdout, changed.stdout
        assert "replaced" not in changed.stdout and "created" not in changed.stdout, \
            changed.stdout
        assert proj.outputs()["productionClientId"] == outs["productionClientId"]
        proj.refresh()
        proj.up(expect_no_changes=True)

        proj.destroy()
        assert "payments-api" not in _names(emulator)
        assert "payments-api" not in _names(production)

        secrets = {
            "sandbox key": sandbox_creds["privateKey"],
            "production key": production_creds["privateKey"],
            "sandbox admin": emulator.admin_credentials["privateKey"],
            "production admin": production.admin_credentials["privateKey"],
        }
        assert_no_secret_hits(secrets, min_secrets=4,
                              roots=[proj.backend_dir, proj.dir / "Pulumi.dev.yaml"],
                              texts=proj.captured_texts())
