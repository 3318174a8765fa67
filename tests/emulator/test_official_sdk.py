"""Skyflow's own Python SDK mints tokens from emulator-issued credentials, unchanged."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.fakes import make_local_ca
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.prerequisites import INSTALL_SDK, require_module

from .conftest import Api

sdk = require_module("skyflow.service_account", INSTALL_SDK)
SkyflowError = require_module("skyflow.error", INSTALL_SDK).SkyflowError


@pytest.fixture
def trust_emulator_ca(emu: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The SDK's httpx client trusts SSL_CERT_FILE; nothing else is changed."""
    assert emu.ca_bundle
    monkeypatch.setenv("SSL_CERT_FILE", emu.ca_bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    yield


def _write(tmp_path: Path, creds: dict) -> str:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(creds))
    return str(path)


def test_sdk_generate_bearer_token(api: Api, trust_emulator_ca: None, tmp_path: Path) -> None:
    creds = api.create_sa("sdk-user")
    api.assign(api.system_role("ACCOUNT_ADMIN"), creds["clientID"])
    token, token_type = sdk.generate_bearer_token(_write(tmp_path, creds))
    assert token_type == "Bearer"
    assert not sdk.is_expired(token)
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)


def test_sdk_with_ctx_and_role_scope(api: Api, trust_emulator_ca: None, tmp_path: Path) -> None:
    creds = api.create_sa("sdk-scoped")
    viewer, admin = api.system_role("VAULT_VIEWER"), api.system_role("ACCOUNT_ADMIN")
    api.assign(viewer, creds["clientID"])
    api.assign(admin, creds["clientID"])
    path = _write(tmp_path, creds)
    token, _ = sdk.generate_bearer_token(path, {"ctx": {"role": "admin", "tenant": "t1"},
                                                "role_ids": [viewer]})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["context_identifier"] == {"role": "admin", "tenant": "t1"}
    assert claims["scope"] == f"role:{viewer}"
    assert api.call("GET", "/v1/serviceAccounts", bearer=token).status_code == 403
    token, _ = sdk.generate_bearer_token_from_creds(json.dumps(creds), {"ctx": "user-1"})
    assert jwt.decode(token, options={"verify_signature": False})["context_identifier"] == \
        "user-1"


def test_sdk_sees_emulator_errors(api: Api, trust_emulator_ca: None, tmp_path: Path) -> None:
    creds = api.create_sa("sdk-denied")
    api.call("DELETE", "/v1/serviceAccounts/{ID}", path={"ID": creds["clientID"]}, expect=200)
    # the SDK maps a 401 (UnauthorizedError) to exactly this message
    with pytest.raises(SkyflowError, match="Authorization failed"):
        sdk.generate_bearer_token(_write(tmp_path, creds))


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


def test_sdk_refuses_untrusted_emulator(api: Api, emu: EmulatorProcess, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Trusting another CA, the SDK fails certificate verification before sending anything;
    trusting the emulator's CA, the same credentials file mints a working token."""
    creds = api.create_sa("sdk-untrusted")
    api.assign(api.system_role("ACCOUNT_ADMIN"), creds["clientID"])
    path = _write(tmp_path, creds)
    other_ca = make_local_ca(tmp_path / "other-ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca.ca_pem))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    before = len(emu.read_request_log())
    with pytest.raises(SkyflowError, match="Failed to generate bearer token") as info:
        sdk.generate_bearer_token(path)
    verify_errors = [e for e in _causes(info.value) if isinstance(e, ssl.SSLCertVerificationError)]
    assert verify_errors and "CERTIFICATE_VERIFY_FAILED" in str(verify_errors[0]), \
        _causes(info.value)
    assert emu.read_request_log()[before:] == []  # refused at the handshake: no request made

    monkeypatch.setenv("SSL_CERT_FILE", str(emu.ca_bundle))
    token, _ = sdk.generate_bearer_token(path)
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)
    assert [r.get("template") for r in emu.read_request_log()[before:]][:1] == \
        ["/v1/auth/sa/oauth/token"]


def test_sdk_takes_admin_credentials_as_file_and_as_text(emu: EmulatorProcess,
                                                         api: Api,
                                                         trust_emulator_ca: None) -> None:
    """admin-credentials.json is written like Skyflow's download: one line of JSON, so both
    the path form and the text form (which turns newlines into ``\\n``) accept it."""
    text = emu.admin_credentials_path.read_text()
    assert "\n" not in text
    token, token_type = sdk.generate_bearer_token(str(emu.admin_credentials_path))
    assert token_type == "Bearer"
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)
    token, _ = sdk.generate_bearer_token_from_creds(text)
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)
    # the pretty-printed form is what the text form refuses (why the file is one line)
    with pytest.raises(Exception, match="(?i)credential"):
        sdk.generate_bearer_token_from_creds(json.dumps(json.loads(text), indent=2))
