"""Keyless end to end: real OIDC issuers (tests/helpers/oidc_issuer.py, HTTPS: one with GitHub's
token endpoint and claims, one as a Kubernetes cluster's), the real emulator trusting them, the
real Pulumi CLI.

The REAL bootstrap program of examples/pipeline (admin credentials) declares the pipeline's
GitHubActionsIdentity; a second stack then runs ``up``, ``refresh`` and ``destroy`` with no
credential at all: the provider asks the issuer's ``ACTIONS_ID_TOKEN_REQUEST_URL`` for a token
and exchanges it at the emulator's STS. That stack provisions a workload's KubernetesIdentity,
whose pod's projected token is then exchanged through a ``file:`` source.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from skyflow_provider.auth.oidc import (
    FileTokenSource,
    StaticTokenSource,
    generate_bearer_token_from_oidc,
)
from skyflow_provider.auth.tokens import TokenProvider
from skyflow_provider.http.errors import SkyflowError
from tests.e2e.conftest import PROGRAMS, pipeline_bootstrap, provider_env
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.oidc_issuer import OidcIssuer
from tests.helpers.pulumi_cli import PulumiProject
from tests.helpers.secrets_scan import assert_no_secret_hits
from tests.helpers.tracebacks import assert_no_traceback

pytestmark = pytest.mark.e2e
REPO, REF = "acme/identities", "refs/heads/main"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcIssuer]:
    with OidcIssuer() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def cluster() -> Iterator[OidcIssuer]:
    """A Kubernetes cluster's service-account issuer (its own keys and CA)."""
    with OidcIssuer() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def app_idp() -> Iterator[OidcIssuer]:
    """A web app's identity provider: its session tokens go to ``skyflow-token serve``."""
    with OidcIssuer() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def emu(idp: OidcIssuer, cluster: OidcIssuer, app_idp: OidcIssuer,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(tmp_path_factory.mktemp("emu"),
                         extra_args=[arg for i in (idp, cluster, app_idp)
                                     for arg in ("--trust-ca", str(i.ca_path))]) as e:
        yield e


@pytest.fixture(scope="module")
def trust(emu: EmulatorProcess, idp: OidcIssuer, tmp_path_factory: pytest.TempPathFactory
          ) -> str:
    """One CA bundle for the provider: the emulator's CA and the issuer's (GitHub's token
    endpoint is on the issuer in this test)."""
    path = tmp_path_factory.mktemp("trust") / "ca.pem"
    assert emu.ca_bundle
    path.write_text(Path(emu.ca_bundle).read_text() + Path(idp.ca_path).read_text())
    return str(path)


@pytest.fixture(scope="module")
def bootstrap(emu: EmulatorProcess, idp: OidcIssuer, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[dict[str, Any]]:
    """examples/pipeline/bootstrap itself, with admin credentials, trusting the test issuer."""
    proj = pipeline_bootstrap(emu, idp.url, idp.jwks_uri, tmp_path_factory.mktemp("boot"), REPO)
    outs = proj.outputs()
    yield {"proj": proj, "service_account_id": outs["deploy_service_account_id"], **outs}
    proj.destroy()


def _keyless_env(emu: EmulatorProcess, idp: OidcIssuer, trust: str, sa_id: str
                 ) -> dict[str, str]:
    env = provider_env(emu, with_credentials_file=False)
    env.update(idp.github_env(), SKYFLOW_CA_BUNDLE=trust,
               SKYFLOW_OIDC_TOKEN_SOURCE="github-actions", SKYFLOW_OIDC_SERVICE_ACCOUNT_ID=sa_id)
    return env


def test_bootstrap_made_keyless_accounts(emu: EmulatorProcess,
                                         bootstrap: dict[str, Any]) -> None:
    for sa_id in (bootstrap["deploy_service_account_id"],
                  bootstrap["preview_service_account_id"]):
        r = emu.session().get(f"{emu.url}/v1/serviceAccounts/{sa_id}/keys",
                              headers=emu.headers(), params={"keyTypes": "USER_MANAGED"},
                              timeout=30)
        assert r.status_code == 200 and r.json().get("keys", []) == []  # no key at all
    assert bootstrap["deploy_condition"] == (f"request.context.repository == '{REPO}' && "
                                             f"request.context.ref == '{REF}'")
    assert bootstrap["preview_condition"] == (f"request.context.repository == '{REPO}' && "
                                              f"request.context.sub == 'repo:{REPO}:pull_request'")
    state = bootstrap["proj"].export()
    for res in state["deployment"]["resources"]:
        if res["type"].endswith("ServiceAccount"):
            assert res["outputs"].get("private_key") is None


def _vault_read(emu: EmulatorProcess, token: str) -> int:
    return emu.session().get(f"{emu.url}/v1/vaults/{emu.vault_id}", timeout=30, headers={
        "Authorization": f"Bearer {token}", "X-Skyflow-Account-ID": emu.account_id}).status_code


def test_pipeline_stack_up_refresh_destroy_keyless(
        emu: EmulatorProcess, idp: OidcIssuer, cluster: OidcIssuer, trust: str,
        bootstrap: dict[str, Any], tmp_path: Path) -> None:
    """The keyless pipeline provisions a service account and a workload's KubernetesIdentity;
    the pod's projected token reads what its role allows, other pods' tokens nothing."""
    started = time.monotonic()
    sa_id = bootstrap["service_account_id"]
    proj = PulumiProject(PROGRAMS / "keyless_pipeline", tmp_path / "pipe",
                         env=_keyless_env(emu, idp, trust, sa_id))
    proj.stack_init("prod")
    for key, value in (("name", "made-keyless"), ("clusterIssuer", cluster.url),
                       ("clusterJwks", cluster.jwks_uri), ("vaultId", emu.vault_id)):
        proj.config_set(key, value)
    since = len(emu.read_request_log())
    proj.up()
    outs = proj.outputs()
    made = outs["client_id"]
    log = emu.read_request_log()[since:]
    creates = [e for e in log if e["operation"] == "ServiceAccountService_CreateServiceAccount"]
    assert len(creates) == 2 and {e["subject"] for e in creates} == {sa_id}  # the keyless account
    exchanges = [e for e in log if e["operation"] == "AuthenticationService_GetSTSToken"]
    assert exchanges and all(e["status"] == 200 and e["subject"] == sa_id for e in exchanges)
    assert not [e for e in log if e["operation"] == "AuthenticationService_GetAuthToken"]
    got = emu.session().get(f"{emu.url}/v1/serviceAccounts/{made}", headers=emu.headers(),
                            timeout=30).json()["serviceAccount"]
    assert got["BasicAudit"]["CreatedBy"] == sa_id

    # The workload: a pod's projected token, read from its file on every exchange.
    pod_sa = outs["pod_service_account_id"]
    assert outs["pod_condition"] == ("request.context.sub == "
                                     "'system:serviceaccount:payments:api'")
    token_file = tmp_path / "projected-token"
    pod_tokens = {}
    for who, ns, name in (("the pod", "payments", "api"), ("another namespace", "shop", "api"),
                          ("another service account", "payments", "batch")):
        token_file.write_text(cluster.kubernetes_token(ns, name))
        tp = TokenProvider(oidc_source=f"file:{token_file}", service_account_id=pod_sa,
                           management_url=emu.url, ca_bundle=emu.ca_bundle)
        pod_tokens[who] = tp.get_token()  # every one exchanges: STS cannot tell them apart
        ctx = jwt.decode(pod_tokens[who], options={"verify_signature": False}
                         )["context_identifier"]
        assert ctx == {"sub": f"system:serviceaccount:{ns}:{name}", "aud": ["skyflow"]}
    assert {who: _vault_read(emu, t) for who, t in pod_tokens.items()} == {
        "the pod": 200, "another namespace": 403, "another service account": 403}

    proj.refresh(expect_no_changes=True)
    # A token of another branch: the exchange succeeds, the condition denies every call.
    idp.github["ref"] = "refs/heads/feature"
    try:
        failed = proj.refresh(check=False)
    finally:
        idp.github["ref"] = REF
    assert failed.returncode != 0 and "403" in failed.output
    assert re.search(r"missing permission \w+\.read", failed.output), failed.output[-2000:]
    proj.destroy()
    assert emu.session().get(f"{emu.url}/v1/serviceAccounts/{made}", headers=emu.headers(),
                             timeout=30).status_code == 404
    assert _vault_read(emu, pod_tokens["the pod"]) in (401, 403)  # its account is gone
    # no credential in the config, env, state, backups or any CLI output
    env = proj.environment()
    assert not {k for k in env if k in ("SKYFLOW_CREDENTIALS", "SKYFLOW_CREDENTIALS_FILE",
                                        "SKYFLOW_API_KEY", "SKYFLOW_BEARER_TOKEN")}
    admin = emu.admin_credentials
    secrets = {"admin private key": admin["privateKey"],
               "GitHub request token": idp.request_token,
               **{f"OIDC token {i}": t for i, t in enumerate(idp.issued)},
               **{f"pod token ({who})": t for who, t in pod_tokens.items()}}
    assert_no_secret_hits(secrets, min_secrets=len(secrets),
                          roots=[proj.dir, proj.backend_dir, proj.home_dir],
                          texts=proj.captured_texts())
    print(f"keyless up/refresh/destroy: {time.monotonic() - started:.1f}s")


@pytest.mark.slow
@pytest.mark.parametrize("audience", [None, "skyflow"], ids=["tag-as-audience", "fixed-audience"])
def test_killed_keyless_run_leftovers_are_handled_as_documented(
        emu: EmulatorProcess, idp: OidcIssuer, trust: str, bootstrap: dict[str, Any],
        tmp_path: Path, audience: str | None) -> None:
    """Recovery under keyless (docs/keyless.md): the provider asks GitHub for an ID token whose
    audience is its stack's tag, the STS config copies ``aud`` into ctx, so Skyflow's audit log
    records this stack's keyless runs under a ctx naming the stack. Every process of an ``up``
    killed after 2 creates. Tag as audience: the next ``up`` takes the accounts it left over
    (the same ids, in the state: not created twice). A fixed ``skyflow:oidcAudience``: nothing
    names the stack, so the next ``up`` stops naming each leftover and why, touching none."""
    from tests.e2e.test_faults import kill_until, live_objects, orphans
    from tests.e2e.test_kill_heal import start_and_kill

    count, prefix, stack = 6, f"killed-{audience or 'tag'}", f"killed-{audience or 'tag'}"
    proj = PulumiProject(PROGRAMS / "keyless_pipeline", tmp_path / "killed",
                         env=_keyless_env(emu, idp, trust, bootstrap["service_account_id"]))
    proj.stack_init(stack)
    proj.config_set("name", prefix)
    proj.config_set("count", str(count))
    if audience:
        proj.config_set("skyflow:oidcAudience", audience)
    issued_before = len(idp.issued)

    def attempt() -> list[str]:
        start_and_kill(emu, proj, 2, group=True)
        time.sleep(0.5)  # requests in flight land
        proj.repair_after_kill()
        proj.run("cancel", "--yes", check=False)
        return [ref for kind, ref in orphans(emu, proj, f"{prefix}-") if kind == "sa"]

    def start_over() -> None:
        proj.refresh(clear_pending_creates=True, check=False)
        proj.destroy(check=False)

    stray = kill_until("account outside the state", attempt, bool, start_over)
    result = proj.up(check=audience is None)
    assert_no_traceback(result)
    auds = {jwt.decode(t, options={"verify_signature": False})["aud"]
            for t in idp.issued[issued_before:]}
    live = live_objects(emu, f"{prefix}-")
    assert live["duplicate names"] == 0, live
    if audience is None:
        assert auds == {f"pulumi:keyless-pipeline/{stack}"}  # the proof's ingredient
        held = {str(r["id"]) for r in proj.resources()
                if str(r["type"]).endswith("ServiceAccount")}
        assert set(stray) <= held, (stray, held)  # taken over, by proof
        assert live["ServiceAccount"] == count, live
        assert orphans(emu, proj, f"{prefix}-") == []
        proj.destroy()
    else:
        assert auds == {audience}
        assert result.returncode != 0
        assert "cannot prove it made them" in result.output
        assert "audience 'skyflow'" in result.output
        assert any(ref in result.output for ref in stray), (stray, result.output[-3000:])
        still = [ref for kind, ref in orphans(emu, proj, f"{prefix}-") if kind == "sa"]
        assert set(stray) <= set(still)  # reported, none deleted or taken over
        # what the report says to do, done: the leftovers deleted by hand, then up converges
        for ref in still:
            emu.session().delete(f"{emu.url}/v1/serviceAccounts/{ref}", headers=emu.headers(),
                                 timeout=30).raise_for_status()
        proj.refresh(clear_pending_creates=True)
        proj.up()
        proj.destroy()


def test_refusals_are_clear_and_secret_free(emu: EmulatorProcess, idp: OidcIssuer,
                                            bootstrap: dict[str, Any]) -> None:
    sa_id = bootstrap["service_account_id"]
    rogue = idp.add_key("rogue-e2e", published=False)
    now = int(time.time())
    cases = [
        (idp.mint(exp=now - 120), sa_id, "expired"),
        (idp.mint(nbf_in=900), sa_id, "not valid yet"),
        (idp.mint(kid=rogue.kid), sa_id, "not in the issuer's JWKS"),
        (idp.mint(iss="https://token.actions.githubusercontent.com"), sa_id,
         "No STS config trusts the issuer"),
        (idp.mint(), emu.admin_credentials["clientID"], "not listed in an STS config"),
    ]
    for subject, account, says in cases:
        with pytest.raises(SkyflowError) as info:
            generate_bearer_token_from_oidc(StaticTokenSource(subject), account, emu.url,
                                            ca_bundle=emu.ca_bundle)
        text = str(info.value)
        assert says in text and "STS token exchange" in text
        assert_no_secret_hits({"subject token": subject}, min_secrets=1, texts={"error": text})


def test_rotating_token_file_is_read_on_every_refresh(
        emu: EmulatorProcess, idp: OidcIssuer, bootstrap: dict[str, Any],
        tmp_path: Path) -> None:
    """A Kubernetes-style projected token: the file changes between two refreshes of one
    long-lived TokenProvider, and the second exchange uses the new token."""
    sa_id = bootstrap["service_account_id"]
    path = tmp_path / "token"
    path.write_text(idp.mint(run_id="first"))
    clock = [time.time()]
    tp = TokenProvider(oidc_source=FileTokenSource(str(path)), service_account_id=sa_id,
                       management_url=emu.url, ca_bundle=emu.ca_bundle,
                       clock=lambda: clock[0])
    first = tp.get_token()
    assert tp.get_token() == first and tp.exchanges == 1  # cached
    path.write_text(idp.mint(ref="refs/heads/release"))  # the kubelet rewrote the file
    clock[0] += 3600  # past the refresh point
    second = tp.get_token()
    assert tp.exchanges == 2 and second != first
    ctx = jwt.decode(second, options={"verify_signature": False})["context_identifier"]
    assert ctx["ref"] == "refs/heads/release"


@pytest.mark.parametrize("case, field, says", [
    ("http-issuer", "issuer", "https"),
    ("http-jwks", "public_key_jwk_uri", "only https"),
    ("no-accounts", "service_account_ids", "at least 1"),
    ("github-without-repository", "context_claims", "every GitHub Actions repository"),
    ("gitlab-without-project", "context_claims", "every GitLab.com project"),
])
def test_unsafe_sts_configs_refused_at_preview_with_no_api_call(
        emu: EmulatorProcess, idp: OidcIssuer, trust: str, bootstrap: dict[str, Any],
        tmp_path: Path, case: str, field: str, says: str) -> None:
    proj = PulumiProject(PROGRAMS / "keyless_pipeline", tmp_path / "unsafe",
                         env=_keyless_env(emu, idp, trust, bootstrap["service_account_id"]))
    proj.stack_init("unsafe")
    proj.config_set("unsafe", case)
    before, token_requests = len(emu.read_request_log()), idp.requests.count("/token")
    result = proj.preview(check=False)
    assert result.returncode != 0
    assert field in result.output and says in result.output, result.output
    assert len(emu.read_request_log()) == before  # 0 API calls
    assert idp.requests.count("/token") == token_requests  # not even an OIDC token


def test_skyflow_token_cli_keyless(emu: EmulatorProcess, idp: OidcIssuer,
                                   bootstrap: dict[str, Any], tmp_path: Path) -> None:
    import subprocess
    import sys

    sa_id = bootstrap["service_account_id"]
    path = tmp_path / "token"
    path.write_text(idp.mint())
    argv = [sys.executable, "-m", "skyflow_provider.cli.token", "--oidc-token-source",
            f"file:{path}", "--service-account-id", sa_id, "--management-url", emu.url,
            "--ca-bundle", str(emu.ca_bundle), "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    import json

    token = json.loads(done.stdout)["token"]
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == sa_id
    expired = idp.mint(exp=int(time.time()) - 120)
    path.write_text(expired)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "subject_token has expired" in done.stderr
    assert_no_secret_hits({"subject token": expired}, min_secrets=1,
                          texts={"stderr": done.stderr, "stdout": done.stdout})


def test_skyflow_token_serve_keyless(emu: EmulatorProcess, app_idp: OidcIssuer,
                                     tmp_path: Path) -> None:
    """``skyflow-token serve --keyless``: the backend holds no credentials. It verifies each
    user's session and exchanges that same session at Skyflow's STS for a token of the role's
    keyless account, whose ctx is the session's ``sub`` and ``aud``, living no longer than the
    session. The role's condition (``aud``) is the boundary: a session of another app of the
    same identity provider, exchanged directly by its holder, gets a token that can do
    nothing."""
    import requests

    from skyflow_provider.api.client import ManagementClient
    from skyflow_provider.api.settings import settings_from_config
    from tests.helpers.vendor_proc import VendorProcess

    started = time.monotonic()
    assert emu.ca_bundle
    admin = ManagementClient(settings_from_config(lambda _k: None, {
        "SKYFLOW_ACCOUNT_ID": emu.account_id, "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle),
        "SKYFLOW_CREDENTIALS_FILE": str(emu.admin_credentials_path)}))
    made = admin.create_service_account({"serviceAccount": {"name": "shop-viewer"}})
    sa_id = made["clientID"]
    admin.delete_key(sa_id, made["keyID"])  # keyless: reached only through STS
    config = admin.create_sts_config({
        "name": "shop-app", "issuer": app_idp.url, "publicKeyJWKURI": app_idp.jwks_uri,
        "serviceAccountIDs": [sa_id], "contextClaims": ["sub", "aud"]})
    viewer = next(r["ID"] for r in admin.list_roles(emu.vault_id)
                  if r["definition"]["name"] == "VAULT_VIEWER")
    admin.assign_role(viewer, [{"ID": sa_id, "type": "SERVICE_ACCOUNT"}],
                      condition="request.context.aud == 'shop-app'")
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(emu.ca_bundle).read_text() + Path(app_idp.ca_path).read_text())
    args = ["--keyless", "--host", "127.0.0.1", "--port", "0", "--management-url", emu.url,
            "--ca-bundle", str(bundle), "--auth-jwks", app_idp.jwks_uri,
            "--auth-issuer", app_idp.url, "--auth-audience", "shop-app",
            "--role", f"viewer={sa_id}", "--rate-limit", "1000/min"]
    seen: dict[str, str] = {}

    def session(user: str, aud: str = "shop-app", lifetime: int = 600) -> str:
        token = app_idp.sign({"sub": user, "aud": aud}, lifetime=lifetime)
        seen[f"session {len(seen)}"] = token
        return token

    def exchanges() -> int:
        return sum(1 for e in emu.read_request_log()
                   if e["operation"] == "AuthenticationService_GetSTSToken"
                   and e.get("subject") == sa_id)

    try:
        with VendorProcess(args, {"SKYFLOW_CREDENTIALS": "", "SKYFLOW_CREDENTIALS_FILE": ""},
                           log_dir=tmp_path / "vendor") as vp:
            def ask(token: str) -> requests.Response:
                r = requests.post(vp.url + "/v1/token", json={"role": "viewer"}, timeout=30,
                                  headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 200:
                    seen[f"access token {len(seen)}"] = r.json()["accessToken"]
                return r

            first = session("user-1", lifetime=300)
            r = ask(first)
            assert r.status_code == 200, r.text
            token = r.json()["accessToken"]
            claims = jwt.decode(token, options={"verify_signature": False})
            assert claims["sub"] == sa_id
            assert claims["context_identifier"] == {"sub": "user-1", "aud": "shop-app"}
            session_exp = jwt.decode(first, options={"verify_signature": False})["exp"]
            assert claims["exp"] <= session_exp  # lives no longer than the session
            assert _vault_read(emu, token) == 200
            assert exchanges() == 1
            # the same user with a newer session: the cached token, no exchange
            assert ask(session("user-1")).json()["accessToken"] == token and exchanges() == 1
            # another user: an exchange of her own session, her own ctx
            other = ask(session("user-2")).json()["accessToken"]
            assert jwt.decode(other, options={"verify_signature": False}
                              )["context_identifier"]["sub"] == "user-2"
            assert exchanges() == 2
            # another app's session: the backend refuses it without an exchange ...
            foreign = session("user-1", aud="another-app")
            assert ask(foreign).status_code == 401 and exchanges() == 2
        # ... and its holder, going to the STS directly, gets a token that can do nothing
        direct, _ = generate_bearer_token_from_oidc(StaticTokenSource(foreign), sa_id, emu.url,
                                                    ca_bundle=emu.ca_bundle)
        seen["direct STS token"] = direct
        assert _vault_read(emu, direct) == 403
        assert "none (keyless" in vp.stderr_text
        assert_no_secret_hits(seen, min_secrets=len(seen), roots=[tmp_path / "vendor"])
    finally:
        admin.delete_sts_config(config["ID"])
        admin.delete_service_account(sa_id)
    print(f"skyflow-token serve --keyless: {time.monotonic() - started:.1f}s")
