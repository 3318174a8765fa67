"""examples/typescript end to end: the reference stack in TypeScript on the generated Node.js SDK
and the native plugin, run through the Automation API's inline program (no Node.js language
host). up, no-op up, refresh, destroy; credentials are secret outputs; 0 plaintext at rest."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.e2e.conftest import PROGRAMS, REPO_ROOT, list_service_accounts
from tests.helpers.secrets_scan import scan

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "examples" / "typescript"


def _node(proj, action: str) -> str:
    env = proj.environment()
    env.update({"WORK_DIR": str(proj.dir), "STACK": "dev", "NAME_PREFIX": "ts"})
    proc = subprocess.run(["node", str(EXAMPLE / "bin" / "index.js"), action], env=env,
                          capture_output=True, text=True, timeout=600, cwd=proj.dir)
    from tests.helpers.pulumi_cli import Result

    proj.captured.append(Result(("node", action), proc.stdout, proc.stderr, proc.returncode))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("SUMMARY ")][-1]
    return line.removeprefix("SUMMARY ")


def test_typescript_reference_stack_through_the_automation_api(emulator, project_factory):
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed")
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "build-typescript.sh")], check=True,
                   timeout=900)
    proj = project_factory(PROGRAMS / "typescript_inline", name="ts", stack="dev")

    created = json.loads(_node(proj, "up"))
    # stack, 3 accounts, 3 role assignments, role, policy, policy assignment
    assert created.get("create") == 10, created
    masked = proj.outputs()
    assert masked["payments_api_credentials"] == "[secret]"
    assert masked["legacy_batch_api_key"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["payments_api_credentials"])
    assert creds["clientID"] == outs["payments_api_client_id"] and emulator.token(creds)
    names = {sa["name"] for sa in list_service_accounts(emulator)}
    assert {"ts-payments-api", "ts-analytics-etl", "ts-legacy-batch"} <= names
    assert "__provider" not in json.dumps(proj.export())

    assert set(json.loads(_node(proj, "up"))) == {"same"}
    _node(proj, "refresh")
    assert set(json.loads(_node(proj, "up"))) == {"same"}
    _node(proj, "destroy")
    assert not {"ts-payments-api", "ts-analytics-etl"} & {
        sa["name"] for sa in list_service_accounts(emulator)}

    hits = scan({"payments key": creds["privateKey"], "batch key": outs["legacy_batch_api_key"]},
                roots=[proj.backend_dir], texts=proj.captured_texts())
    assert hits == [], hits
