"""Credential keys (resources/keys.py): credentials_json is byte-identical and does not parse
the key.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import skyflow_provider.auth.credentials as creds_mod
from skyflow_provider.auth.credentials import credentials_from_dict
from skyflow_provider.resources import role_lookup as role_mod
from skyflow_provider.resources.keys import credentials_json
from tests.helpers.prerequisites import INSTALL_SDK, require_module


@pytest.fixture(autouse=True)
def _empty_role_cache():
    role_mod._ROLE_ID_CACHE.clear()
    yield
    role_mod._ROLE_ID_CACHE.clear()


# ----- fix 2: credentials.json without parsing the new key ---------------------------------------
def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("pad", ["", "  "])
def test_credentials_json_is_byte_identical_and_does_not_parse_the_key(monkeypatch, pad) -> None:
    resp = {"clientID": pad + "c1" + pad, "clientName": "n \u00e9", "tokenURI":
            "https://manage.example.com/v1/auth/sa/oauth/token" + pad, "keyID": "k1" + pad,
            "privateKey": _pem(), "keyValidAfterTime": "2026-01-01T00:00:00Z",
            "keyValidBeforeTime": "2027-01-01T00:00:00Z", "keyAlgorithm": "KEY_ALG_RSA_2048",
            "apiKeyID": "", "apiKey": ""}
    expected = credentials_from_dict(resp).to_json()

    def boom(*_a, **_k):
        raise AssertionError("the private key was parsed")

    monkeypatch.setattr(creds_mod, "_load_private_key", boom)
    monkeypatch.setattr(serialization, "load_pem_private_key", boom)
    assert credentials_json(resp) == expected



# ----- Skyflow's official SDK takes every credentials.json we write ------------------------------
def test_official_sdk_takes_our_credentials_as_file_and_as_text(emu, make_client, tmp_path,
                                                                monkeypatch):
    """The ``credentials`` output of a ServiceAccount (``credentials_json`` of the create
    response), of a ServiceAccountKey (``key_outputs``) and ``Credentials.to_json()`` all mint
    tokens with the SDK's path form and its text form (which turns newlines into ``\\n`` and so
    refuses pretty-printed JSON), against the emulator."""
    sdk = require_module("skyflow.service_account", INSTALL_SDK)
    from skyflow_provider.auth.credentials import load_credentials
    from skyflow_provider.resources.keys import key_outputs

    monkeypatch.setenv("SSL_CERT_FILE", emu.ca_bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    client = make_client()
    resp = client.create_service_account({"serviceAccount": {"name": "sdk-compat"}})
    extra = key_outputs(resp["clientID"], client.create_key(resp["clientID"]), "create")
    texts = {
        "ServiceAccount.credentials": credentials_json(resp),
        "ServiceAccountKey.credentials": extra["credentials"],
        "Credentials.to_json": load_credentials(credentials_json(resp)).to_json(),
    }
    for label, text in texts.items():
        assert "\n" not in text, label
        path = tmp_path / f"{label}.json"
        path.write_text(text)
        for token, token_type in (sdk.generate_bearer_token(str(path)),
                                  sdk.generate_bearer_token_from_creds(text)):
            assert token_type == "Bearer", label
            assert not sdk.is_expired(token), label
