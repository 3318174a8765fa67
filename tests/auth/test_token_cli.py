"""The skyflow-token CLI as users run it (a subprocess), against the real emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.fakes import creds_dict, issue_token
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.prerequisites import SETUP, require_file
from tests.helpers.secrets_scan import assert_no_secret_hits

VENV_SCRIPT = Path(sys.executable).parent / "skyflow-token"


def run(args: list[str], *, env: dict[str, str] | None = None, stdin: str | None = None,
        script: bool = False) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("SKYFLOW_") and k not in ("REQUESTS_CA_BUNDLE",
                                                          "CURL_CA_BUNDLE")}
    base.update(env or {})
    cmd = [str(VENV_SCRIPT)] if script else [sys.executable, "-m", "skyflow_provider.token_cli"]
    return subprocess.run(cmd + args, capture_output=True, text=True, env=base, input=stdin,
                          timeout=120, cwd=str(Path(__file__).resolve().parents[2]))


def _no_key(out: str, creds: dict[str, Any]) -> None:
    assert_no_secret_hits({"private key": creds["privateKey"]}, min_secrets=1,
                          texts={"skyflow-token output": out})
    assert "PRIVATE KEY" not in out


def test_token_printed(emu: EmulatorProcess) -> None:
    r = run(["--credentials", str(emu.admin_credentials_path), "--ca-bundle",
             str(emu.ca_bundle)])
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert len(r.stdout.splitlines()) == 1
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == \
        emu.admin_credentials["clientID"]
    _no_key(r.stdout + r.stderr, emu.admin_credentials)


def test_console_script_json(emu: EmulatorProcess) -> None:
    require_file(VENV_SCRIPT, f"{SETUP}: `pip install -e .` creates the skyflow-token script")
    r = run(["--credentials", str(emu.admin_credentials_path), "--json"],
            env={"SKYFLOW_CA_BUNDLE": str(emu.ca_bundle)}, script=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"token", "type", "expiry", "exp"}
    assert out["type"] == "Bearer"
    assert out["exp"] == jwt.decode(out["token"], options={"verify_signature": False})["exp"]
    assert out["expiry"].endswith("Z") and out["exp"] > time.time() + 3000


def test_env_and_stdin_sources_with_ctx_and_roles(emu: EmulatorProcess) -> None:
    text = emu.admin_credentials_path.read_text()
    r = run(["--json", "--ctx", '{"user_id": "u1"}'],
            env={"SKYFLOW_CREDENTIALS": text, "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle)})
    assert r.returncode == 0, r.stderr
    claims = jwt.decode(json.loads(r.stdout)["token"], options={"verify_signature": False})
    assert claims["context_identifier"] == {"user_id": "u1"}

    r = run(["--credentials", "-", "--ctx", "plain-ctx", "--ca-bundle", str(emu.ca_bundle)],
            stdin=text)
    assert r.returncode == 0, r.stderr
    claims = jwt.decode(r.stdout.strip(), options={"verify_signature": False})
    assert claims["context_identifier"] == "plain-ctx"

    r = run(["--json"], env={"SKYFLOW_CREDENTIALS_FILE": str(emu.admin_credentials_path),
                             "REQUESTS_CA_BUNDLE": str(emu.ca_bundle)})
    assert r.returncode == 0, r.stderr


def test_role_scoped(emu: EmulatorProcess, make_client: Any) -> None:
    roles = make_client().list_member_roles(emu.admin_credentials["clientID"])
    rid = roles[0]["role"]["ID"]
    r = run(["-c", str(emu.admin_credentials_path), "--role", rid, "--ca-bundle",
             str(emu.ca_bundle)])
    assert r.returncode == 0, r.stderr
    assert jwt.decode(r.stdout.strip(), options={"verify_signature": False})["scope"] == \
        f"role:{rid}"
    # a role the SA does not hold: refused by the server -> exit 1
    r = run(["-c", str(emu.admin_credentials_path), "--role", rid, "--role", "f" * 32,
             "--ca-bundle", str(emu.ca_bundle)])
    assert r.returncode == 1 and r.stdout == ""
    assert "HTTP 400" in r.stderr


def test_refused_by_server_exit_1(emu: EmulatorProcess, make_client: Any,
                                  tmp_path: Path) -> None:
    client = make_client()
    sa = client.create_service_account({"serviceAccount": {"name": "cli" + str(time.time_ns())}})
    client.delete_service_account(sa["clientID"])
    f = tmp_path / "credentials.json"
    creds = {k: sa[k] for k in ("clientID", "clientName", "tokenURI", "keyID", "privateKey",
                                "keyValidAfterTime", "keyValidBeforeTime", "keyAlgorithm")}
    f.write_text(json.dumps(creds))
    r = run(["--credentials", str(f), "--ca-bundle", str(emu.ca_bundle)])
    assert r.returncode == 1
    assert "HTTP 401" in r.stderr and r.stdout == ""
    _no_key(r.stdout + r.stderr, creds)


def test_unreachable_or_untrusted_exit_1(emu: EmulatorProcess) -> None:
    r = run(["--credentials", str(emu.admin_credentials_path)])  # no CA: TLS fails
    assert r.returncode == 1 and "TLS" in r.stderr and "--ca-bundle" in r.stderr


_BAD_INPUTS: list[tuple[str, list[str], dict[str, str], str | None, str]] = [
    ("no-credentials", [], {}, None, "no credentials"),
    ("missing-file", ["--credentials", "/nonexistent/c.json"], {}, None, "does not exist"),
    ("stdin-not-json", ["--credentials", "-"], {}, "nope", "not valid JSON"),
    ("env-not-json", [], {"SKYFLOW_CREDENTIALS": "{"}, None, "SKYFLOW_CREDENTIALS"),
    ("bad-ctx-json", ["--credentials", "-", "--ctx", "{oops"], {}, "CREDS", "--ctx"),
    ("bad-ctx-key", ["--credentials", "-", "--ctx", '{"a-b": 1}'], {}, "CREDS", "ctx key"),
    ("bad-role", ["--credentials", "-", "--role", "a b"], {}, "CREDS", "role id"),
    ("http-token-uri", ["--credentials", "-", "--token-uri", "http://example.com/t"], {},
     "CREDS", "only https"),
    ("missing-ca", ["--credentials", "-", "--ca-bundle", "/nonexistent.pem"], {}, "CREDS",
     "CA bundle"),
    ("unknown-flag", ["--bogus"], {}, None, "unrecognized arguments"),
    ("bad-key", ["--credentials", "-"], {}, "BADKEY", "privateKey"),
    ("check-garbage", ["--check", "not-a-token"], {}, None, "not a JWT"),
]


@pytest.mark.parametrize("args,env,stdin,fragment", [b[1:] for b in _BAD_INPUTS],
                         ids=[b[0] for b in _BAD_INPUTS])
def test_bad_input_exit_2(args: list[str], env: dict[str, str], stdin: str | None,
                          fragment: str) -> None:
    creds = creds_dict()
    if stdin == "CREDS":
        stdin = json.dumps(creds)
    elif stdin == "BADKEY":
        creds["privateKey"] = creds["privateKey"][:200]
        stdin = json.dumps(creds)
    r = run(args, env=env, stdin=stdin)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    _no_key(r.stderr, creds_dict())


def test_check() -> None:
    tok = issue_token(600)
    r = run(["--check", tok])
    assert r.returncode == 0 and r.stdout.strip().endswith("Z")
    r = run(["--check", "-"], stdin="Bearer " + tok)
    assert r.returncode == 0
    r = run(["--check", issue_token(-10)])
    assert r.returncode == 1 and r.stdout.strip() == "expired"
    r = run(["--check", tok, "--json"])
    assert json.loads(r.stdout)["expired"] is False


def test_help_has_examples() -> None:
    r = run(["--help"])
    assert r.returncode == 0
    for part in ("examples:", "--credentials", "--ctx", "--role", "--json", "--check",
                 "--ca-bundle", "exit codes"):
        assert part in r.stdout
