"""Fixtures for end-to-end tests: the real emulator process and the real Pulumi CLI."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.prerequisites import INSTALL_GO, INSTALL_NODE, require_tool
from tests.helpers.pulumi_cli import PulumiProject, Result, require_pulumi

PROGRAMS = Path(__file__).parent / "programs"
REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(tmp_path / "emulator") as emu:
        yield emu


def provider_env(emu: EmulatorProcess, *, with_credentials_file: bool = True) -> dict[str, str]:
    """What `make up` exports for the embedded emulator (the provider reads it in configure)."""
    env = {
        "SKYFLOW_MANAGEMENT_URL": emu.url,
        "SKYFLOW_ACCOUNT_ID": emu.account_id,
        "SKYFLOW_VAULT_ID": emu.vault_id,
    }
    if emu.ca_bundle:
        env["SKYFLOW_CA_BUNDLE"] = emu.ca_bundle
    if with_credentials_file:
        env["SKYFLOW_CREDENTIALS_FILE"] = str(emu.admin_credentials_path)
    return env


@pytest.fixture
def project_factory(tmp_path: Path, emulator: EmulatorProcess):
    """Build a PulumiProject for a program dir, wired to the emulator."""
    require_pulumi()
    made: list[PulumiProject] = []

    def make(program: str | Path, *, name: str = "proj", stack: str = "test",
             env: dict[str, str] | None = None, **kwargs: Any) -> PulumiProject:
        program_dir = program if isinstance(program, Path) else PROGRAMS / program
        proj = PulumiProject(program_dir, tmp_path / name,
                             env={**provider_env(emulator), **(env or {})}, **kwargs)
        proj.stack_init(stack)
        made.append(proj)
        return proj

    yield make


def list_service_accounts(emu: EmulatorProcess) -> list[dict[str, Any]]:
    """Every service account the emulator holds, read straight from its API."""
    r = emu.session().get(f"{emu.url}/v1/serviceAccounts", headers=emu.headers(),
                          params={"limit": "100"}, timeout=30)
    r.raise_for_status()
    return [item["serviceAccount"] for item in r.json().get("serviceAccounts", [])]


def api_requests(emu: EmulatorProcess, since: int = 0) -> list[dict[str, Any]]:
    """The emulator's request log from entry `since` on."""
    return emu.read_request_log()[since:]


def account_admin_role(emu: EmulatorProcess) -> str:
    """The id of the account's ACCOUNT_ADMIN role."""
    r = emu.session().get(f"{emu.url}/v1/roles", headers=emu.headers(), timeout=30, params={
        "resource.ID": emu.account_id, "resource.type": "ACCOUNT", "name": "ACCOUNT_ADMIN"})
    r.raise_for_status()
    return str(r.json()["roles"][0]["ID"])


def pipeline_bootstrap(emu: EmulatorProcess, issuer_url: str, jwks_uri: str, work_dir: Path,
                       repository: str, **config: str) -> PulumiProject:
    """``examples/pipeline/bootstrap`` itself, up with admin credentials (a workstation), trusting
    a test issuer instead of GitHub's: the deploy identity is ACCOUNT_ADMIN, the pull
    requests' VAULT_VIEWER of the emulator's vault."""
    require_pulumi()
    proj = PulumiProject(REPO_ROOT / "examples" / "pipeline" / "bootstrap", work_dir,
                         env=provider_env(emu))
    proj.stack_init("bootstrap")
    for key, value in {"repository": repository, "deployRoles[0]": account_admin_role(emu),
                       "previewRoles[0].vault_id": emu.vault_id,
                       "previewRoles[0].role_name": "VAULT_VIEWER", "issuer": issuer_url,
                       "jwksUri": jwks_uri, **config}.items():
        proj.run("config", "set", "--path", key, value)
    proj.up()
    return proj


# ----- both forms: the Python dynamic resources and the native provider plugin -----------------
#: The core scenarios run against both: ``dynamic`` runs the Python program ``programs/<name>``,
#: ``native`` its Pulumi YAML twin ``programs/<name>_yaml`` (same config keys and outputs) on
#: ``pulumi-resource-skyflow``.
FORMS = ("dynamic", "native")


@pytest.fixture(params=FORMS)
def form(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def program_for(name: str, form: str) -> Path:
    return PROGRAMS / (name if form == "dynamic" else f"{name}_yaml")


def type_token(name: str, form: str) -> str:
    """A resource's type in state: ``pulumi-python:dynamic/skyflow:<Name>`` or
    ``skyflow:index:<Name>``."""
    return f"pulumi-python:dynamic/skyflow:{name}" if form == "dynamic" \
        else f"skyflow:index:{name}"


# ----- the Automation API examples (examples/typescript, examples/go) ---------------------------

@pytest.fixture(scope="session")
def typescript_example() -> list[str]:
    """``node examples/typescript/bin/index.js``, built (scripts/build-typescript.sh, cached)."""
    require_tool("node", INSTALL_NODE)
    require_tool("npm", INSTALL_NODE)
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "build-typescript.sh")], check=True,
                   timeout=900)
    return ["node", str(REPO_ROOT / "examples" / "typescript" / "bin" / "index.js")]


@pytest.fixture(scope="session")
def go_example(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """examples/go built into a binary (once per session)."""
    require_tool("go", INSTALL_GO)
    binary = tmp_path_factory.mktemp("go-example") / "go-example"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=REPO_ROOT / "examples" / "go",
                   check=True, timeout=900,
                   env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false",
                        "GOTOOLCHAIN": "local"})
    return [str(binary)]


def run_automation(proj: PulumiProject, program: list[str], action: str,
                   env: Mapping[str, str] | None = None) -> dict[str, int]:
    """Run an Automation API example on ``proj``'s stack ``dev``: its SUMMARY (resource changes).

    The output is kept in ``proj.captured`` for the secret scans.
    """
    full_env = {**proj.environment(), "WORK_DIR": str(proj.dir), "STACK": "dev", **(env or {})}
    proc = subprocess.run([*program, action], env=full_env, capture_output=True, text=True,
                          timeout=600, cwd=proj.dir)
    proj.captured.append(Result((Path(program[-1]).name, action), proc.stdout, proc.stderr,
                                proc.returncode))
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("SUMMARY ")][-1]
    return dict(json.loads(line.removeprefix("SUMMARY ")))
