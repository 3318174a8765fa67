"""Stacks made by the flat layout keep working after the move to subpackages.

Every dynamic resource's state holds its provider pickled by module path; the fixture
(tests/fixtures/old_state, made by ``make_fixture.py`` on the commit before the move) holds
``skyflow_provider.service_account``, ``skyflow_provider.role`` and the other old paths, and the
emulator's data dir as it was after that ``up``. The current code must refresh it with no drift,
``up`` it with no change and destroy it.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import PROGRAMS, list_service_accounts, provider_env
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiProject, require_pulumi

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "old_state"
PASSPHRASE = "old-state-fixture-not-a-secret"  # make_fixture.py; protects nothing real
OLD_PATHS = {
    "skyflow_provider.service_account", "skyflow_provider.service_account_key",
    "skyflow_provider.api_key", "skyflow_provider.role", "skyflow_provider.policy",
    "skyflow_provider.role_assignment", "skyflow_provider.policy_assignment",
}


def _provider_modules(proj: PulumiProject) -> set[str]:
    """The module paths named by the pickled providers in the stack's state."""
    raw = json.loads(proj.run("stack", "export", "--show-secrets").stdout)
    found: set[str] = set()
    for res in raw["deployment"]["resources"]:
        blob = (res.get("inputs") or {}).get("__provider")
        if isinstance(blob, dict):
            blob = blob.get("plaintext", blob.get("value"))
        if isinstance(blob, str) and blob.startswith('"'):
            blob = json.loads(blob)
        if isinstance(blob, str):
            found |= {m.decode() for m in re.findall(rb"skyflow_provider[.a-z_]*",
                                                     base64.b64decode(blob))}
    return found


def test_stack_from_the_flat_layout_refreshes_updates_and_destroys(tmp_path):
    require_pulumi()
    data_dir = tmp_path / "emulator"
    shutil.copytree(FIXTURE / "emulator", data_dir)
    with EmulatorProcess(data_dir) as emu:
        proj = PulumiProject(PROGRAMS / "all_types", tmp_path / "proj",
                             env=provider_env(emu), passphrase=PASSPHRASE)
        proj.stack_init("compat")
        proj.run("stack", "import", "--file", str(FIXTURE / "stack.json"))
        assert _provider_modules(proj) == OLD_PATHS, "the fixture must be the flat layout's"
        before = {r["urn"]: r.get("id") for r in proj.resources()}
        assert len(before) == 12

        refreshed = proj.refresh(expect_no_changes=True)
        assert "error" not in refreshed.stderr.lower()
        proj.up(expect_no_changes=True)
        assert {r["urn"]: r.get("id") for r in proj.resources()} == before
        names = {sa["name"] for sa in list_service_accounts(emu)}
        assert {"compat-jwt", "compat-api"} <= names

        proj.destroy()
        assert proj.resources() == [] or all(
            r["type"].startswith("pulumi:") for r in proj.resources())
        left = {sa["name"] for sa in list_service_accounts(emu)}
        assert not left & {"compat-jwt", "compat-api"}
