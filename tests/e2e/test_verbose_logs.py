"""The most verbose logs a user can ask for hold no secret, in every form of the provider.

Each form gets one small stack, created and destroyed at ``--debug -v=9 --logtostderr --logflow``
(tests/helpers/verbose_logs.py) with the admin credentials as *secret stack config*, the
provider's own loggers at DEBUG, and ``TMPDIR`` inside the run's work dir; then every generated
private key and API key and the admin key are searched for in everything printed and everything
under the work dir (backend, ``PULUMI_HOME`` and its gzip'd command logs, temp files, the
provider's DEBUG log) and the emulator's request log:

* YAML: examples/yaml through the CLI (``pulumi-language-yaml`` + ``pulumi-resource-skyflow``);
  before tools/pulumi-language-yaml/main.go this printed each new key 8 times;
* TypeScript and Go: examples/typescript and examples/go through the Automation API
  (``LOG_VERBOSITY=9`` sets the same flags); the Node.js SDK's own debug messages carry every
  resource's outputs, so examples/typescript filters them (docs/security.md);
* dynamic (Python): ``tests/e2e/test_security.py::test_debug_and_v9_runs_print_no_secret``.

Each test first checks that the run really was that verbose (engine, plugins, provider), so a
flag that stopped working cannot make it pass.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PROGRAMS, REPO_ROOT, list_service_accounts, run_automation
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.figures import record
from tests.helpers.pulumi_cli import PulumiProject
from tests.helpers.verbose_logs import VERBOSE_FLAGS, check_verbose_and_scan, verbose_env

pytestmark = pytest.mark.e2e


def secret_config_project(project_factory: Any, emulator: EmulatorProcess, program: Path,
                          name: str, work: Path) -> PulumiProject:
    """A stack whose provider gets the admin credentials as secret config (no file fallback)."""
    proj = project_factory(program, name=name, stack="dev",
                           env={**verbose_env(work), "SKYFLOW_CREDENTIALS_FILE": ""})
    proj.config_set("skyflow:credentials", json.dumps(emulator.admin_credentials), secret=True)
    return proj


def test_yaml_program_at_v9_with_logflow_prints_no_secret(emulator, project_factory,
                                                         tmp_path: Path) -> None:
    work = tmp_path / "verbose"
    proj = secret_config_project(project_factory, emulator, REPO_ROOT / "examples" / "yaml",
                                 "yaml", work)
    proj.config_set("vaultId", emulator.vault_id)
    proj.config_set("namePrefix", "v9yaml")
    up = proj.run("up", "--yes", "--skip-preview", *VERBOSE_FLAGS)
    assert "8 created" in up.stdout, up.stdout[-3000:]
    outs = proj.outputs(show_secrets=True)
    proj.run("destroy", "--yes", "--skip-preview", *VERBOSE_FLAGS)
    assert not [s for s in list_service_accounts(emulator) if s["name"].startswith("v9yaml-")]

    # The YAML host logged every property at -v=9, each value replaced by our filter.
    assert up.stderr.count("Unmarshaling property for RPC[]: credentials=[value not logged]") \
        >= 1, up.stderr[-3000:]
    assert "apiKey=[value not logged]" in up.stderr
    record("verbose_logs_yaml", **check_verbose_and_scan(proj, emulator, work, {
        "payments private key": json.loads(outs["paymentsCredentials"])["privateKey"],
        "reporting API key": outs["reportingApiKey"],
        "admin private key (secret config)": emulator.admin_credentials["privateKey"],
    }, min_secrets=3))


@pytest.mark.parametrize("language", ["typescript", "go"])
def test_automation_api_program_at_v9_with_logflow_prints_no_secret(
        emulator, project_factory, tmp_path: Path, request: pytest.FixtureRequest,
        language: str) -> None:
    program: list[str] = request.getfixturevalue(f"{language}_example")
    work = tmp_path / "verbose"
    proj = secret_config_project(project_factory, emulator, PROGRAMS / f"{language}_inline",
                                 language, work)
    prefix = {"NAME_PREFIX": "v9ts"} if language == "typescript" else {}
    created = run_automation(proj, program, "up", env=prefix)
    assert created.get("create") == (10 if language == "typescript" else 3), created
    outs = proj.outputs(show_secrets=True)
    run_automation(proj, program, "destroy", env=prefix)
    admin = emulator.admin_credentials
    assert {s["ID"] for s in list_service_accounts(emulator)} == {admin["clientID"]}

    secrets = {"admin private key (secret config)": admin["privateKey"]}
    for key, value in outs.items():
        if key.endswith("credentials"):
            secrets[key] = json.loads(value)["privateKey"]
        elif key.endswith("api_key"):
            secrets[key] = value
    # typescript: 2 JWT accounts and 1 API-key account; go: 1 JWT account.
    expected = 4 if language == "typescript" else 2
    assert len(secrets) == expected, sorted(secrets)
    if language == "typescript":
        # The Node.js SDK logs every RegisterResource response at debug level (secret outputs
        # included); the example's filter keeps the message and drops the response.
        printed = "".join(r.stdout + r.stderr for r in proj.captured)
        assert "RegisterResource RPC finished: resource:sa-payments-api" in printed
        assert re.search(r"RegisterResource RPC finished: [^\n]*resp: \[response not logged\]",
                         printed), printed[-3000:]
    record(f"verbose_logs_{language}",
           **check_verbose_and_scan(proj, emulator, work, secrets, min_secrets=expected))
