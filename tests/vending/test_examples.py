"""examples/token-backend: the Flask and Django mounts answer through their frameworks' test
clients, and serve-from-stack.sh starts the vendor from (faked) stack outputs against the real
emulator."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import settings_from_config
from skyflow_provider.vending import TokenVendor
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.secrets_scan import assert_no_secret_hits

from .fakes import CountingMinter, FakeClock, SessionIssuer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "token-backend"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionIssuer]:
    issuer = SessionIssuer()
    jwks = issuer.write_jwks(tmp_path_factory.mktemp("idp") / "jwks.json")
    env = {"AUTH_JWKS": str(jwks), "AUTH_ISSUER": issuer.issuer,
           "AUTH_AUDIENCE": issuer.audience, "VENDOR_ROLES": "checkout=rolecheckout1",
           "ALLOW_ORIGINS": "https://shop.example.test"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    sys.path.insert(0, str(EXAMPLE))
    yield issuer
    sys.path.remove(str(EXAMPLE))
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _vendor() -> tuple[TokenVendor, CountingMinter]:
    minter = CountingMinter(FakeClock())
    return TokenVendor(minter=minter, clock=minter.clock), minter


def test_flask_mount(idp: SessionIssuer) -> None:
    flask_app = importlib.import_module("flask_app")
    vendor, minter = _vendor()
    client = flask_app.create_app(vendor).test_client()
    r = client.post("/skyflow/v1/token", json={"role": "checkout"},
                    headers={"Authorization": f"Bearer {idp.session('alice')}",
                             "Origin": "https://shop.example.test"})
    assert r.status_code == 200, r.data
    body = r.get_json()
    claims = jwt.decode(body["accessToken"], options={"verify_signature": False})
    assert claims["context_identifier"] == "alice" and claims["scope"] == "role:rolecheckout1"
    assert r.headers["Access-Control-Allow-Origin"] == "https://shop.example.test"
    assert client.post("/skyflow/v1/token").status_code == 401
    assert client.get("/skyflow/healthz").get_json() == {"status": "ok"}
    page = client.get("/")
    assert page.status_code == 200 and b"getBearerToken" in page.data
    page.close()
    assert minter.count == 1


def test_django_view(idp: SessionIssuer) -> None:
    django_app = importlib.import_module("django_app")
    from django.test import Client

    vendor, minter = _vendor()
    django_app.use_vendor(vendor)
    client = Client()
    r = client.post("/skyflow/v1/token", data=json.dumps({"role": "checkout"}),
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {idp.session('bob')}")
    assert r.status_code == 200, r.content
    claims = jwt.decode(r.json()["accessToken"], options={"verify_signature": False})
    assert claims["context_identifier"] == "bob"
    assert r["Cache-Control"] == "no-store"
    denied = client.post("/skyflow/v1/token", data=b"{}", content_type="application/json",
                         HTTP_AUTHORIZATION="Bearer forged")
    assert denied.status_code == 401 and denied.json()["error"]["message"]
    assert client.post("/skyflow/v1/token", data=json.dumps({"role": "admin"}),
                       content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {idp.session('bob')}").status_code == 403
    assert client.get("/skyflow/healthz").json() == {"status": "ok"}
    assert minter.count == 1


FAKE_PULUMI = """#!/usr/bin/env bash
# stands in for `pulumi stack output [--stack S] [--show-secrets] NAME`: prints one output
name="${@: -1}"
echo "$*" >> "$FAKE_PULUMI_LOG"
case "$name" in
  credentials) cat "$FAKE_CREDENTIALS_FILE" ;;
  viewer_role_id) echo "$FAKE_VIEWER_ROLE_ID" ;;
  *) echo "no output $name" >&2; exit 1 ;;
esac
"""


def test_serve_from_stack_script(idp: SessionIssuer, emulator: EmulatorProcess,
                                 tmp_path: Path) -> None:
    settings = settings_from_config(lambda _k: None, {
        "SKYFLOW_ACCOUNT_ID": emulator.account_id,
        "SKYFLOW_CREDENTIALS_FILE": str(emulator.admin_credentials_path),
        "SKYFLOW_CA_BUNDLE": str(emulator.ca_bundle)})
    admin = ManagementClient(settings)
    sa = admin.create_service_account({"serviceAccount": {"name": "stk" + uuid.uuid4().hex[:8]}})
    viewer = next(r["ID"] for r in admin.list_roles(emulator.vault_id)
                  if r["definition"]["name"] == "VAULT_VIEWER")
    admin.assign_role(viewer, [{"ID": sa["clientID"], "type": "SERVICE_ACCOUNT"}])
    creds = tmp_path / "outputs" / "credentials.json"
    creds.parent.mkdir()
    creds.write_text(json.dumps({k: sa[k] for k in ("clientID", "clientName", "tokenURI",
                                                    "keyID", "privateKey")}))
    fake = tmp_path / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(0o755)
    env = {**os.environ, "PULUMI": str(fake), "FAKE_PULUMI_LOG": str(tmp_path / "calls.log"),
           "FAKE_CREDENTIALS_FILE": str(creds), "FAKE_VIEWER_ROLE_ID": viewer,
           "ROLE_OUTPUTS": "viewer=viewer_role_id", "PORT": "0",
           "SKYFLOW_CA_BUNDLE": str(emulator.ca_bundle),
           "SKYFLOW_TOKEN": str(Path(sys.executable).with_name("skyflow-token")),
           "PRODUCER_STACK": "organization/skyflow-scoped-tokens/dev"}
    stderr_path = tmp_path / "script.stderr"
    with stderr_path.open("w") as err:
        proc = subprocess.Popen(["bash", str(EXAMPLE / "serve-from-stack.sh")], env=env,
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=str(ROOT))
    try:
        first: list[str] = []
        t = threading.Thread(target=lambda: first.append(proc.stdout.readline()),  # type: ignore[union-attr]
                             daemon=True)
        t.start()
        t.join(30)
        assert first and first[0].startswith("skyflow-token serving on http://127.0.0.1:"), (
            first, stderr_path.read_text())
        url = first[0].split(" on ", 1)[1].strip()
        session = idp.session("carol")
        r = requests.post(url + "/v1/token", headers={"Authorization": f"Bearer {session}"},
                          timeout=30)
        assert r.status_code == 200, r.text
        token: Any = r.json()["accessToken"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["context_identifier"] == "carol" and claims["scope"] == f"role:{viewer}"
        proc.send_signal(signal.SIGTERM)  # exec'd: the vendor itself gets it
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    calls = (tmp_path / "calls.log").read_text()
    assert "--show-secrets credentials" in calls and "--show-secrets viewer_role_id" not in calls
    assert_no_secret_hits({"privateKey": sa["privateKey"], "token": token, "session": session},
                          min_secrets=3, roots=[tmp_path / "calls.log", stderr_path],
                          texts={"stdout": first[0]})
