"""Issue 8: security end to end, plus the TLS/http policy of the provider.

* Verbose CLI runs (``--debug``; ``--debug -v=9 --logtostderr --logflow``) scanned for every
  generated secret,
  together with the backend, the stack config files, PULUMI_HOME and the emulator's request
  log; the hit counts are recorded (tests/results/reliability.json).
* Bad input fails at ``pulumi preview`` naming the property, with no traceback and zero API
  calls; malformed credentials fail naming the config key and create nothing.
* Under-privileged Skyflow credentials fail naming the missing permission and create nothing.
* The provider never turns TLS verification off and refuses plain http to remote hosts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import settings_from_config
from skyflow_provider.http.errors import ConfigError, TransportError
from tests.e2e.conftest import PROGRAMS, REPO_ROOT, api_requests, list_service_accounts
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.figures import record
from tests.helpers.pulumi_cli import PulumiProject, Result
from tests.helpers.secrets_scan import assert_no_secret_hits
from tests.helpers.tracebacks import assert_no_traceback
from tests.helpers.verbose_logs import VERBOSE_FLAGS, check_verbose_and_scan, verbose_env

pytestmark = pytest.mark.e2e

TOKEN_PATH = "/v1/auth/sa/oauth/token"


def faults(project_factory: Callable[..., PulumiProject], name: str,
           env: dict[str, str] | None = None, **config: str) -> PulumiProject:
    proj = project_factory(PROGRAMS / "faults", name=name, stack=name, env=env)
    for key, value in {"prefix": name, "types": "jwt,api,key,apikey", **config}.items():
        proj.config_set(key, value)
    return proj


def generated_secrets(proj: PulumiProject, emu: EmulatorProcess) -> dict[str, str]:
    found = {"admin private key": emu.admin_credentials["privateKey"]}
    for key, value in proj.outputs(show_secrets=True).items():
        if isinstance(value, str) and value:
            if key.endswith("_credentials"):
                found[key] = json.loads(value)["privateKey"]
            elif key.endswith("_api_key"):
                found[key] = value
    return found


def others(emu: EmulatorProcess) -> list[dict[str, Any]]:
    admin = emu.admin_credentials["clientID"]
    return [s for s in list_service_accounts(emu) if s["ID"] != admin]


def one_line_error(result: Result) -> str:
    return "\n".join(line for line in result.output.splitlines()
                     if "error" in line.lower() or "skyflow" in line.lower())


# ----- verbose output -------------------------------------------------------------------------

def test_debug_and_v9_runs_print_no_secret(emulator: EmulatorProcess,
                                           project_factory: Callable[..., PulumiProject],
                                           tmp_path: Path) -> None:
    """``--debug``, then the most verbose run there is (``--debug -v=9 --logtostderr --logflow``,
    the provider's loggers at DEBUG; tests/helpers/verbose_logs.py): the dynamic form's part of
    tests/e2e/test_verbose_logs.py."""
    figures: dict[str, Any] = {}
    for mode, extra in (("debug", ("--debug",)), ("v9", VERBOSE_FLAGS)):
        # In the -v=9 run the admin credentials are *secret stack config*, which the engine
        # hands to the dynamic provider (and logs as its inputs at -v=7 and up).
        work = tmp_path / f"verbose-{mode}-logs"
        env = {**verbose_env(work), "SKYFLOW_CREDENTIALS_FILE": ""} if mode == "v9" else None
        proj = faults(project_factory, f"verbose-{mode}", env=env)
        if mode == "v9":
            proj.config_set("skyflow:credentials", json.dumps(emulator.admin_credentials),
                            secret=True)
        result = proj.run("up", "--yes", "--skip-preview", *extra)
        secrets = generated_secrets(proj, emulator)
        # Generated in this very run: the creates' responses carried them through the engine.
        figures[mode] = {"output_lines": len(result.output.splitlines()),
                         "output_bytes": len(result.output)}
        if mode == "debug":
            report = assert_no_secret_hits(
                secrets, min_secrets=5,  # admin, 2 private keys, 2 API keys
                roots=[proj.work_dir, emulator.data_dir / "requests.jsonl"],
                texts=proj.captured_texts())
            figures[mode].update(secrets_scanned=report.secrets, secret_hits=0)
            continue
        proj.run("destroy", "--yes", "--skip-preview", *extra)
        assert not [sa for sa in others(emulator) if sa["name"].startswith("verbose-v9")]
        figures[mode].update(check_verbose_and_scan(proj, emulator, work, secrets, min_secrets=5))
        text = result.stderr
        figures[mode]["shows"] = {
            "grpc_provider_calls": len(re.findall(r"Provider\[", text)),
            "check_or_diff_lines": len(re.findall(r"\.(Check|Diff)\(", text)),
            "create_lines": len(re.findall(r"\.Create\(", text)),
            "provider_inputs_logged": len(re.findall(r"Planner decided to create", text)),
            "secret_config_shown_as_marker": "skyflow:credentials:{[secret]}" in text,
        }
        assert figures[mode]["shows"]["secret_config_shown_as_marker"], text[-3000:]
    record("verbose_cli_output_secret_scan", **figures)


# ----- bad input at preview -------------------------------------------------------------------

@pytest.mark.parametrize("name,fragment", [("bad/name", "path separators"),
                                           ("pay\u202eipa", "invisible format character")])
def test_bad_value_fails_at_preview_naming_the_property_without_api_calls(
        emulator: EmulatorProcess, project_factory: Callable[..., PulumiProject],
        name: str, fragment: str) -> None:
    proj = project_factory("one_account", name="badinput")
    proj.config_set("name", name)
    mark = len(api_requests(emulator))
    result = proj.preview(check=False)
    calls = api_requests(emulator, mark)
    assert result.returncode != 0
    assert fragment in result.output and "name" in result.output, result.output
    assert_no_traceback(result)
    assert calls == [], calls
    assert others(emulator) == []
    record(f"preview_rejects_bad_name_{'slash' if '/' in name else 'bidi'}", api_calls=0,
           traceback=False, message=one_line_error(result)[:300])


# ----- malformed credentials and stack config -------------------------------------------------

def _truncated(emu: EmulatorProcess) -> str:
    creds = dict(emu.admin_credentials)
    creds["privateKey"] = creds["privateKey"][:200]
    return json.dumps(creds)


def _missing_key_id(emu: EmulatorProcess) -> str:
    creds = dict(emu.admin_credentials)
    del creds["keyID"]
    return json.dumps(creds)


def _wrong_key(emu: EmulatorProcess) -> str:
    """Well-formed, but signed by a key Skyflow does not know (rotated away, or another one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    creds = dict(emu.admin_credentials)
    creds["privateKey"] = key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
    return json.dumps(creds)


@pytest.mark.parametrize("case,make,fragments,at_preview", [
    ("truncated-pem", _truncated, ["skyflow:credentials", "privateKey"], True),
    ("missing-keyID", _missing_key_id, ["skyflow:credentials", "keyID"], True),
    ("unknown-key", _wrong_key, ["HTTP 401", "rotate"], False),
])
def test_malformed_credentials_fail_naming_the_key_and_create_nothing(
        emulator: EmulatorProcess, project_factory: Callable[..., PulumiProject],
        case: str, make: Callable[[EmulatorProcess], str], fragments: list[str],
        at_preview: bool) -> None:
    proj = project_factory("one_account", name=f"creds-{case}",
                           env={"SKYFLOW_CREDENTIALS_FILE": ""})
    proj.config_set("name", "creds-test")
    bad = make(emulator)
    proj.config_set("skyflow:credentials", bad, secret=True)
    mark = len(api_requests(emulator))
    preview = proj.preview(check=False)
    # Malformed credentials are knowable locally: preview fails, naming the key, with no API
    # call. A well-formed key Skyflow does not know can only be refused by Skyflow, at `up`.
    assert (preview.returncode != 0) is at_preview, preview.output
    if at_preview:
        for fragment in fragments:
            assert fragment in preview.output, preview.output
        assert_no_traceback(preview)
    assert api_requests(emulator, mark) == []
    result = proj.up(check=False)
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert_no_traceback(result)
    assert others(emulator) == []
    # Every case carries a private key (the truncated one too: its first 200 characters).
    assert_no_secret_hits({"key": json.loads(bad)["privateKey"],
                           "admin": emulator.admin_credentials["privateKey"]},
                          min_secrets=2, roots=[proj.backend_dir], texts=proj.captured_texts())
    record(f"malformed_credentials_{case}", created=0, traceback=False, secret_hits=0,
           message=one_line_error(result)[:300])


def test_malformed_stack_config_fails_at_preview_naming_the_key(
        emulator: EmulatorProcess, project_factory: Callable[..., PulumiProject],
        tmp_path: Path) -> None:
    prog = tmp_path / "reference-src"
    prog.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (prog / name).write_text((REPO_ROOT / name).read_text())
    proj = project_factory(prog, name="badconfig", stack="badconfig")
    path = proj.dir / "Pulumi.badconfig.yaml"
    path.write_text(path.read_text() + "config:\n  skyflow-identities:services:\n"
                    "    - name: svc\n      roles: [NOT_A_ROLE]\n")
    mark = len(api_requests(emulator))
    result = proj.preview(check=False)
    assert result.returncode != 0
    assert "services[0].roles" in result.output and "NOT_A_ROLE" in result.output, result.output
    assert api_requests(emulator, mark) == []
    assert_no_traceback(result)  # one line: a pulumi.RunError
    record("malformed_stack_config_preview", api_calls=0, traceback=False,
           message=one_line_error(result)[:300])


# ----- under-privileged credentials -----------------------------------------------------------

def test_under_privileged_credentials_fail_naming_the_permission_and_create_nothing(
        emulator: EmulatorProcess, project_factory: Callable[..., PulumiProject]) -> None:
    s, headers = emulator.session(), emulator.headers()
    r = s.post(f"{emulator.url}/v1/serviceAccounts", headers=headers, timeout=30,
               json={"serviceAccount": {"name": "viewer-only"}})
    r.raise_for_status()
    viewer_creds = r.json()
    roles = s.get(f"{emulator.url}/v1/roles", headers=headers, timeout=30,
                  params={"resource.ID": emulator.vault_id, "resource.type": "VAULT"}).json()
    viewer = next(x["ID"] for x in roles["roles"] if x["definition"]["name"] == "VAULT_VIEWER")
    s.post(f"{emulator.url}/v1/roles/assign", headers=headers, timeout=30, json={
        "ID": viewer, "members": [{"ID": viewer_creds["clientID"], "type": "SERVICE_ACCOUNT"}]}
           ).raise_for_status()
    before = {x["ID"] for x in list_service_accounts(emulator)}
    proj = project_factory("one_account", name="lowpriv", env={"SKYFLOW_CREDENTIALS_FILE": ""})
    proj.config_set("name", "lowpriv-svc")
    proj.config_set("skyflow:credentials", json.dumps(viewer_creds), secret=True)
    result = proj.up(check=False)
    assert result.returncode != 0
    assert "serviceAccount.create" in result.output, result.output
    assert "HTTP 403" in result.output, result.output
    assert_no_traceback(result)
    assert {x["ID"] for x in list_service_accounts(emulator)} == before
    assert_no_secret_hits({"viewer key": viewer_creds["privateKey"],
                           "admin key": emulator.admin_credentials["privateKey"]},
                          min_secrets=2, roots=[proj.backend_dir], texts=proj.captured_texts())
    record("under_privileged_credentials", created=0, names_permission=True, secret_hits=0,
           message=one_line_error(result)[:300])


# ----- TLS and http policy (no CLI needed) ----------------------------------------------------

def test_tls_verification_is_never_disabled_in_the_code() -> None:
    offenders = []
    for path in (REPO_ROOT / "skyflow_provider").rglob("*.py"):
        text = path.read_text()
        for pattern in (r"verify\s*=\s*False", r"CERT_NONE", r"check_hostname\s*=\s*False",
                        r"_create_unverified_context", r"disable_warnings"):
            if re.search(pattern, text):
                offenders.append(f"{path.name}: {pattern}")
    assert offenders == []


@pytest.mark.parametrize("url", ["http://manage.skyflowapis.com", "http://10.0.0.1:8080",
                                 "http://[2001:db8::1]", "http://localhost.evil.com"])
def test_plain_http_to_a_remote_host_is_refused_before_any_request(url: str) -> None:
    env = {"SKYFLOW_ACCOUNT_ID": "acc1", "SKYFLOW_MANAGEMENT_URL": url,
           "SKYFLOW_API_KEY": "sky-ab12C-" + "0123456789abcdef" * 2}
    with pytest.raises(ConfigError) as info:
        ManagementClient(settings_from_config(lambda _k: None, env))
    assert "https" in str(info.value) and "SKYFLOW_MANAGEMENT_URL" in str(info.value)


def test_tls_verification_failure_is_refused_not_bypassed(emulator: EmulatorProcess) -> None:
    """An https emulator whose CA we do not trust: the call fails; nothing falls back."""
    env = {"SKYFLOW_ACCOUNT_ID": emulator.account_id, "SKYFLOW_MANAGEMENT_URL": emulator.url,
           "SKYFLOW_CREDENTIALS_FILE": str(emulator.admin_credentials_path)}
    client = ManagementClient(settings_from_config(lambda _k: None, env), retry_total=0)
    before = len(emulator.read_request_log())
    with pytest.raises(TransportError, match="TLS verification failed for the token endpoint") \
            as info:
        client.list_service_accounts()
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) and "SKYFLOW_CA_BUNDLE" in str(info.value)
    assert emulator.read_request_log()[before:] == []  # refused at the handshake: nothing sent
