"""The process contract from docs/design.md: flags, files, ready line, request log, restart."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time

import jwt
import pytest
import requests
from cryptography import x509

from tests.helpers.emulator_proc import EmulatorProcess

from .conftest import Api


def test_files_written_on_first_start(emu: EmulatorProcess) -> None:
    account = emu.account
    assert set(account) == {"accountID", "managementURL", "vaults", "workspaces", "caBundle"}
    assert account["managementURL"] == emu.url and emu.url.startswith("https://127.0.0.1:")
    assert account["vaults"][0]["name"] == "Vault001"
    assert account["workspaces"][0]["name"] == "EmulatorWorkspace"
    assert account["caBundle"] == str(emu.data_dir / "ca.pem")
    creds = emu.admin_credentials
    assert set(creds) == {"clientID", "clientName", "tokenURI", "keyID", "privateKey",
                          "keyValidAfterTime", "keyValidBeforeTime", "keyAlgorithm"}
    assert creds["tokenURI"] == emu.url + "/v1/auth/sa/oauth/token"
    for secret in ("admin-credentials.json", "admin-token", "ca-key.pem"):
        assert oct((emu.data_dir / secret).stat().st_mode & 0o777) == "0o600"


def test_server_certificate_has_loopback_sans(emu: EmulatorProcess) -> None:
    pem = ssl.get_server_certificate(("127.0.0.1", emu.port), ca_certs=emu.ca_bundle)
    cert = x509.load_pem_x509_certificate(pem.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    assert names == {"127.0.0.1", "::1"}
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    # verification actually happens: without the CA the handshake fails
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emu.url + "/v1/serviceAccounts", verify="/etc/ssl/certs/ca-certificates.crt",
                     timeout=10)
    # and localhost works with the CA
    r = requests.get(emu.url.replace("127.0.0.1", "localhost") + "/v1/serviceAccounts",
                     verify=emu.ca_bundle, timeout=10)
    assert r.status_code == 401


def test_request_log_has_templates_and_no_secrets(emu: EmulatorProcess) -> None:
    api = Api(emu)
    creds = api.create_sa("log-check", apiKeyEnabled=True)
    api.call("GET", "/v1/serviceAccounts/{ID}", path={"ID": creds["clientID"]}, expect=200)
    api.call("GET", "/v1/serviceAccounts", bearer=creds["apiKey"], expect=403)
    entries = emu.read_request_log()
    wanted = {"time", "method", "path", "template", "operation", "status", "duration_ms",
              "subject"}
    assert all(wanted <= set(e) for e in entries)
    get = [e for e in entries if e["operation"] == "ServiceAccountService_GetServiceAccount"][-1]
    assert get["template"] == "/v1/serviceAccounts/{ID}" and get["status"] == 200
    assert get["subject"] == emu.admin_credentials["clientID"]
    tok = [e for e in entries if e["operation"] == "AuthenticationService_GetAuthToken"][0]
    assert tok["subject"] == emu.admin_credentials["clientID"]
    text = (emu.data_dir / "requests.jsonl").read_text()
    for secret in (creds["apiKey"], api.admin_token, "PRIVATE KEY",
                   emu.admin_credentials["privateKey"][40:80]):
        assert secret not in text


def test_restart_keeps_everything_and_rewrites_urls(fresh_emu: EmulatorProcess) -> None:
    api = Api(fresh_emu)
    creds = api.create_sa("survivor")
    role = api.create_role("Survivor", ["serviceAccount.read"])
    api.assign(role, creds["clientID"])
    before = (fresh_emu.account_id, fresh_emu.vault_id, (fresh_emu.data_dir / "ca.pem").read_text(),
              fresh_emu.admin_credentials["clientID"])
    old_token = api.admin_token
    fresh_emu.restart(same_port=False)
    after = (fresh_emu.account_id, fresh_emu.vault_id, (fresh_emu.data_dir / "ca.pem").read_text(),
             fresh_emu.admin_credentials["clientID"])
    assert before == after
    assert fresh_emu.account["managementURL"] == fresh_emu.url
    assert fresh_emu.admin_credentials["tokenURI"] == fresh_emu.url + "/v1/auth/sa/oauth/token"
    api2 = Api(fresh_emu)
    # access tokens issued before the restart stay valid (signing key persisted)
    api2.call("GET", "/v1/serviceAccounts/{ID}", path={"ID": creds["clientID"]},
              bearer=old_token, expect=200)
    members = api2.call("GET", "/v1/roles/{ID}/members", path={"ID": role}, expect=200).json()
    assert [m["ID"] for m in members["members"]] == [creds["clientID"]]
    # the SA's own credentials still mint tokens: its tokenURI is now stale (old port), so
    # point aud at the new tokenURI as a client would after re-reading account.json
    fresh_creds = dict(creds, tokenURI=fresh_emu.url + "/v1/auth/sa/oauth/token")
    assert api2.token_for(fresh_creds)


def test_insecure_http_only_on_loopback(tmp_path) -> None:
    with EmulatorProcess(tmp_path / "plain", insecure_http=True) as emu:
        assert emu.url.startswith("http://127.0.0.1:")
        assert emu.account["caBundle"] is None
        api = Api(emu)
        api.call("GET", "/v1/serviceAccounts", expect=200)
    r = subprocess.run([sys.executable, "-m", "skyflow_emulator", "--host", "0.0.0.0",
                        "--port", "0", "--data-dir", str(tmp_path / "x"), "--insecure-http"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "loopback" in r.stderr


def test_ready_line_is_exactly_one_line(tmp_path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "skyflow_emulator", "--port", "0",
                             "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("skyflow-emulator listening on https://127.0.0.1:")
        assert line.endswith("\n")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == ""


def test_admin_endpoint_needs_the_admin_token(emu: EmulatorProcess) -> None:
    s = emu.session()
    assert s.get(emu.url + "/_emulator/health", timeout=10).status_code == 401
    api = Api(emu)
    r = s.get(emu.url + "/_emulator/faults", timeout=10,
              headers={"Authorization": f"Bearer {api.admin_token}"})
    assert r.status_code == 401  # an ordinary (even admin SA) token is not the admin token
    r = s.get(emu.url + "/_emulator/health", timeout=10,
              headers={"Authorization": f"Bearer {emu.admin_token}"})
    assert r.status_code == 200 and r.json()["accountID"] == emu.account_id


def test_console_script_entry_point(tmp_path) -> None:
    script = os.path.join(os.path.dirname(sys.executable), "skyflow-emulator")
    proc = subprocess.Popen([script, "--port", "0", "--data-dir", str(tmp_path),
                             "--insecure-http"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith(  # type: ignore[union-attr]
            "skyflow-emulator listening on http://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(10)


def test_access_token_claims(emu: EmulatorProcess) -> None:
    token = emu.token(ctx="abc")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "skyflow-emulator" and claims["account_id"] == emu.account_id
    assert claims["context_identifier"] == "abc" and claims["exp"] > time.time()
    assert json.dumps(claims).find("PRIVATE") == -1


def test_a_silent_client_does_not_block_others(emu: EmulatorProcess) -> None:
    """TLS handshakes happen per connection thread, not in the accept loop."""
    import socket

    silent = socket.create_connection(("127.0.0.1", emu.port), timeout=5)
    try:
        started = time.monotonic()
        r = emu.session().get(emu.url + "/v1/serviceAccounts", timeout=10)
        assert r.status_code == 401
        assert time.monotonic() - started < 5
    finally:
        silent.close()


def test_one_emulator_per_data_dir_and_busy_port(emu: EmulatorProcess, tmp_path) -> None:
    r = subprocess.run([sys.executable, "-m", "skyflow_emulator", "--port", "0",
                        "--data-dir", str(emu.data_dir)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "another emulator" in r.stderr
    r = subprocess.run([sys.executable, "-m", "skyflow_emulator", "--port", str(emu.port),
                        "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "cannot listen" in r.stderr
