"""Keyless, unit level: the subject-token sources (file, env, command, GitHub Actions) and the
provider's proof of ownership under keyless (the stack's tag asked for as the OIDC token's
audience, accepted only when the ctx Skyflow's STS gives carries it as ``aud``).

A scripted loopback server plays GitHub's ID-token endpoint and Skyflow's STS; the end-to-end
twins are in tests/e2e/test_keyless.py.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from skyflow_provider.api.audit import ProofUnavailable, Who, context_id, keyless_proof
from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import settings_from_config
from skyflow_provider.auth.oidc import (
    CommandTokenSource,
    EnvTokenSource,
    FileTokenSource,
    GitHubActionsTokenSource,
    parse_source,
)
from skyflow_provider.http.errors import CredentialsError
from tests.fakes import Recorded, ScriptedServer

SUBJECT = jwt.encode({"sub": "repo:acme/identities:ref:refs/heads/main", "n": 1},
                     "not-a-real-secret-0123456789abcdef", algorithm="HS256")
TAG = "pulumi:identities/prod"


# ----- sources ------------------------------------------------------------------------------------

def test_parse_source_forms_and_refusals(tmp_path: Path) -> None:
    assert isinstance(parse_source("github-actions", audience="x"), GitHubActionsTokenSource)
    assert parse_source(f"file:{tmp_path}/t") == FileTokenSource(f"{tmp_path}/t")
    assert parse_source("env:GITLAB_ID_TOKEN") == EnvTokenSource("GITLAB_ID_TOKEN")
    assert parse_source("command:gcloud auth print-identity-token --audiences 'a b'") == \
        CommandTokenSource(("gcloud", "auth", "print-identity-token", "--audiences", "a b"))
    for bad, says in (("vault", "unknown OIDC token source"), ("env:A-B", "not a variable"),
                      ("command:", "unknown OIDC token source"), ("file:", "unknown")):
        with pytest.raises(CredentialsError) as info:
            parse_source(bad)
        assert says in str(info.value) and info.value.field == "oidcTokenSource"


def test_file_source_is_read_again_on_every_call(tmp_path: Path) -> None:
    path = tmp_path / "token"
    source = FileTokenSource(str(path))
    with pytest.raises(CredentialsError, match="cannot read the OIDC token file"):
        source.token()
    path.write_text(SUBJECT + "\n")
    assert source.token() == SUBJECT
    rotated = SUBJECT[:-4] + "abcd"
    path.write_text(rotated)  # the kubelet rewrote it
    assert source.token() == rotated


def test_env_source_gitlab_id_tokens() -> None:
    assert EnvTokenSource("SKYFLOW_ID_TOKEN", env={"SKYFLOW_ID_TOKEN": SUBJECT}).token() == SUBJECT
    with pytest.raises(CredentialsError) as info:
        EnvTokenSource("SKYFLOW_ID_TOKEN", env={}).token()
    assert "SKYFLOW_ID_TOKEN" in str(info.value) and "id_tokens" in str(info.value)
    leaked = "not a jwt but a secret-ish value"
    with pytest.raises(CredentialsError) as info:
        EnvTokenSource("SKYFLOW_ID_TOKEN", env={"SKYFLOW_ID_TOKEN": leaked}).token()
    assert "is not a JWT" in str(info.value) and leaked not in str(info.value)


def test_command_source_runs_without_a_shell_every_time(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    script = tmp_path / "print_token.py"
    script.write_text("import pathlib, sys\n"
                      f"p = pathlib.Path({str(counter)!r})\n"
                      "p.write_text(p.read_text() + 'x' if p.exists() else 'x')\n"
                      f"print({SUBJECT!r})\n")
    source = parse_source(f"command:{sys.executable} {script}")
    assert source.token() == SUBJECT and source.token() == SUBJECT
    assert counter.read_text() == "xx"  # run on every exchange, never cached
    failing = CommandTokenSource((sys.executable, "-c", "import sys; sys.exit(3)"))
    with pytest.raises(CredentialsError, match="exited with 3"):
        failing.token()
    noisy = CommandTokenSource((sys.executable, "-c", "print('hunter2 hunter2')"))
    with pytest.raises(CredentialsError) as info:
        noisy.token()
    assert "is not a JWT" in str(info.value) and "hunter2" not in str(info.value)
    with pytest.raises(CredentialsError, match="could not run"):
        CommandTokenSource(("/nonexistent/oidc-helper",)).token()


@pytest.fixture
def github() -> Iterator[ScriptedServer]:
    srv = ScriptedServer().start()
    srv.replies["GET /gh/token"] = [(200, {}, {"count": 1, "value": SUBJECT})]
    yield srv
    srv.stop()


def _audience(rec: Recorded) -> str | None:
    return (parse_qs(urlsplit(rec.path).query).get("audience") or [None])[0]


def test_github_source_asks_with_the_request_token_and_audience(github: ScriptedServer) -> None:
    env = {"ACTIONS_ID_TOKEN_REQUEST_URL": github.url + "/gh/token?api-version=2.0",
           "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token-0123456789"}
    assert GitHubActionsTokenSource(audience=TAG, env=env).token() == SUBJECT
    rec = github.requests[-1]
    assert rec.headers["Authorization"] == "bearer request-token-0123456789"
    assert _audience(rec) == TAG and "api-version=2.0" in rec.path
    with pytest.raises(CredentialsError, match="id-token: write"):
        GitHubActionsTokenSource(env={}).token()


# ----- the proof of ownership under keyless -------------------------------------------------------

def test_keyless_proof_needs_the_stack_tag_as_aud() -> None:
    ctx = {"repository": "acme/identities", "ref": "refs/heads/main", "aud": TAG}
    proof, why = keyless_proof(ctx, TAG)
    assert proof == context_id(ctx) and why == ""
    assert json.loads(proof or "") == ctx and proof == json.dumps(ctx, sort_keys=True,
                                                                  separators=(",", ":"))
    assert keyless_proof({**ctx, "aud": [TAG]}, TAG)[0]  # a Kubernetes token's list audience
    for bad_ctx, tag, says in (
            ({**ctx, "aud": "skyflow"}, TAG, "has the audience 'skyflow'"),
            ({**ctx, "aud": [TAG, "other"]}, TAG, "has the audience"),
            ({"repository": "acme/identities"}, TAG, "add aud to the STS config"),
            (None, TAG, "no ctx"), ("a-string-ctx", TAG, "no ctx"),
            (ctx, None, "set skyflow:ownerTag")):
        proof, why = keyless_proof(bad_ctx, tag)
        assert proof is None and says in why, (bad_ctx, why)


def _sts_token(ctx: dict[str, Any] | None) -> str:
    claims: dict[str, Any] = {"sub": "keyless-sa", "exp": 4102444800, "jti": "j1"}
    if ctx is not None:
        claims["context_identifier"] = ctx
    return jwt.encode(claims, "not-a-real-secret-0123456789abcdef", algorithm="HS256")


@pytest.mark.parametrize("audience_setting, sts_ctx, proved", [
    (None, {"repository": "acme/identities", "aud": TAG}, True),
    ("skyflow", {"repository": "acme/identities", "aud": "skyflow"}, False),
    (None, {"repository": "acme/identities"}, False),  # the STS config does not copy aud
])
def test_keyless_client_asks_for_the_stack_tag_and_proves_only_with_it(
        github: ScriptedServer, monkeypatch: pytest.MonkeyPatch,
        audience_setting: str | None, sts_ctx: dict[str, Any], proved: bool) -> None:
    github.replies["POST /v1/auth/sts/token"] = [
        (200, {}, {"accessToken": _sts_token(sts_ctx), "tokenType": "Bearer"})]
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", github.url + "/gh/token?api-version=2.0")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-0123456789")
    env = {"SKYFLOW_ACCOUNT_ID": "acc1", "SKYFLOW_MANAGEMENT_URL": github.url,
           "SKYFLOW_OIDC_TOKEN_SOURCE": "github-actions",
           "SKYFLOW_OIDC_SERVICE_ACCOUNT_ID": "keylessSa1"}
    if audience_setting:
        env["SKYFLOW_OIDC_AUDIENCE"] = audience_setting
    client = ManagementClient(settings_from_config(lambda _k: None, env), owner_tag=TAG)
    assert github.count("GET", "/gh/token") == 0  # nothing asked before it is needed
    tag = client.owner_tag
    assert _audience(github.requests[0]) == (audience_setting or TAG)
    body = github.requests[1].json()
    assert body["subject_token"] == SUBJECT and body["service_account_id"] == "keylessSa1"
    if proved:
        assert tag == context_id(sts_ctx) and client.owner_tag_problem == ""
        assert Who.stack(client).ctx == tag
    else:
        assert tag is None and "aud" in client.owner_tag_problem
        with pytest.raises(ProofUnavailable) as info:
            Who.stack(client)
        assert str(info.value) == client.owner_tag_problem
    assert client.owner_tag == tag and github.count("POST", "/v1/auth/sts/token") == 1  # once


def test_keyless_client_without_a_stack_tag_proves_nothing(github: ScriptedServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_PROJECT", raising=False)
    env = {"SKYFLOW_ACCOUNT_ID": "acc1", "SKYFLOW_MANAGEMENT_URL": github.url,
           "SKYFLOW_OIDC_TOKEN_SOURCE": "env:NO_SUCH_TOKEN_VARIABLE",
           "SKYFLOW_OIDC_SERVICE_ACCOUNT_ID": "keylessSa1"}
    client = ManagementClient(settings_from_config(lambda _k: None, env))
    assert client.owner_tag is None and "skyflow:ownerTag" in client.owner_tag_problem
    assert github.requests == []  # nothing asked: without a tag there is nothing to prove
