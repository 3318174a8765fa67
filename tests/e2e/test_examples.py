"""Issue 5's examples (examples/*) run with the real CLI against the emulator.

Each test drives an example the way its README tells a user to, then checks the result on the
emulator itself (request log, authorization answers) and scans every byte it produced for the
generated secrets.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from tests.e2e.conftest import REPO_ROOT, api_requests, list_service_accounts, pipeline_bootstrap
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.oidc_issuer import OidcIssuer
from tests.helpers.pulumi_cli import REPO_VENV, PulumiProject, require_pulumi
from tests.helpers.secrets_scan import assert_no_secret_hits, gunzip, iter_files

pytestmark = pytest.mark.e2e

EXAMPLES = REPO_ROOT / "examples"
TOKEN_PATH = "/v1/auth/sa/oauth/token"


@pytest.fixture
def reference_program(tmp_path: Path) -> Path:
    """The root program alone (Pulumi.yaml + __main__.py), the producer of credentials."""
    prog = tmp_path / "reference-src"
    prog.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO_ROOT / name, prog / name)
    return prog


def assert_no_plaintext(needles: dict[str, str], roots: list[Path],
                        *projects: PulumiProject, min_secrets: int,
                        texts: dict[str, str] | None = None) -> None:
    """Zero hits for every secret across backend files and everything the CLI printed."""
    captured: dict[str, str] = dict(texts or {})
    for i, proj in enumerate(projects):
        captured.update({f"[{i}] {k}": v for k, v in proj.captured_texts().items()})
    assert_no_secret_hits(needles, min_secrets=min_secrets, roots=roots, texts=captured)


def token_exchanges(emu: EmulatorProcess, since: int = 0) -> list[dict[str, Any]]:
    return [r for r in api_requests(emu, since) if r.get("template") == TOKEN_PATH]


# --------------------------------------------------------------------------- consumer-stack


def test_consumer_stack_reads_credentials_through_stack_reference(
        emulator, project_factory, reference_program):
    producer = project_factory(reference_program, name="producer", stack="dev")
    producer.config_set("services", json.dumps(
        [{"name": "payments-api", "auth_type": "jwt", "roles": ["VAULT_EDITOR"]}]))
    producer.up()
    produced = producer.outputs(show_secrets=True)
    creds = json.loads(produced["payments-api_credentials"])
    assert producer.outputs()["payments-api_credentials"] == "[secret]"

    # The consumer shares the producer's backend and passphrase (one state store per team).
    consumer = project_factory(
        EXAMPLES / "consumer-stack", name="consumer", stack="dev",
        passphrase=producer.passphrase,
        env={"PULUMI_BACKEND_URL": f"file://{producer.backend_dir}"},
    )
    before = len(api_requests(emulator))
    consumer.preview()
    consumer.up()

    # The token came from the emulator for payments-api (preview mints one too: it fails early
    # when the credentials are revoked), and only its expiry left the program.
    minted = [r for r in token_exchanges(emulator, before) if r["subject"] == creds["clientID"]]
    assert len(minted) >= 2 and all(r["status"] == 200 for r in minted), minted
    out = consumer.outputs()
    assert set(out) == {"client_id", "service_config", "token_expires_at"}, out
    assert out["client_id"] == creds["clientID"]
    assert out["service_config"] == "[secret]"
    expires = datetime.strptime(out["token_expires_at"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    assert 3000 < expires - time.time() <= 3600 + 60, out["token_expires_at"]

    # The credentials arrived intact and stay encrypted in the consumer's state.
    config = json.loads(consumer.outputs(show_secrets=True)["service_config"])
    assert config["clientID"] == creds["clientID"]
    assert config["credentials"] == creds
    exported = consumer.export()
    outputs = next(r for r in exported["deployment"]["resources"]
                   if r["type"] == "pulumi:pulumi:Stack")["outputs"]
    assert "4dabf18193072939515e22adb298388d" in json.dumps(outputs["service_config"]), outputs

    # require_output: a service the producer does not export stops the consumer at preview.
    consumer.config_set("service", "no-such-service")
    missing = consumer.preview(check=False)
    # Both outputs are required; whichever lookup fails first is the one named.
    assert missing.returncode != 0 and any(
        f"no-such-service_{name}" in missing.output for name in ("client_id", "credentials")), \
        missing.output

    consumer.destroy()
    producer.destroy()
    assert_no_plaintext({"payments-api private key": creds["privateKey"],
                         "admin private key": emulator.admin_credentials["privateKey"]},
                        [producer.backend_dir, consumer.backend_dir, consumer.home_dir,
                         producer.dir, consumer.dir],
                        producer, consumer, min_secrets=2)


# --------------------------------------------------------------------------- api-key-service

VIEWER_PERMISSIONS = {"vault.read", "role.read", "policy.read", "record.read"}


def management_answers(emu: EmulatorProcess, bearer: str) -> dict[str, int]:
    """Status codes of a few management calls made with ``bearer`` (token or API key)."""
    s, url = emu.session(), emu.url
    headers = {"Authorization": f"Bearer {bearer}", "X-Skyflow-Account-ID": emu.account_id}
    vault = {"resource.ID": emu.vault_id, "resource.type": "VAULT"}
    return {
        "list vault roles (role.read)": s.get(f"{url}/v1/roles", params=vault,
                                              headers=headers, timeout=30).status_code,
        "list vault policies (policy.read)": s.get(f"{url}/v1/policies", params=vault,
                                                   headers=headers, timeout=30).status_code,
        "create vault role (role.create)": s.post(
            f"{url}/v1/roles", headers=headers, timeout=30,
            json={"resource": {"ID": emu.vault_id, "type": "VAULT"},
                  "definition": {"name": "not-allowed", "permissions": ["vault.read"]}},
        ).status_code,
        "list service accounts (serviceAccount.read)": s.get(
            f"{url}/v1/serviceAccounts", headers=headers, timeout=30).status_code,
    }


VIEWER_ANSWERS = {
    "list vault roles (role.read)": 200,
    "list vault policies (policy.read)": 200,
    "create vault role (role.create)": 403,
    "list service accounts (serviceAccount.read)": 403,
}


def member_permissions(emu: EmulatorProcess, member_id: str) -> set[str]:
    r = emu.session().get(f"{emu.url}/v1/members/{member_id}/permissions", timeout=30,
                          headers=emu.headers(), params={"member.type": "SERVICE_ACCOUNT"})
    r.raise_for_status()
    return set(r.json()["permissions"])


def test_api_key_service_keys_act_exactly_per_their_role(emulator, project_factory):
    proj = project_factory(EXAMPLES / "api-key-service", name="api-key-service")
    proj.up()
    masked = proj.outputs()
    assert masked["api_key"] == "[secret]" and masked["second_api_key"] == "[secret]", masked
    outs = proj.outputs(show_secrets=True)
    keys = {"first api key": outs["api_key"], "second api key": outs["second_api_key"]}
    assert outs["api_key_id"] != outs["second_api_key_id"]

    # The emulator grants the account exactly VAULT_VIEWER, and both keys act with exactly that:
    # vault reads pass, a vault write and an account-level read are refused.
    assert member_permissions(emulator, outs["client_id"]) == VIEWER_PERMISSIONS
    for label, key in keys.items():
        assert management_answers(emulator, key) == VIEWER_ANSWERS, label
    logged = [r for r in api_requests(emulator) if r.get("subject") == outs["client_id"]]
    assert len(logged) == 2 * len(VIEWER_ANSWERS), logged  # the calls ran as this account

    # Rotation: a new keepers value replaces the second key; the old one stops working at once.
    proj.config_set("keyRotation", "2")
    proj.up()
    rotated = proj.outputs(show_secrets=True)
    assert rotated["second_api_key_id"] != outs["second_api_key_id"]
    assert rotated["api_key"] == outs["api_key"]
    keys["rotated api key"] = rotated["second_api_key"]
    assert management_answers(emulator, rotated["second_api_key"]) == VIEWER_ANSWERS
    assert set(management_answers(emulator, outs["second_api_key"]).values()) == {401}

    proj.destroy()
    for label, key in keys.items():
        assert set(management_answers(emulator, key).values()) == {401}, label
    assert_no_plaintext(keys, [proj.backend_dir, proj.dir, proj.home_dir,
                               emulator.data_dir / "requests.jsonl"], proj, min_secrets=3)


# --------------------------------------------------------------------------- scoped-tokens

SKYFLOW_TOKEN = REPO_VENV / "bin" / "skyflow-token"


def skyflow_token(emu: EmulatorProcess, creds_file: Path, *args: str
                  ) -> subprocess.CompletedProcess[str]:
    """The real ``skyflow-token`` CLI, as the example's README runs it (stdout = the token)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYFLOW_")}
    if emu.ca_bundle:
        env["SKYFLOW_CA_BUNDLE"] = emu.ca_bundle
    return subprocess.run([str(SKYFLOW_TOKEN), "--credentials", str(creds_file), "--json", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def unverified_claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_scoped_tokens_carry_context_and_one_role(emulator, project_factory, tmp_path):
    proj = project_factory(EXAMPLES / "scoped-tokens", name="scoped-tokens")
    proj.up()
    assert proj.outputs()["credentials"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    viewer, pipeline = outs["viewer_role_id"], outs["pipeline_role_id"]
    client_id = outs["client_id"]
    creds_file = tmp_path / "support-console-credentials.json"
    creds_file.touch(mode=0o600)
    creds_file.write_text(outs["credentials"])
    assert creds_file.stat().st_mode & 0o077 == 0
    private_key = json.loads(outs["credentials"])["privateKey"]
    stderrs: dict[str, str] = {}
    tokens: dict[str, str] = {}

    def mint(label: str, *args: str) -> subprocess.CompletedProcess[str]:
        result = skyflow_token(emulator, creds_file, *args)
        stderrs[label] = result.stderr
        if result.returncode == 0:
            tokens[label] = json.loads(result.stdout)["token"]
        return result

    # One role and an end-user context: the emulator puts both into the token.
    support_ctx = {"agent_id": "a-17", "team": "support", "ticket": "T42"}
    assert mint("viewer", "--role", viewer, "--ctx", json.dumps(support_ctx)
                ).returncode == 0, stderrs["viewer"]
    claims = unverified_claims(tokens["viewer"])
    assert claims["sub"] == client_id
    assert claims["scope"] == f"role:{viewer}"
    assert claims["context_identifier"] == support_ctx
    assert mint("pipeline", "--role", pipeline, "--ctx", "agent-a-17").returncode == 0
    claims = unverified_claims(tokens["pipeline"])
    assert claims["scope"] == f"role:{pipeline}" and claims["context_identifier"] == "agent-a-17"

    # The scope is enforced: only the viewer-scoped token may read the vault's roles.
    assert management_answers(emulator, tokens["viewer"]) == VIEWER_ANSWERS
    assert set(management_answers(emulator, tokens["pipeline"]).values()) == {403}
    # ...and so is the context: VAULT_VIEWER is conditional on ctx.team == 'support'.
    assert outs["viewer_condition"] == "request.context.team == 'support'"
    assert mint("billing", "--role", viewer, "--ctx", '{"agent_id": "b-9", "team": "billing"}'
                ).returncode == 0
    assert set(management_answers(emulator, tokens["billing"]).values()) == {403}
    assert mint("string ctx", "--role", viewer, "--ctx", "agent-a-17").returncode == 0
    assert set(management_answers(emulator, tokens["string ctx"]).values()) == {403}

    # enforce_context_id: no ctx, no token (401 from the exchange, exit code 1, a clear reason).
    since = len(api_requests(emulator))
    refused = mint("no ctx", "--role", viewer)
    assert refused.returncode == 1 and refused.stdout == "", refused.stdout
    assert "ctx" in refused.stderr and "enforceContextID" in refused.stderr, refused.stderr
    assert [r["status"] for r in token_exchanges(emulator, since)] == [401]
    # A role the account does not hold cannot be put into the scope.
    editor = mint("not assigned", "--role", "VAULT_EDITOR", "--ctx", "agent-a-17")
    assert editor.returncode == 1 and "scope" in editor.stderr.lower(), editor.stderr

    # The library path of the README: the same token options in-process.
    from skyflow_provider.auth.tokens import generate_bearer_token

    token, token_type = generate_bearer_token(
        str(creds_file), {"ctx": {"agent_id": "a-17", "team": "support"}, "role_ids": [viewer]},
        ca_bundle=emulator.ca_bundle)
    assert token_type == "Bearer"
    assert unverified_claims(token)["scope"] == f"role:{viewer}"
    assert management_answers(emulator, token) == VIEWER_ANSWERS
    tokens["library"] = token

    proj.destroy()
    gone = mint("after destroy", "--ctx", "agent-a-17")
    assert gone.returncode == 1 and "invalid clientID" in gone.stderr, gone.stderr
    creds_file.unlink()
    assert_no_plaintext({"private key": private_key, **tokens},
                        [proj.backend_dir, proj.dir, proj.home_dir,
                         emulator.data_dir / "requests.jsonl"],
                        proj, min_secrets=6,
                        texts={f"skyflow-token {k} stderr": v for k, v in stderrs.items()})


# --------------------------------------------------------------------------- pipeline

PIPELINE = EXAMPLES / "pipeline"
WORKFLOWS = PIPELINE / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "skyflow.yml"
STORE_EXPR = re.compile(r"^\$\{\{\s*(secrets|vars)\.([A-Za-z0-9_]+)\s*\}\}$")
SENSITIVE_ENV = {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN"}
#: what a keyless workflow must never carry, in any form
CREDENTIAL_ENV = {"SKYFLOW_CREDENTIALS", "SKYFLOW_CREDENTIALS_FILE", "SKYFLOW_API_KEY",
                  "SKYFLOW_BEARER_TOKEN"}
JWT_RE = re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}\.")
LITERAL_SECRET_PATTERNS = {
    "PEM block": re.compile(r"-----BEGIN"),
    "credentials.json value": re.compile(r"[\"']privateKey[\"']\s*:\s*[\"']"),
    "Skyflow API key": re.compile(r"sky-[A-Za-z0-9]{5}-[a-fA-F0-9]{32}"),
    "JWT": JWT_RE,
}
PIPELINE_REPO = "acme/identities"


def load_workflow() -> dict[str, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    if True in doc:  # YAML 1.1 reads a bare `on:` key as the boolean true
        doc["on"] = doc.pop(True)
    return dict(doc)


def workflow_step(doc: dict[str, Any], job: str, step_id: str) -> tuple[dict[str, Any], str]:
    """(the step's effective env, unresolved; its run script): workflow < job < step env."""
    job_doc = doc["jobs"][job]
    step = next(s for s in job_doc["steps"] if s.get("id") == step_id)
    env = {**(doc.get("env") or {}), **(job_doc.get("env") or {}), **(step.get("env") or {})}
    return {k: str(v) for k, v in env.items()}, str(step["run"])


def resolve(env: dict[str, str], store: dict[str, dict[str, str]]) -> dict[str, str]:
    """Replace ``${{ secrets.X }}`` / ``${{ vars.X }}`` from a CI store; anything else fails."""
    out = {}
    for key, value in env.items():
        m = STORE_EXPR.match(value.strip())
        if m:
            out[key] = store[m.group(1)][m.group(2)]  # KeyError: the workflow needs a new one
        else:
            assert "${{" not in value, f"{key}: unsupported expression {value!r}"
            out[key] = value
    return out


def test_pipeline_workflow_is_keyless_with_no_secret_literals():
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == ["skyflow.yml"]  # one per purpose
    doc = load_workflow()
    on = doc["on"]
    assert set(on) == {"pull_request", "push"}, on
    assert on["pull_request"]["branches"] == ["main"] and on["push"]["branches"] == ["main"]
    preview, up = doc["jobs"]["preview"], doc["jobs"]["up"]
    assert preview["if"] == "github.event_name == 'pull_request'"
    assert "github.event_name == 'push'" in up["if"] and "refs/heads/main" in up["if"]
    assert workflow_step(doc, "preview", "preview")[1].endswith("ci-preview.sh")
    assert workflow_step(doc, "up", "up")[1].endswith("ci-up.sh")
    assert up["concurrency"]["cancel-in-progress"] is False

    # Keyless: the jobs may ask for their OIDC token, and nothing else is granted.
    assert doc["permissions"] == {"contents": "read", "id-token": "write"}
    for job, var in (("preview", "SKYFLOW_PREVIEW_SERVICE_ACCOUNT_ID"),
                     ("up", "SKYFLOW_DEPLOY_SERVICE_ACCOUNT_ID")):
        env, _ = workflow_step(doc, job, job)
        assert env["SKYFLOW_OIDC_TOKEN_SOURCE"] == "github-actions"
        assert env["SKYFLOW_OIDC_SERVICE_ACCOUNT_ID"] == f"${{{{ vars.{var} }}}}"
        assert "SKYFLOW_OIDC_AUDIENCE" not in env  # the stack's tag is the audience
        assert not CREDENTIAL_ENV & set(env), env
    text = WORKFLOW.read_text()
    assert not [k for k in CREDENTIAL_ENV if k in text]
    # The one secret left (the state's passphrase) comes from the store, into the Pulumi steps.
    for key in SENSITIVE_ENV:
        for m in re.finditer(rf"^\s*{key}:\s*(.+)$", text, re.M):
            assert m.group(1).strip().startswith("${{ secrets."), m[0]
    assert "secrets." not in json.dumps(doc.get("env") or {})
    for job_name, job in doc["jobs"].items():
        for step in job["steps"]:
            if "secrets." in json.dumps(step):
                assert step.get("id") in ("preview", "up"), (job_name, step)

    # No literal secret anywhere in the example (workflow, scripts, bootstrap, README).
    for path in sorted(p for p in PIPELINE.rglob("*") if p.is_file()):
        body = path.read_text()
        if path.suffix != ".md":  # the README may name the field it explains
            for label, pattern in LITERAL_SECRET_PATTERNS.items():
                assert not pattern.search(body), f"{path}: {label}"
        if path.suffix == ".sh":
            assert not re.search(r"^\s*set\s+-\w*x", body, re.M), f"{path} traces commands"


def checkout(src_files: dict[str, Path], work: Path) -> PulumiProject:
    """A fresh "actions/checkout" of a repo holding the reference program and the CI scripts."""
    src = work / "repo"
    (src / "examples" / "pipeline").mkdir(parents=True)
    for name, path in src_files.items():
        shutil.copy(path, src / name)
    shutil.copytree(PIPELINE / "scripts", src / "examples" / "pipeline" / "scripts")
    # PulumiProject copies it to work/program with the virtualenv made absolute: the workflow's
    # "Install the program's virtualenv" step, done once for the whole test session.
    return PulumiProject(src, work)


def test_pipeline_bootstrap_then_keyless_preview_and_up(tmp_path):
    """examples/pipeline as a user runs it: the REAL bootstrap program once with admin
    credentials (a workstation), then the workflow's steps exactly as written, keyless, against
    the emulator and a test OIDC issuer answering like GitHub's ACTIONS_ID_TOKEN_REQUEST_URL."""
    require_pulumi()
    started = time.monotonic()
    with OidcIssuer() as idp, EmulatorProcess(tmp_path / "emulator",
                                              extra_args=["--trust-ca", str(idp.ca_path)]) as emu:
        assert emu.ca_bundle
        trust = tmp_path / "ca.pem"  # the emulator's CA and the issuer's (real ones need none)
        trust.write_text(Path(emu.ca_bundle).read_text() + Path(idp.ca_path).read_text())

        # 1. Once, from a workstation, with admin credentials: the bootstrap stack.
        boot = pipeline_bootstrap(emu, idp.url, idp.jwks_uri, tmp_path / "bootstrap",
                                  PIPELINE_REPO, environment="skyflow-prod")
        ids = boot.outputs()
        deploy_id, preview_id = ids["deploy_service_account_id"], ids["preview_service_account_id"]

        doc = load_workflow()
        store = {  # the CI store: ids and URLs, and the state's passphrase; no Skyflow secret
            "secrets": {"PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24)},
            "vars": {"PULUMI_BACKEND_URL": f"file://{tmp_path / 'ci-state'}",
                     "SKYFLOW_ACCOUNT_ID": emu.account_id, "SKYFLOW_MANAGEMENT_URL": emu.url,
                     "SKYFLOW_VAULT_ID": emu.vault_id,
                     "SKYFLOW_DEPLOY_SERVICE_ACCOUNT_ID": deploy_id,
                     "SKYFLOW_PREVIEW_SERVICE_ACCOUNT_ID": preview_id},
        }
        (tmp_path / "ci-state").mkdir()
        src_files = {"Pulumi.yaml": REPO_ROOT / "Pulumi.yaml",
                     "__main__.py": REPO_ROOT / "__main__.py"}
        summary = tmp_path / "step-summary.md"
        visible: dict[str, str] = {}
        runs: list[PulumiProject] = []
        envs: list[dict[str, str]] = []

        def run_job(job: str, github: dict[str, str], *, as_job: str | None = None,
                    ok: bool = True) -> subprocess.CompletedProcess[str]:
            """One job on a fresh runner (new checkout, new PULUMI_HOME): the step's env only,
            resolved from the store, plus what GitHub gives a job with id-token: write.
            ``as_job``: run this job's script with another job's env (a pull request that
            edited the workflow to deploy)."""
            n = len(runs)
            proj = checkout(src_files, tmp_path / f"run{n}-{job}")
            runs.append(proj)
            env = {k: v for k, v in proj.environment().items()
                   if not k.startswith("SKYFLOW_")
                   and k not in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE",
                                 "PULUMI_SKIP_CONFIRMATIONS")}
            step_env, _ = workflow_step(doc, as_job or job, as_job or job)
            env.update(resolve(step_env, store))
            env.update(idp.github_env(), CI="true", GITHUB_ACTIONS="true",
                       GITHUB_EVENT_NAME=github.get("event_name", "push"),
                       GITHUB_STEP_SUMMARY=str(summary), SKYFLOW_CA_BUNDLE=str(trust))
            envs.append(env)
            idp.github = dict(github)
            result = subprocess.run(["bash", "-e", "-c", workflow_step(doc, job, job)[1]],
                                    cwd=proj.dir, env=env, capture_output=True, text=True,
                                    timeout=600)
            visible[f"run{n} {job} stdout"] = result.stdout
            visible[f"run{n} {job} stderr"] = result.stderr
            assert (result.returncode == 0) == ok, f"{job}: {result.stdout}\n{result.stderr}"
            return result

        def since(mark: int) -> list[dict[str, Any]]:
            return api_requests(emu, mark)

        def mutations(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [r for r in log if r["method"] != "GET" and r.get("status") == 200
                    and r["operation"] != "AuthenticationService_GetSTSToken"]

        main = {"repository": PIPELINE_REPO, "ref": "refs/heads/main",
                "environment": "skyflow-prod", "event_name": "push"}
        pull = {"repository": PIPELINE_REPO, "ref": "refs/pull/7/merge",
                "event_name": "pull_request"}

        # A pull request: preview on an empty stack plans the creates and changes nothing.
        mark = len(api_requests(emu))
        pr = run_job("preview", pull)
        assert "to create" in pr.stdout and "keyless" in pr.stdout, pr.stdout
        assert mutations(since(mark)) == []
        # ... and a pull request that edits the workflow to deploy with its token is refused:
        # the pull requests' identity is read-only.
        mark = len(api_requests(emu))
        edited = run_job("up", pull, as_job="preview", ok=False)
        assert "403" in edited.stdout + edited.stderr
        assert mutations(since(mark)) == []
        assert {r["subject"] for r in since(mark)
                if r["operation"] == "AuthenticationService_GetSTSToken"} == {preview_id}

        # Tokens of another branch and of another repository exchange (STS cannot tell), but
        # the deploy identity's condition holds for neither: every create is denied.
        for other in ({**main, "ref": "refs/heads/feature"},
                      {**main, "repository": "evil/identities"}):
            mark = len(api_requests(emu))
            denied = run_job("up", other, ok=False)
            assert "403" in denied.stdout + denied.stderr, denied.stdout[-3000:]
            assert re.search(r"missing permission (serviceAccount|role|policy)\.create",
                             denied.stdout + denied.stderr), denied.stdout[-3000:]
            assert mutations(since(mark)) == []
        assert {sa["ID"] for sa in list_service_accounts(emu)} == {
            emu.admin_credentials["clientID"], deploy_id, preview_id}

        # Merged to main: up creates the reference stack, as the keyless deploy account.
        mark = len(api_requests(emu))
        push = run_job("up", main)
        assert "created" in push.stdout and "[secret]" in push.stdout, push.stdout
        made = mutations(since(mark))
        assert made and {r["subject"] for r in made} == {deploy_id}
        assert not [r for r in since(mark)
                    if r["operation"] == "AuthenticationService_GetAuthToken"]
        names = {sa["name"] for sa in list_service_accounts(emu)}
        assert {"prod-payments-api", "prod-analytics-etl", "prod-legacy-batch"} <= names, names

        # The next pull request, on another fresh runner: nothing to change.
        mark = len(api_requests(emu))
        again = run_job("preview", pull)
        assert "to create" not in again.stdout and "unchanged" in again.stdout, again.stdout
        assert mutations(since(mark)) == []
        assert "pulumi preview (prod)" in summary.read_text()

        # No credential in any runner's environment, nor in the stack's config.
        for env in envs:
            assert not CREDENTIAL_ENV & set(env), sorted(env)
        for proj in runs:
            assert not [p for p in proj.dir.glob("Pulumi.*.yaml")
                        if "skyflow:" in p.read_text()]

        # Collect the generated secrets, then tear down, keyless too (test clean-up).
        last, env = runs[-1], {**envs[-1], **resolve(workflow_step(doc, "up", "up")[0], store)}
        idp.github = dict(main)
        pulumi = [str(last.pulumi), "--non-interactive", "--stack", "prod"]
        shown = subprocess.run([*pulumi[:1], "stack", "output", "--json", "--show-secrets",
                                *pulumi[1:]], cwd=last.dir, env=env, capture_output=True,
                               text=True, check=True, timeout=120)
        outs = json.loads(shown.stdout)
        generated = {k: json.loads(v)["privateKey"] if k.endswith("_credentials") else v
                     for k, v in outs.items() if k.endswith(("_credentials", "_api_key"))}
        assert len(generated) == 3, sorted(outs)
        destroyed = subprocess.run([*pulumi[:1], "destroy", "--yes", "--skip-preview",
                                    *pulumi[1:]], cwd=last.dir, env=env, capture_output=True,
                                   text=True, timeout=600)
        assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
        visible["destroy"] = destroyed.stdout + destroyed.stderr
        boot.destroy()
        assert {sa["ID"] for sa in list_service_accounts(emu)} == {
            emu.admin_credentials["clientID"]}

        roots = [tmp_path / "ci-state", summary, emu.data_dir / "requests.jsonl"]
        roots += [p.dir for p in runs] + [p.home_dir for p in runs]
        oidc = {f"OIDC token {i}": t for i, t in enumerate(idp.issued)}
        assert len(oidc) >= 5  # one per job at least
        assert_no_plaintext({"admin private key": emu.admin_credentials["privateKey"],
                             "GitHub request token": idp.request_token, **oidc, **generated},
                            roots, min_secrets=len(oidc) + 5, texts=visible)
        # No bearer token of any kind (an STS token, an OIDC token) in the state or the logs.
        for path in iter_files([tmp_path / "ci-state", *[p.home_dir for p in runs]]):
            data = path.read_bytes()
            data = gunzip(data) if path.suffix == ".gz" else data
            assert not JWT_RE.search(data.decode("utf-8", "replace")), path
        assert not [k for k, v in visible.items() if JWT_RE.search(v)]
    print(f"pipeline bootstrap + keyless jobs: {time.monotonic() - started:.1f}s")


# --------------------------------------------------------------------------- README walkthrough

README_FLOW = r"""
set -euo pipefail
cd "$ROOT"
source examples/emulator-env.sh
bash scripts/up.sh >/dev/null

# examples/consumer-stack/README.md
(cd examples/consumer-stack
 pulumi stack select dev --create --secrets-provider passphrase --non-interactive
 pulumi up --yes --non-interactive --color never
 pulumi stack output --json > "$OUT/consumer-outputs.json"
 pulumi destroy --yes --non-interactive --color never)

# the other examples' Pulumi.yaml (virtualenv ../../venv) in place: a preview each
for ex in api-key-service scoped-tokens; do
  (cd "examples/$ex"
   pulumi stack select dev --create --secrets-provider passphrase --non-interactive
   pulumi preview --non-interactive --color never)
done

# examples/pipeline/README.md: the workflow's scripts, credentials from the env only
(export PULUMI_STACK=ci-demo
 SKYFLOW_CREDENTIALS="$(cat .state/emulator/admin-credentials.json)"
 export SKYFLOW_CREDENTIALS
 unset SKYFLOW_CREDENTIALS_FILE
 bash examples/pipeline/scripts/ci-preview.sh
 bash examples/pipeline/scripts/ci-up.sh
 pulumi stack output --json --show-secrets --stack ci-demo > "$OUT/ci-demo-secrets.json"
 pulumi destroy --yes --stack ci-demo --non-interactive --color never)

pulumi stack output --json --show-secrets --stack dev > "$OUT/dev-secrets.json"
# the dev stack's vault is protected: turn that off (an up that changes only the flag), then destroy
pulumi config set --path 'skyflow-identities:vault.deletion_protection' false --stack dev
pulumi up --yes --stack dev --non-interactive --color never >/dev/null
pulumi destroy --yes --stack dev --non-interactive --color never
"""


def test_readme_walkthrough_with_emulator_env(tmp_path):
    """The READMEs' commands, in place: emulator-env.sh + make up's script + each example.

    The repo layout is rebuilt in tmp (state, Pulumi.dev.yaml changes stay out of the checkout)
    and the emulator listens on a free port instead of `make emulator`'s 18443.
    """
    root, out = tmp_path / "root", tmp_path / "out"
    root.mkdir()
    out.mkdir()
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(REPO_ROOT / name, root / name)
    ignore = shutil.ignore_patterns("__pycache__", "Pulumi.*.yaml")
    for name in ("scripts", "tools"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=ignore)
    for name in ("consumer-stack", "api-key-service", "scoped-tokens", "pipeline"):
        shutil.copytree(EXAMPLES / name, root / "examples" / name, ignore=ignore)
    shutil.copy(EXAMPLES / "emulator-env.sh", root / "examples" / "emulator-env.sh")
    (root / "venv").symlink_to(REPO_VENV)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SKYFLOW_", "PULUMI_")) and k != "VIRTUAL_ENV"}
    env.update({"ROOT": str(root), "OUT": str(out), "NO_COLOR": "1",
                "PULUMI_SKIP_UPDATE_CHECK": "true"})
    with EmulatorProcess(root / ".state" / "emulator") as emu:
        result = subprocess.run(["bash", "-c", README_FLOW], env=env, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
        assert {sa["ID"] for sa in list_service_accounts(emu)} == {
            emu.admin_credentials["clientID"]}
        admin_key = emu.admin_credentials["privateKey"]
    consumer = json.loads((out / "consumer-outputs.json").read_text())
    assert consumer["service_config"] == "[secret]" and consumer["token_expires_at"]
    assert (root / ".state" / "passphrase").stat().st_mode & 0o077 == 0
    generated: dict[str, str] = {"admin private key": admin_key}
    for stack in ("dev", "ci-demo"):
        outs = json.loads((out / f"{stack}-secrets.json").read_text())
        for k, v in outs.items():
            if k.endswith("_credentials"):
                generated[f"{stack} {k}"] = json.loads(v)["privateKey"]
            elif k.endswith("_api_key"):
                generated[f"{stack} {k}"] = v
    assert len(generated) == 7, sorted(generated)
    (out / "dev-secrets.json").unlink()
    (out / "ci-demo-secrets.json").unlink()
    assert_no_plaintext(generated, [root / ".state" / "backend", root / "examples", out],
                        min_secrets=7,
                        texts={"walkthrough stdout": result.stdout,
                               "walkthrough stderr": result.stderr})


# --------------------------------------------------------------------------- vault-with-identities


def test_vault_with_identities_each_identity_gets_its_access(emulator, project_factory):
    proj = project_factory(EXAMPLES / "vault-with-identities", name="vault-with-identities",
                           stack="dev")
    proj.up()
    outs = proj.outputs(show_secrets=True)
    s, vid = emulator.session(), outs["vault_id"]
    vault = s.get(f"{emulator.url}/v1/vaults/{vid}", headers=emulator.headers(),
                  timeout=30).json()["vault"]
    assert vault["name"] == "dev-customers"
    assert {t["name"] for t in vault["schemas"]} == {"persons", "cards"}
    roles = {r["definition"]["name"]: r["ID"] for r in s.get(
        f"{emulator.url}/v1/roles", headers=emulator.headers(), timeout=30,
        params={"resource.ID": vid, "resource.type": "VAULT"}).json()["roles"]}
    assert {"VAULT_OWNER", "VAULT_EDITOR", "VAULT_VIEWER", "dev-support-reader"} <= set(roles)

    # The data plane at the stack's vault_url, with each service's own token.
    data = f"{outs['vault_url']}/v1/vaults/{vid}"
    payments = json.loads(outs["payments_credentials"])
    support = json.loads(outs["support_credentials"])

    def call(creds: dict[str, Any], method: str, path: str, **kw: Any) -> Any:
        token = emulator.token(creds)
        return s.request(method, data + path, headers={"Authorization": f"Bearer {token}"},
                         timeout=30, **kw)

    written = call(payments, "POST", "/persons", json={"records": [
        {"fields": {"name": "Ada", "email": "ada@example.com", "ssn": "123-45-6789"}}]})
    assert written.status_code == 200, written.text
    assert call(payments, "POST", "/cards", json={"records": [
        {"fields": {"number": "4111111111111111", "expiry_year": 2031}}]}).status_code == 200
    skyflow_id = written.json()["records"][0]["skyflow_id"]
    read = call(support, "GET", "/persons", params={"skyflow_ids": skyflow_id})
    assert read.status_code == 200 and read.json()["records"][0]["fields"]["name"] == "Ada"
    assert call(support, "POST", "/persons", json={"records": [
        {"fields": {"name": "Eve"}}]}).status_code == 403
    # The person holds this vault's VAULT_VIEWER.
    viewers = s.get(f"{emulator.url}/v1/roles/{roles['VAULT_VIEWER']}/members", timeout=30,
                    headers=emulator.headers()).json()["members"]
    assert {(m["ID"], m["type"]) for m in viewers} == {(outs["viewer_id"], "USER")}

    # Protected: destroy stops at preview; with the protection off it removes everything.
    refused = proj.destroy(check=False, skip_preview=False)
    assert refused.returncode != 0 and "protect" in refused.output
    proj.config_set("deletionProtection", "false")
    proj.up()
    proj.destroy()
    assert s.get(f"{emulator.url}/v1/vaults/{vid}", headers=emulator.headers(),
                 timeout=30).status_code == 404
    names = {sa["name"] for sa in list_service_accounts(emulator)}
    assert not {"dev-payments", "dev-support"} & names
    assert_no_plaintext({"payments private key": payments["privateKey"],
                         "support private key": support["privateKey"],
                         "admin private key": emulator.admin_credentials["privateKey"]},
                        [proj.backend_dir, proj.dir, emulator.data_dir / "requests.jsonl"], proj,
                        min_secrets=3)
