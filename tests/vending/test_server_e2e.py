"""`skyflow-token serve` end to end: a real vendor process, a real HTTPS emulator (token
exchange and Data API), sessions signed by a test identity provider.

Exchange counts come from the emulator's request log (``AuthenticationService_GetAuthToken``).
Every session token, access token and the service account's private key seen here is collected
and the last test scans everything the processes printed for them.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import settings_from_config
from skyflow_provider.auth.credentials import credentials_from_json
from skyflow_provider.vending import (
    CorsPolicy,
    JwtSessionVerifier,
    RoleCatalog,
    TokenVendor,
    VendingApp,
    VendingConfig,
    VendingServer,
)
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.secrets_scan import assert_no_secret_hits, scan
from tests.helpers.vendor_proc import VendorProcess, run_serve

from .fakes import FakeClock, SessionIssuer

TOKEN_OP = "AuthenticationService_GetAuthToken"
ORIGIN = "https://app.example.test"
TABLE = "vending_e2e"

SECRETS: dict[str, str] = {}  # label -> value: everything the final scan looks for
LOG_DIRS: list[Path] = []


def remember(label: str, value: str) -> str:
    SECRETS[f"{label} #{len(SECRETS)}"] = value
    return value


class World:
    """The emulator, a service account with two vault roles, an IdP, and a running vendor."""

    def __init__(self, emu: EmulatorProcess, tmp: Path) -> None:
        self.emu = emu
        self.tmp = tmp
        settings = settings_from_config(lambda _k: None, {
            "SKYFLOW_ACCOUNT_ID": emu.account_id,
            "SKYFLOW_CREDENTIALS_FILE": str(emu.admin_credentials_path),
            "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle)})
        admin = ManagementClient(settings)
        sa = admin.create_service_account({
            "serviceAccount": {"name": "vend" + uuid.uuid4().hex[:8]},
            "clientConfiguration": {"enforceContextID": True}})
        self.client_id = sa["clientID"]
        self.creds_json = json.dumps({k: sa[k] for k in (
            "clientID", "clientName", "tokenURI", "keyID", "privateKey", "keyValidAfterTime",
            "keyValidBeforeTime", "keyAlgorithm")})
        remember("service account privateKey", sa["privateKey"])
        roles = {r["definition"]["name"]: r["ID"] for r in admin.list_roles(emu.vault_id)}
        self.editor_id, self.viewer_id = roles["VAULT_EDITOR"], roles["VAULT_VIEWER"]
        for rid in (self.editor_id, self.viewer_id):
            admin.assign_role(rid, [{"ID": self.client_id, "type": "SERVICE_ACCOUNT"}])
        self.idp = SessionIssuer()
        self.jwks = self.idp.write_jwks(tmp / "jwks.json")
        self.log_dir = tmp / "vendor-logs"
        LOG_DIRS.append(self.log_dir)
        self.vendor = self.start_vendor()

    def vendor_args(self, *extra: str, roles: bool = True) -> list[str]:
        args = ["--host", "127.0.0.1", "--port", "0", "--ca-bundle", str(self.emu.ca_bundle),
                "--auth-jwks", str(self.jwks), "--auth-issuer", self.idp.issuer,
                "--auth-audience", self.idp.audience, "--allow-origin", ORIGIN]
        if roles:
            args += ["--role", f"editor={self.editor_id}", "--role", f"viewer={self.viewer_id}"]
        return [*args, *extra]

    def start_vendor(self, *extra: str) -> VendorProcess:
        return VendorProcess(self.vendor_args("--rate-limit", "1000/min", *extra),
                             {"SKYFLOW_CREDENTIALS": self.creds_json},
                             log_dir=self.log_dir).start()

    def session(self, user: str, **kw: Any) -> str:
        return remember("session", self.idp.session(user, **kw))

    def ask(self, session: str | None, role: str | None = None, *,
            vendor: VendorProcess | None = None, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if session:
            headers["Authorization"] = f"Bearer {session}"
        body = {"role": role} if role else None
        r = requests.post((vendor or self.vendor).url + "/v1/token", json=body,
                          headers=headers, timeout=30, **kw)
        if r.status_code == 200:
            remember("access token", r.json()["accessToken"])
        return r

    def exchanges_since(self, mark: int) -> int:
        return sum(1 for e in self.emu.read_request_log()[mark:] if e["operation"] == TOKEN_OP)

    def mark(self) -> int:
        return len(self.emu.read_request_log())

    # Data API calls with a vended token
    def data(self, method: str, token: str, path: str, **kw: Any) -> requests.Response:
        return self.emu.session().request(
            method, f"{self.emu.url}/v1/vaults/{self.emu.vault_id}{path}",
            headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)


@pytest.fixture(scope="module")
def world(emulator: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    w = World(emulator, tmp_path_factory.mktemp("vending"))
    yield w
    w.vendor.stop()


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


# --------------------------------------------------------------------------- the happy path


def test_token_carries_the_users_ctx_and_only_the_named_role(world: World) -> None:
    r = world.ask(world.session("alice"), "viewer")
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert set(body) == {"accessToken", "tokenType", "expiresAt"} and body["tokenType"] == "Bearer"
    c = claims(body["accessToken"])
    assert c["context_identifier"] == "alice"
    assert c["scope"] == f"role:{world.viewer_id}"
    assert c["sub"] == world.client_id
    assert body["expiresAt"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(c["exp"]))


def test_the_vault_enforces_role_and_ctx(world: World) -> None:
    editor = world.ask(world.session("alice"), "editor").json()["accessToken"]
    viewer = world.ask(world.session("alice"), "viewer").json()["accessToken"]
    bob_viewer = world.ask(world.session("bob"), "viewer").json()["accessToken"]
    assert claims(editor)["scope"] == f"role:{world.editor_id}"
    # the editor role may insert; the record remembers alice's ctx
    ins = world.data("POST", editor, f"/{TABLE}",
                     json={"records": [{"fields": {"email": "a@x.test"}}], "tokenization": True})
    assert ins.status_code == 200, ins.text
    sid = ins.json()["records"][0]["skyflow_id"]
    # the viewer role may read it but not insert
    got = world.data("GET", viewer, f"/{TABLE}", params={"skyflow_ids": sid,
                                                         "redaction": "PLAIN_TEXT"})
    assert got.status_code == 200 and got.json()["records"][0]["fields"]["email"] == "a@x.test"
    refused = world.data("POST", viewer, f"/{TABLE}",
                         json={"records": [{"fields": {"email": "v@x.test"}}]})
    assert refused.status_code == 403 and "record.create" in refused.text
    # bob's token (same role, another ctx) cannot read alice's record
    other = world.data("GET", bob_viewer, f"/{TABLE}", params={"skyflow_ids": sid})
    assert other.status_code == 403 and "context" in other.text


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("case", ["none", "wrong_key", "wrong_audience", "expired"])
def test_no_or_forged_session_is_401(world: World, case: str) -> None:
    mark = world.mark()
    session = {
        "none": None,
        "wrong_key": remember("forged", SessionIssuer().session("alice", kid=world.idp.kid)),
        "wrong_audience": world.session("alice", aud="another-app"),
        "expired": world.session("alice", exp_in=-300),
    }[case]
    r = world.ask(session, "viewer")
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["error"]["message"]
    assert world.exchanges_since(mark) == 0


def test_unknown_role_is_403_and_missing_role_400(world: World) -> None:
    s = world.session("alice")
    r = world.ask(s, "admin")
    assert r.status_code == 403 and r.json()["error"]["message"]
    assert world.ask(s).status_code == 400  # two roles configured, none named
    r = world.ask(s, headers={"Content-Type": "application/json"},
                  data=json.dumps({"role": "viewer", "ctx": "bob"}))
    assert r.status_code == 400


# --------------------------------------------------------------------------- exchanges


def test_same_user_twice_is_one_exchange(world: World) -> None:
    mark = world.mark()
    a = world.ask(world.session("carol"), "viewer").json()["accessToken"]
    b = world.ask(world.session("carol"), "viewer").json()["accessToken"]  # a new session too
    assert a == b
    assert world.exchanges_since(mark) == 1
    world.ask(world.session("carol"), "editor")  # another role: its own token
    assert world.exchanges_since(mark) == 2


def test_many_concurrent_requests_for_one_user_are_one_exchange(world: World) -> None:
    session = world.session("dave")
    mark = world.mark()
    n = 40
    barrier = threading.Barrier(n)

    def call(_: int) -> str:
        barrier.wait()
        r = world.ask(session, "viewer")
        assert r.status_code == 200, r.text
        return str(r.json()["accessToken"])

    with ThreadPoolExecutor(n) as pool:
        tokens = set(pool.map(call, range(n)))
    assert len(tokens) == 1
    assert world.exchanges_since(mark) == 1


def test_token_near_expiry_is_reminted(world: World) -> None:
    """In-process server on the real emulator, the vendor driven by an injected clock."""
    clock = FakeClock()
    vendor = TokenVendor(credentials_from_json(world.creds_json), ca_bundle=world.emu.ca_bundle,
                         clock=clock)
    verifier = JwtSessionVerifier(str(world.jwks), issuer=world.idp.issuer,
                                  audience=world.idp.audience)
    app = VendingApp(vendor, verifier, VendingConfig(
        roles=RoleCatalog({"viewer": world.viewer_id}), cors=CorsPolicy()))
    server = VendingServer(app, "127.0.0.1", 0)
    server.start_in_thread()
    try:
        session = world.session("erin")

        def ask() -> str:
            r = requests.post(server.url + "/v1/token", timeout=30,
                              headers={"Authorization": f"Bearer {session}"})
            assert r.status_code == 200, r.text
            return str(remember("access token", r.json()["accessToken"]))

        mark = world.mark()
        t1 = ask()
        exp = claims(t1)["exp"]
        clock.now = exp - 301  # more than 5 minutes left: cached
        assert ask() == t1 and world.exchanges_since(mark) == 1
        clock.now = exp - 299  # under 5 minutes: re-minted before a browser could keep it
        t2 = ask()
        assert t2 != t1 and world.exchanges_since(mark) == 2
        assert claims(t2)["context_identifier"] == "erin"
        assert ask() == t2 and world.exchanges_since(mark) == 2
    finally:
        server.stop()
        assert server.wait_stopped(15)


# --------------------------------------------------------------------------- limits, CORS


def test_rate_limit_is_429_with_retry_after(world: World) -> None:
    with VendorProcess(world.vendor_args("--rate-limit", "3/min"),
                       {"SKYFLOW_CREDENTIALS": world.creds_json},
                       log_dir=world.log_dir) as vp:
        s = world.session("frank")
        codes = [world.ask(s, "viewer", vendor=vp).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        r = world.ask(s, "viewer", vendor=vp)
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 20
        # per address too: another user from the same address is limited as well
        assert world.ask(world.session("grace"), "viewer", vendor=vp).status_code == 429
        assert "reason=rate-limit-identity" in vp.stderr_text or "429" in vp.stderr_text


def test_cors_allowed_and_refused_origins(world: World) -> None:
    s = world.session("alice")
    ok = world.ask(s, "viewer", headers={"Origin": ORIGIN})
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in ok.headers["Vary"]
    bad = world.ask(s, "viewer", headers={"Origin": "https://evil.example.test"})
    assert "Access-Control-Allow-Origin" not in bad.headers and "Origin" in bad.headers["Vary"]
    pre = requests.options(world.vendor.url + "/v1/token", timeout=30, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    refused = requests.options(world.vendor.url + "/v1/token", timeout=30, headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    assert not [h for h in refused.headers if h.lower().startswith("access-control-allow")]


def test_health(world: World) -> None:
    r = requests.get(world.vendor.url + "/healthz", timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["Server"] == "skyflow-token"


# --------------------------------------------------------------------------- startup rules


def test_refuses_to_start_without_auth(world: World) -> None:
    env = {"SKYFLOW_CREDENTIALS": world.creds_json}
    base = ["--port", "0", "--role", f"viewer={world.viewer_id}"]
    r = run_serve(base, env)
    assert r.returncode == 2 and "refusing to start without caller authentication" in r.stderr
    assert r.stdout == ""
    partial = run_serve([*base, "--auth-jwks", str(world.jwks)], env)
    assert partial.returncode == 2 and "--auth-issuer" in partial.stderr
    no_roles = run_serve(world.vendor_args(roles=False), env)
    assert no_roles.returncode == 2 and "--role" in no_roles.stderr
    star = run_serve([*world.vendor_args(), "--allow-origin", "*"], env)
    assert star.returncode == 2 and "'*'" in star.stderr
    for out in (r, partial, no_roles, star):
        SECRETS_SCAN_TEXTS[f"refused start {len(SECRETS_SCAN_TEXTS)}"] = out.stdout + out.stderr


def test_dev_flag_only_on_loopback(world: World) -> None:
    env = {"SKYFLOW_CREDENTIALS": world.creds_json}
    base = ["--port", "0", "--role", f"viewer={world.viewer_id}", "--insecure-dev-no-auth",
            "--ca-bundle", str(world.emu.ca_bundle)]
    r = run_serve([*base, "--host", "0.0.0.0"], env)
    assert r.returncode == 2 and "loopback" in r.stderr
    both = run_serve([*base, "--auth-jwks", str(world.jwks)], env)
    assert both.returncode == 2
    with VendorProcess([*base, "--host", "127.0.0.1"], env, log_dir=world.log_dir) as vp:
        assert "WARNING --insecure-dev-no-auth" in vp.stderr_text
        tok = world.ask(None, vendor=vp)
        assert tok.status_code == 200, tok.text
        assert claims(tok.json()["accessToken"])["context_identifier"] == "insecure-dev-user"


def test_sigterm_and_sigint_stop_cleanly(world: World) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        vp = world.start_vendor()
        assert world.ask(world.session("alice"), "viewer", vendor=vp).status_code == 200
        assert vp.stop(sig) == 0
        assert "stopped" in vp.stderr_text


# --------------------------------------------------------------------------- secrets


SECRETS_SCAN_TEXTS: dict[str, str] = {}


def test_no_secret_in_any_output(world: World) -> None:
    """Runs last: every line the vendor processes and the emulator wrote, checked for every
    session token, access token and the private key (whole and by fragments)."""
    world.vendor.stop()
    assert len([k for k in SECRETS if k.startswith("access token")]) >= 10
    assert len([k for k in SECRETS if k.startswith("session")]) >= 10
    logs = list(world.log_dir.glob("*.log"))
    assert len(logs) >= 8 and any("POST /v1/token 200" in p.read_text() for p in logs)
    access_lines = [line for p in logs for line in p.read_text().splitlines()
                    if "/v1/token" in line]
    assert len(access_lines) >= 60
    roots = [world.log_dir, world.emu.data_dir / "requests.jsonl",
             world.emu.data_dir / "emulator.stderr.log"]
    report = assert_no_secret_hits(SECRETS, min_secrets=21, roots=roots,
                                   texts=SECRETS_SCAN_TEXTS)
    assert report.files >= len(logs) + 2
    # the scan itself works: a planted token is found
    planted = next(v for k, v in SECRETS.items() if k.startswith("access token"))
    assert scan(SECRETS, texts={"planted": f"x {planted[:-3]}... y"})
