"""examples/go end to end: a Go program on the generated SDK (sdk/go) and the native plugin, run
as an Automation API inline program (no Go language host). up, no-op up, refresh, destroy."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.e2e.conftest import PROGRAMS, REPO_ROOT, list_service_accounts
from tests.helpers.pulumi_cli import Result
from tests.helpers.secrets_scan import scan

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "examples" / "go"


def _run(proj, binary: str, action: str) -> dict[str, int]:
    env = proj.environment()
    env.update({"WORK_DIR": str(proj.dir), "STACK": "dev"})
    proc = subprocess.run([binary, action], env=env, capture_output=True, text=True,
                          timeout=600, cwd=proj.dir)
    proj.captured.append(Result(("go-example", action), proc.stdout, proc.stderr,
                                proc.returncode))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("SUMMARY ")][-1]
    return json.loads(line.removeprefix("SUMMARY "))


def test_go_program_through_the_automation_api(emulator, project_factory, tmp_path):
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain")
    binary = str(tmp_path / "go-example")
    subprocess.run(["go", "build", "-o", binary, "."], cwd=EXAMPLE, check=True, timeout=900,
                   env={**proj_env(), "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false",
                        "GOTOOLCHAIN": "local"})
    proj = project_factory(PROGRAMS / "go_inline", name="go", stack="dev")
    assert _run(proj, binary, "up").get("create") == 3  # stack, account, role assignment
    assert proj.outputs()["credentials"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["credentials"])
    assert creds["clientID"] == outs["client_id"] and emulator.token(creds)
    assert set(_run(proj, binary, "up")) == {"same"}
    _run(proj, binary, "refresh")
    _run(proj, binary, "destroy")
    assert "go-payments-api" not in {sa["name"] for sa in list_service_accounts(emulator)}
    hits = scan({"key": creds["privateKey"]}, roots=[proj.backend_dir],
                texts=proj.captured_texts())
    assert hits == [], hits


def proj_env() -> dict[str, str]:
    import os

    return dict(os.environ)
